#include "deepsc/nn/csc_layer.h"

#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/sparse/unrolled_pursuit.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::nn {

CscSolver parse_csc_solver(const std::string& name) {
  if (name == "ista" || name == "fista" || name == "published") return sparse::parse_unrolled_solver(name);
  throw std::invalid_argument("unknown CSC solver '" + name + "' (use ista, fista or published)");
}

const char* csc_solver_name(CscSolver solver) { return sparse::unrolled_solver_name(solver); }

void check_csc_layer_options(const CscLayerOptions& o) {
  auto at_least = [](int64_t value, int64_t min, const char* name) {
    if (value < min)
      throw std::invalid_argument(std::string(name) + " must be >= " + std::to_string(min) + ", got " + std::to_string(value));
  };
  at_least(o.in_channels(), 1, "in_channels");
  at_least(o.atoms(), 1, "atoms");
  at_least(o.kernel_size(), 1, "kernel_size");
  at_least(o.stride(), 1, "stride");
  at_least(o.padding(), 0, "padding");
  at_least(o.dilation(), 1, "dilation");
  at_least(o.iterations(), 1, "iterations");
  at_least(o.power_iterations(), 1, "power_iterations");
  if (!(o.lambda() >= 0) || !std::isfinite(o.lambda()))
    throw std::invalid_argument("lambda must be finite and >= 0, got " + std::to_string(o.lambda()));
  if (!(o.step_scale() > 0 && o.step_scale() < 2))
    throw std::invalid_argument("step_scale must be in (0, 2), got " + std::to_string(o.step_scale()));
  if (!(o.power_tol() >= 0)) throw std::invalid_argument("power_tol must be >= 0, got " + std::to_string(o.power_tol()));
}

namespace {

conv::ConvOptions conv_options(const CscLayerOptions& o, std::array<int64_t, 2> output_padding = {0, 0}) {
  return conv::ConvOptions()
      .stride(o.stride())
      .padding(o.padding())
      .dilation(o.dilation())
      .output_padding(output_padding[0])
      .output_padding_last(output_padding[1]);
}

}  // namespace

CscLayerImpl::CscLayerImpl(const CscLayerOptions& options_) : options(options_) { reset(); }

void CscLayerImpl::reset() {
  check_csc_layer_options(options);
  const auto& o = options;
  weight = register_parameter("weight", torch::empty({o.atoms(), o.in_channels(), o.kernel_size(), o.kernel_size()}));
  {
    torch::NoGradGuard no_grad;
    torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));  // torch::nn::Conv2d's default
  }
  // Unit-norm atoms from the start: the forward codes over Ŵ = W/‖W[j]‖ whatever W's scale, and an
  // optimiser then starts on the sphere, as the published layer (which projects in place).
  if (o.normalize_atoms()) project_atoms();
  lambda = torch::Tensor();
  if (o.learnable_lambda()) lambda = register_parameter("lambda", torch::full({o.atoms()}, o.lambda()));
  // A buffer, so checkpoints carry it: a resumed training run then computes the very step sizes
  // of an uninterrupted one. Empty until the first forward.
  power_vector_ = register_buffer("power_vector", torch::empty({0}));
  legacy_lipschitz_ = register_buffer("lipschitz", torch::empty({0}, torch::kDouble));
  lipschitz_key_ = LipschitzKey();
}

void CscLayerImpl::pretty_print(std::ostream& stream) const {
  const auto& o = options;
  stream << "deepsc::nn::CscLayer(" << o.in_channels() << ", " << o.atoms() << ", kernel_size=" << o.kernel_size()
         << ", stride=" << o.stride() << ", padding=" << o.padding() << ", dilation=" << o.dilation()
         << ", lambda=" << o.lambda() << (o.learnable_lambda() ? " (learnable)" : "") << ", iterations=" << o.iterations()
         << ", solver=" << csc_solver_name(o.solver()) << (o.nonneg() ? ", nonneg" : "") << ")";
}

