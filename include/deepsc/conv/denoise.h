#pragma once
/// Denoising and inpainting of images by convolutional sparse coding (Zhang 2024, section 2; Wohlberg
/// 2016; Heide, Heidrich & Wetzstein 2015 for the masked fit; Elad & Aharon 2006 for learning the
/// dictionary from the corrupted image itself).
///
/// Denoising, Y = X₀ + noise of standard deviation σ:
///   Y_low = G_s ∗ Y,  Y_high = Y − Y_low                                  (image_filters.h)
///   X* = argmin_X ½‖Y_high − D X‖₂² + λ‖X‖₁,   λ = lambda_per_sigma · σ    (FISTA on ConvDictionary)
///   X̂₀ = clamp(D X* + Y_low, 0, 1)
/// Inpainting, only the pixels with M = 1 known:
///   Y_low = (G_s ∗ (M ⊙ Y)) / (G_s ∗ M)                                  (normalised convolution)
///   X* = argmin_X ½‖M ⊙ (Y − Y_low − D X)‖₂² + λ‖X‖₁                      (FISTA on MaskedOperator)
///   X̂₀ = clamp(M ⊙ Y + (1 − M) ⊙ (D X* + Y_low), 0, 1)                   (known pixels kept)
/// D is the convolutional dictionary W [M, C, k, k] with "full" codes (padding k − 1, stride 1),
/// so every pixel, border included, is covered by k² positions of every atom; FISTA's step is
/// 1/L with L the FFT bound of conv_lipschitz_bound (lipschitz_bound.h). Without a given W, one is
/// learned from the corrupted image itself by learn_conv_dictionary, starting from the DCT atoms
/// of dct_dictionary, as K-SVD denoising learns its dictionary on the noisy image: for denoising
/// from random crops of the noisy high-pass; for inpainting from the high-pass of a first
/// inpainting with the DCT atoms (the masked high-pass would teach the atoms the mask's holes).
///
/// Images are [N, C, H, W] with values in [0, 1] (σ on that scale: σ₂₅₅ / 255), float32 or
/// float64, any device; the N images share the dictionary (learned from all of them).

#include "deepsc/conv/dictionary_learning.h"

#include <functional>

