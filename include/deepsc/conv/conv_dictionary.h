#pragma once
/// Convolutional dictionary of the lecture (Zhang 2024), section 2 (convolutional sparse coding): a signal is a sum
/// of M local atoms placed at every position, Y = Σ_j w_j ∗ x_j, i.e. the global dictionary D of
/// shifted atoms applied to the code maps. With weights W [M, C, k, k] (M atoms of C channels):
///   apply(X)   = D X  = conv_transpose2d(X, W)   codes [N, M, H', W'] → signals [N, C, H, W]
///   adjoint(R) = Dᵀ R = conv2d(R, W)             signals → codes
/// with one stride, padding and dilation for both (and the output padding that makes apply()
/// return exactly the signal size; stride 1 never needs it). Weights [M, C, k] give the 1-D
/// version (signals [N, C, L]). ISTA, FISTA and thresholding run on it unchanged; the Lipschitz
/// constant is the power iteration of LinearOperator on the real code-map size of the signals.

#include "deepsc/sparse/linear_operator.h"

namespace deepsc::conv {

struct ConvOptions {
  /// The output padding of spatial axis `axis` of `dims`.
  int64_t output_padding_of(int64_t axis, int64_t dims) const {
    return axis == dims - 1 && output_padding_last_ >= 0 ? output_padding_last_ : output_padding_;
  }
  /// Stride s ≥ 1 (codes are s× coarser than the signal).
  TORCH_ARG(int64_t, stride) = 1;
  /// Zero padding p ≥ 0 of the signal on every side.
  TORCH_ARG(int64_t, padding) = 0;
  /// Dilation d ≥ 1 of the atoms (gaps of d − 1 between taps).
  TORCH_ARG(int64_t, dilation) = 1;
  /// Extra rows/columns q ∈ [0, max(s, d)) that apply() adds at the end, for signal sizes that
  /// the strided conv2d does not cover exactly (e.g. q = 1 for k = 3, s = 2, p = 1 on even sizes).
  TORCH_ARG(int64_t, output_padding) = 0;
  /// The last axis's output padding where it differs from the first one's (a 2-D signal with
  /// one odd and one even side under stride 2); −1: the same as output_padding.
  TORCH_ARG(int64_t, output_padding_last) = -1;
};

class ConvDictionary final : public sparse::LinearOperator {
 public:
  /// `weights` is W [M, C, k, k] or [M, C, k] (any floating dtype and device, finite).
  /// With `normalize`, every atom W[j] is rescaled to unit ℓ2 norm over C·k·k (zero atoms rejected).
  explicit ConvDictionary(torch::Tensor weights, ConvOptions options = {}, bool normalize = false);

  /// W [M, C, k(, k)].
  const torch::Tensor& weights() const { return w_; }
  /// Replaces W by weights of the same shape (dtype and device are converted to the current
  /// ones) and drops the cached Lipschitz constant, keeping its eigenvector as the next power
  /// iteration's start: a learner that changes W a little per step pays a few iterations.
  void set_weights(const torch::Tensor& weights);
  const ConvOptions& options() const { return options_; }
  int64_t num_atoms() const { return w_.size(0); }
  int64_t channels() const { return w_.size(1); }
  /// 1 or 2.
  int64_t spatial_dims() const { return w_.dim() - 2; }

  torch::Tensor apply(const torch::Tensor& codes) const override;
  torch::Tensor adjoint(const torch::Tensor& signals) const override;
  /// η·Dᵀ R + b in one convolution (weights η·W, bias b): the gradient step and the threshold of
  /// an unrolled ISTA step, fused so that the code-sized tensor is written once. `bias` is
  /// undefined (none) or [M], one value per atom. Differentiable in W, R and b.
  torch::Tensor scaled_adjoint(const torch::Tensor& signals, double scale, const torch::Tensor& bias = {}) const override;
  /// [N, M, H', W'] with H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1. Throws std::invalid_argument naming
  /// the shapes when the signals have the wrong rank or channels, are smaller than one dilated
  /// atom, or when apply() would not give back their size (naming the output padding needed).
  std::vector<int64_t> code_shape(c10::IntArrayRef signal_shape) const override;
  torch::TensorOptions tensor_options() const override { return w_.options(); }

  /// The output padding q with which apply() gives back `size` samples along an axis whose atom
  /// has k taps: size − ((H' − 1)s − 2p + d(k − 1) + 1). Callers that know the signal size (the
  /// CLI) use it to fill ConvOptions::output_padding; it may be out of range for conv_transpose
  /// (q ≥ max(s, d)), which the constructor then rejects.
  static int64_t output_padding_for(int64_t size, int64_t k, const ConvOptions& options);

  /// `options` with the output padding of every spatial axis (output_padding, and
  /// output_padding_last where the last axis differs) set so that apply() gives back signals of
  /// `signal_shape` [N, C, H(, W)] for atoms `kernel` [M, C, k(, k)] (only the spatial sizes are
  /// read). Throws std::invalid_argument "stride s and padding p cannot give back signals [..]"
  /// when no padding in [0, max(s, d)) does, and for mismatched ranks.
  static ConvOptions options_for_signals(c10::IntArrayRef kernel, c10::IntArrayRef signal_shape, ConvOptions options);

 private:
  torch::Tensor w_;
  ConvOptions options_;
};

}  // namespace deepsc::conv
