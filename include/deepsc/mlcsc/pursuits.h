#pragma once
/// Pursuits for the ML-CSC model (model.h): each estimates every layer's code X̂₁, …, X̂_K from a
/// signal Y. All are built on the one differentiable pursuit, sparse::unrolled_pursuit, and on the
/// fast no-grad solvers of sparse/ (sparse::fista) for the to-convergence inference path.
///
/// - Layered thresholding (Papyan, Romano & Elad 2017; the lecture's "forward pass"):
///     X̂_i = S_{β_i}(D_iᵀ X̂_{i−1}),  X̂₀ = Y          (S soft, hard or non-negative soft)
///   The non-negative form is a CNN: X̂_i = ReLU(W_i ∗ X̂_{i−1} + b_i) with W_i = D_iᵀ, b_i = −β_i.
/// - Layered basis pursuit (Papyan et al. 2017, the lecture's Theorem 8): layer by layer the lasso
///     X̂_i = argmin_X ½‖X̂_{i−1} − D_i X‖₂² + λ_i‖X‖₁
///   solved to convergence, and basis pursuit proper (min ‖X‖₁ s.t. D_iX = X̂_{i−1}) by λ → 0
///   continuation.
/// - Coupled layered ISTA (the lecture's "another view of connection" slide): sweeps l = 0, 1, …
///   over i = 1..K of one ISTA step each, from X_i⁰ = 0, on the freshly updated layer below,
///     X_i^{l+1} = S_{λ_i/L_i}(X_i^l − (1/L_i) D_iᵀ(D_i X_i^l − X_{i−1}^{l+1})),  X₀ = Y;
///   its first sweep is layered thresholding rescaled (S_{cβ}(cx) = c·S_β(x): X_i¹ = c_i·T_i with T
///   layered thresholding at β_i = λ_i/c_{i−1}, c₀ = 1, c_i = η_i·c_{i−1}, η_i = 1/L_i), its fixed
///   point the layered lasso's.
/// - ML-ISTA / ML-FISTA (Sulam, Aberdam, Beck & Elad, "On multi-layer basis pursuit, efficient
///   algorithms and convolutional neural networks", IEEE TPAMI 2020): iterate on the deepest code
///   Γ_K; each iteration projects it down, Γ̂_i = D_{i+1}⋯D_K Γ_K, then takes one thresholded step
///   per layer from Γ̂_i towards the freshly updated layer below,
///     Γ_1 = S_{ρ₁λ₁}(Γ̂₁ − ρ₁D₁ᵀ(D₁Γ̂₁ − Y)),   Γ_i = S_{ρ_iλ_i}(Γ̂_i − ρ_iD_iᵀ(D_iΓ̂_i − Γ_{i−1})),
///   ρ_i = step_scale / L_i, from Γ_K⁰ = 0; ML-FISTA extrapolates Γ_K with FISTA's momentum (the
///   t-sequence of sparse::unrolled_pursuit). They address the ML-lasso over the deepest code
///   (ml_lasso_objective below); the layered shrinkage only approximates its proximal map, so their
///   fixed point need not be its minimiser. With one layer they are ISTA / FISTA; with λ = 0,
///   gradient descent / FISTA on D₁⋯D_K with step ρ₁⋯ρ_K.
///
/// Shapes: signals Y as layer(0).code_shape() accepts ([N, n₀] dense, [N, C, L] or [N, C, H, W]
/// convolutional); codes[i] has the shape of X_{i+1} (model.shapes()). Per-layer values (β, λ)
/// are checked by check_layer_values() (one per layer, finite, ≥ 0).

#include "deepsc/mlcsc/model.h"
#include "deepsc/sparse/shrinkage.h"
#include "deepsc/sparse/unrolled_pursuit.h"

#include <string>
#include <vector>

