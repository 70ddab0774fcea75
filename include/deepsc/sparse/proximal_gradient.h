#pragma once
/// ISTA and FISTA for the lasso / basis pursuit (P₁) of the lecture (Zhang 2024), section 1:
///   min_X ½‖Y − D X‖₂² + λ‖X‖₁      (optionally with X ≥ 0)
/// ISTA (the lecture's update):  X^{l+1} = S_{λη}(X^l − η Dᵀ(D X^l − Y)),  η = step_scale / L,  L = ‖DᵀD‖₂.
/// FISTA (Beck & Teboulle 2009): the same step taken at the extrapolated point
///   Z^{l+1} = X^{l+1} + (t_l − 1)/t_{l+1} (X^{l+1} − X^l),  t_{l+1} = (1 + √(1 + 4t_l²))/2,
/// with per-signal gradient-based adaptive restart (O'Donoghue & Candès 2015): when
/// ⟨Z^l − X^{l+1}, X^{l+1} − X^l⟩ > 0 the momentum of that signal is reset.
///
/// Batched over signals (each row its own problem), any dtype and device of the operator. On CPU the
/// batch is cut into cache-sized blocks of rows, and a fused kernel does
/// shrinkage, restart test, extrapolation and stopping statistics in one pass over the codes.
/// These solvers run without autograd; differentiable unrolled layers live in deepsc::nn.

#include "deepsc/sparse/linear_operator.h"
#include "deepsc/sparse/solver_result.h"

namespace deepsc::sparse {

/// When a proximal-gradient solver stops (besides max_iter).
enum class StopRule {
  /// ‖X^{l+1} − X^l‖ ≤ tol·‖X^{l+1}‖ for every signal.
  RelativeChange,
  /// duality gap ≤ tol·F(X) for every signal (checked every check_every iterations).
  DualityGap,
};

/// Parses "change" / "gap"; throws std::invalid_argument otherwise.
StopRule parse_stop_rule(const std::string& name);

struct ProximalGradientOptions {
  /* implicit */ ProximalGradientOptions(double lambda) : lambda_(lambda) {}
  /// λ ≥ 0, weight of ‖X‖₁.
  TORCH_ARG(double, lambda);
  /// Iteration cap (≥ 1).
  TORCH_ARG(int64_t, max_iter) = 1000;
  /// Tolerance of the stop rule; 0 runs exactly max_iter iterations unless X stops changing.
  TORCH_ARG(double, tol) = 1e-6;
  TORCH_ARG(StopRule, stop_rule) = StopRule::RelativeChange;
  /// Check the stop rule every this many iterations (the gap costs one apply + adjoint).
  TORCH_ARG(int64_t, check_every) = 1;
  /// Constrain X ≥ 0 (shrinkage S⁺ instead of S).
  TORCH_ARG(bool, nonneg) = false;
  /// FISTA only: per-signal gradient-based adaptive restart.
  TORCH_ARG(bool, adaptive_restart) = true;
  /// η = step_scale / L; must be in (0, 2) for ISTA to converge, ≤ 1 for a monotone objective.
  TORCH_ARG(double, step_scale) = 1.0;
  /// Initial codes (same shape as the codes); undefined means X⁰ = 0.
  TORCH_ARG(torch::Tensor, warm_start) = {};
  /// Record the mean objective after every iteration into SolverResult::history (costs an apply).
  TORCH_ARG(bool, record_history) = false;
  /// Use the fused CPU kernel when the codes are on CPU (the tests compare it to the generic path).
  TORCH_ARG(bool, fused) = true;
  /// CPU only: solve the batch in blocks of this many rows, one after the other, each to its own
  /// stop (rows are independent problems); 0 picks a cache-sized block. Other devices take the
  /// batch whole. `iterations` is then the largest block's count.
  TORCH_ARG(int64_t, block_rows) = 0;
  TORCH_ARG(LipschitzOptions, lipschitz) = {};
};

/// ISTA. Returns codes, iterations, mean objective F(X) over the batch, and whether every signal
/// met the stop rule. Requires signals accepted by op.check_signals().
SolverResult ista(const LinearOperator& op, const torch::Tensor& signals, const ProximalGradientOptions& options);

/// FISTA with optional adaptive restart; same contract as ista().
SolverResult fista(const LinearOperator& op, const torch::Tensor& signals, const ProximalGradientOptions& options);

}  // namespace deepsc::sparse
