#include "deepsc/mlcsc/pursuits.h"

#include "deepsc/sparse/lasso.h"
#include "deepsc/sparse/proximal_gradient.h"

#include <cmath>
#include <functional>
#include <stdexcept>

namespace deepsc::mlcsc {

// A named namespace, not an anonymous one: the library compiles as one unity translation unit.
namespace layered_detail {

/// Checks the signals against layer 1 (dtype, device, shape) and the chain of layers on them.
void check_model_signals(const MlcscModel& model, const torch::Tensor& signals) {
  model.layer(0).check_signals(signals, "signals");
  model.shapes(signals.sizes());
}

void check_positive(double value, const char* what) {
  if (!(value > 0) || !std::isfinite(value)) {
    throw std::invalid_argument(std::string(what) + " must be finite and > 0, got " + std::to_string(value));
  }
}

void check_at_least_one(int64_t value, const char* what) {
  if (value < 1) throw std::invalid_argument(std::string(what) + " must be >= 1, got " + std::to_string(value));
}

void check_solver_options(const LayeredBasisPursuitOptions& o) {
  check_at_least_one(o.max_iter(), "max_iter");
  if (!(o.tol() >= 0)) throw std::invalid_argument("tol must be >= 0, got " + std::to_string(o.tol()));
}

void check_warm_start(const LayeredBasisPursuitOptions& o, int64_t depth) {
  if (!o.warm_start().empty() && static_cast<int64_t>(o.warm_start().size()) != depth) {
    throw std::invalid_argument("warm_start has " + std::to_string(o.warm_start().size()) + " codes but the model has " +
                                std::to_string(depth) + " layers");
  }
}

sparse::ProximalGradientOptions lasso_options(double lambda, const LayeredBasisPursuitOptions& o) {
  // The duality gap costs an apply and an adjoint: checked every 10 iterations, as the solver
  // registry does.
  return sparse::ProximalGradientOptions(lambda)
      .max_iter(o.max_iter())
      .tol(o.tol())
      .stop_rule(sparse::StopRule::DualityGap)
      .check_every(10)
      .nonneg(o.nonneg());
}

/// One layer's codes to convergence (no autograd).
struct LayerSolve {
  torch::Tensor codes;
  int64_t iterations = 0;
  bool converged = true;
};

/// min ‖X‖₁ s.t. D X = signals by λ-continuation: lassos at λ = λ_max·0.5·decay^s down to
/// final_ratio·λ_max, each warm-started from the last. λ_max = ‖DᵀY‖∞ is the batch's largest (one
/// scalar λ per stage; signals with a smaller λ_max only start their path later).
LayerSolve basis_pursuit_layer(const sparse::LinearOperator& op, const torch::Tensor& signals,
                               const BasisPursuitContinuation& c) {
  const auto& o = c.solver();
  const double lambda_max =
      signals.size(0) == 0 ? 0 : sparse::lasso_lambda_max(op, signals, o.nonneg()).max().item<double>();
  if (!(lambda_max > 0)) return {torch::zeros(op.code_shape(signals.sizes()), signals.options()), 0, true};
  const double final_lambda = c.final_ratio() * lambda_max;
  LayerSolve out;
  for (double lambda = 0.5 * lambda_max;; lambda *= c.decay()) {
    lambda = std::max(lambda, final_lambda);
    auto r = sparse::fista(op, signals, lasso_options(lambda, o).warm_start(out.codes));
    out.codes = r.codes;
    out.iterations += r.iterations;
    out.converged = out.converged && r.converged;
    if (lambda <= final_lambda) break;
  }
  return out;
}

void check_continuation(const BasisPursuitContinuation& c) {
  if (!(c.final_ratio() > 0 && c.final_ratio() <= 1)) {
    throw std::invalid_argument("final_ratio must be in (0, 1], got " + std::to_string(c.final_ratio()));
  }
  if (!(c.decay() > 0 && c.decay() < 1))
    throw std::invalid_argument("decay must be in (0, 1), got " + std::to_string(c.decay()));
  check_solver_options(c.solver());
}

/// Layer by layer without autograd: X̂_i = solve(i, X̂_{i−1}), X̂₀ = the signals.
LayeredCodes layer_by_layer(const MlcscModel& model, const torch::Tensor& signals,
                            const std::function<LayerSolve(int64_t, const torch::Tensor&)>& solve) {
  torch::NoGradGuard no_grad;
  LayeredCodes out;
  torch::Tensor x = signals.detach();
  for (int64_t i = 0; i < model.depth(); ++i) {
    auto layer = solve(i, x);
    x = layer.codes;
    out.codes.push_back(x);
    out.iterations.push_back(layer.iterations);
    out.converged = out.converged && layer.converged;
  }
  return out;
}

}  // namespace layered_detail

bool relative_change_met(const torch::Tensor& next, const torch::Tensor& previous, double tol) {
  torch::NoGradGuard no_grad;
  const auto change = (next - previous).flatten(1).norm(2, {1});
  return (change <= tol * next.flatten(1).norm(2, {1})).all().item<bool>();
}

LayeredCodes layered_thresholding(const MlcscModel& model, const torch::Tensor& signals,
                                  const std::vector<double>& betas, sparse::Shrinkage shrinkage) {
  check_layer_values(betas, model.depth(), "beta");
  layered_detail::check_model_signals(model, signals);
  LayeredCodes out;
  torch::Tensor x = signals;
  for (int64_t i = 0; i < model.depth(); ++i) {
    const double beta = betas[static_cast<size_t>(i)];
    if (shrinkage == sparse::Shrinkage::Hard) {
      x = sparse::shrink(model.layer(i).adjoint(x), beta, sparse::Shrinkage::Hard);
    } else {
      // One step from zero with η = 1 and λ = β: S_β(D_iᵀ X_{i−1}).
      x = sparse::unrolled_pursuit(model.layer(i), x, beta,
                                   sparse::UnrolledPursuitOptions(1.0)
                                       .iterations(1)
                                       .solver(sparse::UnrolledSolver::Ista)
                                       .nonneg(shrinkage == sparse::Shrinkage::NonNegSoft));
    }
    out.codes.push_back(x);
    out.iterations.push_back(1);
  }
  return out;
}

LayeredCodes layered_basis_pursuit(const MlcscModel& model, const torch::Tensor& signals,
                                   const std::vector<double>& lambdas, const LayeredBasisPursuitOptions& options) {
  check_layer_values(lambdas, model.depth(), "lambda");
  layered_detail::check_solver_options(options);
  layered_detail::check_warm_start(options, model.depth());
  layered_detail::check_model_signals(model, signals);
  return layered_detail::layer_by_layer(model, signals, [&](int64_t i, const torch::Tensor& x) {
    const double lambda = lambdas[static_cast<size_t>(i)];
    if (lambda == 0) return layered_detail::basis_pursuit_layer(model.layer(i), x, BasisPursuitContinuation().solver(options));
    const auto start = options.warm_start().empty() ? torch::Tensor() : options.warm_start()[static_cast<size_t>(i)];
    auto r = sparse::fista(model.layer(i), x, layered_detail::lasso_options(lambda, options).warm_start(start));
    return layered_detail::LayerSolve{r.codes, r.iterations, r.converged};
  });
}

LayeredCodes layered_basis_pursuit_exact(const MlcscModel& model, const torch::Tensor& signals,
                                         const BasisPursuitContinuation& options) {
  layered_detail::check_continuation(options);
  layered_detail::check_model_signals(model, signals);
  return layered_detail::layer_by_layer(model, signals, [&](int64_t i, const torch::Tensor& x) {
    return layered_detail::basis_pursuit_layer(model.layer(i), x, options);
  });
}

LayeredCodes layered_basis_pursuit_unrolled(const MlcscModel& model, const torch::Tensor& signals,
                                            const std::vector<double>& lambdas, int64_t iterations,
                                            sparse::UnrolledSolver solver, bool nonneg, double step_scale) {
  check_layer_values(lambdas, model.depth(), "lambda");
  layered_detail::check_at_least_one(iterations, "iterations");
  layered_detail::check_positive(step_scale, "step_scale");
  layered_detail::check_model_signals(model, signals);
  const auto lipschitz = model.lipschitz(signals.sizes());
  LayeredCodes out;
  torch::Tensor x = signals;
  for (int64_t i = 0; i < model.depth(); ++i) {
    const auto k = static_cast<size_t>(i);
    x = sparse::unrolled_pursuit(
        model.layer(i), x, lambdas[k],
        sparse::UnrolledPursuitOptions(step_scale / lipschitz[k]).iterations(iterations).solver(solver).nonneg(nonneg));
    out.codes.push_back(x);
    out.iterations.push_back(iterations);
  }
  return out;
}

LayeredCodes coupled_layered_ista(const MlcscModel& model, const torch::Tensor& signals,
                                  const std::vector<double>& lambdas, const CoupledIstaOptions& options) {
  check_layer_values(lambdas, model.depth(), "lambda");
  layered_detail::check_at_least_one(options.sweeps(), "sweeps");
  layered_detail::check_positive(options.step_scale(), "step_scale");
  if (!(options.tol() >= 0)) throw std::invalid_argument("tol must be >= 0, got " + std::to_string(options.tol()));
  layered_detail::check_model_signals(model, signals);
  const auto lipschitz = model.lipschitz(signals.sizes());
  const auto depth = static_cast<size_t>(model.depth());

  std::vector<torch::Tensor> codes(depth);  // X_i^l; undefined before the first sweep (X_i⁰ = 0)
  int64_t sweep = 0;
  bool settled = false;
  while (sweep < options.sweeps() && !settled) {
    settled = options.tol() > 0 && sweep > 0;
    torch::Tensor below = signals;  // X_{i−1}^{l+1}, freshly updated
    for (size_t i = 0; i < depth; ++i) {
      auto next = sparse::unrolled_pursuit(model.layer(static_cast<int64_t>(i)), below, lambdas[i],
                                           sparse::UnrolledPursuitOptions(options.step_scale() / lipschitz[i])
                                               .iterations(1)
                                               .initial(codes[i])
                                               .solver(sparse::UnrolledSolver::Ista)
                                               .nonneg(options.nonneg()));
      if (settled) settled = relative_change_met(next, codes[i], options.tol());
      codes[i] = next;
      below = next;
    }
    ++sweep;
  }
  LayeredCodes out;
  out.codes = std::move(codes);
  out.iterations = {sweep};
  out.converged = options.tol() == 0 || settled;
  return out;
}

}  // namespace deepsc::mlcsc
