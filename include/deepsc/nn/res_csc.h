#pragma once
/// Res-CSC and its plain counterpart (Zhang & Zhang, "Towards understanding residual and dilated
/// dense neural networks via convolutional sparse coding", National Science Review 2021; the
/// lecture: Zhang, "From sparse coding to deep learning", 2024): a CIFAR ResNet (He et al. 2016,
/// depth 6n + 2) read as a multi-layer convolutional sparse coding model in which every layer is a
/// step of ISTA for its own non-negative lasso
///   X_i = argmin_{Γ ≥ 0} ½‖X_{i−1} − D_i Γ‖² + β_i‖Γ‖₁,   D_i Γ = conv_transpose2d(Γ, W_i),  D_iᵀ = conv2d(·, W_i)
///   ISTA   Γ^{k+1} = S⁺_{β/L}(Γ^k − (1/L)(D_iᵀD_iΓ^k − D_iᵀX_{i−1}))                       (1)
/// with 1/L a learnable scalar c_i and −β/L a learnable per-channel bias b_i (ReLU = S⁺):
///   from Γ⁰ = 0       Γ¹ = ReLU(c_i D_iᵀX_{i−1} + b_i)                                      (2)
///   from Γ⁰ = X₋₁     Γ¹ = ReLU(c_i D_iᵀX_{i−1} + (I − c_i D_iᵀD_i) X₋₁ + b_i)              (3)
/// where X₋₁ is the code two layers down. (3) is ResNet's layer X_i = σ(W_{i−1,i}X_{i−1} + b_i +
/// W_{i−2,i}X_{i−2}) with the tied weights W_{i−1,i} = c D_iᵀ and W_{i−2,i} = I − c D_iᵀD_i: the skip
/// connection is the warm start of the pursuit.
///
/// Architecture (our reading: the lecture's figure of Res-CSC (A) and its variant (B) is not in its
/// text): a stem layer (images → c₁ channels, (2)), then 3 stages of n blocks with c₁, c₂, c₃
/// channels; a block with input X_prev has two layers,
///   a: X_a = ReLU(c_a D_aᵀX_prev + b_a)                                     (2), from 0
///   b: X_b = ReLU(P(X_prev) + c_b D_bᵀ(X_a − D_b P(X_prev)) + b_b)          (3), from Γ⁰ = P(X_prev)
/// so the table's "(3) and (5) alternately" is read as (3) alternating with the step from zero
/// (2) — the lecture never states (5) nor its variant (B), and neither is built here. P is the
/// identity, or in the first block of stages 2 and 3 (whose layer a has stride 2) ResNet's
/// parameter-free "option A" shortcut: subsample with stride 2 and zero-pad the new channels
/// (⌊Δ/2⌋ in front, the rest behind), so every block keeps its skip. The head is global average
/// pooling and a linear layer. Plain-CSC (skip = false) runs layer b from Γ⁰ = 0 too: plain layered
/// thresholding, a CNN of conv + bias + ReLU, the degradation baseline. With T unfoldings every
/// layer takes T more ISTA steps (1) after its first, on the same signal and dictionary, c_i and b_i
/// shared by all steps. All steps run through sparse::unrolled_pursuit (step 1, λ = −b_i, step
/// factor c_i).
///
/// A standard BasicBlock, X_b = ReLU(BN(W₂ ∗ ReLU(BN(W₁ ∗ X_prev))) + P(X_prev)), is this block with
/// two changes: its skip weight W_{i−2,i} is the identity where Res-CSC's is I − c_b D_bᵀD_b, tied
/// to the same layer's analysis weight W_{i−1,i} = c_b D_bᵀ (W₂ is free of the skip), and batch
/// norm follows each conv (torchvision's ResNets also replace P by a 1 × 1 conv projection at stage
/// transitions; He et al.'s CIFAR ResNets use option A, as here). There is no batch norm here: with
/// it a layer would no longer be an ISTA step.
///
/// Initialisation: W_i ~ N(0, 2/fan_in) (He et al. 2015, fan_in = 9·C, the scale at which a plain
/// ReLU network keeps its activations' size with depth), b_i = 0, and c_i = 1 for a layer whose only
/// step is from zero (the stem, layer a, plain-CSC's layer b: c then only scales, like a CNN weight),
/// c_i = 1/L_i for a layer that takes ISTA steps from a non-zero code (Res-CSC's layer b, and every
/// layer when T > 0), with L_i = ‖D_iᵀD_i‖₂ by power iteration on 8 × 8 code maps: those steps are
/// convergent at initialisation and the skip I − c_i D_iᵀD_i has its spectrum in about [0, 1], so it
/// never amplifies (with c = 1 at this scale L ≈ 8 and a deep Res-CSC blows up). So at T = 0 the two
/// networks differ only by the warm start and its 1/L; a plain-CSC of depth 20 starts as a standard
/// He-initialised CNN without batch norm.
/// The linear layer is torch::nn::Linear's.
///
/// Options (ModelOptions): depth = 6n + 2 (default 20), channels = {c₁, c₂, c₃} non-decreasing
/// (default {16, 32, 64} scaled by width: max(1, round(c·width))), unfoldings T ≥ 0 (default 0),
/// in_channels, num_classes. The CSC layer template (ModelOptions::csc) is not used: thresholds and
/// steps are learnt.

