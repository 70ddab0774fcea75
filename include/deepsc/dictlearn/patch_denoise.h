#pragma once
/// Patch-based denoising with a given dense dictionary: the sparse-coding and averaging steps of
/// Elad & Aharon (2006, IEEE TIP 15(12), "Image denoising via sparse and redundant representations
/// over learned dictionaries"), without learning the dictionary. For the noisy image y = x + n,
/// n ~ N(0, σ²), every overlapping p×p patch R_ij y (top-left corners on a grid of the given stride)
/// is coded as
///   m_ij = mean(R_ij y),
///   α̂_ij = argmin ‖α‖₀  s.t.  ‖R_ij y − m_ij − D α‖₂² ≤ n (g σ)²,  ‖α‖₀ ≤ K      (Batch-OMP)
/// and the image is rebuilt as the pixel-wise average of the patch estimates D α̂_ij + m_ij, blended
/// with the noisy image as in their equation (the closed form of their final step):
///   x̂ = (λ y + Σ_ij R_ijᵀ (D α̂_ij + m_ij)) / (λ + Σ_ij R_ijᵀ 1),      λ = blend / σ₂₅₅
/// with g the gain (Elad & Aharon's C = 1.15), n the patch length and σ₂₅₅ = 255 σ / data_range the
/// noise level on the 0–255 scale (Elad & Aharon: λ = 30/σ).
///
/// Images are [H, W], [1, H, W] (grey) or [C, H, W]; with C channels a patch is the C·p·p vector
/// of data/patches.h (channel-major), coded jointly, with one mean over all its entries. The
/// dictionary D [n, m] has unit-norm atoms with n = C·p² (p is read from n and C). Patches are
/// extracted, coded and folded back a band of patch rows at a time, so the memory beyond the image
/// is O(chunk · (n + m)), whatever the image size.

#include "deepsc/sparse/dense_dictionary.h"

#include <torch/torch.h>

#include <cstdint>

namespace deepsc::dictlearn {

struct PatchDenoiseOptions {
  /* implicit */ PatchDenoiseOptions(double sigma) : sigma_(sigma) {}
  /// σ > 0, the noise standard deviation on the image's scale (σ₂₅₅ / 255 for images in [0, 1]).
  TORCH_ARG(double, sigma);
  /// Step between the top-left corners of consecutive patches (≥ 1; 1 = every overlapping patch).
  /// Pixels that no patch covers (stride not dividing H − p or W − p) keep their noisy value.
  TORCH_ARG(int64_t, stride) = 1;
  /// g of the error bound n (g σ)² (> 0); 1.15 as Elad & Aharon's C.
  TORCH_ARG(double, gain) = 1.15;
  /// K, the most atoms per patch; 0 means ⌊n/2⌋ (and never more than min(n, m)).
  TORCH_ARG(int64_t, max_sparsity) = 0;
  /// The constant c of λ = c / σ₂₅₅ (≥ 0); 0 turns the blend off (x̂ = plain average of the patch
  /// estimates). Elad & Aharon's 30 gives the noisy image a small weight (about 30/σ₂₅₅ against
  /// p² = 64 overlapping estimates at stride 1), which mostly matters where few patches overlap.
  TORCH_ARG(double, blend) = 30.0;
  /// The range of pixel values (1 for [0, 1], 255 for 8-bit values), only used to put σ on the
  /// 0–255 scale of the blend rule.
  TORCH_ARG(double, data_range) = 1.0;
  /// Patches coded per batch (≥ 1; a band holds at least one row of patches, so a band can be
  /// larger when a row of patches is).
  TORCH_ARG(int64_t, chunk_size) = 16384;
};

struct PatchDenoiseResult {
  /// x̂, the shape, dtype and device of the input image.
  torch::Tensor image;
  /// Mean ‖α̂_ij‖₀ over the coded patches.
  double mean_nonzeros = 0;
  /// Number of patches coded.
  int64_t patches = 0;
  /// λ used in the blend (0 when off).
  double blend_lambda = 0;
};

/// Denoises `image` ([H, W], [1, H, W] or [C, H, W], float32 or float64, any device) with
/// `dictionary` (D [C·p², m], unit-norm atoms; converted to the image's dtype and device if they
/// differ). Requires a finite image at least p×p, σ > 0 finite, stride ≥ 1, gain > 0,
/// 0 ≤ max_sparsity ≤ min(n, m), blend ≥ 0, data_range > 0 and chunk_size ≥ 1; throws
/// std::invalid_argument naming the argument otherwise.
PatchDenoiseResult patch_denoise(const torch::Tensor& image, const sparse::DenseDictionary& dictionary,
                                 const PatchDenoiseOptions& options);

}  // namespace deepsc::dictlearn
