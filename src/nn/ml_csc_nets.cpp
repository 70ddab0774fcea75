#include "deepsc/nn/ml_csc_nets.h"

#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/sparse/unrolled_pursuit.h"

#include <cmath>
#include <utility>
#include <sstream>
#include <stdexcept>

namespace deepsc::nn {

const char* ml_csc_variant_name(MlCscVariant variant) {
  switch (variant) {
    case MlCscVariant::Cnn: return "mlcsc-cnn";
    case MlCscVariant::Ista: return "ml-ista";
    case MlCscVariant::Fista: return "ml-fista";
    case MlCscVariant::Lbp: return "lbp";
    case MlCscVariant::Lista: return "ml-lista";
  }
  return "?";
}

namespace {

/// One published layout: the dictionary layers (channels before width) and the tail.
struct Layout {
  std::vector<int64_t> channels, kernel_sizes, strides, paddings, tail;
};

Layout published_layout(const std::string& name) {
  if (name.empty() || name == "mnist") return {{32, 64, 512}, {6, 6, 4}, {2, 2, 1}, {0, 0, 0}, {}};
  if (name == "cifar") return {{32, 64, 128}, {4, 4, 4}, {2, 2, 2}, {1, 1, 1}, {256, 512, 512}};
  throw std::invalid_argument("layout must be mnist or cifar, got '" + name + "'");
}

int64_t scaled(int64_t channels, double width) {
  return std::max<int64_t>(1, std::llround(static_cast<double>(channels) * width));
}

/// `given` when set (K values), else the layout's `fallback` (which needs K = 3).
std::vector<int64_t> per_layer(const std::vector<int64_t>& given, const std::vector<int64_t>& fallback, size_t layers,
                               const char* name, const std::string& layout) {
  if (given.empty()) {
    if (layers != fallback.size()) {
      throw std::invalid_argument(std::string(name) + " must be given (" + std::to_string(layers) +
                                  " values) when channels has " + std::to_string(layers) + " layers, not the " +
                                  std::to_string(fallback.size()) + " of the " + layout + " layout");
    }
    return fallback;
  }
  if (given.size() != layers) {
    throw std::invalid_argument(std::string(name) + " has " + std::to_string(given.size()) + " values but channels has " +
                                std::to_string(layers));
  }
  return given;
}

/// The output padding that makes D·γ of a [.., H', W'] code exactly the signal's H × W.
conv::ConvOptions conv_options(const MlCscLayerSpec& l, const torch::Tensor& signal) {
  auto o = conv::ConvOptions().stride(l.stride).padding(l.padding);
  return o.output_padding(conv::ConvDictionary::output_padding_for(signal.size(2), l.kernel_size, o))
      .output_padding_last(conv::ConvDictionary::output_padding_for(signal.size(3), l.kernel_size, o));
}

/// N(0, 1)·gain/√fan_in, fan_in = C·k·k of W [M, C, k, k].
torch::Tensor published_weight(int64_t out, int64_t in, int64_t k, double gain) {
  return torch::randn({out, in, k, k}) * (gain / std::sqrt(static_cast<double>(in * k * k)));
}

}  // namespace

MlCscSpec ml_csc_spec(MlCscVariant variant, const ModelOptions& o) {
  MlCscSpec spec;
  spec.variant = variant;
  const auto layout = published_layout(o.layout());
  spec.layout = o.layout().empty() ? "mnist" : o.layout();
  spec.num_classes = o.num_classes();

  if (variant == MlCscVariant::Cnn) {
    if (o.unfoldings() > 0) {
      throw std::invalid_argument("unfoldings must be 0 for mlcsc-cnn (layered thresholding), got " +
                                  std::to_string(o.unfoldings()) + ": use ml-ista, ml-fista, lbp or ml-lista to unfold");
    }
    spec.unfoldings = 0;
  } else {
    if (o.unfoldings() < -1) throw std::invalid_argument("unfoldings must be >= 0, got " + std::to_string(o.unfoldings()));
    spec.unfoldings = o.unfoldings() == -1 ? 6 : o.unfoldings();
  }

  std::vector<int64_t> channels;
  if (o.channels().empty()) {
    const std::pair<const char*, const std::vector<int64_t>*> lists[] = {
        {"kernel_sizes", &o.kernel_sizes()}, {"strides", &o.strides()}, {"paddings", &o.paddings()}};
    for (const auto& [name, given] : lists) {
      if (!given->empty())
        throw std::invalid_argument(std::string(name) + " needs channels (one value per dictionary layer, the same count)");
    }
    for (auto m : layout.channels) channels.push_back(scaled(m, o.width()));
  } else {
    channels = o.channels();
  }
  const size_t K = channels.size();
  const auto kernels = per_layer(o.kernel_sizes(), layout.kernel_sizes, K, "kernel_sizes", spec.layout);
  const auto strides = per_layer(o.strides(), layout.strides, K, "strides", spec.layout);
  const auto paddings = per_layer(o.paddings(), layout.paddings, K, "paddings", spec.layout);
  if (o.in_channels() < 1) throw std::invalid_argument("in_channels must be >= 1, got " + std::to_string(o.in_channels()));
  int64_t in = o.in_channels();
  for (size_t i = 0; i < K; ++i) {
    const auto check = [i](int64_t v, int64_t min, const char* name) {
      if (v < min) {
        throw std::invalid_argument(std::string(name) + "[" + std::to_string(i) + "] must be >= " + std::to_string(min) +
                                    ", got " + std::to_string(v));
      }
    };
    check(channels[i], 1, "channels");
    check(kernels[i], 1, "kernel_sizes");
    check(strides[i], 1, "strides");
    check(paddings[i], 0, "paddings");
    spec.layers.push_back({in, channels[i], kernels[i], strides[i], paddings[i]});
    in = channels[i];
  }
  for (auto m : layout.tail) spec.tail.push_back(scaled(m, o.width()));
  return spec;
}

MlCscNetImpl::MlCscNetImpl(MlCscVariant variant, ModelOptions options) : options_(std::move(options)) {
  check_model_options(options_);
  spec_ = ml_csc_spec(variant, options_);
  reset();
}

void MlCscNetImpl::reset() {
  const bool lista = spec_.variant == MlCscVariant::Lista;
  dictionaries.clear();
  steps.clear();
  thresholds.clear();
  analysis.clear();
  tail_weights.clear();
  tail_biases.clear();
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < spec_.layers.size(); ++i) {
    const auto& l = spec_.layers[i];
    const auto n = std::to_string(i + 1);
    dictionaries.push_back(register_parameter("W" + n, published_weight(l.atoms, l.in_channels, l.kernel_size, 0.1)));
    if (!lista) steps.push_back(register_parameter("c" + n, torch::ones({})));
    thresholds.push_back(register_parameter("b" + n, torch::zeros({l.atoms})));
  }
  if (lista) {
    for (size_t i = 0; i < spec_.layers.size(); ++i) {
      const auto& l = spec_.layers[i];
      analysis.push_back(
          register_parameter("B" + std::to_string(i + 1), published_weight(l.atoms, l.in_channels, l.kernel_size, 0.1)));
    }
  }
  int64_t in = spec_.layers.back().atoms;
  for (size_t j = 0; j < spec_.tail.size(); ++j) {
    const auto n = std::to_string(spec_.layers.size() + j + 1);
    tail_weights.push_back(register_parameter("W" + n, published_weight(spec_.tail[j], in, 3, 1.0)));
    tail_biases.push_back(register_parameter("b" + n, torch::zeros({spec_.tail[j]})));
    in = spec_.tail[j];
  }
  fc = register_module("fc", torch::nn::Linear(in, spec_.num_classes));
}

