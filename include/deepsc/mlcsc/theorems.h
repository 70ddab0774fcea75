#pragma once
/// The recovery theorems of ML-CSC pursuits as executable checks, batched over samples: for a
/// model, the true codes of a SignalBatch, the noise level and the pursuit's parameters, which
/// samples meet each layer's hypotheses and what the theorem then bounds; and, given a pursuit's
/// estimates, which predictions came true. Notation (per layer i, per sample): k_i = ‖X_i‖_{0,∞},
/// k^P_i = ‖X_i‖^P_{0,∞}, |X_i^min|, |X_i^max| (measures.h), μ_i = μ(D_i) (unit-norm atoms).
///
/// - Theorem 7 (the lecture, Zhang, "From sparse coding to deep learning", 2024; Papyan, Romano &
///   Elad, "Convolutional neural networks analyzed via convolutional sparse coding", JMLR 2017,
///   stability of layered soft thresholding). With ε₀ ≥ ‖E‖^P_{2,∞} (the lecture writes ‖E‖_{0,∞};
///   the paper's and the proof's measure is the patch ℓ2 norm) and for every layer i,
///     (a) k_i < ½(1 + (1/μ_i)|X_i^min|/|X_i^max|) − (1/μ_i) ε_{i−1}/|X_i^max|,
///     (b) |X_i^min| − (k_i − 1)μ_i|X_i^max| − ε_{i−1} > β_i > k_i μ_i|X_i^max| + ε_{i−1},
///   X̂_i = S_{β_i}(D_iᵀX̂_{i−1}) has the support of X_i and ‖X̂_i − X_i‖^P_{2,∞} ≤ ε_i,
///     ε_i = √(k^P_i)(ε_{i−1} + μ_i(k_i − 1)|X_i^max| + β_i)
///   (the proof bounds every entry by the bracket, stored as entry_bound). (a) is exactly "the
///   interval of (b) is not empty"; it is evaluated in that multiplied-out form, which also covers
///   μ_i = 0. Even with E = 0 the bound is > 0: (b) forces β_i > 0, and soft thresholding moves
///   every kept entry by β_i — the forward pass never recovers the codes exactly.
/// - Theorem 8 (the lecture; Papyan et al. 2017): with E = 0 and k_i < ½(1 + 1/μ_i) for every layer,
///   layered basis pursuit (min ‖X_i‖₁ s.t. D_iX_i = X̂_{i−1}, layer by layer) recovers every X_i.
/// - Stable layered BP (Papyan, Romano & Elad 2017, built on Papyan, Sulam & Elad, "Working locally,
///   thinking globally", 2017, stability of the lasso): lasso ½‖X̂_{i−1} − D_iX‖₂² + λ_i‖X‖₁ per
///   layer with k_i < ⅓(1 + 1/μ_i) and λ_i = 4ε_{i−1} gives supp(X̂_i) ⊆ supp(X_i),
///   ‖X̂_i − X_i‖_∞ ≤ 7.5ε_{i−1}, every entry with |X_i,j| > 7.5ε_{i−1} found, and
///   ‖X̂_i − X_i‖^P_{2,∞} ≤ ε_i = 7.5ε_{i−1}√(k^P_i) = ‖E‖^P_{2,∞}·7.5^i·∏_{j≤i}√(k^P_j).
///   ε_{i−1} is an upper bound on the input error, as in the paper (whose chain sets λ_i from the
///   bound ε_{i−1}, not from the unknown error), so the check takes the λ_i actually used and
///   reads ε'_{i−1} = λ_i/4 as the bound it assumes: the hypotheses are k_i < ⅓(1 + 1/μ_i) and
///   λ_i ≥ 4ε_{i−1} (the sample's own bound from the layer below), the predictions the ones above
///   with ε'_{i−1}. (The one-layer proof gives ‖X̂ − X‖_∞ ≤ 1.5‖E‖^P_{2,∞} + 1.5λ, which is
///   ≤ 7.5λ/4 for every λ ≥ 4‖E‖^P_{2,∞}.)
/// μ is a rounded number: the checks use μ_i(1 + 1e-9), so a rounded-down μ never admits an
/// instance on the boundary of a condition (the Barker-13 atom: μ = 1/13, ½(1 + 1/μ) = 7 exactly).
/// A layer's guarantee needs the hypotheses of every layer up to it (`guaranteed`).
///
/// All per-sample tensors are [N] float64 (bounds) or bool (conditions) on the codes' device. The
/// noise level is a tensor: [N] per sample or a scalar for all, an upper bound on ‖E‖^P_{2,∞}
/// (patch_l2_inf(model, 0, E) is the tightest; 0 for clean signals).

#include "deepsc/mlcsc/generator.h"
#include "deepsc/mlcsc/measures.h"

#include <string>
#include <vector>

