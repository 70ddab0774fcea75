#pragma once
/// How the ML-CSC simulation (simulation.h) scores estimates and picks each pursuit's per-layer
/// parameter: greedily, layer by layer, from a grid, the value that recovers the most supports on
/// the batch (ties: the smallest mean error) — one β_i or λ_i for all signals, as a network's bias
/// is one value for all inputs. An oracle choice (it looks at the true codes), reported as such.

#include "deepsc/mlcsc/generator.h"
#include "deepsc/mlcsc/pursuits.h"
#include "deepsc/sparse/shrinkage.h"

#include <functional>
#include <vector>

namespace deepsc::mlcsc {

/// Batch summaries of one layer's estimates X̂_i against X_i.
struct LayerMetrics {
  double support_equal = 0;        // fraction with supp(X̂_i) = supp(X_i)
  double support_contained = 0;    // fraction with supp(X̂_i) ⊆ supp(X_i)
  double mean_error = 0;           // mean ‖X̂_i − X_i‖^P_{2,∞}
  double max_error = 0;
  double mean_relative_error = 0;  // mean of ‖X̂_i − X_i‖^P_{2,∞} / ‖X_i‖^P_{2,∞} (zero codes left out)
};

/// Metrics of the estimate of X_level (1 ≤ level ≤ K); entries with |x| ≤ zero_tol are zeros.
LayerMetrics layer_metrics(const MlcscModel& model, int64_t level, const torch::Tensor& estimate, const torch::Tensor& truth,
                           double zero_tol);

/// What the tuning needs: the model, noisy signals, the true codes and the solver settings.
struct TuningProblem {
  const MlcscModel& model;
  const torch::Tensor& signals;
  const SignalBatch& truth;
  sparse::Shrinkage shrinkage;
  int64_t grid_points;
  int64_t max_iter;
  double tol;
  double zero_tol;
};

struct TunedParameters {
  std::vector<double> values;          // β_i or λ_i per layer
  std::vector<LayerMetrics> metrics;   // of the chosen value, per layer
  std::vector<torch::Tensor> codes;    // X̂₁ … X̂_K with the chosen values
};

/// Layered thresholding: β_i from grid_points values evenly spaced in [0, max |D_iᵀX̂_{i−1}|).
TunedParameters tune_thresholding(const TuningProblem& problem);

/// Layered BP (the lasso per layer, sparse::fista through layered_basis_pursuit): λ_i from
/// grid_points values spaced geometrically in [1e-4, 0.5]·max |D_iᵀX̂_{i−1}|.
TunedParameters tune_layered_basis_pursuit(const TuningProblem& problem);

/// The same greedy choice for the layered pursuit unrolled `iterations` steps per layer
/// (layered_basis_pursuit_unrolled), by the mean error alone: a truncated pursuit rarely has the
/// exact support, and Theorem 10 bounds its error.
TunedParameters tune_unrolled_layered_pursuit(const TuningProblem& problem, int64_t iterations, sparse::UnrolledSolver solver);

/// A common factor c ∈ {1, 1/4, 1/16, 1/64, 1/256} on a base λ vector (layered BP's tuned λ) for the joint
/// pursuits (ML-ISTA, ML-FISTA, coupled layered ISTA), whose ML-lasso penalises every layer of the
/// deepest code at once and so wants smaller λ than each layer's own lasso: chosen by the support
/// rate averaged over the layers, ties by the averaged mean relative error; from c = 1 down,
/// stopping after three factors without a better one. `run` runs the pursuit with a λ vector.
struct TunedScale {
  double scale = 1;
  std::vector<double> values;          // c·base
  std::vector<LayerMetrics> metrics;   // per layer, with the chosen values
};
TunedScale tune_joint_scale(const TuningProblem& problem, const std::vector<double>& base,
                            const std::function<LayeredCodes(const std::vector<double>&)>& run);

}  // namespace deepsc::mlcsc
