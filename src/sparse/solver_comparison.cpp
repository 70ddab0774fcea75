// Solvers side by side on one batch (see solver_comparison.h).
#include "deepsc/sparse/solver_comparison.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace deepsc::sparse {

std::vector<SolverComparisonRow> compare_solvers(const SolverRegistry& registry, const torch::Tensor& signals,
                                                 const std::vector<SolverTrial>& trials, double data_range) {
  if (!(data_range > 0)) throw std::invalid_argument("compare_solvers: data_range must be > 0");
  if (signals.dim() < 1 || signals.size(0) < 1) throw std::invalid_argument("compare_solvers: signals must hold N >= 1 rows");
  torch::NoGradGuard no_grad;
  std::vector<SolverComparisonRow> rows;
  for (const auto& trial : trials) {
    if (!trial.op) throw std::invalid_argument("compare_solvers: trial '" + trial.label + "' has no operator");
    SolverComparisonRow row;
    row.label = trial.label;
    row.run = registry.run(trial.solver, *trial.op, signals, trial.request);
    const auto& codes = row.run.result.codes;
    row.nonzeros_per_signal = (codes != 0).sum().item<double>() / static_cast<double>(signals.size(0));
    const double mse = (signals - trial.op->apply(codes)).square().mean().item<double>();
    row.psnr_db = 10 * std::log10(data_range * data_range / std::max(mse, 1e-20));
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace deepsc::sparse
