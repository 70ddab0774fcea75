#pragma once
/// Unsupervised denoising over a *strided* convolutional dictionary, averaged over the shifts of
/// the stride grid (Simon & Elad, "Rethinking the CSC model for natural images", NeurIPS 2019:
/// a strided code is not shift-invariant, and the average of the estimates of all s² shifts
/// approximates the MMSE estimate). For the noisy image Y = X₀ + noise of standard deviation σ and
/// every shift δ = (a, b) ∈ {0, …, s − 1}²:
///   z_δ = argmin_z ½‖M_δ ⊙ (Y_δ − D_s z)‖₂² + λ Σ_{j < M} ‖z_j‖₁          (FISTA, fixed iterations)
///   z_δ ← argmin_{supp z ⊆ supp z_δ} ½‖M_δ ⊙ (Y_δ − D_s z)‖₂²              (debiasing, FISTA on the support)
///   X̂_δ = the image's window of D_s z_δ
///   X̂ = clamp((β Y + P · mean_δ X̂_δ) / (β + P), 0, 1),      λ = lambda_per_sigma · σ,  β = blend / σ₂₅₅
/// D_s is the synthesis (transposed convolution) with stride s of the atoms W [M, C, k, k] (unit
/// norm) plus one constant atom 1/(k√C) whose coefficient is not penalised (it carries the local
/// mean, as the patch mean of K-SVD denoising). Y_δ is the image placed on a zero canvas at offset
/// (k − s + a, k − s + b), so that every pixel is covered by ⌈k/s⌉² atom positions at every shift,
/// and M_δ is the image's footprint on it (the canvas beyond the image is not fitted). P = s²⌈k/s⌉²
/// is the number of atom positions over a pixel across all shifts (k² when s divides k): the last
/// line is the global data term of K-SVD denoising (Elad & Aharon 2006, the weight λ = 30/σ of the
/// noisy picture against the k² patch estimates of a pixel), off (blend = 0) by default.
///
/// With s = k the atoms of one shift do not overlap: a shift codes the non-overlapping k × k
/// patches of its grid one by one, and the average over the k² shifts is the average over all
/// overlapping patches of Elad & Aharon (2006) — the patch model is this strided CSC model at
/// s = k (Simon & Elad 2019, section 3). s < k couples neighbouring patches in one global pursuit.
///
/// Without a given dictionary, one is learned per picture by K-SVD on the noisy picture's own
/// patches (dictlearn::learn_denoising_dictionary, the dictionary of `deepsc denoise`), grey
/// pictures only. Images are [N, C, H, W] in [0, 1] (σ on that scale: σ₂₅₅ / 255), float32 or
/// float64, any device.

#include "deepsc/conv/denoise.h"

#include <cstdint>

namespace deepsc::conv {

struct StridedDenoiseOptions {
  /* implicit */ StridedDenoiseOptions(double sigma) : sigma_(sigma) {}
  /// σ > 0, the noise standard deviation on the image's scale ([0, 1]: σ₂₅₅ / 255).
  TORCH_ARG(double, sigma);
  /// s, 1 ≤ s ≤ k: the atoms' stride (s = k: the patch model, see the file comment).
  TORCH_ARG(int64_t, stride) = 8;
  /// λ > 0 overrides the rule λ = lambda_per_sigma · σ.
  TORCH_ARG(double, lambda) = 0;
  /// The constant of λ = lambda_per_sigma · σ (unit-norm atoms). 3.5 was the best of {3, 3.5, 4, 4.5}
  /// at s = 8 at each of σ₂₅₅ = 15, 25 and 50 on the centre 256 × 256 of one picture that the docs'
  /// table does not report (home of scripts/fetch-images.sh).
  TORCH_ARG(double, lambda_per_sigma) = 3.5;
  /// FISTA iterations of the lasso of every shift (≥ 1), and of the least-squares refit on its
  /// support (≥ 0; 0: no refit). On the tuning crop 50 + 30 came within 0.01 dB of 100 + 50 (and of
  /// 400 + 100) at σ₂₅₅ = 15, 25, 50, in about half the time; the refit itself is worth ~0.8 dB.
  TORCH_ARG(int64_t, max_iter) = 50;
  TORCH_ARG(int64_t, debias_iter) = 30;
  /// Shifts coded together as one batch (≥ 1): the result does not depend on it (up to the order of
  /// sums), the memory grows with it (codes of M + 1 atoms per position, per image and shift). On two
  /// CPU cores 1, 2 and 4 took the same time (30–32 s for a 512 × 512 picture: the element-wise work
  /// on the codes scales with the shifts either way); a GPU, which one shift's convolutions do not
  /// fill, should gain from more (not measured: no GPU here).
  TORCH_ARG(int64_t, shift_batch) = 4;
  /// The constant c ≥ 0 of the noisy picture's weight β = c / σ₂₅₅ in the final average (0: the plain
  /// mean of the shifts). Off by default: `deepsc denoise`'s c = 30 gave 31.72 / 29.18 / 26.05 dB on
  /// the docs' four pictures at σ₂₅₅ = 15 / 25 / 50 against 31.74 / 29.20 / 26.08 without (camera and
  /// baboon gain up to 0.06 dB at σ₂₅₅ = 15, fruits loses 0.09).
  TORCH_ARG(double, blend) = 0;
  /// The dictionary learned when none is given: atoms (a square number ≥ k²), k × k and K-SVD
  /// passes, as dictlearn::DenoisingDictionaryOptions; seed of its patch positions and K-SVD.
  TORCH_ARG(int64_t, atoms) = 256;
  TORCH_ARG(int64_t, kernel_size) = 8;
  TORCH_ARG(int64_t, learning_iterations) = 10;
  TORCH_ARG(uint64_t, seed) = 0;
};

/// Denoises images [N, C, H, W] (values in [0, 1]) with the strided dictionary `weights`
/// [M, C, k, k] (any atom norms: rescaled to unit norm; undefined: learned per picture, C = 1).
/// Fills image, weights (the last picture's atoms without the constant atom when learned),
/// learned, lambda, iterations (per shift, lasso + refit), nonzeros (mean non-zero codes per image
/// and shift, constant atom included), learning_seconds and coding_seconds; lowpass stays undefined
/// and converged false (fixed iteration counts, no tolerance is tested).
/// Requires finite floating images at least k × k, σ > 0, λ ≥ 0 and lambda_per_sigma ≥ 0 finite,
/// 1 ≤ s ≤ k, max_iter ≥ 1, debias_iter ≥ 0, shift_batch ≥ 1, blend ≥ 0 finite; throws std::invalid_argument naming the argument
/// otherwise.
RestorationResult strided_csc_denoise(const torch::Tensor& images, const torch::Tensor& weights,
                                      const StridedDenoiseOptions& options);

}  // namespace deepsc::conv
