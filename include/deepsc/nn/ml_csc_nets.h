#pragma once
/// The ML-CSC networks of Sulam, Aberdam, Beck & Elad, "On multi-layer basis pursuit, efficient
/// algorithms and convolutional neural networks" (IEEE TPAMI 2020): a CNN read as a pursuit for the
/// multi-layer convolutional sparse coding (ML-CSC) model
///   x = D₁γ₁,  γ₁ = D₂γ₂,  …,  γ_{K−1} = D_Kγ_K,   γ_i ≥ 0 sparse,
/// with D_iγ = conv_transpose2d(γ, W_i, stride_i, padding_i) and D_iᵀ = conv2d(·, W_i, …). The
/// unfolded iterations address the ML-lasso over the deepest code (ML-ISTA, ML-FISTA)
///   min_{γ_K ≥ 0} ½‖x − D₁⋯D_Kγ_K‖₂² + Σ_i λ_i ‖D_{i+1}⋯D_Kγ_K‖₁,
/// or the layered lasso, layer by layer (layered basis pursuit, LBP)
///   γ_i = argmin_{γ ≥ 0} ½‖γ_{i−1} − D_iγ‖₂² + λ_i‖γ‖₁,   γ₀ = x,
/// with learnable dictionaries W_i, a step c_i (init 1) and per-channel thresholds b_i = −λ_i
/// (init 0) per layer, all trained end to end through T unfoldings (the lecture: Zhang, "From
/// sparse coding to deep learning", 2024). In the paper's notation, one layer step is
///   S_i(γ, γ_{i−1}) = ReLU(γ − c_i D_iᵀ(D_iγ − γ_{i−1}) + b_i)       (thresholding: γ = 0)
/// run by sparse::unrolled_pursuit (η = 1, per-atom λ = −b_i, step factor c_i). The variants:
///   mlcsc-cnn  γ_i = ReLU(c_i D_iᵀγ_{i−1} + b_i), i = 1..K           (layered thresholding, T = 0)
///   ml-ista    thresholding, then T times: γ_{i−1} = D_iγ_i for i = K..2 (projections of γ_K),
///              then γ_i = S_i(γ_i, γ_{i−1}) for i = 1..K (each on the NEW γ_{i−1})
///   ml-fista   as ml-ista with FISTA momentum on γ_K only: t₀ = 1, t' = (1 + √(1 + 4t²))/2,
///              Z = γ_K + (t − 1)/t'·(γ_K − γ_K^prev); projections from Z; γ_K = S_K(Z, γ_{K−1})
///   lbp        per layer i: thresholding, then T ISTA steps S_i(γ_i, γ_{i−1}) before layer i + 1
///   ml-lista   analysis weights B_i beside W_i and no step c: γ_i = ReLU(B_iᵀγ_{i−1} + b_i), then
///              T times: γ_{i−1} = B_iγ_i (i = K..2), γ_i = ReLU(γ_i − W_iᵀW_iγ_i + B_iᵀγ_{i−1} + b_i)
/// With T = 0 every variant is the plain CNN ReLU(conv2d(γ_{i−1}, W_i) + b_i) (c_i = 1).
///
/// Layouts (the published models): "mnist" (default) 32 (6×6, s2, p0), 64 (6×6, s2, p0),
/// 512 (4×4, s1, p0): 28 → 12 → 4 → 1; "cifar" 32, 64, 128 (4×4, s2, p1): 32 → 16 → 8 → 4, then a
/// plain CNN tail (not unfolded, as published: W4…W6, b4…b6) conv 3×3 p1 → 256, conv 3×3 p1 → 512
/// → max-pool 2, conv 3×3 p1 → 512 → max-pool 2, each with a per-channel bias and ReLU. Head: global
/// average pooling, then Linear(m, num_classes); on the published 1×1 maps this is their flatten.
/// The head returns logits (the published models end in log_softmax; cross-entropy applies it).
/// Initialisation as published: W_i, B_i ~ N(0, 1)·0.1/√fan_in, tail ~ N(0, 1)/√fan_in
/// (fan_in = m_{i−1}k²), c_i = 1, b_i = 0, tail biases 0, the Linear as torch::nn::Linear.
///
/// Shapes: images [N, C, H, W] (any size the layers fit; each synthesis gets the output padding
/// that gives back its signal's size), γ_i [N, m_i, H_i, W_i], logits [N, num_classes].
/// ModelOptions::csc is not used: the step is the learnable c_i, not 1/L.

