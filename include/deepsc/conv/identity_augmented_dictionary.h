#pragma once
/// The dictionary of one MSD-CSC layer (Zhang & Zhang, "Towards understanding residual and dilated
/// dense neural networks via convolutional sparse coding", National Science Review 2021; the
/// lecture, Zhang, "From sparse coding to deep learning", 2024): the identity beside a dilated
/// convolutional dictionary,
///   D = [I  Fᵀ],   F x = conv2d(x, W, dilation s, padding s(k − 1)/2)   (same size, stride 1)
/// with W [w, C, k, k] (k odd; MSD-CSC uses k = 3, padding s). A code [A; Γ] of C + w channels
/// codes a C-channel signal X (the stack of all earlier feature maps) as X ≈ A + FᵀΓ:
///   apply([A; Γ]) = A + conv_transpose2d(Γ, W)     codes [N, C + w, H, W] → signals [N, C, H, W]
///   adjoint(R)    = [R; conv2d(R, W)]               signals → codes
/// so that one thresholding step S⁺(DᵀX + b) = [ReLU(X + b_A); ReLU(F X + b_Γ)] is MSDNet's dense
/// concatenation (Pelt & Sethian, PNAS 2018) when X ≥ 0 and b_A = 0 (the paper's Proposition 1).
/// DDᵀ = I + FᵀF, so L = ‖DᵀD‖₂ = ‖DDᵀ‖₂ = 1 + ‖F‖², computed from the power iteration of F alone
/// (w code channels instead of C + w).

#include "deepsc/conv/conv_dictionary.h"

namespace deepsc::conv {

class IdentityAugmentedDictionary final : public sparse::LinearOperator {
 public:
  /// `weights` W [w, C, k, k] with k odd (any floating dtype and device, finite), `dilation` s ≥ 1.
  /// Throws std::invalid_argument naming the problem.
  explicit IdentityAugmentedDictionary(torch::Tensor weights, int64_t dilation = 1);

  /// F's dictionary: its apply() is Fᵀ, its adjoint() is F.
  const ConvDictionary& convolution() const { return f_; }
  /// W [w, C, k, k].
  const torch::Tensor& weights() const { return f_.weights(); }
  int64_t dilation() const { return f_.options().dilation(); }
  /// C, channels of the signals (and of the identity part A).
  int64_t signal_channels() const { return f_.channels(); }
  /// w, channels of Γ.
  int64_t atoms() const { return f_.num_atoms(); }

  torch::Tensor apply(const torch::Tensor& codes) const override;
  torch::Tensor adjoint(const torch::Tensor& signals) const override;
  /// [s·R + b_A; conv2d(R, s·W) + b_Γ] with b = [b_A; b_Γ] [C + w] or undefined; the convolution
  /// takes the scale and its bias in one call (ConvDictionary::scaled_adjoint).
  torch::Tensor scaled_adjoint(const torch::Tensor& signals, double scale, const torch::Tensor& bias = {}) const override;
  /// [N, C + w, H, W] for signals [N, C, H, W]; throws std::invalid_argument naming both shapes
  /// when the rank or the channels do not fit.
  std::vector<int64_t> code_shape(c10::IntArrayRef signal_shape) const override;
  torch::TensorOptions tensor_options() const override { return f_.tensor_options(); }

 protected:
  /// 1 + ‖F‖², ‖F‖² by F's own (cached) power iteration on the same signal size.
  double lipschitz_uncached(c10::IntArrayRef signal_shape, const sparse::LipschitzOptions& options) const override;

 private:
  ConvDictionary f_;
};

}  // namespace deepsc::conv
