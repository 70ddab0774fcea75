#include "deepsc/mlcsc/pursuits.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::mlcsc {

// A named namespace, not an anonymous one: the library compiles as one unity translation unit.
namespace ml_ista_detail {

void check_options(const MlIstaOptions& o) {
  if (o.max_iter() < 1) throw std::invalid_argument("max_iter must be >= 1, got " + std::to_string(o.max_iter()));
  if (!(o.tol() >= 0)) throw std::invalid_argument("tol must be >= 0, got " + std::to_string(o.tol()));
  if (!(o.step_scale() > 0) || !std::isfinite(o.step_scale())) {
    throw std::invalid_argument("step_scale must be finite and > 0, got " + std::to_string(o.step_scale()));
  }
}

/// Γ̂_i = D_{i+1}⋯D_K Γ_K for i = 1..K (0-based entries; the last is Γ_K itself).
std::vector<torch::Tensor> project_down(const MlcscModel& model, const torch::Tensor& deepest) {
  const auto depth = static_cast<size_t>(model.depth());
  std::vector<torch::Tensor> out(depth);
  out[depth - 1] = deepest;
  for (size_t i = depth - 1; i > 0; --i) out[i - 1] = model.layer(static_cast<int64_t>(i)).apply(out[i]);
  return out;
}

torch::Tensor per_signal_sum(const torch::Tensor& t) { return t.reshape({t.size(0), -1}).sum(1); }

}  // namespace ml_ista_detail

MlIstaResult ml_ista(const MlcscModel& model, const torch::Tensor& signals, const std::vector<double>& lambdas,
                     const MlIstaOptions& options) {
  check_layer_values(lambdas, model.depth(), "lambda");
  ml_ista_detail::check_options(options);
  model.layer(0).check_signals(signals, "signals");
  const auto lipschitz = model.lipschitz(signals.sizes());  // also checks the chain
  const auto depth = static_cast<size_t>(model.depth());

  // One ML-ISTA iteration from the point `at` of the deepest code (Γ_K^k, or ML-FISTA's
  // extrapolation): every layer one ISTA step from its projection Γ̂_i towards the fresh layer
  // below; undefined `at` is Γ_K = 0, whose step from zero is layered thresholding.
  auto iterate = [&](const torch::Tensor& at) {
    std::vector<torch::Tensor> start(depth);
    if (at.defined()) start = ml_ista_detail::project_down(model, at);
    torch::Tensor below = signals;  // Γ₀ = Y
    for (size_t i = 0; i < depth; ++i) {
      below = sparse::unrolled_pursuit(model.layer(static_cast<int64_t>(i)), below, lambdas[i],
                                       sparse::UnrolledPursuitOptions(options.step_scale() / lipschitz[i])
                                           .iterations(1)
                                           .initial(start[i])
                                           .solver(sparse::UnrolledSolver::Ista)
                                           .nonneg(options.nonneg()));
    }
    return below;
  };

  MlIstaResult result;
  auto record = [&](const torch::Tensor& deepest) {
    if (!options.record_history()) return;
    torch::NoGradGuard no_grad;
    result.history.push_back(ml_lasso_objective(model, signals, deepest, lambdas).mean().item<double>());
  };

  // The momentum and t-sequence of sparse::unrolled_pursuit's FISTA: t₀ = 1, the first
  // coefficient (t₀ − 1)/t₁ is 0.
  auto gamma = iterate({});
  record(gamma);
  torch::Tensor previous;
  double t = 1;
  int64_t k = 1;
  bool settled = false;
  for (; k < options.max_iter() && !settled; ++k) {
    torch::Tensor at = gamma;
    if (options.fista()) {
      const double t_next = (1 + std::sqrt(1 + 4 * t * t)) / 2;
      if (k > 1) at = gamma + ((t - 1) / t_next) * (gamma - previous);
      t = t_next;
    }
    auto next = iterate(at);
    if (options.tol() > 0) settled = relative_change_met(next, gamma, options.tol());
    previous = gamma;
    gamma = next;
    record(gamma);
  }

  result.layers.codes = ml_ista_detail::project_down(model, gamma);
  result.layers.iterations = {k};
  result.layers.converged = options.tol() == 0 || settled;
  return result;
}

torch::Tensor ml_lasso_objective(const MlcscModel& model, const torch::Tensor& signals, const torch::Tensor& deepest,
                                 const std::vector<double>& lambdas) {
  check_layer_values(lambdas, model.depth(), "lambda");
  model.layer(0).check_signals(signals, "signals");
  const auto expected = model.shapes(signals.sizes()).back();
  if (!deepest.defined() || deepest.sizes() != c10::IntArrayRef(expected)) {
    std::ostringstream msg;
    msg << "deepest code must be " << c10::IntArrayRef(expected) << " for signals " << signals.sizes() << ", got "
        << (deepest.defined() ? deepest.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  const auto levels = model.synthesize(deepest);  // {D₁⋯D_KΓ_K, D₂⋯D_KΓ_K, …, Γ_K}
  auto objective = 0.5 * ml_ista_detail::per_signal_sum((signals - levels.front()).square());
  for (size_t i = 0; i < lambdas.size(); ++i) {
    objective = objective + lambdas[i] * ml_ista_detail::per_signal_sum(levels[i + 1].abs());
  }
  return objective;
}

}  // namespace deepsc::mlcsc
