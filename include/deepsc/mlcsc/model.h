#pragma once
/// The multi-layer convolutional sparse coding (ML-CSC) model of the lecture (Zhang, "From sparse
/// coding to deep learning", 2024, Definitions 5 and 6; Papyan, Romano & Elad, "Convolutional
/// neural networks analyzed via convolutional sparse coding", JMLR 2017):
///   Y = D₁X₁,  X₁ = D₂X₂,  …,  X_{K−1} = D_K X_K        (X₀ = Y),
/// every D_i a LinearOperator: a dense dictionary D_i [n_{i−1}, n_i] (the global-ℓ0 model of
/// Li, Feng & Zhou 2024), or a convolutional one with weights W_i [M_i, M_{i−1}, k(, k)] and its
/// own stride, padding and dilation (the codes X_{i−1} [N, M_{i−1}, …] are the signals of D_i).
/// A model is a list of layers that chain: the codes of layer i have the signal shape of layer i+1.
///
/// Layers are 0-based in code (`layer(0)` is D₁) and 1-based in messages and docs, as in the papers.

#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/sparse/dense_dictionary.h"

#include <memory>
#include <vector>

namespace deepsc::mlcsc {

class MlcscModel {
 public:
  using Layer = std::shared_ptr<const sparse::LinearOperator>;

  /// Requires at least one layer, none null, all of one dtype and device (std::invalid_argument).
  explicit MlcscModel(std::vector<Layer> layers);

  /// K, the number of layers.
  int64_t depth() const { return static_cast<int64_t>(layers_.size()); }
  /// D_{i+1} (0-based).
  const sparse::LinearOperator& layer(int64_t i) const;
  const std::vector<Layer>& layers() const { return layers_; }
  torch::TensorOptions tensor_options() const { return layers_.front()->tensor_options(); }

  /// The shapes of X₀ = Y, X₁, …, X_K (K + 1 entries) for signals of `signal_shape`. Throws
  /// std::invalid_argument naming the layer and both shapes when the codes of layer i are not
  /// signals that layer i+1 accepts (e.g. "layer 2 takes signals [N, 96] but layer 1 gives codes
  /// [N, 128]").
  std::vector<std::vector<int64_t>> shapes(c10::IntArrayRef signal_shape) const;

  /// Top-down synthesis from the deepest code: {X₀ = Y, X₁, …, X_K} with X_{i−1} = D_i X_i.
  /// Differentiable. `deepest` must have the shape of X_K for some signal shape the model takes.
  std::vector<torch::Tensor> synthesize(const torch::Tensor& deepest) const;

  /// L_i = ‖D_iᵀD_i‖₂ of every layer on the code shapes of these signals (K entries).
  std::vector<double> lipschitz(c10::IntArrayRef signal_shape) const;

  /// The layer as a dense or convolutional dictionary, or nullptr when it is another operator.
  const sparse::DenseDictionary* dense_layer(int64_t i) const;
  const conv::ConvDictionary* conv_layer(int64_t i) const;

 private:
  std::vector<Layer> layers_;
};

/// A model of dense dictionaries D_i [n_{i−1}, n_i] (with `normalize`, unit-norm columns).
MlcscModel dense_model(const std::vector<torch::Tensor>& dictionaries, bool normalize = false);

/// A model of convolutional dictionaries W_i [M_i, M_{i−1}, k(, k)], one ConvOptions per layer
/// (`options` empty: stride 1, no padding, no dilation for every layer).
MlcscModel conv_model(const std::vector<torch::Tensor>& weights, const std::vector<conv::ConvOptions>& options = {},
                      bool normalize = false);

/// The same for signals of a known shape [N, C, …]: fills each layer's output padding so that
/// apply() gives back exactly the size of the codes below (ConvDictionary::output_padding_for along
/// every spatial axis). Throws std::invalid_argument naming the layer when the spatial axes need
/// different paddings or no padding in range gives the size back.
MlcscModel conv_model_for_signals(const std::vector<torch::Tensor>& weights, std::vector<conv::ConvOptions> options,
                                  c10::IntArrayRef signal_shape, bool normalize = false);

/// Checks a per-layer parameter list (β or λ): exactly K finite values ≥ 0; throws
/// std::invalid_argument "--beta has 2 values but the model has 3 layers" / "... must be >= 0".
void check_layer_values(const std::vector<double>& values, int64_t depth, const char* what);

}  // namespace deepsc::mlcsc
