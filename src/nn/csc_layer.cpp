#include "deepsc/nn/csc_layer.h"

#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/sparse/shrinkage.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::nn {

CscSolver parse_csc_solver(const std::string& name) {
  if (name == "ista") return CscSolver::Ista;
  if (name == "fista") return CscSolver::Fista;
  if (name == "published") return CscSolver::Published;
  throw std::invalid_argument("unknown CSC solver '" + name + "' (use ista, fista or published)");
}

const char* csc_solver_name(CscSolver solver) {
  switch (solver) {
    case CscSolver::Ista: return "ista";
    case CscSolver::Fista: return "fista";
    case CscSolver::Published: return "published";
  }
  return "?";
}

namespace {

void check_options(const CscLayerOptions& o) {
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

conv::ConvOptions conv_options(const CscLayerOptions& o, int64_t output_padding) {
  return conv::ConvOptions().stride(o.stride()).padding(o.padding()).dilation(o.dilation()).output_padding(output_padding);
}

/// The fixed pseudo-random start of the power iteration, so that two layers with equal weights
/// (a clone, a loaded copy) compute the same L.
torch::Tensor start_vector(c10::IntArrayRef shape, const torch::TensorOptions& options) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(/*seed=*/0x5d5c);
  return torch::randn(shape, gen, torch::kDouble).to(options);
}

}  // namespace

CscLayerImpl::CscLayerImpl(const CscLayerOptions& options_) : options(options_) { reset(); }

void CscLayerImpl::reset() {
  check_options(options);
  const auto& o = options;
  weight = register_parameter("weight", torch::empty({o.atoms(), o.in_channels(), o.kernel_size(), o.kernel_size()}));
  {
    torch::NoGradGuard no_grad;
    torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));  // torch::nn::Conv2d's default
  }
  lambda = torch::Tensor();
  if (o.learnable_lambda()) lambda = register_parameter("lambda", torch::full({o.atoms()}, o.lambda()));
  // A buffer, so checkpoints carry it: a resumed training run then computes the very step sizes
  // of an uninterrupted one. Empty until the first forward.
  power_vector_ = register_buffer("power_vector", torch::empty({0}));
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

double CscLayerImpl::power_iteration(const conv::ConvDictionary& dict, std::vector<int64_t> shape) {
  torch::NoGradGuard no_grad;
  shape[0] = 1;
  auto v = power_vector_;
  const auto& w = dict.weights();
  if (v.sizes() != c10::IntArrayRef(shape) || v.dtype() != w.dtype() || v.device() != w.device())
    v = start_vector(shape, w.options());
  v = v / v.norm().clamp_min(1e-30);
  double estimate = 0;
  for (int64_t it = 0; it < options.power_iterations(); ++it) {
    auto u = dict.normal(v);
    estimate = u.norm().item<double>();
    if (estimate == 0) break;  // D = 0: any step gives zero codes
    u.div_(estimate);
    const double change = (u - v).pow(2).sum().item<double>();
    v = u;
    if (change <= options.power_tol()) break;
  }
  power_vector_.set_(v);  // in place: the registered buffer is this very tensor
  // With D = 0 the codes are S(0) = 0 whatever η; a tiny L keeps η finite.
  return std::max(estimate, 1e-12);
}

torch::Tensor CscLayerImpl::forward(const torch::Tensor& x) {
  const auto& o = options;
  if (o.normalize_atoms()) {
    torch::NoGradGuard no_grad;
    weight.div_(weight.reshape({o.atoms(), -1}).norm(2, {1}).clamp_min(1e-12).view({-1, 1, 1, 1}));
  }
  if (!x.defined() || x.dim() != 4) {
    std::ostringstream msg;
    msg << "CSC layer input must be [N, C, H, W], got " << (x.defined() ? x.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  const int64_t q = conv::ConvDictionary::output_padding_for(x.size(2), o.kernel_size(), conv_options(o, 0));
  const conv::ConvDictionary dict(weight, conv_options(o, q));
  dict.check_signals(x, "CSC layer input");  // dtype, device, channels, and one output padding for both axes
  const auto code_shape = dict.code_shape(x.sizes());

  last_lipschitz_ = power_iteration(dict, code_shape);
  const double eta = o.step_scale() / last_lipschitz_;

  // Threshold λη: per sample [N, 1, 1, 1], per atom [1, M, 1, 1] or a scalar.
  torch::Tensor beta;
  if (lambda_override_.defined()) {
    if (lambda_override_.size(0) != x.size(0))
      throw std::invalid_argument("per-sample lambda has " + std::to_string(lambda_override_.size(0)) +
                                  " entries but the batch has " + std::to_string(x.size(0)) + " samples");
    beta = lambda_override_.to(x.options()).view({-1, 1, 1, 1}) * eta;
  } else if (lambda.defined()) {
    beta = lambda.view({1, -1, 1, 1}) * eta;
  } else {
    beta = torch::scalar_tensor(o.lambda() * eta, x.options());
  }
  auto shrink = [&](const torch::Tensor& z) {
    return o.nonneg() ? sparse::nonneg_soft_threshold(z, beta) : sparse::soft_threshold(z, beta);
  };
  auto gradient_step = [&](const torch::Tensor& at) { return eta * dict.adjoint(x - dict.apply(at)); };

  auto c = shrink(eta * dict.adjoint(x));  // the step from c⁰ = 0
  torch::Tensor previous;
  double t = 1;
  for (int64_t l = 1; l < o.iterations(); ++l) {
    if (o.solver() == CscSolver::Ista) {
      c = shrink(c + gradient_step(c));
      continue;
    }
    const double t_next = (1 + std::sqrt(1 + 4 * t * t)) / 2;
    // The first coefficient (t₀ − 1)/t₁ is 0: z¹ = c¹.
    const auto z = l == 1 ? c : c + ((t - 1) / t_next) * (c - previous);
    auto next = shrink(z + gradient_step(o.solver() == CscSolver::Fista ? z : c));
    previous = c;
    c = next;
    t = t_next;
  }

  last_input_ = x.detach();
  last_codes_ = c.detach();
  last_weight_ = weight.detach().clone();
  last_output_padding_ = q;
  return c;
}

torch::Tensor CscLayerImpl::last_residual() const {
  if (!last_codes_.defined()) throw std::logic_error("last_residual() needs a forward first");
  torch::NoGradGuard no_grad;
  const conv::ConvDictionary dict(last_weight_, conv_options(options, last_output_padding_));
  return (last_input_ - dict.apply(last_codes_)).pow(2).sum({1, 2, 3});
}

}  // namespace deepsc::nn
