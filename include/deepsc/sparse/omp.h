#pragma once
/// Orthogonal Matching Pursuit for min ‖X‖₀ s.t. ‖Y − D X‖₂ ≤ ε (or ‖X‖₀ ≤ K), batched as
/// Batch-OMP (Rubinstein, Zibulevsky & Elad 2008): precompute G = DᵀD and DᵀY once; each step picks
/// the atom with the largest |Dᵀr| (computed as DᵀY − G_{:,S} X_S, never forming r), grows the
/// Cholesky factor of G_{S,S} by one row, and re-solves the normal equations on the support.
/// Recovery guarantee (Donoho & Elad 2003; Theorem 2 of the lecture, Zhang 2024): exact support when ‖X‖₀ < ½(1 + 1/μ(D)).
/// All signals of a batch advance together; a signal that has met its stop rule is frozen.

#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/solver_result.h"

namespace deepsc::sparse {

struct OmpOptions {
  /// Stop at K non-zeros per signal (0: no cap other than min(n, m)).
  TORCH_ARG(int64_t, sparsity) = 0;
  /// Stop when ‖Y − D X‖₂ ≤ epsilon for the signal (0: not used). At least one of the two is set.
  TORCH_ARG(double, epsilon) = 0;
};

/// Returns codes [N, m], iterations = the largest support size selected, objective = mean
/// ½‖Y − D X‖² over signals, converged = every signal met its rule (K reached or residual ≤ ε).
/// Requires unit-norm atoms for the selection rule to be the classical one (not checked).
SolverResult omp(const DenseDictionary& dict, const torch::Tensor& signals, const OmpOptions& options);

}  // namespace deepsc::sparse
