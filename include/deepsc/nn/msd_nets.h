#pragma once
/// Mixed-scale dense networks for image classification: MSDNet (Pelt & Sethian, "A mixed-scale
/// dense convolutional neural network for image analysis", PNAS 2018) and MSD-CSC, the same network
/// read as a multi-layer convolutional sparse coding solver (Zhang & Zhang, National Science
/// Review 2021; the lecture, Zhang, "From sparse coding to deep learning", 2024).
///
/// MSDNet layer i of a block: the stack Γ̃ [N, C, H, W] of all earlier maps gains w = growth maps
///   new = ReLU(conv2d(Γ̃, F_i, dilation s_i, padding s_i) + bias_i),   Γ̃ ← [Γ̃; new]
/// with 3×3 filters F_i [w, C, 3, 3] and dilations s_i = ((i − 1) mod max_dilation) + 1.
/// MSD-CSC layer i: the code of Γ̃ over D_i = [I  F_iᵀ] (conv::IdentityAugmentedDictionary) with
/// non-negative codes [A_i; Γ_i] of C + w channels, which is the next stack. The layered
/// thresholding step, then T ISTA steps with a learnable step c_i (thresholds b = [b_A; b_Γ], one
/// per channel):
///   [A; Γ] = S⁺(D_iᵀΓ̃ + b) = [ReLU(Γ̃ + b_A); ReLU(F_iΓ̃ + b_Γ)]
///   r = Γ̃ − A − F_iᵀΓ,  A ← ReLU(A + c_i r + b_A),  Γ ← ReLU(Γ + c_i F_i r + b_Γ)   (T times)
/// i.e. ISTA on  min_{A,Γ ≥ 0} ½‖Γ̃ − A − F_iᵀΓ‖² + Σ β|·|  with β = −b/c_i. Every stack is ≥ 0
/// (it is made of ReLU outputs), so with T = 0 and b_A = 0, A = Γ̃ and the layer is MSDNet's dense
/// concatenation: the paper's Proposition 1 (copy_msd_net_weights builds that MSD-CSC model).
///
/// The classifier around the layers is our design (Pelt & Sethian built MSDNet for segmentation;
/// the 2019 MSD-CSC script adds batch norms and max-pooling): a stem 3×3 conv + bias + ReLU (so
/// the first stack is ≥ 0), `blocks` dense blocks of `depth` layers, between blocks a transition
/// 1×1 conv to half the channels + bias + ReLU + 2×2 average pooling, and a head of global average
/// pooling and a Linear layer. No batch normalisation, as MSDNet. Conv filters ~ N(0, 2/n_c) with
/// n_c the fan-in, biases 0 (Pelt & Sethian); the Linear layer as torch::nn::Linear. The MSD-CSC
/// network differs from MSDNet only in its dense layers (stem, transitions and head are the same).

#include "deepsc/conv/identity_augmented_dictionary.h"
#include "deepsc/nn/classifier.h"

#include <memory>

