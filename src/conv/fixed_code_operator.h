#pragma once
/// The synthesis D(W)X = conv_transpose2d(X, W) as a linear map of the atoms W for fixed codes X,
/// the operator of convolutional dictionary learning's dictionary step. Seen as a LinearOperator
/// with one "code", W [1, M, C, k, k], and one "signal", the batch of images [1, N, C, H, W]:
///   apply(W)   = conv_transpose2d(X, W, padding p)                       [1, N, C, H, W]
///   adjoint(R) = Σ_n X_n ⋆ R_n: conv2d(pad_p(R)ᵀ, Xᵀ) with the batch as channels   [1, M, C, k, k]
/// (stride 1, dilation 1), so its Lipschitz constant ‖X‖²_op comes from the shared power iteration.

#include "deepsc/sparse/linear_operator.h"

namespace deepsc::conv::detail {

class FixedCodeOperator final : public sparse::LinearOperator {
 public:
  /// `kernel` k and `padding` p of the convolutional dictionary the codes belong to.
  FixedCodeOperator(int64_t kernel, int64_t padding) : k_(kernel), p_(padding) {}

  /// Codes X [N, M, H', W'] for the next applications; keeps the power-iteration vector.
  void set_codes(const torch::Tensor& codes) {
    x_ = codes;
    invalidate_lipschitz();
  }

  torch::Tensor apply(const torch::Tensor& w) const override {
    return torch::conv_transpose2d(x_, w.squeeze(0), {}, 1, p_).unsqueeze(0);
  }
  torch::Tensor adjoint(const torch::Tensor& r) const override {
    // ⟨R, conv_transpose2d(X, W)⟩ = Σ X[n,j,u] R_pad[n,c,u + (a,b)] W[j,c,a,b]: a correlation of the
    // padded residual with the codes, summed over images (the batch plays the channel role).
    auto padded = torch::constant_pad_nd(r.squeeze(0), {p_, p_, p_, p_});            // [N, C, H+2p, W+2p]
    auto g = torch::conv2d(padded.transpose(0, 1), x_.transpose(0, 1));                // [C, M, k, k]
    return g.transpose(0, 1).unsqueeze(0);                                            // [1, M, C, k, k]
  }
  std::vector<int64_t> code_shape(c10::IntArrayRef signal_shape) const override {
    return {1, x_.size(1), signal_shape[2], k_, k_};
  }
  torch::TensorOptions tensor_options() const override { return x_.options(); }

 private:
  int64_t k_, p_;
  torch::Tensor x_;
};

}  // namespace deepsc::conv::detail