#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/nn/classifier.h"

#include <memory>
#include <vector>

namespace deepsc::nn {

/// One dictionary layer of Res-CSC: weights W [M, C, 3, 3] (parameter "weight"), step c [1]
/// ("step") and per-channel threshold b [M] ("threshold"); synthesis D Γ = conv_transpose2d(Γ, W,
/// stride, padding 1), analysis Dᵀ = conv2d(·, W, stride, padding 1).
class ResCscLayerImpl : public torch::nn::Cloneable<ResCscLayerImpl> {
 public:
  /// Throws std::invalid_argument for in_channels, atoms or stride < 1.
  /// `iterates`: the layer takes ISTA steps from a non-zero code (a warm start or T > 0), so its
  /// step starts at the convergent 1/L instead of 1.
  ResCscLayerImpl(int64_t in_channels, int64_t atoms, int64_t stride, bool iterates = false);
  /// W as the file comment says (‖DᵀD‖₂ = 1 on 8 × 8 code maps), c = 1, b = 0.
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  /// `iterations` ≥ 1 ISTA steps Γ ← ReLU(Γ − c Dᵀ(DΓ − x) + b) on the signal x [N, C, H, W] from
  /// Γ⁰ = `initial` [N, M, H', W'] (undefined: Γ⁰ = 0, whose step is ReLU(c Dᵀx + b)), H' = ⌈H/s⌉.
  torch::Tensor forward(const torch::Tensor& signal, const torch::Tensor& initial = {}, int64_t iterations = 1);

  /// D for signals of the shape given (the output padding that gives back their size under stride
  /// 2). Differentiable in W.
  conv::ConvDictionary dictionary(c10::IntArrayRef signal_shape) const;

  int64_t in_channels, atoms, stride;
  /// Whether the step starts at 1/L (see the constructor).
  bool iterates;
  /// W [M, C, 3, 3], c [1], b [M].
  torch::Tensor weight, step, threshold;
};

TORCH_MODULE(ResCscLayer);

class ResCscNetImpl : public torch::nn::Cloneable<ResCscNetImpl>, public Classifier {
 public:
  /// skip: Res-CSC (true) or plain-CSC (false). Throws std::invalid_argument naming a bad option
  /// (depth not 6n + 2, channels not 3 non-decreasing values, stem not cifar, …).
  ResCscNetImpl(bool skip, ModelOptions options);
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  /// images [N, in_channels, H, W] → logits [N, num_classes].
  torch::Tensor forward(torch::Tensor images) override;
  std::vector<CscLayer> csc_layers() const override { return {}; }

  /// Every layer's codes X_i in forward order: stem, then layers a and b of each block (6n + 1
  /// tensors [N, c_stage, H', W']).
  std::vector<torch::Tensor> codes(const torch::Tensor& images);

  /// Layer i in forward order (0: stem; 1 + 2k, 2 + 2k: layers a, b of block k). Throws
  /// std::out_of_range past the last.
  ResCscLayer layer(int64_t i) const;
  int64_t num_layers() const { return static_cast<int64_t>(layers->size()); }
  torch::Tensor weight(int64_t i) const { return layer(i)->weight; }
  torch::Tensor step(int64_t i) const { return layer(i)->step; }
  torch::Tensor threshold(int64_t i) const { return layer(i)->threshold; }

  bool skip() const { return skip_; }
  /// n, the blocks of every stage.
  int64_t blocks_per_stage() const { return blocks_; }
  /// c₁, c₂, c₃.
  const std::vector<int64_t>& widths() const { return widths_; }
  /// T ≥ 0.
  int64_t unfoldings() const { return unfoldings_; }
  const ModelOptions& options() const { return options_; }

  /// Registered as "layers" (indices as layer()) and "fc".
  torch::nn::ModuleList layers{nullptr};
  torch::nn::Linear fc{nullptr};

 private:
  /// The last codes; every layer's codes appended to `all` when given.
  torch::Tensor run(const torch::Tensor& images, std::vector<torch::Tensor>* all);

  bool skip_;
  ModelOptions options_;
  int64_t blocks_ = 0, unfoldings_ = 0;
  std::vector<int64_t> widths_;
};

TORCH_MODULE(ResCscNet);

/// Res-CSC (skip = true, registered as "res-csc") or plain-CSC (skip = false, "plain-csc"); uses
/// the options depth, channels and unfoldings and refuses the other architecture options.
std::shared_ptr<Classifier> make_res_csc_net(bool skip, const ModelOptions& options);

}  // namespace deepsc::nn
