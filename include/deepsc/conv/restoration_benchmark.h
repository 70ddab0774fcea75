#pragma once
/// What a reproducible restoration benchmark needs beside the restoration itself (conv/denoise.h):
/// the corruption made from a clean picture and a seed, and the baseline the result is scored
/// against (Zhang, "From sparse coding to deep learning", 2024, section 2; Elad & Aharon 2006 for
/// the Gaussian-noise benchmark).
///
///   noisy  = X₀ + σ Z,            Z ~ N(0, I)   (not clipped, so the noise is exactly Gaussian)
///   mask   = 1[U ≥ missing],       U ~ U[0, 1)   (1 = known pixel, each pixel dropped independently)
///
/// The draws come from a CPU generator of their own seeded with `seed` and are then moved to the
/// images' device: a benchmark is a pure function of the clean picture and the seed, the same on
/// every device and for any number of threads.

#include "deepsc/conv/image_quality.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace deepsc::conv {

/// X₀ + σ Z for images [N, C, H, W] (floating point), Z drawn as said above. Requires σ ≥ 0
/// finite; throws std::invalid_argument naming `sigma` otherwise. Returns the images' shape,
/// dtype and device.
torch::Tensor add_gaussian_noise(const torch::Tensor& images, double sigma, uint64_t seed);

/// A mask of the images' shape, dtype and device with each entry 0 (missing) with probability
/// `missing` and 1 (known) otherwise. Requires floating images and 0 ≤ missing < 1; throws
/// std::invalid_argument naming `missing` otherwise.
torch::Tensor random_pixel_mask(const torch::Tensor& images, double missing, uint64_t seed);

/// The inpainting baseline at its best blur for this picture and mask.
struct InpaintBaselineScore {
  double fill_sigma = 0;  ///< the blur of inpaint_baseline with the highest PSNR
  ImageQuality quality;   ///< its PSNR and SSIM against the clean picture
};

/// inpaint_baseline(corrupted, mask, s) for every s of `fill_sigmas`, scored against `clean`
/// ([N, C, H, W] like `corrupted`); returns the one of the highest PSNR (the first on a tie). The
/// choice sees the clean picture: an oracle, so a comparison with it favours the baseline.
/// Requires a non-empty list of positive blurs; throws std::invalid_argument otherwise.
InpaintBaselineScore best_inpaint_baseline(const torch::Tensor& corrupted, const torch::Tensor& mask,
                                           const torch::Tensor& clean,
                                           const std::vector<double>& fill_sigmas = {0.5, 0.7, 1.0, 1.5, 2.0, 3.0});

}  // namespace deepsc::conv
