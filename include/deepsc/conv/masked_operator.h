#pragma once
/// A mask composed with an operator, for problems where only some samples of a signal are known
/// (inpainting, missing data): with a mask M of 0/1 weights (1 = known) and an operator D,
///   apply(X)   = M ⊙ D X
///   adjoint(R) = Dᵀ(M ⊙ R)
/// so that ISTA / FISTA on this operator solve, unchanged,
///   min_X ½‖M ⊙ (Y − D X)‖₂² + λ‖X‖₁
/// (Heide, Heidrich & Wetzstein 2015, "Fast and flexible convolutional sparse coding", for the
/// convolutional case). Nothing in it is convolutional: any sparse::LinearOperator works.
///
/// Shapes: the mask has the signals' rank and every size 1 or equal to the signals' (it broadcasts
/// over the batch, channels, ...), e.g. [1, 1, H, W] for one mask shared by a batch [N, C, H, W], or
/// [N, 1, H, W] for one mask per image. Codes are whatever the inner operator uses.

#include "deepsc/sparse/linear_operator.h"

#include <memory>

namespace deepsc::conv {

class MaskedOperator final : public sparse::LinearOperator {
 public:
  /// `inner` is D (shared, not copied); `mask` is M with values in [0, 1] (0/1 for inpainting;
  /// weights in between are allowed and give a weighted fit), converted to D's dtype and device.
  /// With `inner_bound`, lipschitz() returns the inner operator's constant, an upper bound since
  /// ‖M D‖ ≤ ‖D‖ for 0 ≤ M ≤ 1: no power iteration on the masked operator (as costly as a solve on
  /// whole images) for a somewhat smaller step (about half the best one for half the pixels known).
  /// Throws std::invalid_argument when inner is null or the mask is not floating point in [0, 1].
  MaskedOperator(std::shared_ptr<const sparse::LinearOperator> inner, torch::Tensor mask, bool inner_bound = false);

  const sparse::LinearOperator& inner() const { return *inner_; }
  /// M, in D's dtype and device.
  const torch::Tensor& mask() const { return mask_; }

  torch::Tensor apply(const torch::Tensor& codes) const override;
  torch::Tensor adjoint(const torch::Tensor& signals) const override;
  /// The inner operator's code shape; also throws std::invalid_argument naming both shapes when
  /// the mask does not broadcast to `signal_shape` (rank differs, or a size neither 1 nor equal).
  std::vector<int64_t> code_shape(c10::IntArrayRef signal_shape) const override;
  torch::TensorOptions tensor_options() const override { return inner_->tensor_options(); }

 protected:
  /// ‖DᵀMD‖₂ by power iteration (or the inner constant, see the constructor). With a per-signal mask (batch size B > 1) the iteration runs on B
  /// codes at once, i.e. on the block-diagonal operator, so it returns max_b ‖Dᵀ M_b D‖₂: the one
  /// step that is safe for every signal of the batch. (Always ≤ the inner operator's constant.)
  double lipschitz_uncached(c10::IntArrayRef signal_shape, const sparse::LipschitzOptions& options) const override;

 private:
  std::shared_ptr<const sparse::LinearOperator> inner_;
  torch::Tensor mask_;
  bool inner_bound_;
};

}  // namespace deepsc::conv
