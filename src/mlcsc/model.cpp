#include "deepsc/mlcsc/model.h"

#include "deepsc/data/message_text.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::mlcsc {

namespace {

std::string shape_text(c10::IntArrayRef shape) {
  std::ostringstream s;
  s << "[N";
  for (size_t i = 1; i < shape.size(); ++i) s << ", " << shape[i];
  s << "]";
  return s.str();
}

}  // namespace

MlcscModel::MlcscModel(std::vector<Layer> layers) : layers_(std::move(layers)) {
  if (layers_.empty()) throw std::invalid_argument("an ML-CSC model needs at least one layer");
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (!layers_[i]) throw std::invalid_argument("layer " + std::to_string(i + 1) + " is null");
    const auto a = layers_[i]->tensor_options();
    const auto b = layers_.front()->tensor_options();
    if (a.dtype() != b.dtype() || a.device() != b.device()) {
      throw std::invalid_argument("layer " + std::to_string(i + 1) + " is " + std::string(a.dtype().name()) + " on " +
                                  a.device().str() + " but layer 1 is " + std::string(b.dtype().name()) + " on " +
                                  b.device().str() + ": every layer needs one dtype and device");
    }
  }
}

const sparse::LinearOperator& MlcscModel::layer(int64_t i) const {
  if (i < 0 || i >= depth()) {
    throw std::out_of_range("layer index " + std::to_string(i) + " outside [0, " + std::to_string(depth()) + ")");
  }
  return *layers_[static_cast<size_t>(i)];
}

std::vector<std::vector<int64_t>> MlcscModel::shapes(c10::IntArrayRef signal_shape) const {
  std::vector<std::vector<int64_t>> out{signal_shape.vec()};
  for (int64_t i = 0; i < depth(); ++i) {
    try {
      out.push_back(layer(i).code_shape(out.back()));
    } catch (const std::invalid_argument& e) {
      if (i == 0) throw;
      throw std::invalid_argument("layer " + std::to_string(i + 1) + " does not take layer " + std::to_string(i) +
                                  "'s codes " + shape_text(out.back()) + ": " + e.what());
    }
  }
  return out;
}

std::vector<torch::Tensor> MlcscModel::synthesize(const torch::Tensor& deepest) const {
  std::vector<torch::Tensor> codes(static_cast<size_t>(depth()) + 1);
  codes.back() = deepest;
  for (int64_t i = depth() - 1; i >= 0; --i) {
    try {
      codes[static_cast<size_t>(i)] = layer(i).apply(codes[static_cast<size_t>(i) + 1]);
    } catch (const c10::Error& e) {
      // LibTorch's own shape errors (a dense layer's mm, a convolution's channels) become ours.
      throw std::invalid_argument("layer " + std::to_string(i + 1) + " cannot synthesise from codes " +
                                  shape_text(codes[static_cast<size_t>(i) + 1].sizes()) + ": " + data::first_line(e.what_without_backtrace()));
    }
  }
  // The synthesis is only meaningful if the layers chain on the signal it produced.
  const auto chained = shapes(codes.front().sizes());
  if (c10::IntArrayRef(chained.back()) != deepest.sizes()) {
    throw std::invalid_argument("deepest code " + shape_text(deepest.sizes()) + " is not the last layer's code shape " +
                                shape_text(chained.back()) + " for the signals it synthesises");
  }
  return codes;
}

std::vector<double> MlcscModel::lipschitz(c10::IntArrayRef signal_shape) const {
  const auto all = shapes(signal_shape);
  std::vector<double> out;
  for (int64_t i = 0; i < depth(); ++i) out.push_back(layer(i).lipschitz(all[static_cast<size_t>(i)]));
  return out;
}

const sparse::DenseDictionary* MlcscModel::dense_layer(int64_t i) const {
  return dynamic_cast<const sparse::DenseDictionary*>(&layer(i));
}

const conv::ConvDictionary* MlcscModel::conv_layer(int64_t i) const {
  return dynamic_cast<const conv::ConvDictionary*>(&layer(i));
}

MlcscModel dense_model(const std::vector<torch::Tensor>& dictionaries, bool normalize) {
  std::vector<MlcscModel::Layer> layers;
  for (const auto& d : dictionaries) layers.push_back(std::make_shared<sparse::DenseDictionary>(d, normalize));
  return MlcscModel(std::move(layers));
}

MlcscModel conv_model(const std::vector<torch::Tensor>& weights, const std::vector<conv::ConvOptions>& options,
                      bool normalize) {
  if (!options.empty() && options.size() != weights.size()) {
    throw std::invalid_argument(std::to_string(options.size()) + " sets of convolution options for " +
                                std::to_string(weights.size()) + " layers");
  }
  std::vector<MlcscModel::Layer> layers;
  for (size_t i = 0; i < weights.size(); ++i) {
    layers.push_back(std::make_shared<conv::ConvDictionary>(weights[i], options.empty() ? conv::ConvOptions{} : options[i],
                                                            normalize));
  }
  return MlcscModel(std::move(layers));
}

MlcscModel conv_model_for_signals(const std::vector<torch::Tensor>& weights, std::vector<conv::ConvOptions> options,
                                  c10::IntArrayRef signal_shape, bool normalize) {
  if (options.empty()) options.resize(weights.size());
  if (options.size() != weights.size()) {
    throw std::invalid_argument(std::to_string(options.size()) + " sets of convolution options for " +
                                std::to_string(weights.size()) + " layers");
  }
  std::vector<MlcscModel::Layer> layers;
  std::vector<int64_t> shape = signal_shape.vec();
  for (size_t i = 0; i < weights.size(); ++i) {
    const auto& w = weights[i];
    const std::string name = "layer " + std::to_string(i + 1);
    if (w.dim() < 3 || static_cast<int64_t>(shape.size()) != w.dim()) {
      throw std::invalid_argument(name + ": weights of rank " + std::to_string(w.dim()) + " do not fit signals " +
                                  shape_text(shape));
    }
    try {
      options[i] = conv::ConvDictionary::options_for_signals(w.sizes(), shape, options[i]);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(name + ": " + e.what());
    }
    auto layer = std::make_shared<conv::ConvDictionary>(w, options[i], normalize);
    try {
      shape = layer->code_shape(shape);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(name + ": " + e.what());
    }
    layers.push_back(std::move(layer));
  }
  return MlcscModel(std::move(layers));
}

void check_layer_values(const std::vector<double>& values, int64_t depth, const char* what) {
  if (static_cast<int64_t>(values.size()) != depth) {
    throw std::invalid_argument(std::string(what) + " has " + std::to_string(values.size()) + " value" +
                                (values.size() == 1 ? "" : "s") + " but the model has " + std::to_string(depth) +
                                " layer" + (depth == 1 ? "" : "s"));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i]) || values[i] < 0) {
      throw std::invalid_argument(std::string(what) + " value " + std::to_string(i + 1) + " must be finite and >= 0, got " +
                                  std::to_string(values[i]));
    }
  }
}

}  // namespace deepsc::mlcsc
