#pragma once
/// What every deepsc solver returns: results are values, not bare tensors.

#include <torch/torch.h>

#include <vector>

namespace deepsc::sparse {

struct SolverResult {
  /// Codes X, the shape code_shape(signals) of the operator ([N, m] for a dense dictionary).
  torch::Tensor codes;
  /// Iterations run (1 for one-step thresholding; atoms selected for OMP).
  int64_t iterations = 0;
  /// Final objective, averaged over the batch (see each solver for which objective).
  double objective = 0;
  /// True when every signal met the stopping rule before the iteration cap.
  bool converged = false;
  /// Objective after each iteration, when the solver was asked to record it.
  std::vector<double> history;
};

}  // namespace deepsc::sparse