#include "deepsc/nn/classifier.h"

#include <memory>
#include <string>
#include <vector>

namespace deepsc::nn {

enum class MlCscVariant { Cnn, Ista, Fista, Lbp, Lista };

/// The registered name: "mlcsc-cnn", "ml-ista", "ml-fista", "lbp", "ml-lista".
const char* ml_csc_variant_name(MlCscVariant variant);

/// One dictionary layer: W_i [atoms, in_channels, kernel_size, kernel_size].
struct MlCscLayerSpec {
  int64_t in_channels = 1;
  int64_t atoms = 1;
  int64_t kernel_size = 1;
  int64_t stride = 1;
  int64_t padding = 0;
};

/// A resolved architecture (ml_csc_spec).
struct MlCscSpec {
  MlCscVariant variant = MlCscVariant::Ista;
  /// "mnist" or "cifar".
  std::string layout = "mnist";
  /// T ≥ 0.
  int64_t unfoldings = 6;
  /// The K ≥ 1 dictionary layers, in forward order.
  std::vector<MlCscLayerSpec> layers;
  /// Channels of the plain convolutions after the last dictionary layer (cifar: 256w, 512w, 512w;
  /// mnist: none).
  std::vector<int64_t> tail;
  int64_t num_classes = 10;
};

/// The architecture `options` ask for. Rules: layout "" or "mnist" or "cifar"; width scales the
/// layout's channels (and the cifar tail) as max(1, round(m·width)). `channels` (K values, used as
/// given) replaces the layout's dictionary layers; kernel_sizes, strides and paddings then either
/// have K values each or are empty, and empty ones take the layout's values, which needs K = 3
/// (the layout's depth). Any of kernel_sizes / strides / paddings without channels is an error.
/// unfoldings: −1 → 6 (0 for mlcsc-cnn, which accepts only 0). Throws std::invalid_argument with
/// a one-line message naming the option.
MlCscSpec ml_csc_spec(MlCscVariant variant, const ModelOptions& options);

class MlCscNetImpl : public torch::nn::Cloneable<MlCscNetImpl>, public Classifier {
 public:
  /// Throws std::invalid_argument naming a bad option (see ml_csc_spec, check_model_options).
  MlCscNetImpl(MlCscVariant variant, ModelOptions options);
  /// (Re)creates every parameter with the published initialisation.
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  /// images [N, in_channels, H, W] → logits [N, num_classes].
  torch::Tensor forward(torch::Tensor images) override;
  /// The codes γ₁ … γ_K after the unfoldings ([N, m_i, H_i, W_i]), before the tail and head.
  /// Throws std::invalid_argument for images of the wrong rank, channels or a size the layers do
  /// not fit.
  std::vector<torch::Tensor> codes(const torch::Tensor& images);
  /// {}: these layers are not CscLayers (their step is learnable and their λ per channel).
  std::vector<CscLayer> csc_layers() const override { return {}; }

  const MlCscSpec& spec() const { return spec_; }
  const ModelOptions& options() const { return options_; }

  /// W_i [m_i, m_{i−1}, k_i, k_i], registered as "W1" … "WK".
  std::vector<torch::Tensor> dictionaries;
  /// c_i, 0-dim, "c1" … "cK" (empty for ml-lista, which has no step).
  std::vector<torch::Tensor> steps;
  /// b_i [m_i] = −λ_i, "b1" … "bK".
  std::vector<torch::Tensor> thresholds;
  /// B_i (ml-lista only, shapes of W_i), "B1" … "BK".
  std::vector<torch::Tensor> analysis;
  /// The cifar tail's weights [m, m_prev, 3, 3] and biases [m], "W{K+1}" …, "b{K+1}" ….
  std::vector<torch::Tensor> tail_weights, tail_biases;
  /// Registered as "fc".
  torch::nn::Linear fc{nullptr};

 private:
  MlCscSpec spec_;
  ModelOptions options_;
};

TORCH_MODULE(MlCscNet);

/// The builder registered as mlcsc-cnn, ml-ista, ml-fista, lbp and ml-lista: check_used_options
/// (unfoldings, channels, kernel_sizes, strides, paddings, layout), then a fresh MlCscNet.
std::shared_ptr<Classifier> make_ml_csc_net(MlCscVariant variant, const ModelOptions& options);

}  // namespace deepsc::nn
