#include "deepsc/sparse/proximal_gradient.h"

#include "deepsc/sparse/lasso.h"
#include "proximal_update.h"

#include <sstream>
#include <stdexcept>

namespace deepsc::sparse {

StopRule parse_stop_rule(const std::string& name) {
  if (name == "change") return StopRule::RelativeChange;
  if (name == "gap") return StopRule::DualityGap;
  throw std::invalid_argument("unknown stop rule '" + name + "' (use change or gap)");
}

namespace {

void check_options(const ProximalGradientOptions& o) {
  if (!(o.lambda() >= 0)) throw std::invalid_argument("lambda must be >= 0");
  if (o.max_iter() < 1) throw std::invalid_argument("max_iter must be >= 1");
  if (!(o.tol() >= 0)) throw std::invalid_argument("tol must be >= 0");
  if (o.check_every() < 1) throw std::invalid_argument("check_every must be >= 1");
  if (!(o.step_scale() > 0 && o.step_scale() < 2))
    throw std::invalid_argument("step_scale must be in (0, 2); the step is step_scale / L");
}

/// The shared loop: ISTA is FISTA without extrapolation.
SolverResult proximal_gradient(const LinearOperator& op, const torch::Tensor& signals,
                               const ProximalGradientOptions& o, bool accelerate) {
  check_options(o);
  op.check_signals(signals);
  torch::NoGradGuard no_grad;

  const auto code_shape = op.code_shape(signals.sizes());
  const int64_t n = code_shape[0];
  const auto opts = signals.options();
  SolverResult result;
  if (n == 0) {
    result.codes = torch::zeros(code_shape, opts);
    result.converged = true;
    return result;
  }

  const double lipschitz = op.lipschitz(signals.sizes(), o.lipschitz());
  if (!(lipschitz > 0)) {  // D = 0: every X has the same fit, X = 0 minimises λ‖X‖₁.
    result.codes = torch::zeros(code_shape, opts);
    result.converged = true;
    result.objective = (0.5 * signals.square().sum() / n).item<double>();
    return result;
  }
  const double step = o.step_scale() / lipschitz;
  const auto gradient_step = op.gradient_step(signals, step);

  torch::Tensor x;
  if (o.warm_start().defined()) {
    if (o.warm_start().sizes() != c10::IntArrayRef(code_shape)) {
      std::ostringstream msg;
      msg << "warm start has shape " << o.warm_start().sizes() << ", expected " << c10::IntArrayRef(code_shape);
      throw std::invalid_argument(msg.str());
    }
    x = o.warm_start().to(opts).clone(at::MemoryFormat::Contiguous);
    if (o.nonneg()) x.clamp_min_(0);
  } else {
    x = torch::zeros(code_shape, opts);
  }
  auto z = accelerate ? x.clone() : x;  // ISTA steps from X itself
  auto v = torch::empty_like(x);
  auto t = torch::ones({n}, opts.dtype(torch::kDouble));
  auto change_sq = torch::empty({n}, opts.dtype(torch::kDouble));
  auto norm_sq = torch::empty({n}, opts.dtype(torch::kDouble));

  detail::ProximalUpdate update;
  update.threshold = o.lambda() * step;
  update.nonneg = o.nonneg();
  update.accelerate = accelerate;
  update.restart = accelerate && o.adaptive_restart();
  update.fused = o.fused();

  const auto rows = [n](const torch::Tensor& a) { return a.view({n, -1}); };
  for (int64_t it = 1; it <= o.max_iter(); ++it) {
    (*gradient_step)(z, v);  // v = Z − η∇f(Z), written in place
    auto v2 = rows(v), x2 = rows(x), z2 = rows(z);
    detail::proximal_update(update, v2, x2, z2, t, change_sq, norm_sq);
    std::swap(x, v);  // x ← X^{l+1}; the old X's storage is the next step's buffer
    if (!accelerate) z = x;
    result.iterations = it;
    if (o.record_history()) result.history.push_back(lasso_objective(op, signals, x, o.lambda()).mean().item<double>());

    if (o.tol() >= 0 && it % o.check_every() == 0) {
      bool done;
      if (o.stop_rule() == StopRule::RelativeChange) {
        done = (change_sq <= (o.tol() * o.tol()) * norm_sq).all().item<bool>();
      } else {
        auto terms = lasso_terms(op, signals, x, o.lambda(), o.nonneg());
        done = (terms.gap <= o.tol() * terms.objective.abs().clamp_min(1e-30)).all().item<bool>();
      }
      if (done) {
        result.converged = true;
        break;
      }
    }
  }
  result.codes = x;
  result.objective = lasso_objective(op, signals, x, o.lambda()).mean().item<double>();
  return result;
}

}  // namespace

SolverResult ista(const LinearOperator& op, const torch::Tensor& signals, const ProximalGradientOptions& options) {
  return proximal_gradient(op, signals, options, /*accelerate=*/false);
}

SolverResult fista(const LinearOperator& op, const torch::Tensor& signals, const ProximalGradientOptions& options) {
  return proximal_gradient(op, signals, options, /*accelerate=*/true);
}

}  // namespace deepsc::sparse
