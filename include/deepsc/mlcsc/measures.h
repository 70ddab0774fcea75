#pragma once
/// The local sparsity and energy measures of ML-CSC codes that the recovery theorems are stated in
/// (Papyan, Sulam & Elad, "Working locally, thinking globally", 2017; Papyan, Romano & Elad 2017),
/// per sample, for the codes of one layer of an MlcscModel:
///   ‖X_i‖_{0,∞}   the stripe norm: the most non-zeros of X_i whose atoms of D_i overlap one patch
///                 of X_{i−1} (conv::l0_inf_norm; stride-1 convolutional layers);
///   ‖X_i‖^P_{0,∞} the patch norm: the most non-zeros of X_i in one patch, a patch being a window
///                 of X_i the size of one atom of D_{i+1} over all of X_i's channels (X_i is the
///                 signal of layer i+1); for the deepest layer (no D_{K+1}) the window of D_K's atom;
///   ‖V‖^P_{2,∞}   = max_j ‖R_j V‖₂ over the same patches of a signal-shaped V of layer i (V = E,
///                 the noise of Y, has D₁'s patches; V = X̂_i − X_i has D_{i+1}'s);
///   |X_i^min|, |X_i^max|  the smallest non-zero and the largest entry in absolute value.
/// For dense layers the "patch" is the whole vector: ‖·‖_{0,∞} = ‖·‖^P_{0,∞} = ‖·‖₀ and
/// ‖·‖^P_{2,∞} = ‖·‖₂ (the global-ℓ0 model of Li, Feng & Zhou 2024).

#include "deepsc/mlcsc/model.h"

namespace deepsc::mlcsc {

/// Per-sample measures of one layer's codes, all [N] (counts int64, magnitudes the codes' dtype).
struct CodeMeasures {
  torch::Tensor l0_inf;    // ‖X_i‖_{0,∞}
  torch::Tensor l0_patch;  // ‖X_i‖^P_{0,∞}
  torch::Tensor min_abs;   // |X_i^min| (0 for an all-zero code)
  torch::Tensor max_abs;   // |X_i^max|
};

/// Measures of `codes`, the codes X_{layer+1} of layer `layer` (0-based), entries with
/// |x| ≤ zero_tol counting as zeros. Throws std::invalid_argument for a layer index out of range,
/// codes of the wrong shape, or a convolutional layer with stride ≠ 1 (the stripe norm is defined
/// for stride 1 only; naming the layer).
CodeMeasures measure_codes(const MlcscModel& model, int64_t layer, const torch::Tensor& codes, double zero_tol = 0);

/// ‖V‖^P_{2,∞} per sample [N] for V shaped like X_level (level 0 = the signal Y, level i = the codes
/// of layer i, 1 ≤ i ≤ K), with the patches described above.
torch::Tensor patch_l2_inf(const MlcscModel& model, int64_t level, const torch::Tensor& v);

/// ‖V‖^P_{0,∞} per sample [N] (int64), same patches as patch_l2_inf.
torch::Tensor patch_l0_inf(const MlcscModel& model, int64_t level, const torch::Tensor& v, double zero_tol = 0);

/// μ(D_i) of layer `layer` with unit-norm atoms: sparse::mutual_coherence for dense layers,
/// conv::mutual_coherence (every shift) for convolutional ones. Throws std::invalid_argument for
/// other operators and for padded convolutional layers.
double layer_coherence(const MlcscModel& model, int64_t layer);

/// Whether the support (|x| > zero_tol) of `estimate` equals that of `truth`, per sample [N] bool;
/// and whether it is contained in it.
torch::Tensor same_support(const torch::Tensor& estimate, const torch::Tensor& truth, double zero_tol = 0);
torch::Tensor support_contained(const torch::Tensor& estimate, const torch::Tensor& truth, double zero_tol = 0);

}  // namespace deepsc::mlcsc
