#pragma once
/// The one operator abstraction of deepsc: every model in the lecture (Zhang 2024) is "find a sparse code X with
/// Y ≈ D X" for some linear operator D (a dense matrix, a convolution, a stack of them, [I Fᵀ]).
/// Solvers see only this interface.
///
/// Shapes are batch-first: codes [N, ...code dims], signals [N, ...signal dims].

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace deepsc::sparse {

/// Power-iteration settings for the Lipschitz constant L = ‖DᵀD‖₂ = σ_max(D)².
/// The one stop rule of deepsc's power iteration (solvers, CSC layers): stop when the estimate
/// grows by at most tol relative to itself, L_{i+1} − L_i ≤ tol·L_{i+1} (it never decreases in
/// exact arithmetic, so a decrease is rounding at convergence), or after max_iter.
struct LipschitzOptions {
  /// Stop when the relative change of the estimate falls below tol (≥ 0; 0 runs to max_iter
  /// unless the estimate stops changing exactly).
  TORCH_ARG(double, tol) = 1e-7;
  /// Iteration cap; the estimate after max_iter iterations is returned (it is a lower bound).
  TORCH_ARG(int64_t, max_iter) = 500;
};

/// A map z ↦ z − η ∇f(z) for f(z) = ½‖y − D z‖², built once per solve (signals y and step η fixed),
/// so an operator can precompute what the iterations share (DᵀY, a Gram matrix, …) and keep
/// work buffers, so one instance serves one solve at a time (it is not thread-safe).
class GradientStep {
 public:
  virtual ~GradientStep() = default;
  /// Returns z − η Dᵀ(D z − y); `out`, when defined, is a buffer of z's shape the result may
  /// be written into (the caller must not alias it with z).
  virtual torch::Tensor operator()(const torch::Tensor& z, torch::Tensor out = {}) const = 0;
  /// Flops of one call (multiply-adds counted as 2), for benchmarks.
  virtual double flops(int64_t batch) const { return 0; }
};

/// A linear map D from codes to signals with its adjoint Dᵀ.
/// Invariant: ⟨D x, y⟩ = ⟨x, Dᵀ y⟩ (checked by the tests for every implementation).
class LinearOperator {
 public:
  virtual ~LinearOperator() = default;

  /// D x: codes [N, ...] → signals [N, ...].
  virtual torch::Tensor apply(const torch::Tensor& codes) const = 0;
  /// Dᵀ r: signals [N, ...] → codes [N, ...].
  virtual torch::Tensor adjoint(const torch::Tensor& signals) const = 0;
  /// s·Dᵀ r + b, b one value per code channel (dimension 1 of the codes: an atom) or undefined.
  /// The gradient step and the threshold of an unrolled ISTA step in one call; differentiable in
  /// the operator's weights, r and b. Default: two ops; ConvDictionary folds s into the weights
  /// and b into the convolution's bias, so the code-sized tensor is written once.
  virtual torch::Tensor scaled_adjoint(const torch::Tensor& signals, double scale, const torch::Tensor& bias = {}) const;
  /// DᵀD x. Default: adjoint(apply(x)); operators with a cheaper form override it.
  virtual torch::Tensor normal(const torch::Tensor& codes) const;

  /// Shape of the codes for a signal batch of the given shape. Throws std::invalid_argument with
  /// both shapes named when the signals do not fit the operator.
  virtual std::vector<int64_t> code_shape(c10::IntArrayRef signal_shape) const = 0;
  /// The operator's own dtype and device (signals must match; solvers convert nothing silently).
  virtual torch::TensorOptions tensor_options() const = 0;

  /// z ↦ z − η Dᵀ(D z − y) for a fixed batch y. Default uses apply() and adjoint().
  virtual std::unique_ptr<GradientStep> gradient_step(const torch::Tensor& signals, double step) const;

  /// L = ‖DᵀD‖₂ for codes of shape [1, ...code dims of `signal_shape`], by power iteration on
  /// normal(). Cached per code shape; a repeated call warm-starts from the last eigenvector.
  /// Subclasses with an exact cheap route override lipschitz_uncached().
  double lipschitz(c10::IntArrayRef signal_shape, const LipschitzOptions& options = {}) const;
  /// Drops the cached constant (call after changing the operator's weights).
  void invalidate_lipschitz() const;

  /// Power iteration on normal() from `vector` (codes [1, ...], any non-zero tensor; replaced by
  /// the last unit-norm iterate, so a later call warm-starts from it): returns the estimate of
  /// L = ‖DᵀD‖₂ (a lower bound; 0 when D = 0) under the stop rule of LipschitzOptions. No autograd.
  double power_iteration(torch::Tensor& vector, const LipschitzOptions& options) const;
  /// The fixed pseudo-random start vector [1, ...code dims of `signal_shape`] of every power
  /// iteration (a private generator: the estimate neither depends on nor disturbs the user's
  /// seed, and two operators with equal weights compute the same L).
  torch::Tensor power_start(c10::IntArrayRef signal_shape) const;

  /// Checks that `signals` has the operator's dtype/device and a shape code_shape() accepts;
  /// throws std::invalid_argument naming `what` and the mismatch.
  void check_signals(const torch::Tensor& signals, const char* what = "signals") const;

 protected:
  virtual double lipschitz_uncached(c10::IntArrayRef signal_shape, const LipschitzOptions& options) const;

 private:
  mutable std::mutex cache_mutex_;
  mutable std::vector<int64_t> cached_shape_;
  mutable double cached_lipschitz_ = 0;
  mutable torch::Tensor cached_vector_;
};

}  // namespace deepsc::sparse
