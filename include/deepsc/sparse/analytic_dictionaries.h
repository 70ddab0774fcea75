#pragma once
/// Analytic (not learned) dictionaries: the classic starting points for sparse coding of patches.

#include <torch/torch.h>

namespace deepsc::sparse {

/// Overcomplete separable 2-D DCT dictionary for p×p patches (Elad & Aharon 2006):
/// the 1-D dictionary A [p, k] has columns cos(π·i·j / k), i < p, j < k, mean removed from every
/// column but the first, columns normalised; D = A ⊗ A [p², k²], columns unit-norm.
/// k = p gives an orthonormal basis (the DCT-II); k > p an overcomplete frame. Requires 1 ≤ p ≤ k.
torch::Tensor overcomplete_dct(int64_t patch, int64_t atoms_per_axis, torch::Dtype dtype = torch::kFloat);

}  // namespace deepsc::sparse
