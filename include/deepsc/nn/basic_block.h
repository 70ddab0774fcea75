#pragma once
/// The residual block of ResNet-18/34 (He et al. 2016), torchvision's BasicBlock, and its SDNet
/// form whose two 3×3 convolutions are CSC layers:
///   plain  y = ReLU(BN(conv(ReLU(BN(conv_s(x))))) + P(x))
///   CSC    y = ReLU(BN(csc(BN(csc_s(x)))) + P(x))            (no ReLU inside)
/// P is the identity, or a 1×1 convolution of stride s + BN when the shape changes; without the
/// shortcut the "+ P(x)" is dropped (and P is not created).

#include "deepsc/nn/batch_norm.h"
#include "deepsc/nn/csc_layer.h"

#include <optional>

namespace deepsc::nn {

struct BasicBlockOptions {
  BasicBlockOptions(int64_t in_planes, int64_t planes, int64_t stride = 1)
      : in_planes_(in_planes), planes_(planes), stride_(stride) {}
  TORCH_ARG(int64_t, in_planes);
  TORCH_ARG(int64_t, planes);
  /// Stride of the first 3×3 convolution (and of the projection).
  TORCH_ARG(int64_t, stride);
  /// When set, both 3×3 convolutions are CSC layers made from this template (its channels,
  /// atoms, kernel, stride and padding are replaced by the block's).
  TORCH_ARG(std::optional<CscLayerOptions>, csc) = std::nullopt;
  /// The residual add.
  TORCH_ARG(bool, shortcut) = true;
};

class BasicBlockImpl : public torch::nn::Cloneable<BasicBlockImpl> {
 public:
  explicit BasicBlockImpl(const BasicBlockOptions& options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  /// [N, in_planes, H, W] → [N, planes, H', W'] (H' = ⌈H / stride⌉).
  torch::Tensor forward(const torch::Tensor& x);

  BasicBlockOptions options;
  /// Either conv1/conv2 or csc1/csc2 is set; both are registered as "conv1"/"conv2".
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  CscLayer csc1{nullptr}, csc2{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr};
  /// The projection P, when needed.
  torch::nn::Sequential downsample{nullptr};
};

TORCH_MODULE(BasicBlock);

}  // namespace deepsc::nn
