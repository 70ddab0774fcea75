#pragma once
/// FFT-domain ADMM for convolutional sparse coding (CSC), the lecture's section 2 problem (Zhang 2024) on a
/// stride-1 ConvDictionary (any padding p and dilation d):
///   min_X ½‖Y − D X‖₂² + λ‖X‖₁          (optionally X ≥ 0),   D X = conv_transpose2d(X, W; p, d)
/// for signals Y [N, C, H, W] (or [N, C, L]) and codes X [N, M, H', W'], H' = H + 2p − d(k − 1):
/// the same problem, with the same objective, as fista() on the same dictionary.
///
/// Method (Wohlberg, "Efficient algorithms for convolutional sparse representations", IEEE TIP
/// 2016; "Boundary handling for convolutional sparse representations", ICIP 2016). On a grid of
/// G = H + 2p samples per axis circular convolution equals the full linear convolution of the
/// code maps with the (dilated) atoms, so D = P D̃ exactly, where D̃ is the circular convolution on
/// the grid (diagonal per frequency: D̂ is C×M at every frequency) and P keeps the H×W window at
/// offset p (what conv_transpose keeps). With codes X on the whole grid, the mask-decoupled split
///   min_{X,S,Z} ½‖P S − Y‖² + λ‖Z‖₁ + ι(supp Z ⊆ H'×W') (+ ι(Z ≥ 0))   s.t.  S = D̃ X,  Z = X
/// is solved by ADMM with penalties ρ₁ = γρ (S-split) and ρ₂ = ρ (Z-split) and scaled duals U_S, U_Z:
///   X:  (ρ₁ D̂ᴴD̂ + ρ₂ I) x̂ = ρ₁ D̂ᴴ(ŝ − û_S) + ρ₂(ẑ − û_Z)   per frequency (Sherman–Morrison for
///       C = 1, Woodbury with a C×C solve per frequency for C > 1; factored once per solve)
///   relax (α):  R_S = α D̃X + (1 − α) S,  R_Z = α X + (1 − α) Z
///   Z:  Z = S_{λ/ρ}(R_Z + U_Z) on the H'×W' support (S⁺ for X ≥ 0), 0 elsewhere on the grid
///   S:  V = R_S + U_S;  S = (Y + ρ₁ V)/(1 + ρ₁) in the window P, S = V outside it
///   U:  U_S += R_S − S,  U_Z += R_Z − Z
/// Stopping (Boyd et al. 2011, sec. 3.3, for the constraint written as √γ(D̃X − S) = 0, X − Z = 0
/// with the one penalty ρ, so that every term scales like the codes): for every signal
///   ‖r‖ ≤ tol·‖(√γ S, Z)‖  and  ‖s‖ ≤ tol·ρ‖U_Z‖,   r = (√γ(D̃X − S), X − Z),  s = ρ(γD̃ᵀΔS + ΔZ),
/// with ‖S‖ floored by ‖Y‖ (the codes vanish when X = 0 is the solution). ρ is kept per signal and
/// adapted every rho_period iterations by residual balancing (Boyd sec. 3.4.1) on the relative
/// residuals, with the factor τ = √(ratio) ∈ [1/10, 10] of Wohlberg, "ADMM penalty parameter
/// selection by residual balancing" (arXiv:1704.06209, 2017). γ only enters a per-frequency
/// factorisation done once per solve, so a change of ρ costs a rescaling of the scaled duals.
/// The duals start consistent with the starting codes (U_S = Pᵀ(D X⁰ − Y)/ρ₁, U_Z = −γD̃ᵀU_S), so
/// a warm start from a solution stops after one iteration.
///
/// Everything is batched tensor code (rfftn/irfftn, complex64/complex128) on the dictionary's
/// device; per iteration it costs M + C real FFTs each way on the grid.

#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/sparse/solver_result.h"

namespace deepsc::conv {

struct AdmmOptions {
  /* implicit */ AdmmOptions(double lambda) : lambda_(lambda) {}
  /// λ ≥ 0, weight of ‖X‖₁.
  TORCH_ARG(double, lambda);
  /// Initial penalty ρ > 0 of the code split; 0 picks 1/γ, i.e. ρ₁ = 1, the curvature of the
  /// data term (invariant to the scale of the atoms and of the data, unlike 50λ + 1).
  TORCH_ARG(double, rho) = 0;
  /// Ratio γ = ρ₁/ρ of the data-split penalty to the code-split one; 0 picks 2/‖D̃‖², which makes
  /// the X-update's conditioning independent of the atoms' scale (the factor 2 was the best of
  /// 1, 2, 3, 5 on the tests' problems).
  TORCH_ARG(double, gamma) = 0;
  /// Adapt ρ per signal by residual balancing (every rho_period iterations).
  TORCH_ARG(bool, adaptive_rho) = true;
  TORCH_ARG(int64_t, rho_period) = 10;
  /// Over-relaxation α ∈ (0, 2); 1 is plain ADMM.
  TORCH_ARG(double, alpha) = 1.8;
  /// Iteration cap (≥ 1).
  TORCH_ARG(int64_t, max_iter) = 1000;
  /// Relative tolerance of the primal and dual residuals (≥ 0; 0 runs max_iter iterations).
  TORCH_ARG(double, tol) = 1e-4;
  /// Constrain X ≥ 0.
  TORCH_ARG(bool, nonneg) = false;
  /// Initial codes [N, M, H', W']; undefined means X⁰ = 0.
  TORCH_ARG(torch::Tensor, warm_start) = {};
  /// Record the mean objective after every iteration into SolverResult::history (costs an apply).
  TORCH_ARG(bool, record_history) = false;
};

/// ADMM for the CSC lasso above. Requires a stride-1 dictionary and signals accepted by
/// dict.check_signals(); throws std::invalid_argument otherwise (and for bad options). Returns
/// the codes Z [N, M, H', W'] (exact zeros off the support found), iterations, the mean objective
/// F(Z) = ½‖Y − D Z‖² + λ‖Z‖₁ evaluated with the spatial operator, and whether every signal met
/// the residual stop rule before max_iter.
sparse::SolverResult admm(const ConvDictionary& dict, const torch::Tensor& signals, const AdmmOptions& options);

}  // namespace deepsc::conv