namespace deepsc::conv {

/// How the dictionary is learned from the corrupted image when none is given. The defaults are
/// modest: a 256 × 256 image takes well under a minute on two CPU cores.
struct SelfLearningOptions {
  /// M, the number of atoms.
  TORCH_ARG(int64_t, atoms) = 36;
  /// k, atoms are k × k.
  TORCH_ARG(int64_t, kernel_size) = 8;
  /// Random crops of the high-pass image(s) to learn from (positions drawn from `seed`); fewer
  /// when that many would cover small images more than twice, the images whole when a crop would.
  TORCH_ARG(int64_t, crops) = 12;
  /// Side of each crop (clipped to the image size).
  TORCH_ARG(int64_t, crop_size) = 64;
  /// Passes of learn_conv_dictionary over the crops.
  TORCH_ARG(int64_t, epochs) = 8;
  /// FISTA iterations per coding step of the learner.
  TORCH_ARG(int64_t, coding_iters) = 20;
  /// λ of the learner; 0 uses the λ of the restoration.
  TORCH_ARG(double, lambda) = 0;
  /// Seed of the crop positions and of the learner.
  TORCH_ARG(uint64_t, seed) = 0;
  /// Called after every learning epoch (progress reports); may be empty.
  TORCH_ARG(std::function<void(const LearningProgress&)>, on_epoch) = nullptr;
};

struct DenoiseOptions {
  /* implicit */ DenoiseOptions(double sigma) : sigma_(sigma) {}
  /// σ ≥ 0, standard deviation of the noise on the image's scale ([0, 1]: σ₂₅₅ / 255).
  TORCH_ARG(double, sigma);
  /// λ > 0 overrides the rule λ = lambda_per_sigma · σ.
  TORCH_ARG(double, lambda) = 0;
  /// The constant of the rule λ = lambda_per_sigma · σ (atoms of unit norm): 3 was chosen by a
  /// sweep over {2, 2.5, 3, 3.5} on the centre 256 × 256 of the grey astronaut picture at σ₂₅₅ = 15,
  /// 25, 50 (within 0.3 dB of the best PSNR at each σ), never on the pictures the docs report.
  TORCH_ARG(double, lambda_per_sigma) = 3.0;
  /// Standard deviation (pixels) of the Gaussian low-pass Y_low (1.5–3 all within 0.15 dB in
  /// the same sweep).
  TORCH_ARG(double, lowpass_sigma) = 2.0;
  /// FISTA iteration cap and relative-change tolerance.
  TORCH_ARG(int64_t, max_iter) = 200;
  TORCH_ARG(double, tol) = 1e-4;
  /// Used when no dictionary is given.
  TORCH_ARG(SelfLearningOptions, learning) = {};
};

struct InpaintOptions {
  /// λ ≥ 0 of the masked lasso (the known pixels are taken as noise-free). λ ∈ [0.003, 0.03] all
  /// gave the same PSNR within 0.2 dB in a sweep on a 128 × 128 crop of the grey astronaut
  /// picture with 50 % of the pixels missing; 0.01 codes sparser than 0.003 at no loss.
  TORCH_ARG(double, lambda) = 0.01;
  /// Standard deviation (pixels) of the masked low-pass Y_low. Small: with half the pixels gone
  /// the atoms interpolate details badly, so the normalised convolution should carry most of the
  /// picture (1.0 beat 3.0 by 1.3 dB in the same sweep).
  TORCH_ARG(double, lowpass_sigma) = 1.0;
  TORCH_ARG(int64_t, max_iter) = 300;
  TORCH_ARG(double, tol) = 1e-4;
  /// Keep the known pixels (M ⊙ Y) in the result; false returns D X* + Y_low everywhere.
  TORCH_ARG(bool, keep_observed) = true;
  /// Used when no dictionary is given.
  TORCH_ARG(SelfLearningOptions, learning) = {};
};

/// What a restoration returns.
struct RestorationResult {
  torch::Tensor image;    // [N, C, H, W], the restored images, in [0, 1]
  torch::Tensor lowpass;  // [N, C, H, W], Y_low
  torch::Tensor weights;  // [M, C, k, k], the dictionary used (given one rescaled to unit atoms, or learned)
  bool learned = false;   // whether `weights` was learned from the image
  double lambda = 0;      // λ used
  int64_t iterations = 0; // FISTA iterations
  bool converged = false; // FISTA met its tolerance before max_iter
  double objective = 0;   // mean lasso objective over the images at the codes
  double nonzeros = 0;    // mean non-zero codes per image
  double learning_seconds = 0;
  double coding_seconds = 0;
};

/// Denoises images [N, C, H, W] (values in [0, 1]) with the dictionary `weights` [M, C, k, k]
/// (any atom norms: atoms are rescaled to unit norm; undefined: learned from the images).
/// Requires finite floating images with H, W larger than the low-pass radius ⌈3·lowpass_sigma⌉
/// and than k; σ ≥ 0 and λ ≥ 0 finite. Throws std::invalid_argument naming the argument otherwise.
RestorationResult csc_denoise(const torch::Tensor& images, const torch::Tensor& weights, const DenoiseOptions& options);

/// Inpaints images [N, C, H, W]: `mask` has the images' rank and sizes 1 or equal to theirs
/// (e.g. [1, 1, H, W] or [N, 1, H, W]), 1 = known pixel, 0 = missing (the image's values there are
/// ignored). Same dictionary and image requirements as csc_denoise; at least one known pixel.
RestorationResult csc_inpaint(const torch::Tensor& images, const torch::Tensor& mask, const torch::Tensor& weights,
                              const InpaintOptions& options);

/// The baseline csc_inpaint must beat: known pixels kept, missing ones filled by the normalised
/// convolution masked_lowpass(images, mask, fill_sigma); clamped to [0, 1]. fill_sigma ≈ 0.7–1
/// pixel is about the best for randomly missing pixels.
torch::Tensor inpaint_baseline(const torch::Tensor& images, const torch::Tensor& mask, double fill_sigma);

/// The dictionary learning of the two restorations: `crops` random crops of `high` [N, C, H, W],
/// learn_conv_dictionary from dct_dictionary(atoms, C, k) with λ = options.lambda(), or `lambda`
/// when that is 0. Returns W [M, C, k, k].
torch::Tensor learn_dictionary_from_image(const torch::Tensor& high, const SelfLearningOptions& options,
                                          double lambda);

/// An analytic convolutional dictionary, the learner's starting point: the `atoms` lowest-frequency
/// atoms (ordered by i + j, then |i − j|) of the separable 2-D DCT frame on k × k
/// (sparse::overcomplete_dct with max(k, ⌈√(atoms + 1)⌉) frequencies per axis), DC atom left out
/// since the codes only see high-pass images; each atom repeated over the C channels, unit norm.
/// Requires atoms, channels, kernel_size ≥ 1. Returns W [atoms, channels, k, k].
torch::Tensor dct_dictionary(int64_t atoms, int64_t channels, int64_t kernel_size,
                             const torch::TensorOptions& options = {});

}  // namespace deepsc::conv
