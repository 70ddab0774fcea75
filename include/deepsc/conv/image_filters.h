#pragma once
/// The low-pass / high-pass split that precedes convolutional sparse coding of natural images.
///
/// A convolutional dictionary of small zero-mean-ish atoms represents edges and texture well but
/// smooth shading badly (it would take many large coefficients), so the standard CSC pipeline
/// (Wohlberg 2016, sec. VI; SPORCO's examples) codes only the high-pass part:
///   Y = Y_low + Y_high,   Y_low = G_s ∗ Y (Gaussian blur, reflect padding),   Y_high = Y − Y_low,
/// and adds Y_low back after the reconstruction D X of Y_high. For inpainting, where only the pixels
/// with mask M = 1 are known, the low-pass is the normalised convolution (Knutsson & Westin 1993)
///   Y_low = (G_s ∗ (M ⊙ Y)) / (G_s ∗ M),
/// a blur that averages known pixels only.
///
/// Images are [N, C, H, W], floating point, any device; the blur is separable, per channel.

#include <torch/torch.h>

namespace deepsc::conv {

/// G_s ∗ images: Gaussian blur of standard deviation `sigma` (pixels), truncated at radius
/// ⌈3σ⌉, normalised to sum 1, with reflect padding (so a constant image stays constant).
/// Requires images [N, C, H, W] floating point with H, W > ⌈3σ⌉ (reflect padding needs it) and
/// sigma > 0. Throws std::invalid_argument naming the argument otherwise.
/// Ensures: same shape, dtype and device as `images`.
torch::Tensor gaussian_blur(const torch::Tensor& images, double sigma);

/// Both halves of the split; low + high == images (up to rounding).
struct FrequencySplit {
  torch::Tensor low;   // [N, C, H, W]
  torch::Tensor high;  // [N, C, H, W]
};

/// low = gaussian_blur(images, sigma), high = images − low. Same requirements as gaussian_blur.
FrequencySplit split_frequencies(const torch::Tensor& images, double sigma);

/// Normalised convolution (G_s ∗ (M ⊙ Y)) / (G_s ∗ M): a low-pass of Y that uses only the pixels
/// where M = 1. Where no known pixel lies within the blur's reach (G_s ∗ M < 1e-6, a hole wider
/// than about 6σ), the value is the mean of the known pixels of that image and channel (0.5 when
/// the image has none).
/// Requires images [N, C, H, W] floating point; mask of the same rank whose sizes are 1 or
/// equal to those of images (broadcast over batch and channels), values in [0, 1] (weights
/// between 0 and 1 are allowed); the requirements of gaussian_blur.
/// Throws std::invalid_argument naming the argument otherwise.
torch::Tensor masked_lowpass(const torch::Tensor& images, const torch::Tensor& mask, double sigma);

/// Grey from RGB by the ITU-R BT.601 luma weights 0.299 R + 0.587 G + 0.114 B.
/// Requires images [N, 3, H, W] floating point; returns [N, 1, H, W].
torch::Tensor rgb_to_grey(const torch::Tensor& images);

}  // namespace deepsc::conv
