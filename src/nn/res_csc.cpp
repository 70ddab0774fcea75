#include "deepsc/nn/res_csc.h"

#include "deepsc/sparse/unrolled_pursuit.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::nn {

namespace {
namespace res_csc_detail {

constexpr int64_t kKernel = 3;
constexpr int64_t kPadding = 1;
/// An iterating layer's step starts at 1/L with L = ‖DᵀD‖₂ on code maps of this size (a cheap
/// power iteration; larger maps have a slightly larger L, ≈ 1.1× at most).
constexpr int64_t kInitCodeSize = 8;

/// ResNet's parameter-free "option A" shortcut (He et al. 2016): x [N, C, H, W] subsampled with
/// `stride` and zero-padded to `channels` ≥ C channels (⌊Δ/2⌋ in front, the rest behind) →
/// [N, channels, ⌈H/s⌉, ⌈W/s⌉], the code map of a 3 × 3 stride-s layer with padding 1.
torch::Tensor option_a_shortcut(const torch::Tensor& x, int64_t channels, int64_t stride) {
  auto p = stride > 1 ? x.slice(2, 0, c10::nullopt, stride).slice(3, 0, c10::nullopt, stride) : x;
  const int64_t extra = channels - x.size(1);
  if (extra > 0) p = torch::constant_pad_nd(p, {0, 0, 0, 0, extra / 2, extra - extra / 2});
  return p;
}

std::string list_string(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + std::to_string(values[i]);
  return out + "}";
}

}  // namespace res_csc_detail
}  // namespace

// ---------------------------------------------------------------------------------------------
// ResCscLayer

ResCscLayerImpl::ResCscLayerImpl(int64_t in_channels_, int64_t atoms_, int64_t stride_, bool iterates_)
    : in_channels(in_channels_), atoms(atoms_), stride(stride_), iterates(iterates_) {
  reset();
}

void ResCscLayerImpl::reset() {
  auto at_least_one = [](int64_t value, const char* name) {
    if (value < 1) throw std::invalid_argument(std::string(name) + " must be >= 1, got " + std::to_string(value));
  };
  at_least_one(in_channels, "in_channels");
  at_least_one(atoms, "atoms");
  at_least_one(stride, "stride");
  using res_csc_detail::kInitCodeSize;
  // He et al. (2015)'s normal initialisation, std √(2 / fan_in), fan_in = C·3·3.
  const double fan_in = static_cast<double>(in_channels * res_csc_detail::kKernel * res_csc_detail::kKernel);
  weight = register_parameter(
      "weight", torch::randn({atoms, in_channels, res_csc_detail::kKernel, res_csc_detail::kKernel}) * std::sqrt(2 / fan_in));
  double c = 1;
  if (iterates) {
    torch::NoGradGuard no_grad;
    const std::vector<int64_t> signal{1, in_channels, kInitCodeSize * stride, kInitCodeSize * stride};
    c = 1 / std::max(dictionary(signal).lipschitz(signal, sparse::LipschitzOptions().tol(1e-4).max_iter(100)), 1e-12);
  }
  step = register_parameter("step", torch::full({1}, c));
  threshold = register_parameter("threshold", torch::zeros({atoms}));
}

void ResCscLayerImpl::pretty_print(std::ostream& stream) const {
  stream << "deepsc::nn::ResCscLayer(" << in_channels << ", " << atoms << ", kernel_size=" << res_csc_detail::kKernel
         << ", stride=" << stride << ", padding=" << res_csc_detail::kPadding << ")";
}

conv::ConvDictionary ResCscLayerImpl::dictionary(c10::IntArrayRef signal_shape) const {
  if (signal_shape.size() != 4) {
    std::ostringstream msg;
    msg << "Res-CSC layer signals must be [N, C, H, W], got " << signal_shape;
    throw std::invalid_argument(msg.str());
  }
  const auto o = conv::ConvOptions().stride(stride).padding(res_csc_detail::kPadding);
  // Under stride 2 each axis needs the output padding that makes D·Γ exactly the signal's size.
  const int64_t q_h = conv::ConvDictionary::output_padding_for(signal_shape[2], res_csc_detail::kKernel, o);
  const int64_t q_w = conv::ConvDictionary::output_padding_for(signal_shape[3], res_csc_detail::kKernel, o);
  return conv::ConvDictionary(weight, conv::ConvOptions(o).output_padding(q_h).output_padding_last(q_w));
}

torch::Tensor ResCscLayerImpl::forward(const torch::Tensor& signal, const torch::Tensor& initial, int64_t iterations) {
  if (!signal.defined()) throw std::invalid_argument("Res-CSC layer signals must be [N, C, H, W], got nothing");
  const auto dict = dictionary(signal.sizes());
  // One step Γ ← ReLU(Γ − c Dᵀ(DΓ − x) + b) is unrolled_pursuit's ISTA step with η = 1, λ = −b and
  // step factor c (b is a free bias, as in ResNet: λ may be negative).
  return sparse::unrolled_pursuit(dict, signal, sparse::PursuitLambda::per_atom(-threshold),
                                  sparse::UnrolledPursuitOptions(1.0)
                                      .iterations(iterations)
                                      .solver(sparse::UnrolledSolver::Ista)
                                      .nonneg(true)
                                      .initial(initial)
                                      .step_factor(step));
}