namespace deepsc::mlcsc {

/// What every multi-layer pursuit returns.
struct LayeredCodes {
  /// X̂₁ … X̂_K.
  std::vector<torch::Tensor> codes;
  /// Iterations (or sweeps) run, per layer for layer-by-layer pursuits, else one entry.
  std::vector<int64_t> iterations;
  /// Whether every stop rule was met before its cap (always true for fixed-step pursuits).
  bool converged = true;
};

/// Layered thresholding with thresholds β (one per layer). Differentiable (plain autograd ops;
/// soft and non-negative run sparse::unrolled_pursuit with one step, η = 1).
LayeredCodes layered_thresholding(const MlcscModel& model, const torch::Tensor& signals, const std::vector<double>& betas,
                                  sparse::Shrinkage shrinkage = sparse::Shrinkage::Soft);

struct LayeredBasisPursuitOptions {
  /// Iteration cap of each layer's FISTA.
  TORCH_ARG(int64_t, max_iter) = 5000;
  /// Duality-gap tolerance (relative) of each layer's lasso.
  TORCH_ARG(double, tol) = 1e-8;
  TORCH_ARG(bool, nonneg) = false;
  /// Codes each layer's lasso (λ_i > 0) starts from: empty (zeros), or one per layer, each
  /// undefined (zeros) or of that layer's code shape — a λ path warm-started from its last solution.
  TORCH_ARG(std::vector<torch::Tensor>, warm_start) = {};
};

/// Layered lasso to convergence with λ (one per layer): sparse::fista on each layer in turn with
/// the duality-gap stop rule (checked every 10 iterations), no autograd (the inference path).
/// λ_i = 0 is basis pursuit proper for that layer (the continuation of layered_basis_pursuit_exact,
/// with these solver options). `iterations`: each layer's FISTA iterations (summed over the
/// continuation's stages); `converged`: every solve met its duality gap.
LayeredCodes layered_basis_pursuit(const MlcscModel& model, const torch::Tensor& signals, const std::vector<double>& lambdas,
                                   const LayeredBasisPursuitOptions& options = {});

/// Layered basis pursuit proper, min ‖X_i‖₁ s.t. D_iX_i = X̂_{i−1}, per layer by continuation: λ
/// from λ_max·0.5 down by `decay` per stage to `final_ratio`·λ_max, each stage warm-started, with
/// λ_max = ‖D_iᵀX̂_{i−1}‖∞ the batch's largest (one λ per stage for the whole batch). The result
/// is the lasso's at final_ratio·λ_max: on a recoverable support it is off the exact BP solution
/// by at most final_ratio·λ_max·‖(D_SᵀD_S)⁻¹‖∞. Requires final_ratio in (0, 1], decay in (0, 1).
struct BasisPursuitContinuation {
  TORCH_ARG(double, final_ratio) = 1e-6;
  TORCH_ARG(double, decay) = 0.1;
  TORCH_ARG(LayeredBasisPursuitOptions, solver) = {};
};
LayeredCodes layered_basis_pursuit_exact(const MlcscModel& model, const torch::Tensor& signals,
                                         const BasisPursuitContinuation& options = {});

/// The training path of layered BP: `iterations` unrolled steps per layer
/// (sparse::unrolled_pursuit, η_i = step_scale/L_i), differentiable in Y and the layers' weights.
LayeredCodes layered_basis_pursuit_unrolled(const MlcscModel& model, const torch::Tensor& signals,
                                            const std::vector<double>& lambdas, int64_t iterations,
                                            sparse::UnrolledSolver solver = sparse::UnrolledSolver::Fista,
                                            bool nonneg = false, double step_scale = 1.0);

struct CoupledIstaOptions {
  /// Sweeps over all layers (≥ 1); 1 is layered thresholding.
  TORCH_ARG(int64_t, sweeps) = 100;
  /// η_i = step_scale / L_i.
  TORCH_ARG(double, step_scale) = 1.0;
  TORCH_ARG(bool, nonneg) = false;
  /// Stop when every layer's relative change ‖X_i^{l+1} − X_i^l‖ ≤ tol‖X_i^{l+1}‖ (0: run all sweeps).
  TORCH_ARG(double, tol) = 0;
};
/// The coupled layered ISTA with λ (one per layer): each step is sparse::unrolled_pursuit (one
/// step, warm-started at X_i^l). `iterations`: {sweeps run}. Differentiable when tol = 0.
LayeredCodes coupled_layered_ista(const MlcscModel& model, const torch::Tensor& signals, const std::vector<double>& lambdas,
                                  const CoupledIstaOptions& options = {});

struct MlIstaOptions {
  TORCH_ARG(int64_t, max_iter) = 1000;
  /// Stop when ‖Γ_K^{k+1} − Γ_K^k‖ ≤ tol‖Γ_K^{k+1}‖ for every signal (0: run max_iter).
  TORCH_ARG(double, tol) = 1e-7;
  /// ρ_i = step_scale / L_i.
  TORCH_ARG(double, step_scale) = 1.0;
  TORCH_ARG(bool, fista) = false;
  TORCH_ARG(bool, nonneg) = false;
  /// Record ml_lasso_objective (mean over the batch) after every iteration.
  TORCH_ARG(bool, record_history) = false;
};
struct MlIstaResult {
  LayeredCodes layers;  // codes[i] = Γ̂_i of the final iterate (the projections of Γ_K, Γ_K itself last)
  std::vector<double> history;
};
/// ML-ISTA (or ML-FISTA with options.fista) with λ (one per layer): each layer's step is
/// sparse::unrolled_pursuit (one step, warm-started at Γ̂_i). `iterations`: {iterations run};
/// `history`: one mean objective per iteration. Differentiable when tol = 0.
MlIstaResult ml_ista(const MlcscModel& model, const torch::Tensor& signals, const std::vector<double>& lambdas,
                     const MlIstaOptions& options = {});

/// The stop rule of coupled_layered_ista and ml_ista: ‖next − previous‖ ≤ tol‖next‖ for every
/// signal (norms over all dimensions but the batch; 0 ≤ 0 counts as met). No autograd.
bool relative_change_met(const torch::Tensor& next, const torch::Tensor& previous, double tol);

/// The ML-lasso over the deepest code (Sulam et al. 2020), per signal [N]:
///   F(Γ_K) = ½‖Y − D₁⋯D_K Γ_K‖₂² + Σ_i λ_i ‖D_{i+1}⋯D_K Γ_K‖₁
/// Differentiable. Throws std::invalid_argument when `deepest` is not the codes' shape of X_K for
/// these signals.
torch::Tensor ml_lasso_objective(const MlcscModel& model, const torch::Tensor& signals, const torch::Tensor& deepest,
                                 const std::vector<double>& lambdas);

}  // namespace deepsc::mlcsc
