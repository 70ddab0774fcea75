#include "deepsc/conv/image_quality.h"

#include <cmath>
#include <iomanip>
#include <sstream>
#include <stdexcept>

namespace deepsc::conv {

namespace {

void check_pair(const torch::Tensor& a, const torch::Tensor& b, const char* fn) {
  for (const auto* t : {&a, &b}) {
    if (!t->defined() || t->dim() != 4 || !t->is_floating_point()) {
      std::ostringstream msg;
      msg << fn << ": images must be floating point [N, C, H, W], got "
          << (t->defined() ? t->sizes() : c10::IntArrayRef{});
      throw std::invalid_argument(msg.str());
    }
  }
  if (a.sizes() != b.sizes()) {
    std::ostringstream msg;
    msg << fn << ": the images differ in shape, " << a.sizes() << " vs " << b.sizes();
    throw std::invalid_argument(msg.str());
  }
}

void check_range(double data_range, const char* fn) {
  if (!(data_range > 0) || !std::isfinite(data_range))
    throw std::invalid_argument(std::string(fn) + ": data_range must be positive, got " + std::to_string(data_range));
}

}  // namespace

torch::Tensor psnr(const torch::Tensor& a, const torch::Tensor& b, double data_range) {
  check_pair(a, b, "psnr");
  check_range(data_range, "psnr");
  torch::NoGradGuard no_grad;
  const auto diff = a.to(torch::kDouble) - b.to(torch::kDouble);
  const auto mse = diff.square().flatten(1).mean(1);  // [N]
  return 10 * torch::log10(data_range * data_range / mse);  // mse = 0 gives +inf
}

torch::Tensor ssim(const torch::Tensor& a, const torch::Tensor& b, const SsimOptions& o) {
  check_pair(a, b, "ssim");
  check_range(o.data_range(), "ssim");
  if (o.window() < 1 || o.window() % 2 == 0)
    throw std::invalid_argument("ssim: window must be odd and >= 1, got " + std::to_string(o.window()));
  if (!(o.window_sigma() > 0)) throw std::invalid_argument("ssim: window_sigma must be positive");
  const int64_t n = a.size(0), c = a.size(1), h = a.size(2), w = a.size(3);
  if (h < o.window() || w < o.window()) {
    std::ostringstream msg;
    msg << "ssim: images " << a.sizes() << " are smaller than the " << o.window() << "x" << o.window() << " window";
    throw std::invalid_argument(msg.str());
  }
  torch::NoGradGuard no_grad;
  const auto opts = a.options().dtype(torch::kDouble);
  const int64_t r = o.window() / 2;
  auto taps = torch::exp(-0.5 * (torch::arange(-r, r + 1, opts) / o.window_sigma()).square());
  taps = taps / taps.sum();
  // Separable "valid" filtering of one-channel maps [N·C, 1, H, W] → [N·C, 1, H − 2r, W − 2r].
  const auto filter = [&](const torch::Tensor& x) {
    return torch::conv2d(torch::conv2d(x, taps.view({1, 1, -1, 1})), taps.view({1, 1, 1, -1}));
  };
  const auto x = a.to(torch::kDouble).reshape({n * c, 1, h, w});
  const auto y = b.to(torch::kDouble).reshape({n * c, 1, h, w});
  const auto mx = filter(x), my = filter(y);
  const auto vx = filter(x * x) - mx * mx;
  const auto vy = filter(y * y) - my * my;
  const auto cxy = filter(x * y) - mx * my;
  const double c1 = std::pow(o.k1() * o.data_range(), 2), c2 = std::pow(o.k2() * o.data_range(), 2);
  const auto map = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  return map.reshape({n, -1}).mean(1);
}

ImageQuality image_quality(const torch::Tensor& image, const torch::Tensor& clean) {
  check_pair(image, clean, "image_quality");
  const auto a = image.to(torch::kCPU, torch::kDouble), b = clean.to(torch::kCPU, torch::kDouble);
  return {psnr(a, b).mean().item<double>(), ssim(a, b).mean().item<double>()};
}

std::string to_string(const ImageQuality& quality) {
  std::ostringstream s;
  s << std::fixed << "PSNR " << std::setprecision(2) << quality.psnr << " dB, SSIM " << std::setprecision(4) << quality.ssim;
  return s.str();
}

}  // namespace deepsc::conv
