#pragma once
/// Training patches for dense dictionary learning on natural images (dictionary_learning.h), made as
/// Olshausen & Field (1996, Nature 381; 1997, Vision Research 37) made theirs, and the held-out
/// patches whose objective tells over-fitting from learning
/// (Zhang, "From sparse coding to deep learning", 2024, section 1):
///   1. every picture whitened if asked (Olshausen–Field 1/f filter on the whole picture,
///      data/whitening.h);
///   2. `samples` random p × p patches spread over the pictures in proportion to their numbers of
///      patch positions (the last picture takes the rounding), then shuffled so that a held-out tail
///      samples every picture;
///   3. each patch's mean removed (and divided by its own standard deviation with `contrast`);
///   4. the last ⌊holdout_fraction · samples⌋ patches held out (or a given held-out set used);
///   5. ZCA whitening if asked, fitted on the training patches only and applied to both sets;
///   6. both sets divided by one factor, the mean ℓ2 norm of a training patch, so that λ means the
///      same for any picture set.
/// Patches are rows in the layout of data/patches.h, [N, p²].

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace deepsc::dictlearn {

/// How the patches are whitened: not at all, Olshausen–Field on the pictures, or ZCA on the patches.
enum class PatchWhitening { None, OlshausenField, Zca };

/// "none" | "of" | "zca"; throws std::invalid_argument naming the text otherwise.
PatchWhitening parse_patch_whitening(const std::string& name);

struct TrainingPatchOptions {
  /* implicit */ TrainingPatchOptions(int64_t patch) : patch_(patch) {}
  /// p ≥ 1, patches are p × p.
  TORCH_ARG(int64_t, patch);
  /// Patches drawn, held-out ones included (≥ 1).
  TORCH_ARG(int64_t, samples) = 50000;
  TORCH_ARG(PatchWhitening, whitening) = PatchWhitening::OlshausenField;
  /// Divide every patch by its own standard deviation (after removing its mean).
  TORCH_ARG(bool, contrast) = false;
  /// Fraction of the patches held out, in [0, 1), when no held-out set is given.
  TORCH_ARG(double, holdout_fraction) = 0.1;
  /// Seed of the patch positions and of the shuffle (a CPU generator of their own).
  TORCH_ARG(uint64_t, seed) = 0;
};

struct TrainingPatches {
  torch::Tensor train;    ///< [N, n], float32, CPU
  torch::Tensor holdout;  ///< [H, n], or undefined when nothing is held out
};

/// Steps 1–6 above on grey `pictures`, each [1, 1, H, W] floating point with H, W ≥ p. A defined
/// `holdout` [H, p²] is used as the held-out set (after steps 5–6) instead of a fraction of the
/// patches. Throws std::invalid_argument naming the argument for bad options or pictures, a held-out
/// set of another width, no training patch left, or every patch flat.
TrainingPatches patches_from_pictures(const std::vector<torch::Tensor>& pictures, const TrainingPatchOptions& options,
                                      const torch::Tensor& holdout = {});

/// A patch matrix [N, n] used as it is, in its own order: `holdout` when it is defined (it must
/// have n columns), else the last ⌊holdout_fraction · N⌋ rows, is the held-out set. Both float32.
/// Throws std::invalid_argument when no training row is left or the widths differ.
TrainingPatches split_holdout(const torch::Tensor& patches, double holdout_fraction, const torch::Tensor& holdout = {});

}  // namespace deepsc::dictlearn
