#include "deepsc/nn/csc_denoiser.h"

#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/conv/denoise.h"
#include "deepsc/sparse/shrinkage.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::nn {

namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

/// The padding on every side: k − 1 covers the borders like the interior, s more room for the shifts.
int64_t padding_of(const CscDenoiserOptions& o) { return o.kernel_size() - 1 + o.stride(); }

/// The largest size ≤ `size` that the stride covers exactly: (size − k) divisible by s.
int64_t fitted(int64_t size, int64_t k, int64_t s) { return size - (size - k) % s; }

/// The initial atoms [M, C, k, k]: one constant atom (local means; the image's own mean is removed
/// before coding) and the M − 1 lowest-frequency DCT atoms, all of unit norm.
torch::Tensor initial_atoms(const CscDenoiserOptions& o) {
  const auto k = o.kernel_size();
  auto constant = torch::full({1, o.channels(), k, k}, 1.0 / std::sqrt(double(k * k * o.channels())), torch::kFloat);
  if (o.atoms() == 1) return constant;
  return torch::cat({constant, conv::dct_dictionary(o.atoms() - 1, o.channels(), k, torch::kFloat)});
}

}  // namespace

void check_csc_denoiser_options(const CscDenoiserOptions& o) {
  require(o.channels() >= 1, "csc denoiser: channels must be >= 1, got " + std::to_string(o.channels()));
  require(o.atoms() >= 1, "csc denoiser: atoms must be >= 1, got " + std::to_string(o.atoms()));
  require(o.kernel_size() >= 1, "csc denoiser: kernel_size must be >= 1, got " + std::to_string(o.kernel_size()));
  require(o.stride() >= 1 && o.stride() <= o.kernel_size(),
          "csc denoiser: stride must be in [1, kernel_size = " + std::to_string(o.kernel_size()) + "], got " +
              std::to_string(o.stride()));
  require(o.iterations() >= 0, "csc denoiser: iterations must be >= 0, got " + std::to_string(o.iterations()));
  require(std::isfinite(o.threshold_init()) && o.threshold_init() >= 0,
          "csc denoiser: threshold_init must be a finite number >= 0");
}

CscDenoiserImpl::CscDenoiserImpl(const CscDenoiserOptions& options_) : options(options_) {
  check_csc_denoiser_options(options);
  reset();
}

void CscDenoiserImpl::reset() {
  const auto& o = options;
  torch::NoGradGuard no_grad;
  const auto atoms = initial_atoms(o);
  // L of the strided synthesis on a 64 × 64 code region (the constant barely depends on the size).
  const conv::ConvDictionary dict(atoms, conv::ConvOptions().stride(o.stride()));
  const int64_t side = fitted(64 + o.kernel_size(), o.kernel_size(), o.stride());
  const double lipschitz = dict.lipschitz({1, o.channels(), side, side});
  const auto scaled = atoms / std::sqrt(lipschitz);
  analysis = register_parameter("analysis", scaled.clone());
  synthesis = register_parameter("synthesis", scaled.clone());
  decoder = register_parameter("decoder", scaled.clone());
  threshold_base = register_parameter("threshold_base", torch::zeros({o.iterations() + 1, o.atoms()}));
  threshold_slope = register_parameter(
      "threshold_slope", torch::full({o.iterations() + 1, o.atoms()}, o.threshold_init() / std::sqrt(lipschitz)));
  architecture = register_buffer(
      "architecture", torch::tensor({o.channels(), o.atoms(), o.kernel_size(), o.stride(), o.iterations()}, torch::kLong));
}

CscDenoiserOptions options_from_architecture(const torch::Tensor& architecture) {
  // Any dtype: Module::to(dtype) converts buffers too, so a float64 model carries it as doubles.
  require(architecture.defined() && architecture.numel() == 5, "csc denoiser: the architecture record must be 5 integers");
  const auto a = architecture.to(torch::kCPU, torch::kDouble).contiguous();
  const auto* v = a.data_ptr<double>();
  for (int i = 0; i < 5; ++i)
    require(std::isfinite(v[i]) && v[i] == std::round(v[i]), "csc denoiser: the architecture record must be 5 integers");
  const auto at = [&](int i) { return static_cast<int64_t>(v[i]); };
  auto options = CscDenoiserOptions().channels(at(0)).atoms(at(1)).kernel_size(at(2)).stride(at(3)).iterations(at(4));
  check_csc_denoiser_options(options);
  return options;
}