namespace deepsc::nn {

/// s_i = ((i − 1) mod max_dilation) + 1 for layer i ≥ 1 of a block.
int64_t msd_dilation(int64_t layer, int64_t max_dilation);

struct MsdNetOptions {
  /// ≥ 1.
  TORCH_ARG(int64_t, in_channels) = 3;
  TORCH_ARG(int64_t, num_classes) = 10;
  /// Channels of the stem's output, the first stack (≥ 1).
  TORCH_ARG(int64_t, stem_channels) = 16;
  /// Dense blocks (≥ 1); each transition halves the maps' side.
  TORCH_ARG(int64_t, blocks) = 3;
  /// Layers per block (≥ 1).
  TORCH_ARG(int64_t, depth) = 8;
  /// w, maps added per layer (≥ 1).
  TORCH_ARG(int64_t, growth) = 8;
  /// Dilations cycle 1, …, max_dilation (≥ 1). Pelt & Sethian cycle 1, …, 10 on large images; on
  /// 32×32 inputs the last block sees 8×8 maps, where a 3×3 filter of dilation 4 already spans
  /// 9 pixels: larger dilations would read mostly zero padding.
  TORCH_ARG(int64_t, max_dilation) = 4;
  /// MSD-CSC layers instead of MSDNet's.
  TORCH_ARG(bool, csc) = false;
  /// T ≥ 0, ISTA steps of every MSD-CSC layer after its thresholding step (MSD-CSC only).
  TORCH_ARG(int64_t, unfoldings) = 1;
};

/// Throws std::invalid_argument naming the first bad option.
void check_msd_net_options(const MsdNetOptions& options);

/// The options of model "msdnet" (csc = false) or "msd-csc" from ModelOptions: blocks, depth,
/// growth, max_dilation, channels = {stem channels} (default max(1, round(16·width))) and, for
/// msd-csc, unfoldings (default 1); 0 / empty / −1 mean the defaults above. Throws
/// std::invalid_argument naming a bad or unused option. The CSC template (ModelOptions::csc) is
/// not used: MSD-CSC layers learn their own thresholds and steps.
MsdNetOptions msd_net_options(const ModelOptions& options, bool csc);

struct MsdCscLayerOptions {
  MsdCscLayerOptions(int64_t in_channels, int64_t growth, int64_t dilation)
      : in_channels_(in_channels), growth_(growth), dilation_(dilation) {}
  /// C ≥ 1, channels of the stack.
  TORCH_ARG(int64_t, in_channels);
  /// w ≥ 1, channels of Γ.
  TORCH_ARG(int64_t, growth);
  /// s ≥ 1.
  TORCH_ARG(int64_t, dilation);
  /// T ≥ 0.
  TORCH_ARG(int64_t, unfoldings) = 1;
};

/// One MSD-CSC layer (see the file comment): stack [N, C, H, W] → code [A; Γ] [N, C + w, H, W],
/// through sparse::unrolled_pursuit on D = [I  Fᵀ] (step 1, λ = −b; the ISTA steps with step
/// factor c).
class MsdCscLayerImpl : public torch::nn::Cloneable<MsdCscLayerImpl> {
 public:
  /// Throws std::invalid_argument naming the first bad option.
  explicit MsdCscLayerImpl(const MsdCscLayerOptions& options);
  /// F ~ N(0, 2/(9C)), b = 0, c = 1/L with L = 1 + ‖F‖² by power iteration on a nominal 16×16 map
  /// (the constant of the map sizes of 32×32 inputs' middle block; on a smaller map L is smaller,
  /// so the step stays below 1/L there).
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  torch::Tensor forward(const torch::Tensor& stack);
  /// D = [I  Fᵀ] of the current weights (differentiable in them).
  conv::IdentityAugmentedDictionary dictionary() const;

  MsdCscLayerOptions options;
  /// F's atoms W [w, C, 3, 3] ("weight").
  torch::Tensor weight;
  /// b = [b_A; b_Γ] [C + w] ("bias").
  torch::Tensor bias;
  /// c, a 0-dim learnable step ("step").
  torch::Tensor step;
};

TORCH_MODULE(MsdCscLayer);

class MsdNetImpl : public torch::nn::Cloneable<MsdNetImpl>, public Classifier {
 public:
  /// Throws std::invalid_argument naming the first bad option.
  explicit MsdNetImpl(MsdNetOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;
  /// images [N, in_channels, H, W] (H, W ≥ 2^(blocks − 1)) → logits [N, num_classes].
  torch::Tensor forward(torch::Tensor images) override;
  std::vector<CscLayer> csc_layers() const override { return {}; }
  /// The stack after every dense layer, block by block ([N, C + w, H_b, W_b] each); the head of
  /// forward() reads the last one.
  std::vector<torch::Tensor> stacks(const torch::Tensor& images);

  const MsdNetOptions& options() const { return options_; }
  /// Channels of the stack entering block b (0-based).
  int64_t block_in_channels(int64_t block) const;

  /// Stem "stem", transition after block b "transition{b}", head "fc" (b, i from 1 in names).
  torch::nn::Conv2d stem{nullptr};
  std::vector<torch::nn::Conv2d> transitions;
  torch::nn::Linear fc{nullptr};
  /// [b][i]: layer i of block b, registered as "block{b}_layer{i}": MSDNet's convs (weight F_i,
  /// bias) or the MSD-CSC layers; the other one holds empty blocks.
  std::vector<std::vector<torch::nn::Conv2d>> msd_layers;
  std::vector<std::vector<MsdCscLayer>> msd_csc_layers;

 private:
  MsdNetOptions options_;
};

TORCH_MODULE(MsdNet);

/// Proposition 1 of Zhang & Zhang (2021), constructively: sets an MSD-CSC network of the same
/// architecture to the MSD-CSC model of an MSDNet — F_i and b_Γ from MSDNet's layer i, b_A = 0,
/// stem, transitions and head copied (c untouched). With unfoldings 0 it then computes exactly what
/// the MSDNet does. Throws std::invalid_argument when the two do not match.
void copy_msd_net_weights(const MsdNetImpl& msdnet, MsdNetImpl& msd_csc);

/// Model "msdnet" (see msd_net_options).
std::shared_ptr<Classifier> make_msd_net(const ModelOptions& options);
/// Model "msd-csc" (see msd_net_options).
std::shared_ptr<Classifier> make_msd_csc_net(const ModelOptions& options);

}  // namespace deepsc::nn
