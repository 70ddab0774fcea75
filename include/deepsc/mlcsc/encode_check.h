#pragma once
/// The check of an ML-CSC encoding against the true codes (`deepsc mlcsc-encode --check`): for
/// signals Y, their true codes X₁ … X_K and a pursuit's estimates X̂₁ … X̂_K, per layer the measures
/// the recovery theorems are stated in (theorems.h) — k_i = ‖X_i‖_{0,∞}, k^P_i = ‖X_i‖^P_{0,∞},
/// |X_i^min|, |X_i^max|, μ_i — the noise ε₀ = ‖Y − D₁X₁‖^P_{2,∞} of every sample, the theorem that
/// speaks about the pursuit with its parameters, and what happened:
///   thresholding (soft, or non-negative with X_i ≥ 0)  Theorem 7 with the given β, its admissible
///                 interval (beta_low, beta_high) and its bound ε_i (Papyan, Romano & Elad 2017; the
///                 lecture, Zhang, "From sparse coding to deep learning", 2024);
///   layered-bp    every λ_i = 0: Theorem 8 (basis pursuit proper; its hypothesis E = 0 is part of
///                 the first layer's condition: ε₀ ≤ noise_tol·‖Y‖^P_{2,∞}); otherwise the stable
///                 layered BP with the given λ (soft only);
///   others        (layered-ista, ml-ista, ml-fista, hard thresholding): the measures and the
///                 outcome, no theorem.
/// The result is aggregated over the samples ("held for n of N", "max error vs max bound").

#include "deepsc/mlcsc/pursuit_registry.h"
#include "deepsc/mlcsc/theorems.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace deepsc::mlcsc {

struct EncodeCheckOptions {
  /// Entries with |x| ≤ zero_tol are zeros (supports, k_i). Negative: by the signals' dtype,
  /// 1e-9 for float64 and 1e-5 otherwise.
  TORCH_ARG(double, zero_tol) = -1;
  /// Slack added to every bound (the solver's accuracy). Negative: 1e-5 for float64, 1e-3 otherwise.
  TORCH_ARG(double, error_tol) = -1;
  /// Theorem 8 counts a sample as noiseless when ε₀ ≤ noise_tol·‖Y‖^P_{2,∞}. Negative: 1e-9 for
  /// float64, 1e-5 otherwise.
  TORCH_ARG(double, noise_tol) = -1;
};

/// One layer, aggregated over the N samples.
struct EncodeCheckLayer {
  int64_t layer = 0;                      // 1 … K
  std::vector<int64_t> code_shape;        // of X_i
  double coherence = 0;                   // μ_i
  double value = 0;                       // β_i or λ_i used
  double mean_l0_inf = 0;                 // k_i
  int64_t max_l0_inf = 0, max_l0_patch = 0;  // max k_i, max k^P_i
  double min_nonzero = 0;                 // smallest |X_i^min| over the samples with non-zeros
  double max_abs = 0;                     // largest |X_i^max|
  // The theorem (samples == 0 counts when there is none).
  int64_t condition = 0;                  // samples meeting this layer's hypotheses
  int64_t guaranteed = 0;                 // … and those of every layer below
  double beta_low = 0, beta_high = 0;     // Theorem 7: the interval all samples admit (max low, min high)
  int64_t beta_inside = 0;                // Theorem 7: samples whose own interval holds β_i
  double max_error_bound = 0;             // max ε_i over the guaranteed samples (NaN when none)
  int64_t met = 0;                        // guaranteed samples whose predictions came true
  int64_t violations = 0;                 // guaranteed samples whose predictions failed
  // The outcome.
  int64_t support_equal = 0, support_contained = 0;
  double mean_error = 0, max_error = 0;   // ‖X̂_i − X_i‖^P_{2,∞}
  double max_relative_error = 0;          // ‖X̂_i − X_i‖^P_{2,∞} / ‖X_i‖^P_{2,∞} (non-zero codes)
};

struct EncodeCheck {
  std::string pursuit;   // registry name
  std::string theorem;   // theorem_name(), or "" when none applies
  std::string note;      // why no theorem applies ("" otherwise)
  int64_t samples = 0;   // N
  double max_noise = 0, mean_noise = 0;  // ε₀ = ‖Y − D₁X₁‖^P_{2,∞}
  std::vector<EncodeCheckLayer> layers;
};

/// Checks `estimates` (X̂₁ … X̂_K, as run_pursuit returned them for `request`) against
/// `true_codes` (X₁ … X_K, the codes' shapes) for `signals`. Throws std::invalid_argument for a
/// count or shape that does not match the model (naming X_i and both shapes), and what the
/// measures refuse (strided convolutional layers, atoms that are not unit-norm: pass normalized
/// dictionaries).
EncodeCheck check_encoding(const MlcscModel& model, const torch::Tensor& signals, const std::vector<torch::Tensor>& true_codes,
                           Pursuit pursuit, const PursuitRequest& request, const std::vector<torch::Tensor>& estimates,
                           const EncodeCheckOptions& options = {});

/// One text table, a line per layer, under a title line naming the pursuit, the theorem and ε₀.
std::string encode_check_table(const EncodeCheck& check);
/// {"pursuit", "theorem", "note", "samples", "noise": {"max", "mean"}, "layers": [...]}.
nlohmann::json encode_check_json(const EncodeCheck& check);

}  // namespace deepsc::mlcsc
