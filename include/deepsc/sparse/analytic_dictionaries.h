#pragma once
/// Analytic (not learned) dictionaries: the classic starting points for sparse coding of patches.

#include <torch/torch.h>

namespace deepsc::sparse {

/// Overcomplete separable 2-D DCT dictionary for p×p patches (Elad & Aharon 2006):
/// the 1-D dictionary A [p, k] has columns cos(π·i·j / k), i < p, j < k, mean removed from every
/// column but the first, columns normalised; D = A ⊗ A [p², k²], columns unit-norm.
/// k = p gives an orthonormal basis (the DCT-II); k > p an overcomplete frame. Requires 1 ≤ p ≤ k.
torch::Tensor overcomplete_dct(int64_t patch, int64_t atoms_per_axis, torch::Dtype dtype = torch::kFloat);

/// The incoherent pair [I, H/√n] [n, 2n] (Donoho & Huo 2001; the lecture's (Zhang 2024) example of
/// Theorem 2): the identity beside the Sylvester–Hadamard basis, both orthonormal, so μ = 1/√n and
/// every code with ‖x‖₀ < ½(1 + √n) is the unique sparsest one. Requires n a power of two (≥ 1).
torch::Tensor identity_hadamard_dictionary(int64_t n, torch::Dtype dtype = torch::kDouble);

}  // namespace deepsc::sparse
