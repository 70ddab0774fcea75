#pragma once
/// Cyclic coordinate descent for the lasso (P₁) of the lecture (Zhang 2024), section 1, over a dense dictionary:
///   min_x ½‖y − D x‖₂² + λ‖x‖₁      (optionally with x ≥ 0), one problem per row of Y.
/// Each coordinate step minimises F exactly in x_j with the others fixed (Friedman, Hastie &
/// Tibshirani 2007/2010; the method behind scikit-learn's `lasso_cd`):
///   u = g_j + G_jj x_j,   x_j ← S_λ(u) / G_jj   (S⁺_λ for x ≥ 0),   g ← g − (Δx_j) G_{j,:}
/// where G = DᵀD and g = Dᵀ(y − D x) is kept up to date, so a step costs O(1) when x_j stays put
/// and O(m) when it moves. Sparse solutions move few coordinates, which makes this the fastest
/// exact solver for small dictionaries (m up to a few thousand) on CPU.
///
/// Each round ends with an exact Newton step on the support S and signs σ: z = G_SS⁻¹(D_Sᵀy − λσ)
/// in float64 (the working-set step of blitz/celer, Johnson & Guestrin 2015, Massias et al. 2018),
/// cut at the first zero crossing when sign(z) ≠ σ; supports larger than n first lose atoms along
/// null vectors of D_S. Rows with ~60 atoms in 64 dimensions end in a few rounds instead of
/// never meeting the stop rule (src/sparse/support_newton_step.h).
///
/// Batched: rows are independent problems solved in parallel by a native kernel (at::parallel_for
/// over rows, AVX2 where the CPU has it). CPU tensors of float32 or float64 only; on other
/// devices use fista(), which runs as tensor ops.

#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/proximal_gradient.h"
#include "deepsc/sparse/solver_result.h"

namespace deepsc::sparse {

struct CoordinateDescentOptions {
  /* implicit */ CoordinateDescentOptions(double lambda) : lambda_(lambda) {}
  /// λ ≥ 0, weight of ‖x‖₁.
  TORCH_ARG(double, lambda);
  /// Cap on sweeps (one sweep visits every coordinate once).
  TORCH_ARG(int64_t, max_iter) = 1000;
  /// Tolerance of the stop rule, checked after every sweep, per row.
  TORCH_ARG(double, tol) = 1e-6;
  /// RelativeChange: the sweep's largest |Δx_j| ≤ tol·max_j |x_j| (scikit-learn's rule), or, at
  /// an exact Newton point z, the largest step a coordinate minimisation would take from z (in
  /// float64) ≤ tol·max_j |z_j|.
  /// DualityGap: gap ≤ tol·F(x), the gap being that of lasso.h, computed in O(m) from g.
  TORCH_ARG(StopRule, stop_rule) = StopRule::DualityGap;
  /// Constrain x ≥ 0.
  TORCH_ARG(bool, nonneg) = false;
  /// Initial codes [N, m]; undefined means x⁰ = 0.
  TORCH_ARG(torch::Tensor, warm_start) = {};
};

/// Coordinate descent over `dict` for signals [N, n] (CPU, the dictionary's dtype). Returns codes
/// [N, m], iterations (the most sweeps any row took), the mean objective F(X) and whether every
/// row met the stop rule.
SolverResult coordinate_descent(const DenseDictionary& dict, const torch::Tensor& signals,
                                const CoordinateDescentOptions& options);

}  // namespace deepsc::sparse
