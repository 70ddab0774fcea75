#pragma once
/// What every image classifier of deepsc::nn offers the trainer: images → logits, and the CSC
/// layers inside (to set λ at run time or read their residuals).

#include "deepsc/nn/csc_layer.h"

#include <string>
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

  // The networks read as multi-layer CSC solvers (ml_csc_nets.h, res_csc.h, msd_nets.h) take their
  // shape from the options below; a value left at its default means "the architecture's default",
  // and a network refuses an option it does not use (check_used_options). The ResNet / SDNet
  // family uses none of them.

  /// T ≥ 0, unfoldings of an unrolled solver (ISTA steps beyond the first, thresholding, pass);
  /// −1: the architecture's default.
  TORCH_ARG(int64_t, unfoldings) = -1;
  /// Layers of a depth-parameterised network (≥ 1); 0: the architecture's default.
  TORCH_ARG(int64_t, depth) = 0;
  /// Channels (atoms) of each dictionary layer or stage; empty: the architecture's default scaled
  /// by `width`.
  TORCH_ARG(std::vector<int64_t>, channels) = {};
  /// Kernel size, stride and zero padding of each dictionary layer; empty: the default.
  TORCH_ARG(std::vector<int64_t>, kernel_sizes) = {};
  TORCH_ARG(std::vector<int64_t>, strides) = {};
  TORCH_ARG(std::vector<int64_t>, paddings) = {};
  /// A published layout by name (ML-CSC nets: "mnist" or "cifar", Sulam et al. 2020); empty: the
  /// architecture's default.
  TORCH_ARG(std::string, layout) = "";
  /// Dense blocks of a mixed-scale dense network (≥ 1); 0: the default.
  TORCH_ARG(int64_t, blocks) = 0;
  /// Feature maps added by each mixed-scale dense layer (MSDNet's width, ≥ 1); 0: the default.
  TORCH_ARG(int64_t, growth) = 0;
  /// Dilations of mixed-scale dense layers cycle 1, 2, …, max_dilation (≥ 1); 0: the default.
  TORCH_ARG(int64_t, max_dilation) = 0;
};

/// Throws std::invalid_argument naming the first architecture option (unfoldings, depth, channels,
/// kernel_sizes, strides, paddings, layout, blocks, growth, max_dilation) that is set away from its
/// default but not in `used`: a network given an option it ignores says so instead of training
/// something else than asked.
void check_used_options(const ModelOptions& options, const std::string& model, const std::vector<std::string>& used);

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
