#pragma once
/// Dense dictionary D ∈ R^{n×m} (columns are atoms, m ≫ n: overcomplete), the lecture's section 1 (Zhang 2024)
/// model Y = D X. Batches are one signal per row, so for Y [N, n] and X [N, m]:
///   apply(X)   = X Dᵀ  [N, n]       adjoint(R) = R D  [N, m]       normal(X) = X (DᵀD)  [N, m]

#include "deepsc/sparse/linear_operator.h"

namespace deepsc::sparse {

class DenseDictionary final : public LinearOperator {
 public:
  /// `atoms` is D [n, m], any floating dtype and device. Requires rank 2 and finite entries.
  /// With `normalize`, every column is rescaled to unit ℓ2 norm (zero columns are rejected).
  explicit DenseDictionary(torch::Tensor atoms, bool normalize = false);

  /// D [n, m].
  const torch::Tensor& matrix() const { return d_; }
  int64_t signal_dim() const { return d_.size(0); }
  int64_t num_atoms() const { return d_.size(1); }
  /// G = DᵀD [m, m], computed on first use and kept.
  const torch::Tensor& gram() const;

  torch::Tensor apply(const torch::Tensor& codes) const override;
  torch::Tensor adjoint(const torch::Tensor& signals) const override;
  torch::Tensor normal(const torch::Tensor& codes) const override;
  std::vector<int64_t> code_shape(c10::IntArrayRef signal_shape) const override;
  torch::TensorOptions tensor_options() const override { return d_.options(); }

  /// One fused GEMM per step: z(I − ηG) + ηDᵀY when m ≤ 2n (Gram form is cheaper), otherwise
  /// two GEMMs (zDᵀ − y)(−ηD) + z; chooses by flop count.
  std::unique_ptr<GradientStep> gradient_step(const torch::Tensor& signals, double step) const override;

 protected:
  /// Exact: the largest eigenvalue of the smaller of DDᵀ / DᵀD (symmetric eigensolver), falling
  /// back to power iteration when min(n, m) > 4096.
  double lipschitz_uncached(c10::IntArrayRef signal_shape, const LipschitzOptions& options) const override;

 private:
  torch::Tensor d_;   // [n, m]
  torch::Tensor dt_;  // [m, n] contiguous copy of Dᵀ, so both GEMMs read row-major operands
  mutable std::once_flag gram_once_;
  mutable torch::Tensor gram_;
};

}  // namespace deepsc::sparse
