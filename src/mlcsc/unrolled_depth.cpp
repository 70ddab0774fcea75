// Theorem 10 (Li, Feng & Zhou 2024) measured: the error of an M-step unrolled layered pursuit.
#include "deepsc/mlcsc/simulation.h"
#include "deepsc/mlcsc/simulation_tuning.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace deepsc::mlcsc {

namespace {

/// Mean ‖X̃ − X‖₂ over the batch.
double mean_l2_error(const torch::Tensor& estimate, const torch::Tensor& truth) {
  return (estimate - truth).flatten(1).norm(2, 1).mean().item<double>();
}

/// Least squares of log(error − floor) = a − c·M over the points above the noise floor.
DepthFit fit_decay(double noise, int64_t layer, double lambda, double floor, const std::vector<int64_t>& depths,
                   const std::vector<double>& errors) {
  DepthFit fit;
  fit.noise = noise;
  fit.layer = layer;
  fit.lambda = lambda;
  fit.floor = floor;
  const double first = errors.front() - floor;
  std::vector<double> x, y;
  for (size_t j = 0; j < depths.size(); ++j) {
    const double excess = errors[j] - floor;
    if (excess > 1e-12 && excess > 1e-3 * first) {
      x.push_back(static_cast<double>(depths[j]));
      y.push_back(std::log(excess));
    }
  }
  fit.points = static_cast<int64_t>(x.size());
  if (x.size() < 2) return fit;
  const double n = static_cast<double>(x.size());
  double mx = 0, my = 0;
  for (size_t j = 0; j < x.size(); ++j) mx += x[j] / n, my += y[j] / n;
  double sxx = 0, sxy = 0, syy = 0;
  for (size_t j = 0; j < x.size(); ++j) {
    sxx += (x[j] - mx) * (x[j] - mx);
    sxy += (x[j] - mx) * (y[j] - my);
    syy += (y[j] - my) * (y[j] - my);
  }
  if (sxx <= 0) return fit;
  fit.rate = -sxy / sxx;
  fit.r_squared = syy > 0 ? sxy * sxy / (sxx * syy) : 1.0;
  return fit;
}

}  // namespace

DepthResult run_depth_study(const DepthOptions& options, const SimulationProgress& progress) {
  const auto& o = options.simulation();
  if (options.depths().empty()) throw std::invalid_argument("the depth study needs at least one depth M");
  for (auto m : options.depths()) {
    if (m < 1) throw std::invalid_argument("unrolled depths must be >= 1, got " + std::to_string(m));
  }
  if (o.trials() < 1) throw std::invalid_argument("trials must be >= 1, got " + std::to_string(o.trials()));
  if (o.noise_levels().empty()) throw std::invalid_argument("the depth study needs at least one noise level");
  torch::NoGradGuard no_grad;
  const auto start = std::chrono::steady_clock::now();
  const auto model = random_model(o.model());
  auto generator = o.model();
  if (!o.min_max_ratios().empty()) generator.min_max_ratio(o.min_max_ratios().front());
  const auto truth = sample_signals(model, generator, o.trials(), o.seed());
  const auto shrinkage = o.model().nonneg() ? sparse::Shrinkage::NonNegSoft : sparse::Shrinkage::Soft;
  const bool nonneg = shrinkage == sparse::Shrinkage::NonNegSoft;

  DepthResult result;
  const int64_t total = static_cast<int64_t>(o.noise_levels().size());
  int64_t done = 0;
  for (double noise : o.noise_levels()) {
    if (!(noise >= 0) || !std::isfinite(noise)) throw std::invalid_argument("noise levels must be finite and >= 0");
    const auto signals = truth.codes[0] + noise_with_patch_norm(model, truth.codes[0], noise, o.seed() + 7919);
    const TuningProblem problem{model, signals, truth, shrinkage, o.grid_points(), o.max_iter(), o.tol(), 1e-9};
    const int64_t deepest = *std::max_element(options.depths().begin(), options.depths().end());
    const auto tuned = tune_unrolled_layered_pursuit(problem, deepest, options.solver());
    // The converged layered BP with the same λ: the floor the unrolled pursuit approaches.
    const auto converged = layered_basis_pursuit(model, signals, tuned.values,
                                                 LayeredBasisPursuitOptions().max_iter(o.max_iter()).tol(o.tol()).nonneg(nonneg));
    std::vector<std::vector<double>> errors(static_cast<size_t>(model.depth()));
    for (auto m : options.depths()) {
      const auto unrolled = layered_basis_pursuit_unrolled(model, signals, tuned.values, m, options.solver(), nonneg);
      for (int64_t i = 0; i < model.depth(); ++i) {
        const auto u = static_cast<size_t>(i);
        const double e = mean_l2_error(unrolled.codes[u], truth.codes[u + 1]);
        errors[u].push_back(e);
        result.rows.push_back({noise, m, i + 1, e});
      }
    }
    for (int64_t i = 0; i < model.depth(); ++i) {
      const auto u = static_cast<size_t>(i);
      result.fits.push_back(fit_decay(noise, i + 1, tuned.values[u], mean_l2_error(converged.codes[u], truth.codes[u + 1]),
                                      options.depths(), errors[u]));
    }
    if (progress) progress(++done, total);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace deepsc::mlcsc
