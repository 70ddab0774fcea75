#pragma once
// Synthetic grey pictures for the image-restoration tests: piecewise-smooth shapes (a shaded
// background, a disc, a rectangle) plus an oriented texture patch, values in [0.1, 0.9]. The
// tests never read natural images from disk.

#include <torch/torch.h>

namespace deepsc::testing {

/// [1, 1, size, size] in [0.1, 0.9], float64 (convert as needed); fixed, no randomness.
inline torch::Tensor synthetic_picture(int64_t size = 64) {
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  const auto coords = torch::arange(size, opts) / static_cast<double>(size);
  const auto y = coords.view({-1, 1}).expand({size, size});
  const auto x = coords.view({1, -1}).expand({size, size});
  auto img = 0.3 + 0.25 * x + 0.1 * y;  // shaded background
  const auto disc = ((x - 0.32).square() + (y - 0.35).square()) < 0.04;
  img = torch::where(disc, 0.8 - 0.3 * (y - 0.15), img);
  const auto rect = (x > 0.55) & (x < 0.9) & (y > 0.15) & (y < 0.45);
  img = torch::where(rect, torch::full_like(img, 0.15), img);
  // Oriented stripes (period ~5 pixels) in the lower half: texture the atoms must carry.
  const auto stripes = (y > 0.6) & (y < 0.92) & (x > 0.1) & (x < 0.85);
  const auto wave = 0.5 + 0.2 * torch::sin(2 * M_PI * (0.7 * x + 0.5 * y) * size / 6.0);
  img = torch::where(stripes, wave, img);
  return img.clamp(0.1, 0.9).view({1, 1, size, size});
}

}  // namespace deepsc::testing
