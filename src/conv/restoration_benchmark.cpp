#include "deepsc/conv/restoration_benchmark.h"

#include "deepsc/conv/denoise.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace deepsc::conv {

namespace {

void check_floating(const torch::Tensor& images, const char* fn) {
  if (!images.defined() || !images.is_floating_point())
    throw std::invalid_argument(std::string(fn) + ": images must be a floating point tensor");
}

}  // namespace

torch::Tensor add_gaussian_noise(const torch::Tensor& images, double sigma, uint64_t seed) {
  check_floating(images, "add_gaussian_noise");
  if (!(sigma >= 0) || !std::isfinite(sigma))
    throw std::invalid_argument("add_gaussian_noise: sigma must be a finite number >= 0, got " + std::to_string(sigma));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto noise = torch::randn(images.sizes(), gen, images.options().device(torch::kCPU));
  return images + sigma * noise.to(images.device());
}

torch::Tensor random_pixel_mask(const torch::Tensor& images, double missing, uint64_t seed) {
  check_floating(images, "random_pixel_mask");
  if (!(missing >= 0 && missing < 1))
    throw std::invalid_argument("random_pixel_mask: missing must be in [0, 1), got " + std::to_string(missing));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto uniform = torch::rand(images.sizes(), gen, images.options().device(torch::kCPU));
  return (uniform >= missing).to(images.scalar_type()).to(images.device());
}

InpaintBaselineScore best_inpaint_baseline(const torch::Tensor& corrupted, const torch::Tensor& mask,
                                           const torch::Tensor& clean, const std::vector<double>& fill_sigmas) {
  if (fill_sigmas.empty()) throw std::invalid_argument("best_inpaint_baseline: fill_sigmas is empty");
  InpaintBaselineScore best;
  for (double fill : fill_sigmas) {
    if (!(fill > 0)) throw std::invalid_argument("best_inpaint_baseline: fill_sigmas must be positive, got " + std::to_string(fill));
    const auto quality = image_quality(inpaint_baseline(corrupted, mask, fill), clean);
    if (best.fill_sigma == 0 || quality.psnr > best.quality.psnr) best = {fill, quality};
  }
  return best;
}

}  // namespace deepsc::conv