namespace deepsc::mlcsc {

enum class Theorem {
  LayeredThresholding,        // Theorem 7
  LayeredBasisPursuit,        // Theorem 8 (noiseless, BP proper)
  StableLayeredBasisPursuit,  // the noisy layered lasso
};
const char* theorem_name(Theorem theorem);

/// One layer's hypotheses and bounds, per sample.
struct LayerGuarantee {
  CodeMeasures truth;          // measures of the true X_i
  double coherence = 0;        // μ_i
  double parameter = 0;        // β_i or λ_i (0 for Theorem 8)
  torch::Tensor input_error;   // ε_{i−1}: bound on the error of X̂_{i−1} (ε₀ = the noise level)
  torch::Tensor sparsity;      // the condition on k_i: (a) for Theorem 7, k_i < ½(1+1/μ_i) or ⅓(1+1/μ_i)
  torch::Tensor condition;     // every hypothesis of this layer (sparsity and the parameter's)
  torch::Tensor guaranteed;    // condition of layers 1..i: the predictions must hold
  torch::Tensor entry_bound;   // bound on ‖X̂_i − X_i‖_∞
  torch::Tensor error_bound;   // ε_i, bound on ‖X̂_i − X_i‖^P_{2,∞}
  torch::Tensor beta_low;      // Theorem 7: k_iμ_i|X_i^max| + ε_{i−1}, the lower end of (b)
  torch::Tensor beta_high;     // Theorem 7: |X_i^min| − (k_i − 1)μ_i|X_i^max| − ε_{i−1}
};

struct Guarantee {
  Theorem theorem = Theorem::LayeredThresholding;
  std::vector<LayerGuarantee> layers;  // K entries, layers[i − 1] for layer i
};

/// Theorem 7 for layered soft thresholding with thresholds `betas` (one per layer).
Guarantee check_layered_thresholding(const MlcscModel& model, const SignalBatch& truth, const torch::Tensor& noise,
                                     const std::vector<double>& betas, double zero_tol = 0);

/// One β per layer that Theorem 7 admits for as many samples as possible, layer by layer (each
/// layer's ε_{i−1} from the β's already chosen). Among the samples whose layers below met their
/// hypotheses and whose interval (beta_low, beta_high) is not empty, β_i lies in the segment
/// covered by the most intervals — when all intervals meet, (max of the lows, min of the highs) —
/// at `position` ∈ (0, 1) of it (0.5: the midpoint; small values give smaller ε_i and so leave more
/// room for the deeper layers). When no sample has a non-empty interval, β_i is the median of the
/// lows (no guarantee then). Throws std::invalid_argument for position outside (0, 1).
std::vector<double> admissible_thresholds(const MlcscModel& model, const SignalBatch& truth, const torch::Tensor& noise,
                                          double position = 0.5, double zero_tol = 0);

/// Theorem 8: noiseless layered basis pursuit. Bounds are 0 (exact recovery).
Guarantee check_layered_basis_pursuit(const MlcscModel& model, const SignalBatch& truth, double zero_tol = 0);

/// The stable layered lasso with `lambdas` (one per layer), as stated above.
Guarantee check_stable_layered_basis_pursuit(const MlcscModel& model, const SignalBatch& truth, const torch::Tensor& noise,
                                             const std::vector<double>& lambdas, double zero_tol = 0);

/// The paper's λ chain with one λ per layer for the whole batch: λ₁ = 4·max ε₀ and
/// λ_i = 4ε_{i−1} with ε_{i−1} = 7.5(λ_{i−1}/4)√(max k^P_{i−1}), the maxima over the samples that
/// meet the sparsity conditions of layers 1..i−1 (all samples when none does). The batch maximum
/// of k^P is an upper bound on every such sample's, so λ_i ≥ 4ε_{i−1} holds for each of them and
/// their ε's stay valid bounds.
std::vector<double> prescribed_lambdas(const MlcscModel& model, const SignalBatch& truth, const torch::Tensor& noise,
                                       double zero_tol = 0);

struct PredictionTolerance {
  /// Entries of the estimates with |x| ≤ zero_tol count as zeros.
  TORCH_ARG(double, zero_tol) = 0;
  /// Added to every bound: the accuracy of the solver that computed the estimates (a lasso solved
  /// by FISTA to a tolerance; BP by continuation). 0 for thresholding.
  TORCH_ARG(double, error_tol) = 0;
};

/// What a pursuit's estimates X̂_i did, per layer and sample.
struct LayerOutcome {
  torch::Tensor error;              // ‖X̂_i − X_i‖^P_{2,∞}
  torch::Tensor entry_error;        // ‖X̂_i − X_i‖_∞
  torch::Tensor support_equal;      // supp(X̂_i) = supp(X_i)
  torch::Tensor support_contained;  // supp(X̂_i) ⊆ supp(X_i)
  torch::Tensor large_found;        // every |X_i,j| > entry_bound has X̂_i,j ≠ 0
  torch::Tensor entry_within;       // entry_error ≤ entry_bound (+ error_tol)
  torch::Tensor within_bound;       // error ≤ error_bound (+ error_tol)
  /// The theorem's predictions: Theorem 7 and 8, support_equal and within_bound; the stable layered
  /// BP, support_contained, large_found, entry_within and within_bound.
  torch::Tensor met;
};

/// Evaluates `estimates` (X̂₁ … X̂_K, e.g. LayeredCodes::codes) against the truth and the bounds.
std::vector<LayerOutcome> evaluate_predictions(const MlcscModel& model, const Guarantee& guarantee, const SignalBatch& truth,
                                               const std::vector<torch::Tensor>& estimates,
                                               const PredictionTolerance& tolerance = {});

/// Rates over the batch for one layer, for tables.
struct LayerRates {
  double condition = 0;   // fraction meeting this layer's hypotheses
  double guaranteed = 0;  // fraction meeting the hypotheses of layers 1..i
  double met = 0;         // fraction whose predictions came true
  double met_when_guaranteed = 0;  // among the guaranteed (NaN when none is)
  int64_t violations = 0;          // guaranteed but a prediction failed: a bug or a false theorem
};
std::vector<LayerRates> tabulate(const Guarantee& guarantee, const std::vector<LayerOutcome>& outcomes);

}  // namespace deepsc::mlcsc