void MlCscNetImpl::pretty_print(std::ostream& stream) const {
  stream << "deepsc::nn::MlCscNet(" << ml_csc_variant_name(spec_.variant) << ", layout=" << spec_.layout
         << ", unfoldings=" << spec_.unfoldings << ", layers={";
  for (size_t i = 0; i < spec_.layers.size(); ++i) {
    const auto& l = spec_.layers[i];
    stream << (i ? ", " : "") << l.in_channels << "->" << l.atoms << " k" << l.kernel_size << " s" << l.stride << " p"
           << l.padding;
  }
  stream << "}, tail={";
  for (size_t j = 0; j < spec_.tail.size(); ++j) stream << (j ? ", " : "") << spec_.tail[j];
  stream << "}, num_classes=" << spec_.num_classes << ")";
}

std::vector<torch::Tensor> MlCscNetImpl::codes(const torch::Tensor& images) {
  const auto in_channels = spec_.layers.front().in_channels;
  if (!images.defined() || images.dim() != 4 || images.size(1) != in_channels) {
    std::ostringstream msg;
    msg << "images must be [N, " << in_channels << ", H, W], got " << (images.defined() ? images.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  using sparse::PursuitLambda;
  using sparse::UnrolledPursuitOptions;
  const auto ista = sparse::UnrolledSolver::Ista;
  const auto& v = spec_.variant;
  const bool lista = v == MlCscVariant::Lista;
  const int64_t T = spec_.unfoldings;
  const size_t K = spec_.layers.size();

  // ConvDictionaries are built from the weights each forward (autograd flows into W_i, B_i);
  // layer i's dictionary maps codes γ_i to signals the size of γ_{i−1}, fixed over the unfoldings.
  std::vector<std::unique_ptr<conv::ConvDictionary>> D(K), B(K);
  // gamma[0] = x, gamma[i] = γ_i.
  std::vector<torch::Tensor> gamma(K + 1);
  gamma[0] = images;
  torch::Tensor analysis_of_images;  // B₁ᵀx (ML-LISTA)
  // One step S_i(initial, γ_{i−1}) = ReLU(initial − c_i D_iᵀ(D_i·initial − γ_{i−1}) + b_i), or
  // `iterations` ISTA steps from thresholding when `initial` is undefined.
  // `synthesis` is D_i·initial when the backward pass already computed it (the projection one layer
  // down), saving that transposed convolution.
  const auto step = [&](size_t i, const torch::Tensor& initial, int64_t iterations,
                        const torch::Tensor& synthesis = {}) {
    auto o = UnrolledPursuitOptions(1.0).iterations(iterations).solver(ista);
    if (initial.defined()) o.initial(initial).initial_synthesis(synthesis);
    if (lista) {
      // ReLU(initial − W_iᵀW_i·initial + B_iᵀγ_{i−1} + b_i): Dᵀx of the step is B_iᵀγ_{i−1}
      // (B₁ᵀx once per forward).
      o.analysis(i == 0 ? analysis_of_images : B[i]->adjoint(gamma[i]));
    } else {
      o.step_factor(steps[i]);
    }
    return sparse::unrolled_pursuit(*D[i], gamma[i], PursuitLambda::per_atom(-thresholds[i]), o);
  };

  for (size_t i = 0; i < K; ++i) {
    const auto options = conv_options(spec_.layers[i], gamma[i]);
    D[i] = std::make_unique<conv::ConvDictionary>(dictionaries[i], options);
    if (lista) {
      B[i] = std::make_unique<conv::ConvDictionary>(analysis[i], options);
      // Thresholding with the analysis weights, no step: ReLU(B_iᵀγ_{i−1} + b_i).
      auto o = UnrolledPursuitOptions(1.0).iterations(1).solver(ista);
      if (i == 0) o.analysis(analysis_of_images = B[0]->adjoint(images));
      gamma[i + 1] = sparse::unrolled_pursuit(*B[i], gamma[i], PursuitLambda::per_atom(-thresholds[i]), o);
    } else {
      gamma[i + 1] = step(i, {}, v == MlCscVariant::Lbp ? T + 1 : 1);
    }
  }

  if (v == MlCscVariant::Ista || v == MlCscVariant::Fista || lista) {
    torch::Tensor previous = gamma[K];  // γ_K^prev (ML-FISTA)
    double t = 1;
    std::vector<torch::Tensor> projection(K + 1);
    for (int64_t u = 0; u < T; ++u) {
      projection[K] = gamma[K];
      if (v == MlCscVariant::Fista) {
        const double t_next = (1 + std::sqrt(1 + 4 * t * t)) / 2;
        projection[K] = gamma[K] + ((t - 1) / t_next) * (gamma[K] - previous);  // Z
        previous = gamma[K];
        t = t_next;
      }
      // Backward: γ_{i−1} = D_iγ_i (ML-LISTA: B_iγ_i) from the deepest code down.
      for (size_t i = K - 1; i >= 1; --i) projection[i] = (lista ? B[i] : D[i])->apply(projection[i + 1]);
      // Forward: one step per layer from its projection, on the freshly updated layer below. For
      // i ≥ 1, D_i·projection_i is projection_{i−1}, computed just above (not for ML-LISTA, which
      // projects with B_i but steps with W_i).
      for (size_t i = 0; i < K; ++i) {
        gamma[i + 1] = step(i, projection[i + 1], 1, !lista && i >= 1 ? projection[i] : torch::Tensor());
      }
    }
  }
  return {gamma.begin() + 1, gamma.end()};
}

torch::Tensor MlCscNetImpl::forward(torch::Tensor images) {
  auto x = codes(images).back();
  if (!spec_.tail.empty() && (x.size(2) < 4 || x.size(3) < 4)) {
    std::ostringstream msg;
    msg << "the cifar layout's tail (two 2x2 max-pools) needs codes of at least 4x4, got " << x.size(2) << "x"
        << x.size(3) << " from images " << images.sizes();
    throw std::invalid_argument(msg.str());
  }
  // The plain CNN tail of the cifar layout (W4…W6, b4…b6 of the published model): not unfolded.
  for (size_t j = 0; j < tail_weights.size(); ++j) {
    x = torch::relu(torch::conv2d(x, tail_weights[j], tail_biases[j], /*stride=*/1, /*padding=*/1));
    if (j > 0) x = torch::max_pool2d(x, 2, 2);
  }
  return fc->forward(x.mean({2, 3}));
}

std::shared_ptr<Classifier> make_ml_csc_net(MlCscVariant variant, const ModelOptions& options) {
  check_used_options(options, ml_csc_variant_name(variant),
                     {"unfoldings", "channels", "kernel_sizes", "strides", "paddings", "layout"});
  return std::make_shared<MlCscNetImpl>(variant, options);
}

}  // namespace deepsc::nn