void CscDenoiserImpl::pretty_print(std::ostream& stream) const {
  const auto& o = options;
  stream << "deepsc::nn::CscDenoiser(channels=" << o.channels() << ", atoms=" << o.atoms() << ", kernel_size="
         << o.kernel_size() << ", stride=" << o.stride() << ", iterations=" << o.iterations() << ")";
}

int64_t CscDenoiserImpl::parameter_count() const {
  int64_t count = 0;
  for (const auto& p : parameters()) count += p.numel();
  return count;
}

torch::Tensor CscDenoiserImpl::thresholds(const torch::Tensor& sigma) const {
  // [N, 1, 1] · [K + 1, M] + [K + 1, M] → [N, K + 1, M]
  return torch::relu(threshold_base.unsqueeze(0) + sigma.to(threshold_slope.options()).view({-1, 1, 1}) * threshold_slope);
}

torch::Tensor CscDenoiserImpl::code_and_decode(const torch::Tensor& y, const torch::Tensor& tau) const {
  const auto stride = conv::ConvOptions().stride(options.stride());
  const conv::ConvDictionary a(analysis, stride), b(synthesis, stride), d(decoder, stride);
  const auto threshold = [&](int64_t t) { return tau.select(1, t).unsqueeze(-1).unsqueeze(-1); };  // [B, M, 1, 1]
  auto z = sparse::soft_threshold(a.adjoint(y), threshold(0));
  for (int64_t t = 1; t <= options.iterations(); ++t)
    z = sparse::soft_threshold(z - a.adjoint(b.apply(z) - y), threshold(t));
  return d.apply(z);
}

torch::Tensor CscDenoiserImpl::forward(const torch::Tensor& noisy, const torch::Tensor& sigma, bool shift_average,
                                       std::array<int64_t, 2> shift) {
  const auto& o = options;
  if (!noisy.defined() || noisy.dim() != 4 || noisy.size(1) != o.channels() || !noisy.is_floating_point()) {
    std::ostringstream msg;
    msg << "csc denoiser: images must be floating point [N, " << o.channels() << ", H, W], got "
        << (noisy.defined() ? noisy.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  const int64_t n = noisy.size(0), h = noisy.size(2), w = noisy.size(3), s = o.stride(), pad = padding_of(o);
  require(h > pad && w > pad, "csc denoiser: images must be larger than " + std::to_string(pad) + " pixels (k - 1 + s) per side, got " +
                                  std::to_string(h) + "x" + std::to_string(w));
  require(sigma.defined() && (sigma.numel() == 1 || (sigma.dim() == 1 && sigma.size(0) == n)),
          "csc denoiser: sigma must be a scalar or one value per image [" + std::to_string(n) + "]");
  require(!(sigma < 0).any().item<bool>(), "csc denoiser: sigma must be >= 0");
  require(shift[0] >= 0 && shift[0] < s && shift[1] >= 0 && shift[1] < s,
          "csc denoiser: shift must lie in [0, " + std::to_string(s) + ")");

  const auto mean = noisy.mean({2, 3}, /*keepdim=*/true);
  const auto padded = torch::nn::functional::pad(
      noisy - mean, torch::nn::functional::PadFuncOptions({pad, pad, pad, pad}).mode(torch::kReflect));
  const int64_t hc = fitted(h + 2 * pad - s, o.kernel_size(), s), wc = fitted(w + 2 * pad - s, o.kernel_size(), s);
  std::vector<std::array<int64_t, 2>> shifts;
  if (shift_average) {
    for (int64_t dy = 0; dy < s; ++dy)
      for (int64_t dx = 0; dx < s; ++dx) shifts.push_back({dy, dx});
  } else {
    shifts.push_back(shift);
  }
  std::vector<torch::Tensor> crops;
  for (const auto& [dy, dx] : shifts) crops.push_back(padded.narrow(2, dy, hc).narrow(3, dx, wc));
  const auto tau = thresholds(sigma.numel() == 1 ? sigma.reshape({1}).expand({n}) : sigma);
  // The shifted codings as one batch: [S·N, C, hc, wc].
  const auto estimates = code_and_decode(torch::cat(crops), tau.repeat({static_cast<int64_t>(shifts.size()), 1, 1}));
  auto sum = torch::zeros_like(noisy);
  for (size_t i = 0; i < shifts.size(); ++i) {
    const auto [dy, dx] = shifts[i];
    sum = sum + estimates.narrow(0, static_cast<int64_t>(i) * n, n).narrow(2, pad - dy, h).narrow(3, pad - dx, w);
  }
  return sum / static_cast<double>(shifts.size()) + mean;
}

}  // namespace deepsc::nn
