#include "deepsc/mlcsc/simulation_tuning.h"

#include "deepsc/mlcsc/pursuits.h"

#include <cmath>
#include <functional>

namespace deepsc::mlcsc {

LayerMetrics layer_metrics(const MlcscModel& model, int64_t level, const torch::Tensor& estimate, const torch::Tensor& truth,
                           double zero_tol) {
  LayerMetrics m;
  const auto error = patch_l2_inf(model, level, estimate - truth).to(torch::kDouble);
  const auto scale = patch_l2_inf(model, level, truth).to(torch::kDouble);
  m.support_equal = same_support(estimate, truth, zero_tol).to(torch::kDouble).mean().item<double>();
  m.support_contained = support_contained(estimate, truth, zero_tol).to(torch::kDouble).mean().item<double>();
  m.mean_error = error.mean().item<double>();
  m.max_error = error.max().item<double>();
  const auto nonzero = scale > 0;
  m.mean_relative_error =
      nonzero.any().item<bool>() ? (error.masked_select(nonzero) / scale.masked_select(nonzero)).mean().item<double>() : 0.0;
  return m;
}

namespace {

/// Greedy layer-by-layer choice: for layer i, every value of grid(scale) is tried, in the grid's
/// order, by solve(layer model, input, value, previous), `previous` being the codes of the value
/// tried just before on this layer (undefined for the first: a warm start for a λ path); the best
/// becomes the input of layer i + 1. With patience > 0 a layer's grid stops after that many values
/// in a row that do not beat the best so far.
using Solve = std::function<torch::Tensor(const MlcscModel&, const torch::Tensor&, double, const torch::Tensor&)>;

/// Whether `m` beats `best`: by support-recovery rate, ties by mean error; or by mean error alone.
bool better(const LayerMetrics& m, const LayerMetrics& best, bool error_only) {
  if (error_only) return m.mean_error < best.mean_error;
  return m.support_equal > best.support_equal || (m.support_equal == best.support_equal && m.mean_error < best.mean_error);
}

TunedParameters tune(const TuningProblem& p, const std::function<std::vector<double>(double scale)>& grid, const Solve& solve,
                     int64_t patience = 0, bool error_only = false) {
  TunedParameters tuned;
  torch::Tensor input = p.signals;
  for (int64_t i = 0; i < p.model.depth(); ++i) {
    const MlcscModel layer({p.model.layers()[static_cast<size_t>(i)]});
    const auto& truth = p.truth.codes[static_cast<size_t>(i) + 1];
    const double scale = p.model.layer(i).adjoint(input).abs().max().item<double>();
    double best_value = 0;
    LayerMetrics best;
    torch::Tensor best_codes, previous;
    bool first = true;
    int64_t stale = 0;
    for (double value : grid(scale)) {
      auto codes = solve(layer, input, value, previous);
      previous = codes;
      const auto m = layer_metrics(p.model, i + 1, codes, truth, p.zero_tol);
      if (first || better(m, best, error_only)) {
        best = m;
        best_value = value;
        best_codes = codes;
        first = false;
        stale = 0;
      } else if (patience > 0 && ++stale >= patience) {
        break;
      }
    }
    tuned.values.push_back(best_value);
    tuned.metrics.push_back(best);
    tuned.codes.push_back(best_codes);
    input = best_codes;
  }
  return tuned;
}

/// λ_max·[1e-4, 0.5], geometric, from the largest down.
std::vector<double> lambda_grid(double scale, int64_t points) {
  std::vector<double> values;
  const double low = std::log(1e-4), high = std::log(0.5);
  for (int64_t j = points - 1; j >= 0; --j) {
    values.push_back(scale * std::exp(low + (high - low) * static_cast<double>(j) / static_cast<double>(points - 1)));
  }
  return values;
}

}  // namespace

TunedParameters tune_thresholding(const TuningProblem& p) {
  const auto grid = [&](double scale) {
    std::vector<double> values;
    for (int64_t j = 0; j < p.grid_points; ++j) values.push_back(scale * static_cast<double>(j) / static_cast<double>(p.grid_points));
    return values;
  };
  return tune(p, grid, [&](const MlcscModel& layer, const torch::Tensor& input, double beta, const torch::Tensor&) {
    return layered_thresholding(layer, input, {beta}, p.shrinkage).codes[0];
  });
}

/// Values in a row that do not beat the best before layered BP's λ path stops.
constexpr int64_t kLambdaPatience = 3;

TunedParameters tune_layered_basis_pursuit(const TuningProblem& p) {
  // From the largest λ down, each lasso warm-started from the solution at the λ before (a
  // continuation path: the small λ, slow from zero, start next to their solution), and the path
  // stops after kLambdaPatience values without a better (support rate, error): past the best λ
  // the lassos of noisy signals only add atoms, and the smallest λ are the slowest to solve (with
  // noise they run to max_iter) — the speed of the default study depends on it.
  const auto grid = [&](double scale) { return lambda_grid(scale, p.grid_points); };
  const auto options = LayeredBasisPursuitOptions().max_iter(p.max_iter).tol(p.tol).nonneg(
      p.shrinkage == sparse::Shrinkage::NonNegSoft);
  return tune(
      p, grid,
      [&](const MlcscModel& layer, const torch::Tensor& input, double lambda, const torch::Tensor& previous) {
        return layered_basis_pursuit(layer, input, {lambda}, LayeredBasisPursuitOptions(options).warm_start({previous})).codes[0];
      },
      kLambdaPatience);
}

TunedParameters tune_unrolled_layered_pursuit(const TuningProblem& p, int64_t iterations, sparse::UnrolledSolver solver) {
  const auto grid = [&](double scale) { return lambda_grid(scale, p.grid_points); };
  return tune(
      p, grid,
      [&](const MlcscModel& layer, const torch::Tensor& input, double lambda, const torch::Tensor&) {
        return layered_basis_pursuit_unrolled(layer, input, {lambda}, iterations, solver,
                                              p.shrinkage == sparse::Shrinkage::NonNegSoft)
            .codes[0];
      },
      kLambdaPatience, /*error_only=*/true);
}

TunedScale tune_joint_scale(const TuningProblem& p, const std::vector<double>& base,
                            const std::function<LayeredCodes(const std::vector<double>&)>& run) {
  TunedScale best;
  double best_support = -1, best_error = 0;
  int64_t stale = 0;
  for (double scale = 1; scale >= 1.0 / 256; scale /= 4) {
    std::vector<double> values;
    for (double v : base) values.push_back(scale * v);
    auto codes = run(values);
    double support = 0, error = 0;
    std::vector<LayerMetrics> metrics;
    for (int64_t i = 0; i < p.model.depth(); ++i) {
      const auto u = static_cast<size_t>(i);
      metrics.push_back(layer_metrics(p.model, i + 1, codes.codes[u], p.truth.codes[u + 1], p.zero_tol));
      support += metrics.back().support_equal / static_cast<double>(p.model.depth());
      error += metrics.back().mean_relative_error / static_cast<double>(p.model.depth());
    }
    if (best_support < 0 || support > best_support || (support == best_support && error < best_error)) {
      best_support = support;
      best_error = error;
      best.scale = scale;
      best.values = values;
      best.metrics = std::move(metrics);
      stale = 0;
    } else if (++stale >= kLambdaPatience) {
      break;
    }
  }
  return best;
}

}  // namespace deepsc::mlcsc
