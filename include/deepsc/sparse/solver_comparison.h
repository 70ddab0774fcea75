#pragma once
/// Solvers side by side on one batch: each trial runs a registered solver (solver_registry.h) on
/// an operator D and the signals Y [N, ...], and a row reports its wall time, sparsity, fit and
/// convergence. What `deepsc demo` prints (Zhang, "From sparse coding to deep learning", 2024,
/// section 1: thresholding, ISTA/FISTA and OMP on the same data).

#include "deepsc/sparse/solver_registry.h"

#include <memory>
#include <string>
#include <vector>

namespace deepsc::sparse {

/// One solver run to compare: `solver` from the registry on `op` with `request`, shown as `label`.
struct SolverTrial {
  std::string label;
  std::string solver;
  SolverRequest request;
  std::shared_ptr<const LinearOperator> op;
};

/// A trial's outcome. psnr_db = 10 log10(data_range² / mean((Y − D X)²)) over every entry of the
/// batch (the MSE floored at 1e-20, so an exact fit gives 200 dB); nonzeros_per_signal = ‖X‖₀ / N.
struct SolverComparisonRow {
  std::string label;
  SolverRun run;
  double nonzeros_per_signal = 0;
  double psnr_db = 0;
};

/// Runs the trials in order on `signals` (each trial's operator must accept them). Requires
/// N ≥ 1, data_range > 0 and a non-null operator per trial; throws std::invalid_argument naming the
/// trial otherwise (and passes on the registry's errors).
std::vector<SolverComparisonRow> compare_solvers(const SolverRegistry& registry, const torch::Tensor& signals,
                                                 const std::vector<SolverTrial>& trials, double data_range = 1.0);

}  // namespace deepsc::sparse
