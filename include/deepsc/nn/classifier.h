#pragma once
/// What every image classifier of deepsc::nn offers the trainer: images → logits, and the CSC
/// layers inside (to set λ at run time or read their residuals).

#include "deepsc/nn/csc_layer.h"

#include <vector>

namespace deepsc::nn {

/// First layers of a ResNet: CIFAR (conv 3×3 s1 p1, no max-pool) or ImageNet (conv 7×7 s2 p3 and
/// max-pool 3×3 s2 p1).
enum class Stem { Cifar, ImageNet };

/// Parses "cifar" | "imagenet"; throws std::invalid_argument otherwise.
Stem parse_stem(const std::string& name);
const char* stem_name(Stem stem);

struct ModelOptions {
  /// ≥ 1.
  TORCH_ARG(int64_t, num_classes) = 10;
  /// Channels of the images (1 grey, 3 colour), ≥ 1.
  TORCH_ARG(int64_t, in_channels) = 3;
  TORCH_ARG(Stem, stem) = Stem::Cifar;
  /// Width multiplier w > 0: stages have max(1, round(64w)), 128w, 256w, 512w channels.
  TORCH_ARG(double, width) = 1.0;
  /// The template of every CSC layer: λ (learnable or not), iterations, solver, non-negativity,
  /// step scale, atom normalisation, power-iteration settings. The architecture sets each layer's
  /// in_channels, atoms, kernel_size, stride, padding and dilation.
  TORCH_ARG(CscLayerOptions, csc) = CscLayerOptions();
};

/// Throws std::invalid_argument naming the first bad option; a bad CSC option is named with the
/// prefix "csc_" (e.g. csc_lambda), as the YAML presets spell it.
void check_model_options(const ModelOptions& options);

/// A classifier: images [N, C, H, W] → logits [N, num_classes].
class Classifier : public virtual torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor images) = 0;
  /// Every CSC layer inside, in forward order (empty for ResNet).
  virtual std::vector<CscLayer> csc_layers() const = 0;
  /// The CSC layer applied directly to the images, when the first layer is one (SDNet's stem), else
  /// empty: its codes and residuals depend on the input alone, so a per-sample λ can be chosen from
  /// its residual without running the rest of the network.
  virtual CscLayer input_csc_layer() const { return nullptr; }
};

}  // namespace deepsc::nn
