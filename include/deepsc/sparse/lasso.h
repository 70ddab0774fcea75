#pragma once
/// The lasso / basis-pursuit objective of the lecture (Zhang 2024; P₁), per signal,
///   F(X) = ½‖Y − D X‖₂² + λ‖X‖₁          (with X ≥ 0 for the non-negative variant),
/// and its duality gap, used as a certificate of optimality.
///
/// Dual (Y fixed): max_ν ⟨Y, ν⟩ − ½‖ν‖² s.t. ‖Dᵀν‖∞ ≤ λ (Dᵀν ≤ λ when X ≥ 0). From the residual
/// R = Y − D X the point ν = s·R, s = min(1, λ / ‖DᵀR‖∞), is dual feasible, and
/// gap = F(X) − (⟨Y, ν⟩ − ½‖ν‖²) ≥ 0 is zero exactly at a minimiser.

#include "deepsc/sparse/linear_operator.h"

namespace deepsc::sparse {

/// Per-signal objective terms at X: all [N] in the codes' dtype.
struct LassoTerms {
  torch::Tensor objective;   // F(X)
  torch::Tensor data_fit;    // ½‖Y − D X‖²
  torch::Tensor gap;         // duality gap (≥ 0 up to rounding)
};

/// ½‖Y − DX‖² + λ‖X‖₁ per signal, [N].
torch::Tensor lasso_objective(const LinearOperator& op, const torch::Tensor& signals, const torch::Tensor& codes,
                              double lambda);

/// Objective, data fit and duality gap per signal. `nonneg` selects the X ≥ 0 dual.
LassoTerms lasso_terms(const LinearOperator& op, const torch::Tensor& signals, const torch::Tensor& codes,
                       double lambda, bool nonneg);

/// Largest λ for which X = 0 is optimal: ‖DᵀY‖∞ per signal ([N]); max(DᵀY) for X ≥ 0.
torch::Tensor lasso_lambda_max(const LinearOperator& op, const torch::Tensor& signals, bool nonneg);

}  // namespace deepsc::sparse
