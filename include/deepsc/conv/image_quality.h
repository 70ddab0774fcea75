#pragma once
/// Full-reference image quality: PSNR and SSIM between a result and its clean reference.
///
/// Images are [N, C, H, W], floating point, values on a scale of `data_range` (1 for images in
/// [0, 1]); every function returns one value per image, [N] float64 on the images' device, so a
/// batch of results is scored in one call.

#include <torch/torch.h>

#include <string>

namespace deepsc::conv {

/// PSNR = 10 log10(L² / MSE) dB, MSE the mean of (a − b)² over channels and pixels, L = data_range.
/// +inf for identical images. Requires a and b floating point [N, C, H, W] of the same shape and
/// data_range > 0; throws std::invalid_argument naming the argument otherwise.
torch::Tensor psnr(const torch::Tensor& a, const torch::Tensor& b, double data_range = 1.0);

struct SsimOptions {
  /// L, the dynamic range of the pixel values.
  TORCH_ARG(double, data_range) = 1.0;
  /// Side of the Gaussian window (odd).
  TORCH_ARG(int64_t, window) = 11;
  /// Standard deviation of the Gaussian window, pixels.
  TORCH_ARG(double, window_sigma) = 1.5;
  /// C₁ = (K₁ L)².
  TORCH_ARG(double, k1) = 0.01;
  /// C₂ = (K₂ L)².
  TORCH_ARG(double, k2) = 0.03;
};

/// Mean structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004, IEEE TIP 13(4)):
///   SSIM(x, y) = (2 μx μy + C₁)(2 σxy + C₂) / ((μx² + μy² + C₁)(σx² + σy² + C₂))
/// with local means, variances and covariance weighted by a normalised Gaussian window (11×11,
/// σ = 1.5 by default), evaluated where the window fits inside the image ("valid", as in the
/// authors' MATLAB code; no padding), averaged over those positions and over channels. The
/// local moments are the window-weighted population ones (no N/(N − 1) correction), computed in
/// float64. SSIM(x, x) = 1.
/// Requires a and b floating point [N, C, H, W] of the same shape with H, W ≥ window, an odd
/// window ≥ 1, window_sigma > 0, data_range > 0; throws std::invalid_argument otherwise.
torch::Tensor ssim(const torch::Tensor& a, const torch::Tensor& b, const SsimOptions& options = {});

/// The two numbers a restoration report gives for a result against its clean reference.
struct ImageQuality {
  double psnr = 0;  ///< dB, the mean of psnr() over the images (+inf when they are identical)
  double ssim = 0;  ///< the mean of ssim() over the images, with the default SsimOptions
};

/// PSNR and SSIM of `image` against `clean` (both [N, C, H, W], floating point, values in [0, 1]),
/// computed in float64 on the CPU so that the numbers do not depend on the device or dtype, and
/// averaged over the N images. Same requirements and errors as psnr() and ssim().
ImageQuality image_quality(const torch::Tensor& image, const torch::Tensor& clean);

/// "PSNR 28.12 dB, SSIM 0.8123": two decimals of dB, four of SSIM.
std::string to_string(const ImageQuality& quality);

}  // namespace deepsc::conv