void CscLayerImpl::set_lambda(double value) {
  if (!(value >= 0) || !std::isfinite(value))
    throw std::invalid_argument("lambda must be finite and >= 0, got " + std::to_string(value));
  options.lambda(value);
  if (lambda.defined()) {
    torch::NoGradGuard no_grad;
    lambda.fill_(value);
  }
}

void CscLayerImpl::set_lambda(const torch::Tensor& per_sample) {
  if (!per_sample.defined() || per_sample.dim() != 1 || per_sample.size(0) == 0) {
    std::ostringstream msg;
    msg << "per-sample lambda must be a non-empty 1-D tensor [N], got "
        << (per_sample.defined() ? per_sample.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  auto l = per_sample.to(weight.options());
  if (!(torch::isfinite(l).all().item<bool>() && (l >= 0).all().item<bool>()))
    throw std::invalid_argument("per-sample lambda must be finite and >= 0");
  lambda_override_ = l;
}

void CscLayerImpl::clear_lambda_override() { lambda_override_ = torch::Tensor(); }

void CscLayerImpl::restart_power_iteration() {
  torch::NoGradGuard no_grad;
  power_vector_.set_();
  lipschitz_key_ = LipschitzKey();
}

void CscLayerImpl::project_atoms() {
  torch::NoGradGuard no_grad;
  weight.div_(weight.reshape({options.atoms(), -1}).norm(2, {1}).clamp_min(1e-12).view({-1, 1, 1, 1}));
}

torch::Tensor CscLayerImpl::dictionary() const {
  if (!options.normalize_atoms()) return weight;
  // ‖W[j]‖ floored (a zero atom stays zero instead of becoming NaN) and detached: a projection,
  // as published, not a reparametrisation of W.
  const auto norms = weight.detach().reshape({options.atoms(), -1}).norm(2, {1}).clamp_min(1e-12);
  return weight / norms.view({-1, 1, 1, 1});
}

bool CscLayerImpl::LipschitzKey::matches(const torch::Tensor& w, const std::vector<int64_t>& dims) const {
  return weight.defined() && weight.is_same(w) && version == w._version() && data == w.data_ptr() &&
         dtype == w.scalar_type() && device == w.device() && code_dims == dims;
}

double CscLayerImpl::lipschitz(const conv::ConvDictionary& dict, const torch::Tensor& x,
                               const std::vector<int64_t>& code_shape) {
  const std::vector<int64_t> dims(code_shape.begin() + 1, code_shape.end());
  if (!is_training() && lipschitz_key_.matches(weight, dims)) return cached_lipschitz_;
  torch::NoGradGuard no_grad;
  const auto& w = dict.weights();
  auto v = power_vector_;
  if (v.dim() != static_cast<int64_t>(code_shape.size()) || v.size(0) != 1 ||
      !std::equal(dims.begin(), dims.end(), v.sizes().begin() + 1) || v.dtype() != w.dtype() || v.device() != w.device())
    v = dict.power_start(x.sizes());
  const double estimate =
      dict.power_iteration(v, sparse::LipschitzOptions().max_iter(options.power_iterations()).tol(options.power_tol()));
  // With D = 0 the codes are S(0) = 0 whatever η; a tiny L keeps η finite.
  const double value = std::max(estimate, 1e-12);
  if (is_training()) {
    // The warm start advances (in place: the registered buffer is this very tensor); evaluation
    // leaves it alone, so that its L depends on the weights and the trained state only.
    power_vector_.set_(v);
    lipschitz_key_ = LipschitzKey();
  } else {
    lipschitz_key_ = LipschitzKey{weight, weight._version(), weight.data_ptr(), weight.scalar_type(), weight.device(), dims};
    cached_lipschitz_ = value;
  }
  return value;
}

torch::Tensor CscLayerImpl::forward(const torch::Tensor& x) {
  const auto& o = options;
  if (!x.defined() || x.dim() != 4) {
    std::ostringstream msg;
    msg << "CSC layer input must be [N, C, H, W], got " << (x.defined() ? x.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  // Each axis gets the output padding that makes D·c exactly the input's size (odd and even sides
  // differ under stride 2).
  const std::array<int64_t, 2> q{conv::ConvDictionary::output_padding_for(x.size(2), o.kernel_size(), conv_options(o)),
                                 conv::ConvDictionary::output_padding_for(x.size(3), o.kernel_size(), conv_options(o))};
  const conv::ConvDictionary dict(dictionary(), conv_options(o, q));
  dict.check_signals(x, "CSC layer input");  // dtype, device, channels, sizes
  const auto code_shape = dict.code_shape(x.sizes());
  last_lipschitz_ = lipschitz(dict, x, code_shape);
  const double eta = o.step_scale() / last_lipschitz_;

  // Dᵀx, unscaled, when it may be reused (see set_reuse_analysis).
  torch::Tensor analysis;
  if (reuse_analysis_ && !torch::GradMode::is_enabled()) {
    const bool same = analysis_.defined() && analysis_input_.unsafeGetTensorImpl() == x.unsafeGetTensorImpl() &&
                      analysis_input_._version() == analysis_input_version_ &&
                      weight._version() == analysis_weight_version_ && analysis_.sizes() == c10::IntArrayRef(code_shape);
    if (!same) {
      analysis_input_ = x;  // kept, so the object cannot be freed and another take its address
      analysis_input_version_ = x._version();
      analysis_weight_version_ = weight._version();
      analysis_ = dict.adjoint(x);
    }
    analysis = analysis_;
  }

  // A learnable λ is used as max(λ, 0): a gradient step cannot make the threshold negative.
  sparse::PursuitLambda lam = o.lambda();
  if (lambda_override_.defined()) {
    lam = sparse::PursuitLambda::per_sample(lambda_override_);
  } else if (lambda.defined()) {
    lam = sparse::PursuitLambda::per_atom(lambda.clamp_min(0));
  }
  auto c = sparse::unrolled_pursuit(
      dict, x, lam,
      sparse::UnrolledPursuitOptions(eta).iterations(o.iterations()).solver(o.solver()).nonneg(o.nonneg()).analysis(analysis));

  if (record_residual_) {
    torch::NoGradGuard no_grad;
    last_input_ = x.detach();
    last_codes_ = c.detach();
    // The dictionary is a fresh tensor when normalised; W itself may change after this call.
    last_dictionary_ = o.normalize_atoms() ? dict.weights().detach() : weight.detach().clone();
    last_output_padding_ = q;
  }
  return c;
}

void CscLayerImpl::set_reuse_analysis(bool reuse) {
  reuse_analysis_ = reuse;
  if (!reuse) {
    analysis_input_ = analysis_ = torch::Tensor();
    analysis_input_version_ = analysis_weight_version_ = -1;
  }
}

void CscLayerImpl::set_record_residual(bool record) {
  record_residual_ = record;
  if (!record) last_input_ = last_codes_ = last_dictionary_ = torch::Tensor();
}

torch::Tensor CscLayerImpl::last_residual() const {
  if (!last_codes_.defined())
    throw std::logic_error("last_residual() needs a forward recorded with set_record_residual(true)");
  torch::NoGradGuard no_grad;
  const conv::ConvDictionary dict(last_dictionary_, conv_options(options, last_output_padding_));
  return (last_input_ - dict.apply(last_codes_)).pow(2).sum({1, 2, 3});
}

ResidualRecording::ResidualRecording(std::vector<CscLayer> layers) : layers_(std::move(layers)) {
  for (auto& layer : layers_) {
    previous_.push_back(layer->record_residual());
    layer->set_record_residual(true);
  }
}

ResidualRecording::~ResidualRecording() {
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i]->set_record_residual(previous_[i]);
}

}  // namespace deepsc::nn
