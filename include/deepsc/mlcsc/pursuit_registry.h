#pragma once
/// The one place that maps names to the ML-CSC pursuits of pursuits.h, for the command line and
/// the simulation study: a new multi-layer pursuit is added here and its name, its parameters and
/// its checks follow everywhere.
///
///   thresholding   layered thresholding X̂_i = S_{β_i}(D_iᵀX̂_{i−1}) (Papyan, Romano & Elad 2017)
///   layered-bp     layered lasso to convergence, λ_i = 0: basis pursuit proper (the lecture's Theorem 8)
///   layered-ista   coupled layered ISTA (the lecture, Zhang, "From sparse coding to deep learning", 2024)
///   ml-ista        ML-ISTA on the ML-lasso (Sulam, Aberdam, Beck & Elad 2020)
///   ml-fista       ML-FISTA, the same with FISTA's momentum on the deepest code

#include "deepsc/mlcsc/pursuits.h"

#include <string>
#include <vector>

namespace deepsc::mlcsc {

enum class Pursuit { Thresholding, LayeredBp, LayeredIsta, MlIsta, MlFista };

/// Every pursuit, in the order of pursuit_names().
const std::vector<Pursuit>& all_pursuits();
/// "thresholding", "layered-bp", "layered-ista", "ml-ista", "ml-fista".
std::vector<std::string> pursuit_names();
const char* pursuit_name(Pursuit pursuit);
/// The pursuit of a name; throws std::invalid_argument listing the valid names otherwise.
Pursuit parse_pursuit(const std::string& name);
/// Whether the per-layer values are thresholds β (thresholding) rather than lasso weights λ.
bool takes_thresholds(Pursuit pursuit);

/// What every pursuit reads; each reads the part that applies to it.
struct PursuitRequest {
  /* implicit */ PursuitRequest(std::vector<double> values) : values_(std::move(values)) {}
  /// One value per layer: β_i (thresholding) or λ_i (the others; λ_i = 0 is basis pursuit proper
  /// for layered-bp). Checked by check_layer_values().
  TORCH_ARG(std::vector<double>, values);
  /// Soft, or non-negative soft (codes ≥ 0) for every pursuit; hard for thresholding only.
  TORCH_ARG(sparse::Shrinkage, shrinkage) = sparse::Shrinkage::Soft;
  /// Iteration cap: each layer's FISTA (layered-bp), sweeps (layered-ista), iterations (ml-ista,
  /// ml-fista). Thresholding ignores it.
  TORCH_ARG(int64_t, max_iter) = 1000;
  /// Stop rule: each layer's relative duality gap (layered-bp), every layer's relative change
  /// (layered-ista), the deepest code's relative change (ml-ista, ml-fista); 0 runs max_iter.
  /// Thresholding ignores it.
  TORCH_ARG(double, tol) = 1e-7;
};

/// Runs `pursuit` on the signals with the request: the codes of exactly the function pursuits.h
/// names for it. Throws std::invalid_argument for hard shrinkage with a pursuit other than
/// thresholding, and whatever that function throws (wrong number of values, bad options).
LayeredCodes run_pursuit(Pursuit pursuit, const MlcscModel& model, const torch::Tensor& signals,
                         const PursuitRequest& request);

}  // namespace deepsc::mlcsc
