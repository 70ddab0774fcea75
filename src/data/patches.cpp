#include "deepsc/data/patches.h"

#include <sstream>
#include <stdexcept>
#include <string>

namespace deepsc::data {
namespace F = torch::nn::functional;

namespace {

[[noreturn]] void fail_patches(const char* fn, const std::string& what) {
  throw std::invalid_argument(std::string(fn) + ": " + what);
}

std::string shape_of(c10::IntArrayRef sizes) {
  std::ostringstream out;
  out << sizes;
  return out.str();
}

// Images as a floating [N, C, H, W] tensor. Integer pixels (e.g. uint8 from an IDX or PNG file)
// become float32 because everything downstream (norms, averaging, coding) needs real arithmetic.
torch::Tensor as_float_nchw(const torch::Tensor& images, const char* fn) {
  if (!images.defined()) fail_patches(fn, "images tensor is undefined");
  if (images.dim() != 3 && images.dim() != 4)
    fail_patches(fn, "images must have shape [N, C, H, W] or [N, H, W], got " + shape_of(images.sizes()));
  if (images.is_complex()) fail_patches(fn, "images must be real, got a complex tensor");
  torch::Tensor x = images.dim() == 3 ? images.unsqueeze(1) : images;
  if (!x.is_floating_point()) x = x.to(torch::kFloat);
  return x;
}

void check_geometry(const char* fn, int64_t H, int64_t W, int64_t patch, int64_t stride) {
  if (patch <= 0) fail_patches(fn, "patch must be >= 1, got " + std::to_string(patch));
  if (stride <= 0) fail_patches(fn, "stride must be >= 1, got " + std::to_string(stride));
  if (patch > H || patch > W)
    fail_patches(fn, "patch " + std::to_string(patch) + " is larger than the " + std::to_string(H) + "x" +
                         std::to_string(W) + " images");
}

// own[u, a] is true when the patch at grid index a (along one axis) is the designated contributor
// for the pixel at offset u inside it: the last grid patch starting at or before the pixel. Every
// covered pixel has exactly one designated contributor.
torch::Tensor designated(int64_t patch, int64_t stride, int64_t grid) {
  const auto opts = torch::TensorOptions().dtype(torch::kLong);
  const torch::Tensor a = torch::arange(grid, opts).view({1, grid});
  const torch::Tensor u = torch::arange(patch, opts).view({patch, 1});
  const torch::Tensor owner = (a * stride + u).div(stride, "floor").clamp_max(grid - 1);
  return owner == a;
}

void check_floating_2d(const torch::Tensor& t, const char* fn, const char* name) {
  if (!t.defined()) fail_patches(fn, std::string(name) + " tensor is undefined");
  if (t.dim() != 2) fail_patches(fn, std::string(name) + " must have shape [N, d], got " + shape_of(t.sizes()));
  if (!t.is_floating_point())
    fail_patches(fn, std::string(name) + " must be floating point, got " + std::string(c10::toString(t.scalar_type())));
}

}  // namespace

torch::Tensor extract_patches(const torch::Tensor& images, int64_t patch, int64_t stride) {
  const torch::Tensor x = as_float_nchw(images, "extract_patches");
  const int64_t N = x.size(0), C = x.size(1);
  check_geometry("extract_patches", x.size(2), x.size(3), patch, stride);
  // Two unfolds give a strided view [N, C, Ho, Wo, p, p]; only the final reshape copies.
  const torch::Tensor windows = x.unfold(2, patch, stride).unfold(3, patch, stride);
  const int64_t P = windows.size(2) * windows.size(3);
  return windows.permute({0, 2, 3, 1, 4, 5}).reshape({N * P, C * patch * patch});
}

torch::Tensor random_patches(const torch::Tensor& images, int64_t patch, int64_t count,
                             torch::Generator gen) {
  const torch::Tensor x = as_float_nchw(images, "random_patches");
  const int64_t N = x.size(0), C = x.size(1);
  check_geometry("random_patches", x.size(2), x.size(3), patch, 1);
  if (count <= 0) fail_patches("random_patches", "count must be >= 1, got " + std::to_string(count));
  if (N == 0) fail_patches("random_patches", "cannot draw patches from an empty batch of images");

  // Stride-1 windows as a view [N, Ho, Wo, C, p, p]; indexing it copies only the chosen patches.
  const torch::Tensor windows = x.unfold(2, patch, 1).unfold(3, patch, 1).permute({0, 2, 3, 1, 4, 5});
  // Draw on the generator's device (CPU by default) so a seed gives the same patches whether the
  // images live on the CPU or an accelerator.
  const c10::optional<torch::Generator> g = gen.defined() ? c10::optional<torch::Generator>(gen) : c10::nullopt;
  const auto opts = torch::TensorOptions().dtype(torch::kLong).device(gen.defined() ? gen.device() : torch::kCPU);
  const torch::Tensor n = torch::randint(N, {count}, g, opts).to(x.device());
  const torch::Tensor a = torch::randint(windows.size(1), {count}, g, opts).to(x.device());
  const torch::Tensor b = torch::randint(windows.size(2), {count}, g, opts).to(x.device());
  return windows.index({n, a, b}).reshape({count, C * patch * patch});
}

torch::Tensor fold_patches(const torch::Tensor& patches, c10::IntArrayRef image_shape, int64_t patch,
                           int64_t stride) {
  const char* fn = "fold_patches";
  check_floating_2d(patches, fn, "patches");
  if (image_shape.size() != 3 && image_shape.size() != 4)
    fail_patches(fn, "image_shape must be [N, C, H, W] or [N, H, W], got " + shape_of(image_shape));
  const bool has_channels = image_shape.size() == 4;
  const int64_t N = image_shape[0], C = has_channels ? image_shape[1] : 1;
  const int64_t H = image_shape[has_channels ? 2 : 1], W = image_shape[has_channels ? 3 : 2];
  if (N < 0 || C <= 0 || H <= 0 || W <= 0) fail_patches(fn, "invalid image_shape " + shape_of(image_shape));
  check_geometry(fn, H, W, patch, stride);
  const int64_t Ho = (H - patch) / stride + 1, Wo = (W - patch) / stride + 1, L = Ho * Wo;
  const int64_t d = C * patch * patch;
  if (patches.size(0) != N * L || patches.size(1) != d) {
    std::ostringstream msg;
    msg << "patches of shape " << patches.sizes() << " do not match image_shape " << image_shape
        << " with patch " << patch << " and stride " << stride << " (expected [" << N * L << ", " << d << "])";
    fail_patches(fn, msg.str());
  }
  const auto opts = patches.options();
  if (N == 0) return torch::zeros(image_shape, opts);

  const auto fold = F::FoldFuncOptions({H, W}, {patch, patch}).stride(stride);
  const torch::Tensor cols = patches.reshape({N, L, d}).transpose(1, 2);  // F::fold's [N, C·p·p, L]
  // A plain sum/count is not exact in floating point even when all contributions to a pixel are
  // equal (0.1 + 0.1 + 0.1 ≠ 3·0.1). Averaging deviations from one designated contribution per
  // pixel is: equal contributions give deviations of exactly 0, so the result is that contribution.
  const torch::Tensor own =
      (designated(patch, stride, Ho).view({patch, 1, Ho, 1}) & designated(patch, stride, Wo).view({1, patch, 1, Wo}))
          .reshape({1, 1, patch * patch, L})
          .to(patches.device());
  const torch::Tensor chosen = cols.reshape({N, C, patch * patch, L}).masked_fill(own.logical_not(), 0).reshape({N, d, L});
  const torch::Tensor reference = F::fold(chosen, fold);  // [N, C, H, W]; 0 where uncovered
  const torch::Tensor deviation = cols - F::unfold(reference, F::UnfoldFuncOptions({patch, patch}).stride(stride));
  const torch::Tensor count = F::fold(torch::ones({1, patch * patch, L}, opts), fold);  // [1, 1, H, W]
  const torch::Tensor out = reference + F::fold(deviation, fold) / count.clamp_min(1);
  return out.reshape(image_shape);
}

std::pair<torch::Tensor, PatchNormalisation> remove_mean(const torch::Tensor& patches, bool contrast, double eps) {
  check_floating_2d(patches, "remove_mean", "patches");
  if (patches.size(1) == 0) fail_patches("remove_mean", "patches must have at least one column");
  if (!(eps >= 0)) fail_patches("remove_mean", "eps must be >= 0, got " + std::to_string(eps));
  PatchNormalisation stats;
  stats.mean = patches.mean(1, /*keepdim=*/true);
  torch::Tensor centred = patches - stats.mean;
  if (contrast) {
    stats.scale = centred.square().mean(1, /*keepdim=*/true).sqrt() + eps;
    centred = centred / stats.scale;
  } else {
    stats.scale = torch::ones_like(stats.mean);
  }
  return {centred, stats};
}

torch::Tensor restore_mean(const torch::Tensor& normalised, const PatchNormalisation& stats) {
  check_floating_2d(normalised, "restore_mean", "normalised");
  const std::vector<int64_t> expected = {normalised.size(0), 1};
  for (const auto& [t, name] : {std::pair{&stats.mean, "mean"}, std::pair{&stats.scale, "scale"}}) {
    if (!t->defined() || t->sizes() != c10::IntArrayRef(expected))
      fail_patches("restore_mean", std::string("stats.") + name + " must have shape " + shape_of(expected) + ", got " +
                                       (t->defined() ? shape_of(t->sizes()) : std::string("undefined")));
  }
  return normalised * stats.scale + stats.mean;
}

}  // namespace deepsc::data
