#pragma once
/// The adaptive dictionary of K-SVD denoising (Elad & Aharon 2006, IEEE TIP 15(12), "Image denoising
/// via sparse and redundant representations over learned dictionaries"): learned on the noisy
/// picture's own patches, started from the overcomplete DCT, each patch coded as patch_denoise
/// (patch_denoise.h) will code it — to the noise level, so learning and denoising code alike:
///   Y = random p × p patches of the noisy picture, each patch's mean removed         [N, p²]
///   D = K-SVD(Y; D⁰ = overcomplete DCT [p², m], ‖y − D x‖₂ ≤ ε = √n · g σ, ‖x‖₀ ≤ K = ⌊n/2⌋)
/// with n = p², g the gain (Elad & Aharon's C = 1.15), K also capped at m
/// (Zhang, "From sparse coding to deep learning", 2024, section 1 on dictionary learning).

#include <torch/torch.h>

#include <cstdint>

namespace deepsc::dictlearn {

struct DenoisingDictionaryOptions {
  /* implicit */ DenoisingDictionaryOptions(double sigma) : sigma_(sigma) {}
  /// σ > 0, the noise standard deviation on the picture's scale (σ₂₅₅ / 255 for [0, 1]).
  TORCH_ARG(double, sigma);
  /// p ≥ 2, patches are p × p.
  TORCH_ARG(int64_t, patch) = 8;
  /// m, the number of atoms: a square number k² with k ≥ p (the DCT start has k frequencies per axis).
  TORCH_ARG(int64_t, atoms) = 256;
  /// K-SVD iterations (passes over the patches), ≥ 1.
  TORCH_ARG(int64_t, iterations) = 10;
  /// N, the random patches drawn (with replacement) to learn from, ≥ 1.
  TORCH_ARG(int64_t, patches) = 40000;
  /// g of the error bound ε = √n · g σ (> 0), as PatchDenoiseOptions::gain.
  TORCH_ARG(double, gain) = 1.15;
  /// Seed of the patch positions (a CPU generator of their own) and of K-SVD.
  TORCH_ARG(uint64_t, seed) = 0;
  /// K-SVD's atom swaps (LearnOptions::swap_atoms).
  TORCH_ARG(bool, swap_atoms) = true;
};

struct DenoisingDictionary {
  torch::Tensor atoms;     ///< D [p², m], unit-norm columns, on the picture's device
  int64_t sparsity = 0;    ///< K, the cap on the non-zeros of every code
  double error_bound = 0;  ///< ε of ‖y − D x‖₂ ≤ ε, on the picture's scale
  double seconds = 0;      ///< wall time of drawing the patches and learning
};

/// k, the DCT frequencies per axis for `atoms` = k² atoms on p × p patches, or 0 when `atoms` is not
/// a square number k² with k ≥ p (the overcomplete DCT needs k ≥ p).
int64_t dct_atoms_per_axis(int64_t atoms, int64_t patch);

/// The overcomplete DCT start D⁰ [p², m] (sparse::overcomplete_dct with dct_atoms_per_axis(m, p)),
/// float32. Throws std::invalid_argument naming `atoms` when m is not a square k² with k ≥ p.
torch::Tensor dct_start(int64_t patch, int64_t atoms);

/// Learns D from the noisy picture [H, W] (floating point, any device; H, W ≥ p) as said above.
/// Throws std::invalid_argument naming the option when one is out of range.
DenoisingDictionary learn_denoising_dictionary(const torch::Tensor& noisy, const DenoisingDictionaryOptions& options);

}  // namespace deepsc::dictlearn