// ---------------------------------------------------------------------------------------------
// ResCscNet

ResCscNetImpl::ResCscNetImpl(bool skip, ModelOptions options) : skip_(skip), options_(std::move(options)) { reset(); }

void ResCscNetImpl::reset() {
  using res_csc_detail::list_string;
  check_model_options(options_);
  const auto& o = options_;
  const std::string name = skip_ ? "res-csc" : "plain-csc";
  if (o.stem() != Stem::Cifar) throw std::invalid_argument("stem must be cifar for " + name + ", got " + stem_name(o.stem()));
  const int64_t depth = o.depth() == 0 ? 20 : o.depth();
  if (depth < 8 || (depth - 2) % 6 != 0) {
    throw std::invalid_argument("depth must be 6n + 2 with n >= 1 (8, 14, 20, 32, 44, 56, 110, ...) for " + name +
                                ", got " + std::to_string(depth));
  }
  blocks_ = (depth - 2) / 6;
  unfoldings_ = o.unfoldings() < 0 ? 0 : o.unfoldings();
  if (o.channels().empty()) {
    widths_.clear();
    for (int64_t c : {16, 32, 64})
      widths_.push_back(std::max<int64_t>(1, std::llround(static_cast<double>(c) * o.width())));
  } else {
    widths_ = o.channels();
    if (widths_.size() != 3) {
      throw std::invalid_argument("channels must have 3 values (one per stage) for " + name + ", got " +
                                  list_string(widths_));
    }
    if (widths_[1] < widths_[0] || widths_[2] < widths_[1]) {
      throw std::invalid_argument("channels must be non-decreasing (the shortcut zero-pads new channels) for " + name +
                                  ", got " + list_string(widths_));
    }
  }

  layers = register_module("layers", torch::nn::ModuleList());
  // A layer that takes an ISTA step from a non-zero code (layer b of res-csc, every layer when T > 0)
  // starts with the convergent step 1/L; a single step from zero starts at c = 1 (see the header).
  const bool unfolded = unfoldings_ > 0;
  layers->push_back(ResCscLayer(o.in_channels(), widths_[0], 1, unfolded));
  int64_t in = widths_[0];
  for (int64_t stage = 0; stage < 3; ++stage) {
    const int64_t out = widths_[static_cast<size_t>(stage)];
    for (int64_t block = 0; block < blocks_; ++block) {
      layers->push_back(ResCscLayer(in, out, stage > 0 && block == 0 ? 2 : 1, unfolded));
      layers->push_back(ResCscLayer(out, out, 1, unfolded || skip_));
      in = out;
    }
  }
  fc = register_module("fc", torch::nn::Linear(widths_[2], o.num_classes()));
}

void ResCscNetImpl::pretty_print(std::ostream& stream) const {
  stream << "deepsc::nn::ResCscNet(" << (skip_ ? "res-csc" : "plain-csc") << ", depth=" << 6 * blocks_ + 2
         << ", channels=" << res_csc_detail::list_string(widths_) << ", unfoldings=" << unfoldings_
         << ", in_channels=" << options_.in_channels() << ", num_classes=" << options_.num_classes() << ")";
}

ResCscLayer ResCscNetImpl::layer(int64_t i) const {
  if (i < 0 || i >= num_layers()) {
    throw std::out_of_range("Res-CSC layer index " + std::to_string(i) + " out of range [0, " +
                            std::to_string(num_layers()) + ")");
  }
  return ResCscLayer(layers->ptr<ResCscLayerImpl>(static_cast<size_t>(i)));
}

torch::Tensor ResCscNetImpl::run(const torch::Tensor& images, std::vector<torch::Tensor>* all) {
  if (!images.defined() || images.dim() != 4 || images.size(1) != options_.in_channels()) {
    std::ostringstream msg;
    msg << "images must be [N, " << options_.in_channels() << ", H, W], got "
        << (images.defined() ? images.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  const int64_t steps = 1 + unfoldings_;
  auto keep = [&](const torch::Tensor& x) {
    if (all) all->push_back(x);
    return x;
  };
  auto x = keep(layer(0)->forward(images, {}, steps));  // stem, (2)
  for (int64_t i = 1; i + 1 < num_layers(); i += 2) {
    auto a = layer(i), b = layer(i + 1);
    const auto xa = keep(a->forward(x, {}, steps));  // (2): from Γ⁰ = 0
    // (3): from Γ⁰ = X₋₁ = P(X_prev), the code two layers down; plain-CSC starts from 0 again.
    const auto warm = skip_ ? res_csc_detail::option_a_shortcut(x, b->atoms, a->stride) : torch::Tensor();
    x = keep(b->forward(xa, warm, steps));
  }
  return x;
}

torch::Tensor ResCscNetImpl::forward(torch::Tensor images) {
  const auto x = run(images, nullptr);
  return fc(torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
}

std::vector<torch::Tensor> ResCscNetImpl::codes(const torch::Tensor& images) {
  std::vector<torch::Tensor> all;
  run(images, &all);
  return all;
}

std::shared_ptr<Classifier> make_res_csc_net(bool skip, const ModelOptions& options) {
  check_used_options(options, skip ? "res-csc" : "plain-csc", {"depth", "channels", "unfoldings"});
  return std::make_shared<ResCscNetImpl>(skip, options);
}

}  // namespace deepsc::nn
