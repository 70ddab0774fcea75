#include "deepsc/dictlearn/patch_denoise.h"

#include "deepsc/data/patches.h"
#include "deepsc/sparse/omp.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>

namespace deepsc::dictlearn {

namespace F = torch::nn::functional;

namespace {

[[noreturn]] void patch_denoise_error(const std::string& what) { throw std::invalid_argument("patch_denoise: " + what); }

void check_patch_denoise_options(const PatchDenoiseOptions& o) {
  if (!(o.sigma() > 0) || !std::isfinite(o.sigma()))
    patch_denoise_error("sigma must be positive and finite, got " + std::to_string(o.sigma()));
  if (o.stride() < 1) patch_denoise_error("stride must be >= 1, got " + std::to_string(o.stride()));
  if (!(o.gain() > 0) || !std::isfinite(o.gain()))
    patch_denoise_error("gain must be positive and finite, got " + std::to_string(o.gain()));
  if (o.max_sparsity() < 0) patch_denoise_error("max_sparsity must be >= 0, got " + std::to_string(o.max_sparsity()));
  if (!(o.blend() >= 0) || !std::isfinite(o.blend()))
    patch_denoise_error("blend must be >= 0 and finite, got " + std::to_string(o.blend()));
  if (!(o.data_range() > 0) || !std::isfinite(o.data_range()))
    patch_denoise_error("data_range must be positive and finite, got " + std::to_string(o.data_range()));
  if (o.chunk_size() < 1) patch_denoise_error("chunk_size must be >= 1, got " + std::to_string(o.chunk_size()));
}

// How many grid patches (top-left corners 0, s, 2s, … < count·s) cover each of `size` pixels along
// one axis: [size] in `opts`.
torch::Tensor coverage(int64_t size, int64_t count, int64_t patch, int64_t stride, const torch::TensorOptions& opts) {
  const auto lopts = opts.dtype(torch::kLong);
  const auto pixels = (torch::arange(count, lopts).unsqueeze(1) * stride + torch::arange(patch, lopts)).reshape(-1);
  return torch::zeros({size}, opts).index_add_(0, pixels, torch::ones({pixels.size(0)}, opts));
}

}  // namespace

PatchDenoiseResult patch_denoise(const torch::Tensor& image, const sparse::DenseDictionary& dictionary,
                                 const PatchDenoiseOptions& options) {
  check_patch_denoise_options(options);
  if (!image.defined()) patch_denoise_error("image tensor is undefined");
  if (image.dim() != 2 && image.dim() != 3) {
    std::ostringstream msg;
    msg << "image must have shape [H, W] or [C, H, W], got " << image.sizes();
    patch_denoise_error(msg.str());
  }
  if (image.scalar_type() != torch::kFloat && image.scalar_type() != torch::kDouble)
    patch_denoise_error(std::string("image must be float32 or float64, got ") + c10::toString(image.scalar_type()));
  torch::NoGradGuard no_grad;
  if (!torch::isfinite(image).all().item<bool>()) patch_denoise_error("image must be finite");

  const torch::Tensor x = image.dim() == 2 ? image.unsqueeze(0) : image;  // [C, H, W]
  const int64_t C = x.size(0), H = x.size(1), W = x.size(2);
  if (C < 1) patch_denoise_error("image must have at least one channel");
  const int64_t n = dictionary.signal_dim(), m = dictionary.num_atoms();
  const auto p = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n) / static_cast<double>(C))));
  if (p < 1 || C * p * p != n) {
    std::ostringstream msg;
    msg << "dictionary atoms have length n = " << n << ", not C·p² for the image's C = " << C << " channels";
    patch_denoise_error(msg.str());
  }
  if (p > H || p > W) {
    std::ostringstream msg;
    msg << "image " << image.sizes() << " is smaller than the " << p << "x" << p << " patches of the dictionary";
    patch_denoise_error(msg.str());
  }
  const int64_t limit = std::min(n, m);
  if (options.max_sparsity() > limit) {
    patch_denoise_error("max_sparsity " + std::to_string(options.max_sparsity()) + " exceeds min(n, m) = " + std::to_string(limit));
  }
  const int64_t K = options.max_sparsity() > 0 ? options.max_sparsity() : std::clamp<int64_t>(n / 2, 1, limit);

  // The dictionary in the image's dtype and on its device.
  std::optional<sparse::DenseDictionary> converted;
  const sparse::DenseDictionary* dict = &dictionary;
  if (dictionary.matrix().scalar_type() != x.scalar_type() || dictionary.matrix().device() != x.device()) {
    converted.emplace(dictionary.matrix().to(x.options()));
    dict = &*converted;
  }
  const double norm_error = (dict->matrix().norm(2, {0}) - 1).abs().max().item<double>();
  if (!(norm_error <= 1e-3))
    patch_denoise_error("dictionary atoms must have unit l2 norm (largest deviation " + std::to_string(norm_error) + ")");

  const int64_t s = options.stride();
  const int64_t Ho = (H - p) / s + 1, Wo = (W - p) / s + 1;
  const int64_t band_rows = std::max<int64_t>(1, options.chunk_size() / Wo);
  const auto omp_options =
      sparse::OmpOptions().sparsity(K).epsilon(std::sqrt(static_cast<double>(n)) * options.gain() * options.sigma());

  // Σ R_ijᵀ (D α̂_ij + m_ij), accumulated one band of patch rows at a time: band rows [a0, a0 + r)
  // cover image rows [a0·s, (a0 + r − 1)·s + p).
  torch::Tensor sum = torch::zeros({C, H, W}, x.options());
  const torch::Tensor windows = x.unfold(1, p, s).unfold(2, p, s);  // view [C, Ho, Wo, p, p]
  int64_t nonzeros = 0;
  for (int64_t a0 = 0; a0 < Ho; a0 += band_rows) {
    const int64_t rows = std::min(band_rows, Ho - a0);
    const torch::Tensor patches = windows.narrow(1, a0, rows).permute({1, 2, 0, 3, 4}).reshape({rows * Wo, n});
    const auto [centred, stats] = data::remove_mean(patches);
    const sparse::SolverResult coded = sparse::omp(*dict, centred, omp_options);
    nonzeros += coded.codes.ne(0).sum().item<int64_t>();
    const torch::Tensor estimates = dict->apply(coded.codes) + stats.mean;  // [rows·Wo, n]
    const int64_t strip_height = (rows - 1) * s + p;
    const torch::Tensor strip =
        F::fold(estimates.t().unsqueeze(0), F::FoldFuncOptions({strip_height, W}, {p, p}).stride(s));  // [1, C, h, W]
    sum.narrow(1, a0 * s, strip_height).add_(strip[0]);
  }

  const torch::Tensor count =
      coverage(H, Ho, p, s, x.options()).unsqueeze(1) * coverage(W, Wo, p, s, x.options()).unsqueeze(0);  // [H, W]
  PatchDenoiseResult result;
  result.patches = Ho * Wo;
  result.mean_nonzeros = static_cast<double>(nonzeros) / static_cast<double>(result.patches);
  if (options.blend() > 0) {
    const double sigma255 = 255.0 * options.sigma() / options.data_range();
    result.blend_lambda = options.blend() / sigma255;
    result.image = (result.blend_lambda * x + sum) / (result.blend_lambda + count);
  } else {
    // Uncovered pixels (count 0) keep their noisy value.
    result.image = torch::where(count > 0, sum / count.clamp_min(1), x);
  }
  result.image = result.image.reshape(image.sizes());
  return result;
}

}  // namespace deepsc::dictlearn
