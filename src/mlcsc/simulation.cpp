#include "deepsc/mlcsc/simulation.h"

#include "deepsc/mlcsc/simulation_tuning.h"
#include "deepsc/mlcsc/theorems.h"
#include "deepsc/sparse/coherence.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace deepsc::mlcsc {

namespace {

double elapsed(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Support solvers' accuracy in the theorem checks: entries below kZeroTol are zeros, and bounds
/// get kErrorTol of slack (layered BP is solved to a relative duality gap, BP proper by a
/// continuation to 1e-6·λ_max).
constexpr double kZeroTol = 1e-9;
constexpr double kErrorTol = 1e-5;
/// Iterations of each joint pursuit's run while its λ factor is tuned (ML-FISTA is within 1e-4 of
/// its objective's limit after about 200 on the default model; ML-ISTA is slower, which only makes
/// its factor a little less well chosen).
constexpr int64_t kJointTuningIterations = 200;

SimulationRow make_row(Pursuit pursuit, const char* parameters, double ratio, double noise, int64_t layer, double value,
                       const LayerMetrics& m) {
  SimulationRow row;
  row.pursuit = pursuit_name(pursuit);
  row.parameters = parameters;
  row.ratio = ratio;
  row.noise = noise;
  row.layer = layer;
  row.value = value;
  row.support_equal = m.support_equal;
  row.support_contained = m.support_contained;
  row.mean_error = m.mean_error;
  row.max_error = m.max_error;
  row.mean_relative_error = m.mean_relative_error;
  row.mean_error_bound = std::numeric_limits<double>::quiet_NaN();
  return row;
}

/// The rows of one theorem run: metrics, the theorem's rates and its mean bound where guaranteed.
void add_theorem_rows(std::vector<SimulationRow>& rows, Pursuit pursuit, double ratio, double noise, const MlcscModel& model,
                      const SignalBatch& truth, const std::vector<double>& values, const LayeredCodes& codes,
                      const Guarantee& guarantee) {
  const auto outcomes =
      evaluate_predictions(model, guarantee, truth, codes.codes, PredictionTolerance().zero_tol(kZeroTol).error_tol(kErrorTol));
  const auto rates = tabulate(guarantee, outcomes);
  for (int64_t i = 0; i < model.depth(); ++i) {
    const auto u = static_cast<size_t>(i);
    auto row = make_row(pursuit, "theorem", ratio, noise, i + 1, values[u],
                        layer_metrics(model, i + 1, codes.codes[u], truth.codes[u + 1], kZeroTol));
    row.theorem = theorem_name(guarantee.theorem);
    row.rates = rates[u];
    const auto& g = guarantee.layers[u].guaranteed;
    if (g.any().item<bool>()) row.mean_error_bound = guarantee.layers[u].error_bound.masked_select(g).mean().item<double>();
    rows.push_back(std::move(row));
  }
}

void check_options(const SimulationOptions& o) {
  if (o.pursuits().empty()) throw std::invalid_argument("the simulation needs at least one pursuit");
  if (o.trials() < 1) throw std::invalid_argument("trials must be >= 1, got " + std::to_string(o.trials()));
  if (o.grid_points() < 2) throw std::invalid_argument("grid points must be >= 2, got " + std::to_string(o.grid_points()));
  if (o.noise_levels().empty()) throw std::invalid_argument("the simulation needs at least one noise level");
  for (double e : o.noise_levels()) {
    if (!(e >= 0) || !std::isfinite(e)) throw std::invalid_argument("noise levels must be finite and >= 0, got " + std::to_string(e));
  }
  for (double r : o.min_max_ratios()) {
    if (!(r > 0 && r <= 1)) throw std::invalid_argument("min/max ratios must be in (0, 1], got " + std::to_string(r));
  }
}

std::vector<LayerFacts> model_facts(const MlcscModel& model, const SignalBatch& batch) {
  std::vector<LayerFacts> facts;
  const auto measures = measure_layers(model, batch);
  for (int64_t i = 0; i < model.depth(); ++i) {
    const auto& m = measures[static_cast<size_t>(i)];
    LayerFacts f;
    f.layer = i + 1;
    f.code_shape = batch.codes[static_cast<size_t>(i) + 1].sizes().vec();
    f.coherence = layer_coherence(model, i);
    f.bp_bound = sparse::recovery_bound(std::min(1.0, f.coherence));
    f.mean_l0_inf = m.l0_inf.to(torch::kDouble).mean().item<double>();
    f.max_l0_inf = m.l0_inf.max().item<int64_t>();
    const auto nonzero = m.max_abs > 0;
    f.mean_ratio = nonzero.any().item<bool>()
                       ? (m.min_abs.masked_select(nonzero) / m.max_abs.masked_select(nonzero)).mean().item<double>()
                       : 0.0;
    facts.push_back(std::move(f));
  }
  return facts;
}

}  // namespace

SimulationResult run_simulation(const SimulationOptions& o, const SimulationProgress& progress) {
  check_options(o);
  torch::NoGradGuard no_grad;
  const auto start = std::chrono::steady_clock::now();
  const auto model = random_model(o.model());
  auto ratios = o.min_max_ratios();
  if (ratios.empty()) ratios.push_back(o.model().min_max_ratio());
  const auto shrinkage = o.model().nonneg() ? sparse::Shrinkage::NonNegSoft : sparse::Shrinkage::Soft;
  const auto request = [&](std::vector<double> values) {
    return PursuitRequest(std::move(values)).shrinkage(shrinkage).max_iter(o.max_iter()).tol(o.tol());
  };
  auto has = [&](Pursuit p) {
    for (auto q : o.pursuits()) {
      if (q == p) return true;
    }
    return false;
  };

  SimulationResult result;
  const int64_t total = static_cast<int64_t>(ratios.size() * o.noise_levels().size());
  int64_t done = 0;
  for (size_t r = 0; r < ratios.size(); ++r) {
    auto generator = o.model();
    generator.min_max_ratio(ratios[r]);
    const auto truth = sample_signals(model, generator, o.trials(), o.seed() + r);
    if (r == 0) result.layers = model_facts(model, truth);
    for (double noise : o.noise_levels()) {
      // The same noise directions at every level (one seed per ratio), rescaled to ε₀.
      const auto signals = truth.codes[0] + noise_with_patch_norm(model, truth.codes[0], noise, o.seed() + 7919 * (r + 1));
      const auto noise_bound = torch::tensor(noise, torch::dtype(torch::kDouble).device(signals.device()));
      const TuningProblem problem{model, signals, truth, shrinkage, o.grid_points(), o.max_iter(), o.tol(), kZeroTol};

      std::vector<double> bp_lambdas;
      for (auto pursuit : o.pursuits()) {
        if (pursuit == Pursuit::Thresholding) {
          const auto tuned = tune_thresholding(problem);
          for (int64_t i = 0; i < model.depth(); ++i) {
            result.rows.push_back(make_row(pursuit, "tuned", ratios[r], noise, i + 1, tuned.values[static_cast<size_t>(i)],
                                           tuned.metrics[static_cast<size_t>(i)]));
          }
          const auto betas = admissible_thresholds(model, truth, noise_bound);
          const auto codes = run_pursuit(pursuit, model, signals, request(betas));
          add_theorem_rows(result.rows, pursuit, ratios[r], noise, model, truth, betas, codes,
                           check_layered_thresholding(model, truth, noise_bound, betas, kZeroTol));
          continue;
        }
        if (bp_lambdas.empty()) {
          const auto tuned = tune_layered_basis_pursuit(problem);
          bp_lambdas = tuned.values;
          if (has(Pursuit::LayeredBp)) {
            for (int64_t i = 0; i < model.depth(); ++i) {
              result.rows.push_back(make_row(Pursuit::LayeredBp, "tuned", ratios[r], noise, i + 1,
                                             tuned.values[static_cast<size_t>(i)], tuned.metrics[static_cast<size_t>(i)]));
            }
          }
        }
        if (pursuit == Pursuit::LayeredBp) {
          // Theorem 8 (BP proper) without noise, the stable layered lasso with the paper's λ with it.
          const bool clean = noise == 0;
          const auto lambdas = clean ? std::vector<double>(static_cast<size_t>(model.depth()), 0.0)
                                     : prescribed_lambdas(model, truth, noise_bound, kZeroTol);
          const auto codes = run_pursuit(pursuit, model, signals, request(lambdas));
          add_theorem_rows(result.rows, pursuit, ratios[r], noise, model, truth, lambdas, codes,
                           clean ? check_layered_basis_pursuit(model, truth, kZeroTol)
                                 : check_stable_layered_basis_pursuit(model, truth, noise_bound, lambdas, kZeroTol));
          continue;
        }
        // ML-ISTA, ML-FISTA and the coupled layered ISTA with layered BP's tuned λ times a common
        // factor tuned on the batch — the factor on short runs (kJointTuningIterations), the
        // reported codes from a full run with it.
        const auto tuned = tune_joint_scale(problem, bp_lambdas, [&](const std::vector<double>& values) {
          return run_pursuit(pursuit, model, signals, request(values).max_iter(std::min(o.max_iter(), kJointTuningIterations)));
        });
        const auto codes = run_pursuit(pursuit, model, signals, request(tuned.values));
        for (int64_t i = 0; i < model.depth(); ++i) {
          const auto u = static_cast<size_t>(i);
          result.rows.push_back(make_row(pursuit, "tuned", ratios[r], noise, i + 1, tuned.values[u],
                                         layer_metrics(model, i + 1, codes.codes[u], truth.codes[u + 1], kZeroTol)));
        }
      }
      if (progress) progress(++done, total);
    }
  }
  result.seconds = elapsed(start);
  return result;
}

}  // namespace deepsc::mlcsc
