#pragma once
/// The one differentiable pursuit of deepsc: a fixed number of proximal-gradient steps for the
/// lasso (basis pursuit, Zhang, "From sparse coding to deep learning", 2024, section 1)
///   c* = argmin_c  λ‖c‖₁ + ½‖x − D c‖₂²      (c ≥ 0 when nonneg)
/// over any LinearOperator D (a dense dictionary, a convolution, a composite), unrolled from c⁰ = 0
/// so that every step is an autograd op and backward runs through the iterations: a network layer
/// is this function with learnable operator weights (the CSC layer of SDNet, Dai et al.,
/// "Revisiting sparse convolutional model for visual recognition", NeurIPS 2022; the layered
/// pursuits of ML-CSC reuse it). With step η and threshold β = λη (S = S⁺_β or S_β):
///   c¹        = S(η Dᵀx)                       (from c⁰ = 0; a given c⁰ takes an ISTA step)
///   ISTA      c^{l+1} = S(c^l + η Dᵀ(x − D c^l))
///   FISTA     z^l = c^l + (t_{l−1} − 1)/t_l (c^l − c^{l−1}),  c^{l+1} = S(z^l + η Dᵀ(x − D z^l))
///   Published z^l as FISTA,                                   c^{l+1} = S(z^l + η Dᵀ(x − D c^l))
/// with t₀ = 1, t_l = (1 + √(1 + 4t_{l−1}²))/2 (Beck & Teboulle, "A fast iterative
/// shrinkage-thresholding algorithm for linear inverse problems", 2009). "Published" is SDNet's
/// code: momentum extrapolates, but the gradient is taken at c^l, not at z^l. With ≤ 2 iterations
/// the three coincide (the first momentum coefficient is 0). For η ≤ 1/L (L = ‖DᵀD‖₂) and many
/// iterations ISTA and FISTA reach the lasso solution of sparse::ista / sparse::fista, the no-grad
/// solvers (the tests compare them); this function has no stop rule, no restart and keeps every
/// iterate for backward: it is the training path, those are the inference path.
///
/// Shapes: signals x [N, ...signal dims] as op.code_shape() accepts; codes [N, M, ...] where
/// dimension 1 holds the atoms (dense: [N, m]; convolutional: [N, M, H', W']).

#include "deepsc/sparse/linear_operator.h"

#include <string>

namespace deepsc::sparse {

/// Which unrolled iteration runs (see the file comment).
enum class UnrolledSolver { Ista, Fista, Published };

/// Parses "ista", "fista", "published"; throws std::invalid_argument otherwise.
UnrolledSolver parse_unrolled_solver(const std::string& name);
const char* unrolled_solver_name(UnrolledSolver solver);

/// λ ≥ 0 of an unrolled pursuit: one value, one per atom (code channel, [M]) or one per sample
/// ([N]). Tensors may require grad (a learnable λ); the caller keeps them ≥ 0 (e.g. clamp_min(0)).
class PursuitLambda {
 public:
  enum class Kind { Scalar, PerAtom, PerSample };
  /* implicit */ PursuitLambda(double value) : kind_(Kind::Scalar), scalar_(value) {}
  static PursuitLambda per_atom(torch::Tensor lambda) { return {Kind::PerAtom, std::move(lambda)}; }
  static PursuitLambda per_sample(torch::Tensor lambda) { return {Kind::PerSample, std::move(lambda)}; }

  Kind kind() const { return kind_; }
  double scalar() const { return scalar_; }
  /// [M] or [N]; undefined for a scalar.
  const torch::Tensor& tensor() const { return tensor_; }

 private:
  PursuitLambda(Kind kind, torch::Tensor t) : kind_(kind), tensor_(std::move(t)) {}
  Kind kind_;
  double scalar_ = 0;
  torch::Tensor tensor_;
};

struct UnrolledPursuitOptions {
  /* implicit */ UnrolledPursuitOptions(double step) : step_(step) {}
  /// η > 0, typically step_scale / L with L = ‖DᵀD‖₂ (a constant for autograd).
  TORCH_ARG(double, step);
  /// Steps ≥ 1, the first one from c⁰ (zero unless `initial` is given).
  TORCH_ARG(int64_t, iterations) = 2;
  /// c⁰, the codes the first step starts from (a warm start: the ML-ISTA and Res-CSC steps of
  /// Sulam et al. 2020 and Zhang & Zhang 2021 start a layer at the projection of the deeper code or
  /// at the code two layers down); differentiable. Undefined: c⁰ = 0, whose first step is
  /// c¹ = S(ηDᵀx), one-step thresholding. FISTA's momentum starts afresh at c⁰ either way.
  TORCH_ARG(torch::Tensor, initial) = {};
  /// D c⁰, when the caller already has it (ML-ISTA's backward pass computes the projection
  /// D_iγ_i that is the synthesis of the next layer's warm start): the first step then takes its
  /// residual x − D c⁰ from it instead of applying D. Only with `initial`; differentiable.
  TORCH_ARG(torch::Tensor, initial_synthesis) = {};
  /// c, a learnable factor on the gradient part of every step (a 0-dim or one-element tensor,
  /// differentiable; Sulam et al. 2020's per-layer step c_i, initialised to 1): a step is
  /// S(c^l + c·η Dᵀ(x − D c^l)) with the threshold λη unchanged, so with η = 1 and λ = −b one
  /// step is ReLU(γ − c Dᵀ(Dγ − x) + b), the layer of their ML-ISTA networks. Undefined: c = 1.
  TORCH_ARG(torch::Tensor, step_factor) = {};
  TORCH_ARG(UnrolledSolver, solver) = UnrolledSolver::Published;
  /// Codes c ≥ 0 (S⁺) or signed (soft shrinkage S).
  TORCH_ARG(bool, nonneg) = true;
  /// Dᵀx, unscaled, when the caller already has it (a λ sweep over one batch computes it once):
  /// each step then takes η(Dᵀx − DᵀD·c) and never applies Dᵀ to x. Undefined: computed.
  TORCH_ARG(torch::Tensor, analysis) = {};
};

/// The codes c^L [N, M, ...] of `iterations` unrolled steps, differentiable in x, in the operator's
/// weights and in a λ tensor. For non-negative codes with a scalar or per-atom λ, −λη is the bias
/// of op.scaled_adjoint (η folded into its weights), so one step c ← max(c + ηDᵀ(x − Dc) − λη, 0)
/// writes the code-sized tensor three times (adjoint, add, relu) instead of six; a per-sample λ or
/// signed codes take the general shrinkage. Throws std::invalid_argument for η ≤ 0, iterations < 1,
/// a negative scalar λ, a λ tensor of the wrong size, an analysis or initial codes of the wrong
/// shape, an initial synthesis without initial codes or not of the signals' shape, a step factor
/// with more than one element; the signals are checked by op.check_signals().
torch::Tensor unrolled_pursuit(const LinearOperator& op, const torch::Tensor& signals, const PursuitLambda& lambda,
                               const UnrolledPursuitOptions& options);

}  // namespace deepsc::sparse
