#pragma once
/// `deepsc encode`: the options it parses and its two paths, over a dense dictionary D [n, m]
/// (cmd_encode.cpp) or a convolutional one W [M, C, k(, k)] (encode_conv.cpp). Both run the solver
/// named by --solver through the one solver registry (deepsc/conv/solver_registry.h).

#include "cli.h"

#include "deepsc/sparse/solver_registry.h"

#include <nlohmann/json.hpp>

#include <string>

namespace deepsc::cli {

struct EncodeOptions {
  std::string dict, conv_dict, signals, out, solver = "auto", stop = "change", shrinkage = "soft";
  double lambda = 0.1, beta = 0.1, epsilon = 0, tol = 1e-6, step_scale = 1.0;
  int64_t sparsity = 0, max_iter = 1000, iters = 0;
  int64_t stride = 1, padding = 0, dilation = 1;
  bool nonneg = false, json = false, normalize = false, no_restart = false;
};

/// The registry's request from the command line: --iters N runs exactly N iterations from zero
/// codes, otherwise --tol/--stop/--max-iter decide (the duality gap is checked every 10 iterations).
sparse::SolverRequest solver_request(const EncodeOptions& o);

/// Refuses, in the command line's words, what the registry says --solver does not support:
/// --iters, the kind of dictionary, --nonneg, a missing --sparsity/--epsilon, a device, a stride.
void check_solver_choice(const EncodeOptions& o, const std::string& device, bool convolutional);

/// Prints the JSON line (--json) or one line of text for a finished encoding. `shape` describes
/// the problem (sizes of D or W, signals, codes) and lands in the JSON as is; gradient-step
/// solvers add the Lipschitz constant L and the step η = step_scale / L they used.
void report_encoding(const EncodeOptions& o, Context& ctx, const sparse::SolverRun& run, int64_t signals,
                     torch::ScalarType dtype, const nlohmann::json& shape);

void run_dense_encode(const EncodeOptions& o, Context& ctx);
void run_conv_encode(const EncodeOptions& o, Context& ctx);

}  // namespace deepsc::cli
