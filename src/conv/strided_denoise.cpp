#include "deepsc/conv/strided_denoise.h"

#include "deepsc/conv/masked_operator.h"
#include "deepsc/dictlearn/denoising_dictionary.h"
#include "deepsc/sparse/unrolled_pursuit.h"
#include "restoration_support.h"

#include <chrono>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

namespace deepsc::conv {

namespace {

namespace F = torch::nn::functional;

void check_options(const StridedDenoiseOptions& o) {
  const auto finite_at_least = [](double value, double low, const char* name, bool strict) {
    if (!std::isfinite(value) || value < low || (strict && value == low)) {
      std::ostringstream msg;
      msg << name << " must be a finite number " << (strict ? "> " : ">= ") << low << ", got " << value;
      throw std::invalid_argument(msg.str());
    }
  };
  finite_at_least(o.sigma(), 0, "sigma", /*strict=*/true);
  finite_at_least(o.lambda(), 0, "lambda", false);
  finite_at_least(o.lambda_per_sigma(), 0, "lambda_per_sigma", false);
  finite_at_least(o.blend(), 0, "blend", false);
  if (o.max_iter() < 1) throw std::invalid_argument("max_iter must be >= 1, got " + std::to_string(o.max_iter()));
  if (o.debias_iter() < 0)
    throw std::invalid_argument("debias_iter must be >= 0, got " + std::to_string(o.debias_iter()));
  if (o.shift_batch() < 1)
    throw std::invalid_argument("shift_batch must be >= 1, got " + std::to_string(o.shift_batch()));
}

/// W [M, C, k, k] with unit-norm atoms, in the images' dtype and device, checked against them.
torch::Tensor unit_atoms(const torch::Tensor& weights, const torch::Tensor& images) {
  if (weights.dim() != 4 || !weights.is_floating_point() || weights.size(0) < 1 ||
      weights.size(1) != images.size(1) || weights.size(2) != weights.size(3)) {
    std::ostringstream msg;
    msg << "dictionary " << weights.sizes() << " does not fit images " << images.sizes()
        << " (needs [M, C, k, k] with C = " << images.size(1) << ", square atoms)";
    throw std::invalid_argument(msg.str());
  }
  if (!torch::isfinite(weights).all().item<bool>()) throw std::invalid_argument("dictionary contains NaN or Inf");
  const auto w = weights.to(images.options());
  const auto norms = w.reshape({w.size(0), -1}).norm(2, {1});
  if (!(norms > 0).all().item<bool>()) throw std::invalid_argument("dictionary has an all-zero atom");
  return (w / norms.view({-1, 1, 1, 1})).contiguous();
}

/// The atoms of one shift's coding: W followed by the constant atom 1/(k√C).
torch::Tensor with_constant_atom(const torch::Tensor& w) {
  const double value = 1.0 / (static_cast<double>(w.size(2)) * std::sqrt(static_cast<double>(w.size(1))));
  return torch::cat({w, torch::full({1, w.size(1), w.size(2), w.size(3)}, value, w.options())}).contiguous();
}

/// A guaranteed ‖D_sᵀD_s‖₂ bound: the code positions split into ⌈k/s⌉² classes (position mod
/// ⌈k/s⌉ per axis) whose atoms do not overlap, each class's synthesis has norm σ_max(W) (W as a
/// [M, C·k²] matrix), and ‖Σ_c D_c z_c‖² ≤ (#classes) Σ_c ‖D_c z_c‖² (Cauchy–Schwarz). The mask
/// (0/1) only lowers the norm. Exact for s = k.
double strided_lipschitz_bound(const torch::Tensor& atoms, int64_t stride) {
  const int64_t k = atoms.size(2), classes_per_axis = (k + stride - 1) / stride;
  const double top = torch::linalg_svdvals(atoms.reshape({atoms.size(0), -1}).to(torch::kDouble))[0].item<double>();
  return static_cast<double>(classes_per_axis * classes_per_axis) * top * top;
}

/// The canvas every shift is coded on: the image at offset (k − s + a, k − s + b) for the shift
/// (a, b), a grid of rows × cols code positions, height × width pixels; sized for the last shift
/// (a = b = s − 1), so that one size serves all and shifts can be coded as one batch (the code
/// positions a smaller shift does not need lie over masked pixels and stay zero).
struct Canvas {
  int64_t k, s, height, width;  // atom side, stride, canvas size
  int64_t top(int64_t a) const { return k - s + a; }
};

Canvas canvas_for(int64_t k, int64_t s, int64_t H, int64_t W) {
  const int64_t rows = (k + H - 2) / s + 1, cols = (k + W - 2) / s + 1;
  return {k, s, (rows - 1) * s + k, (cols - 1) * s + k};
}

/// The estimates of the shifts `shifts` ((a, b) pairs) of images [N, C, H, W], coded as one batch
/// [B·N, …] (shift-major): lasso, refit on the support, each shift's window of D z. Adds the
/// estimates into `sum` and returns their non-zero codes.
double code_shifts(const torch::Tensor& images, const torch::Tensor& atoms, const torch::Tensor& penalty,
                   double lipschitz, const std::vector<std::pair<int64_t, int64_t>>& shifts,
                   const StridedDenoiseOptions& o, torch::Tensor& sum) {
  const int64_t H = images.size(2), W = images.size(3);
  const auto canvas = canvas_for(atoms.size(2), o.stride(), H, W);
  const auto ones = torch::ones({images.size(0), 1, H, W}, images.options());
  std::vector<torch::Tensor> placed, masks;
  for (const auto& [a, b] : shifts) {
    const int64_t top = canvas.top(a), left = canvas.top(b);
    const auto pad = F::PadFuncOptions({left, canvas.width - left - W, top, canvas.height - top - H});
    placed.push_back(F::pad(images, pad));
    masks.push_back(F::pad(ones, pad));
  }
  const auto signals = torch::cat(placed).contiguous();

  auto dict = std::make_shared<ConvDictionary>(atoms, ConvOptions().stride(o.stride()));
  const MaskedOperator op(dict, torch::cat(masks));
  const double step = 1.0 / lipschitz;
  auto codes = sparse::unrolled_pursuit(op, signals, sparse::PursuitLambda::per_atom(penalty),
                                        sparse::UnrolledPursuitOptions(step)
                                            .iterations(o.max_iter())
                                            .solver(sparse::UnrolledSolver::Fista)
                                            .nonneg(false));
  if (o.debias_iter() > 0) {
    // FISTA on ½‖M ⊙ (Y − D z)‖² over the codes with the lasso's support (projected gradient).
    const auto support = (codes != 0).to(codes.scalar_type());
    auto previous = codes, extrapolated = codes;
    double t = 1;
    for (int64_t it = 0; it < o.debias_iter(); ++it) {
      auto next = (extrapolated - step * op.adjoint(op.apply(extrapolated) - signals)) * support;
      const double t_next = (1 + std::sqrt(1 + 4 * t * t)) / 2;
      extrapolated = next + ((t - 1) / t_next) * (next - previous);
      previous = std::move(next);
      t = t_next;
    }
    codes = previous;
  }
  const auto synthesis = dict->apply(codes);
  const int64_t n = images.size(0);
  for (size_t i = 0; i < shifts.size(); ++i) {
    const auto& [a, b] = shifts[i];
    sum += synthesis.narrow(0, static_cast<int64_t>(i) * n, n).narrow(2, canvas.top(a), H).narrow(3, canvas.top(b), W);
  }
  return (codes != 0).sum().item<double>();
}

/// X̂ of images [N, C, H, W] over the unit atoms W [M, C, k, k]: the mean of the s² shift estimates,
/// blended with the noisy images (the file comment of strided_denoise.h).
torch::Tensor denoise_with(const torch::Tensor& images, const torch::Tensor& w, double lambda,
                           const StridedDenoiseOptions& o, RestorationResult& result) {
  const auto atoms = with_constant_atom(w);
  auto penalty = torch::full({atoms.size(0)}, lambda, images.options());
  penalty[atoms.size(0) - 1] = 0;
  const double lipschitz = strided_lipschitz_bound(atoms, o.stride());
  std::vector<std::pair<int64_t, int64_t>> all;
  for (int64_t a = 0; a < o.stride(); ++a)
    for (int64_t b = 0; b < o.stride(); ++b) all.emplace_back(a, b);
  auto sum = torch::zeros_like(images);
  double nonzeros = 0;
  for (size_t first = 0; first < all.size(); first += static_cast<size_t>(o.shift_batch())) {
    const auto last = std::min(all.size(), first + static_cast<size_t>(o.shift_batch()));
    nonzeros += code_shifts(images, atoms, penalty, lipschitz, {all.begin() + first, all.begin() + last}, o, sum);
  }
  const double shifts = static_cast<double>(all.size());
  result.nonzeros += nonzeros / shifts;  // per image and shift, summed over the images
  const auto mean = sum / shifts;
  if (o.blend() == 0) return mean.clamp(0, 1);
  const int64_t k = w.size(-1), per_shift = (k + o.stride() - 1) / o.stride();
  const double positions = shifts * static_cast<double>(per_shift * per_shift);  // P, over a pixel
  const double beta = o.blend() / (o.sigma() * 255);
  return ((beta * images + positions * mean) / (beta + positions)).clamp(0, 1);
}

}  // namespace

RestorationResult strided_csc_denoise(const torch::Tensor& images, const torch::Tensor& weights,
                                      const StridedDenoiseOptions& o) {
  detail::check_images(images);
  check_options(o);
  const auto atoms = weights.defined() ? unit_atoms(weights, images) : torch::Tensor();
  const int64_t k = atoms.defined() ? atoms.size(-1) : o.kernel_size();
  if (o.stride() < 1 || o.stride() > k) {
    std::ostringstream msg;
    msg << "stride must be in [1, " << k << "] (the atoms are " << k << "x" << k << "), got " << o.stride();
    throw std::invalid_argument(msg.str());
  }
  if (images.size(2) < k || images.size(3) < k) {
    std::ostringstream msg;
    msg << "images " << images.sizes() << " are smaller than the " << k << "x" << k << " atoms";
    throw std::invalid_argument(msg.str());
  }
  if (!weights.defined() && images.size(1) != 1)
    throw std::invalid_argument("learning the dictionary needs grey images (C = 1), got C = " +
                                std::to_string(images.size(1)) + "; give a dictionary for colour images");
  torch::NoGradGuard no_grad;

  RestorationResult result;
  result.lambda = o.lambda() > 0 ? o.lambda() : o.lambda_per_sigma() * o.sigma();
  result.iterations = o.max_iter() + o.debias_iter();
  if (weights.defined()) {
    result.weights = atoms;
    const auto start = std::chrono::steady_clock::now();
    result.image = denoise_with(images, result.weights, result.lambda, o, result);
    result.coding_seconds = detail::seconds_since(start);
  } else {
    // K-SVD denoising learns on each noisy picture's own patches; so does this.
    std::vector<torch::Tensor> denoised;
    result.learned = true;
    for (int64_t i = 0; i < images.size(0); ++i) {
      const auto learning = dictlearn::DenoisingDictionaryOptions(o.sigma())
                                .patch(o.kernel_size())
                                .atoms(o.atoms())
                                .iterations(o.learning_iterations())
                                .seed(o.seed());
      const auto learned = dictlearn::learn_denoising_dictionary(images[i][0], learning);
      result.learning_seconds += learned.seconds;
      result.weights = unit_atoms(learned.atoms.t().reshape({-1, 1, k, k}), images);
      const auto start = std::chrono::steady_clock::now();
      denoised.push_back(denoise_with(images.narrow(0, i, 1), result.weights, result.lambda, o, result));
      result.coding_seconds += detail::seconds_since(start);
    }
    result.image = torch::cat(denoised);
  }
  result.nonzeros /= static_cast<double>(images.size(0));
  // converged stays false: fixed iteration counts, no tolerance is tested.
  return result;
}

}  // namespace deepsc::conv
