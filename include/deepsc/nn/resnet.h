#pragma once
/// The ResNet-18/34 family (He et al. 2016, torchvision layout) and its SDNet members (Dai et al.,
/// NeurIPS 2022), one class whose architecture is a ResNetSpec:
///   stem    CIFAR: conv 3×3 s1 p1 → BN → ReLU;  ImageNet: conv 7×7 s2 p3 → BN → ReLU → max-pool 3 s2 p1
///           SDNet: the conv is a CSC layer (64w atoms, same kernel/stride/padding) and no ReLU
///   stages  4 stages of BasicBlocks with 64w, 128w, 256w, 512w channels (stride 1, 2, 2, 2)
///           SDNet-All: every 3×3 conv in the blocks is a CSC layer (see basic_block.h)
///   head    global average pool → Linear(512w, num_classes)
/// A CSC layer has exactly its conv's weights (no bias), so at equal width the parameter counts
/// agree (ResNet-18, CIFAR, 3 channels, 10 classes: 11,173,962) unless λ is learnable.
/// Initialisation as torchvision: conv (and CSC) weights Kaiming-normal, fan_out, ReLU gain;
/// BN weight 1, bias 0; Linear as torch::nn::Linear.

#include "deepsc/nn/batch_norm.h"
#include "deepsc/nn/classifier.h"

namespace deepsc::nn {

/// Which member of the family.
struct ResNetSpec {
  /// BasicBlocks in each of the 4 stages: {2, 2, 2, 2} (18 layers) or {3, 4, 6, 3} (34).
  std::vector<int64_t> layers;
  /// The first conv is a CSC layer followed by BN (no ReLU).
  bool csc_stem = false;
  /// Every 3×3 conv of the blocks is a CSC layer.
  bool csc_blocks = false;
  /// Residual adds in the blocks.
  bool shortcut = true;
};

class ResNetImpl : public torch::nn::Cloneable<ResNetImpl>, public Classifier {
 public:
  /// Throws std::invalid_argument naming a bad option or spec.
  ResNetImpl(ResNetSpec spec, ModelOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  /// images [N, in_channels, H, W] → logits [N, num_classes].
  torch::Tensor forward(torch::Tensor images) override;
  std::vector<CscLayer> csc_layers() const override;
  CscLayer input_csc_layer() const override { return csc1; }

  const ResNetSpec& spec() const { return spec_; }
  const ModelOptions& options() const { return options_; }
  /// Channels of stage i (0–3) at the options' width.
  int64_t stage_width(int64_t stage) const;

  /// Either conv1 or csc1 is set (registered as "conv1").
  torch::nn::Conv2d conv1{nullptr};
  CscLayer csc1{nullptr};
  BatchNorm2d bn1{nullptr};
  torch::nn::Sequential layer1{nullptr}, layer2{nullptr}, layer3{nullptr}, layer4{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  ResNetSpec spec_;
  ModelOptions options_;
};

TORCH_MODULE(ResNet);

}  // namespace deepsc::nn
