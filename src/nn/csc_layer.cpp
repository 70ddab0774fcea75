#include "deepsc/nn/csc_layer.h"

#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/sparse/shrinkage.h"

#include <array>
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

conv::ConvOptions conv_options(const CscLayerOptions& o, std::array<int64_t, 2> output_padding = {0, 0}) {
  return conv::ConvOptions()
      .stride(o.stride())
      .padding(o.padding())
      .dilation(o.dilation())
      .output_padding(output_padding[0])
      .output_padding_last(output_padding[1]);
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
  lipschitz_state_ = register_buffer("lipschitz", torch::empty({0}, torch::kDouble));
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
    const auto norms = weight.reshape({o.atoms(), -1}).norm(2, {1});
    // Atoms already of unit norm (evaluation) are left alone, so W's version, and with it the
    // cached L, stays.
    if ((norms - 1).abs().max().item<double>() > 1e-6) weight.div_(norms.clamp_min(1e-12).view({-1, 1, 1, 1}));
  }
  if (!x.defined() || x.dim() != 4) {
    std::ostringstream msg;
    msg << "CSC layer input must be [N, C, H, W], got " << (x.defined() ? x.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  // Each axis gets the output padding that makes D·c exactly the input's size (odd and even sides
  // differ under stride 2).
  const std::array<int64_t, 2> q{conv::ConvDictionary::output_padding_for(x.size(2), o.kernel_size(), conv_options(o)),
                                 conv::ConvDictionary::output_padding_for(x.size(3), o.kernel_size(), conv_options(o))};
  const conv::ConvDictionary dict(weight, conv_options(o, q));
  dict.check_signals(x, "CSC layer input");  // dtype, device, channels, sizes
  const auto code_shape = dict.code_shape(x.sizes());

  // In training W changes every step and L is re-estimated every forward (as published), with no
  // fingerprint: the optimiser's step would invalidate it anyway. In evaluation L is kept while W
  // (its fingerprint) and the code size stay.
  if (is_training()) {
    last_lipschitz_ = power_iteration(dict, code_shape);
    torch::NoGradGuard no_grad;
    lipschitz_state_.set_();  // an evaluation after training computes L afresh
  } else {
    torch::NoGradGuard no_grad;
    const auto w = weight.to(torch::kDouble);
    const auto state = torch::stack({torch::zeros({}, w.options()), w.sum(), w.pow(2).sum(),
                                     torch::full({}, static_cast<double>(code_shape[2]), w.options()),
                                     torch::full({}, static_cast<double>(code_shape.size() > 3 ? code_shape[3] : 1), w.options())});
    // Compared in the buffer's own dtype (a module converted to float32 converts it too).
    if (lipschitz_state_.numel() == 5 &&
        torch::equal(lipschitz_state_.slice(0, 1), state.slice(0, 1).to(lipschitz_state_.options()))) {
      last_lipschitz_ = lipschitz_state_[0].item<double>();
    } else {
      last_lipschitz_ = power_iteration(dict, code_shape);
      state[0] = last_lipschitz_;
      lipschitz_state_.set_(state.to(lipschitz_state_.options()));  // in place: the registered buffer
    }
  }
  const double eta = o.step_scale() / last_lipschitz_;

  // Dᵀx, unscaled, when it may be reused (see set_reuse_analysis).
  torch::Tensor analysis;
  if (reuse_analysis_ && !torch::GradMode::is_enabled()) {
    const bool same = analysis_.defined() && analysis_input_.unsafeGetTensorImpl() == x.unsafeGetTensorImpl() &&
                      analysis_input_._version() == analysis_input_version_ &&
                      weight._version() == analysis_weight_version_;
    if (!same) {
      analysis_input_ = x;  // kept, so the object cannot be freed and another take its address
      analysis_input_version_ = x._version();
      analysis_weight_version_ = weight._version();
      analysis_ = dict.adjoint(x);
    }
    analysis = analysis_;
  }

  // Threshold λη. For non-negative codes with a scalar or per-atom λ (the published layer) it is
  // the bias of the analysis convolution, and η is folded into its weights, so one step
  // c ← max(c + ηDᵀ(x − Dc) − λη, 0) writes the code-sized tensor three times (conv, add, relu)
  // instead of six. A per-sample λ [N, 1, 1, 1] or signed codes take the general shrinkage.
  // A learnable λ is used as max(λ, 0): a gradient step cannot make the threshold negative.
  torch::Tensor bias;  // [M] = −λη, fused into the convolution
  torch::Tensor beta;  // λη for the general shrinkage
  if (lambda_override_.defined()) {
    if (lambda_override_.size(0) != x.size(0))
      throw std::invalid_argument("per-sample lambda has " + std::to_string(lambda_override_.size(0)) +
                                  " entries but the batch has " + std::to_string(x.size(0)) + " samples");
    beta = lambda_override_.to(x.options()).view({-1, 1, 1, 1}) * eta;
  } else {
    const auto per_atom = lambda.defined() ? lambda.clamp_min(0) * eta : torch::full({o.atoms()}, o.lambda() * eta, x.options());
    if (o.nonneg())
      bias = -per_atom;
    else
      beta = per_atom.view({1, -1, 1, 1});
  }
  // shrink(base + ηDᵀ(x − D·at)); an undefined `base` or `at` stands for zero codes. With a kept
  // Dᵀx the gradient step is η(Dᵀx − Dᵀ(D·at)).
  auto step = [&](const torch::Tensor& base, const torch::Tensor& at) {
    torch::Tensor z;
    if (!analysis.defined()) {
      z = dict.scaled_adjoint(at.defined() ? x - dict.apply(at) : x, eta, bias);
    } else if (at.defined()) {
      z = dict.scaled_adjoint(dict.apply(at), -eta, bias).add_(analysis, eta);
    } else {
      z = bias.defined() ? torch::add(bias.view({1, -1, 1, 1}), analysis, eta) : analysis * eta;
    }
    if (base.defined()) z = base + z;
    if (bias.defined()) return torch::relu_(z);  // z is a fresh tensor no backward needs
    return o.nonneg() ? sparse::nonneg_soft_threshold(z, beta) : sparse::soft_threshold(z, beta);
  };

  auto c = step({}, {});  // the step from c⁰ = 0
  torch::Tensor previous;
  double t = 1;
  for (int64_t l = 1; l < o.iterations(); ++l) {
    if (o.solver() == CscSolver::Ista) {
      c = step(c, c);
      continue;
    }
    const double t_next = (1 + std::sqrt(1 + 4 * t * t)) / 2;
    // The first coefficient (t₀ − 1)/t₁ is 0: z¹ = c¹.
    const auto z = l == 1 ? c : c + ((t - 1) / t_next) * (c - previous);
    auto next = step(z, o.solver() == CscSolver::Fista ? z : c);
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

void CscLayerImpl::set_reuse_analysis(bool reuse) {
  reuse_analysis_ = reuse;
  if (!reuse) {
    analysis_input_ = analysis_ = torch::Tensor();
    analysis_input_version_ = analysis_weight_version_ = -1;
  }
}

torch::Tensor CscLayerImpl::last_residual() const {
  if (!last_codes_.defined()) throw std::logic_error("last_residual() needs a forward first");
  torch::NoGradGuard no_grad;
  const conv::ConvDictionary dict(last_weight_, conv_options(options, last_output_padding_));
  return (last_input_ - dict.apply(last_codes_)).pow(2).sum({1, 2, 3});
}

}  // namespace deepsc::nn
