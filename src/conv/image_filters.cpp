#include "deepsc/conv/image_filters.h"

#include "mask_check.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::conv {

namespace {

void check_filter_images(const torch::Tensor& images, const char* what) {
  if (!images.defined() || images.dim() != 4) {
    std::ostringstream msg;
    msg << what << " must be [N, C, H, W], got " << (images.defined() ? images.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  if (!images.is_floating_point()) throw std::invalid_argument(std::string(what) + " must be floating point");
}

int64_t blur_radius(double sigma) { return static_cast<int64_t>(std::ceil(3 * sigma)); }

/// The normalised 1-D Gaussian [2r + 1], built in float64 for exact symmetry.
torch::Tensor gaussian_taps(double sigma, int64_t radius, const torch::TensorOptions& options) {
  auto x = torch::arange(-radius, radius + 1, torch::kDouble);
  auto g = torch::exp(-0.5 * (x / sigma).square());
  return (g / g.sum()).to(options);
}

}  // namespace

torch::Tensor gaussian_blur(const torch::Tensor& images, double sigma) {
  check_filter_images(images, "images");
  if (!(sigma > 0) || !std::isfinite(sigma))
    throw std::invalid_argument("blur sigma must be a positive number of pixels, got " + std::to_string(sigma));
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const int64_t r = blur_radius(sigma);
  if (h <= r || w <= r) {
    std::ostringstream msg;
    msg << "images " << images.sizes() << " are too small for a blur of sigma " << sigma << " (radius " << r
        << "): need height and width > " << r;
    throw std::invalid_argument(msg.str());
  }
  if (images.numel() == 0) return images.clone();
  namespace F = torch::nn::functional;
  auto x = F::pad(images.reshape({n * c, 1, h, w}), F::PadFuncOptions({r, r, r, r}).mode(torch::kReflect));
  const auto g = gaussian_taps(sigma, r, images.options());
  x = torch::conv2d(x, g.view({1, 1, -1, 1}));  // along H
  x = torch::conv2d(x, g.view({1, 1, 1, -1}));  // along W
  return x.view({n, c, h, w});
}

FrequencySplit split_frequencies(const torch::Tensor& images, double sigma) {
  FrequencySplit split;
  split.low = gaussian_blur(images, sigma);
  split.high = images - split.low;
  return split;
}

torch::Tensor masked_lowpass(const torch::Tensor& images, const torch::Tensor& mask, double sigma) {
  check_filter_images(images, "images");
  detail::check_mask_values(mask, 4, "mask");
  detail::check_mask_broadcasts(mask, images.sizes(), "mask");
  const auto m = mask.to(images.options()).expand_as(images).contiguous();
  const auto known = images * m;
  const auto numerator = gaussian_blur(known, sigma);
  const auto weight = gaussian_blur(m, sigma);
  // Far from every known pixel the ratio is 0/0: fall back to the image's mean known value.
  const auto count = m.sum({2, 3}, /*keepdim=*/true);
  const auto mean = torch::where(count > 0, known.sum({2, 3}, true) / count.clamp_min(1e-12),
                                 torch::full_like(count, 0.5));
  constexpr double tiny = 1e-6;
  return torch::where(weight > tiny, numerator / weight.clamp_min(tiny), mean.expand_as(images));
}

torch::Tensor rgb_to_grey(const torch::Tensor& images) {
  check_filter_images(images, "images");
  if (images.size(1) != 3) {
    std::ostringstream msg;
    msg << "rgb_to_grey needs 3 channels, got images " << images.sizes();
    throw std::invalid_argument(msg.str());
  }
  const auto weights = torch::tensor({0.299, 0.587, 0.114}, torch::kDouble).to(images.options()).view({1, 3, 1, 1});
  return (images * weights).sum(1, /*keepdim=*/true);
}

}  // namespace deepsc::conv
