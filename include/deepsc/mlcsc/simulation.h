#pragma once
/// The ML-CSC simulation study (Papyan, Romano & Elad, "Convolutional neural networks analyzed via
/// convolutional sparse coding", JMLR 2017, section 6; the lecture, Zhang, "From sparse coding to
/// deep learning", 2024, "Success of forward pass" and "Success of layered ISTA"): random models and
/// signals (generator.h), noise of a given ‖E‖^P_{2,∞}, every pursuit of the registry, and per layer
/// how often the support was recovered, how far the estimates are from the true codes, and how
/// often each theorem's hypotheses held and its predictions came true (theorems.h).
///
/// One model (one seed) serves the whole study, so every pursuit, noise level and ratio sees the same
/// dictionaries; for each min/max ratio one batch of `trials` clean signals is drawn, and for each
/// noise level one noise batch, the same directions rescaled, so curves over the noise are smooth.
///
/// Each pursuit runs twice per (ratio, noise):
///   tuned    its parameters chosen on the batch, layer by layer (greedy: layer i's value given the
///            estimates of layers < i), from a grid, maximising the support-recovery rate, ties
///            broken by the mean error: the best the pursuit can do with one β_i or λ_i per layer
///            for all signals, as a network with fixed biases (an oracle choice, reported as such).
///            ML-ISTA, ML-FISTA and layered ISTA run with layered BP's tuned λ times one common
///            factor tuned on the batch (tune_joint_scale).
///   theorem  thresholding with admissible_thresholds() (Theorem 7) and layered BP with the
///            prescribed λ_i = 4ε_{i−1} (the stable layered BP), or BP proper at zero noise
///            (Theorem 8); these rows carry the theorem's condition and prediction rates.

#include "deepsc/mlcsc/generator.h"
#include "deepsc/mlcsc/pursuit_registry.h"
#include "deepsc/mlcsc/theorems.h"

#include <functional>
#include <string>
#include <vector>

namespace deepsc::mlcsc {

struct SimulationOptions {
  /// The model and the deepest codes (sizes, sparsity, ratio, seed of the model).
  TORCH_ARG(GeneratorOptions, model) = {};
  /// ε₀ = ‖E‖^P_{2,∞} of the noise, one batch per level.
  TORCH_ARG(std::vector<double>, noise_levels) = {0};
  /// |X_K^min|/|X_K^max| of the deepest codes; empty: the model options' min_max_ratio only.
  TORCH_ARG(std::vector<double>, min_max_ratios) = {};
  TORCH_ARG(int64_t, trials) = 100;
  TORCH_ARG(std::vector<Pursuit>, pursuits) = {Pursuit::Thresholding, Pursuit::LayeredBp, Pursuit::MlFista};
  /// Seed of the signals and the noise (the model has its own, in `model`).
  TORCH_ARG(uint64_t, seed) = 0;
  /// Iteration cap and tolerance of the iterative pursuits (PursuitRequest).
  TORCH_ARG(int64_t, max_iter) = 2000;
  TORCH_ARG(double, tol) = 1e-6;
  /// Points of each layer's parameter grid in the tuned runs.
  TORCH_ARG(int64_t, grid_points) = 16;
};

/// One pursuit, parameter choice, ratio, noise level and layer.
struct SimulationRow {
  std::string pursuit;     // registry name
  std::string parameters;  // "tuned" or "theorem"
  double ratio = 0;        // |X_K^min|/|X_K^max|
  double noise = 0;        // ε₀
  int64_t layer = 0;       // 1 … K
  double value = 0;        // β_i or λ_i used
  double support_equal = 0;      // fraction with supp(X̂_i) = supp(X_i)
  double support_contained = 0;  // fraction with supp(X̂_i) ⊆ supp(X_i)
  double mean_error = 0;         // mean ‖X̂_i − X_i‖^P_{2,∞}
  double max_error = 0;
  double mean_relative_error = 0;  // mean ‖X̂_i − X_i‖^P_{2,∞} / ‖X_i‖^P_{2,∞}
  /// Theorem rows only (empty name otherwise): theorems.h's tabulate().
  std::string theorem;
  LayerRates rates;
  double mean_error_bound = 0;  // mean ε_i over the guaranteed samples (NaN when none)
};

/// Facts about the model, for the report.
struct LayerFacts {
  int64_t layer = 0;
  std::vector<int64_t> code_shape;  // [N, …] of X_i
  double coherence = 0;             // μ_i
  double bp_bound = 0;              // ½(1 + 1/μ_i)
  double mean_l0_inf = 0;           // mean ‖X_i‖_{0,∞} of the clean codes (first ratio)
  int64_t max_l0_inf = 0;
  double mean_ratio = 0;            // mean |X_i^min|/|X_i^max|
};

struct SimulationResult {
  std::vector<LayerFacts> layers;
  std::vector<SimulationRow> rows;
  double seconds = 0;
};

/// Progress: units done out of the total ((ratio, noise) pairs).
using SimulationProgress = std::function<void(int64_t done, int64_t total)>;

/// Runs the study. Throws std::invalid_argument for an empty pursuit list, trials < 1, negative
/// noise, ratios outside (0, 1], grid_points < 2, and what the generator refuses.
SimulationResult run_simulation(const SimulationOptions& options, const SimulationProgress& progress = {});

/// Theorem 10 (Li, Feng & Zhou, "Convergence analysis for deep sparse coding via convolutional
/// neural networks", 2024): the layered pursuit unrolled M steps per layer (a CNN of depth O(M) per
/// layer) approximates the true codes with ‖X̃_i − X_i‖₂ ≤ C e^{−cM} + C_D·(noise). Measured: the
/// mean ‖X̃_i − X_i‖₂ of M-step unrolled layered ISTA (layered_basis_pursuit_unrolled) for every M
/// and noise level, with λ_i tuned for the deepest unrolling (the largest M: the biases a trained
/// network of that depth would have; tune_unrolled_layered_pursuit); fitted per (noise, layer):
/// the floor (the error of the converged layered BP with the same λ) and the rate c of the
/// exponential decay of error − floor, by least squares of log(error − floor) against M over the M
/// where error − floor is above 1e-3 of its first value (and above 1e-12).
struct DepthOptions {
  TORCH_ARG(SimulationOptions, simulation) = {};  // model, noise levels, trials, seed, grid (first ratio only)
  TORCH_ARG(std::vector<int64_t>, depths) = {};   // M values, ≥ 1
  TORCH_ARG(sparse::UnrolledSolver, solver) = sparse::UnrolledSolver::Ista;
};
struct DepthRow {
  double noise = 0;
  int64_t depth = 0;  // M
  int64_t layer = 0;
  double mean_error = 0;  // mean ‖X̃_i − X_i‖₂
};
struct DepthFit {
  double noise = 0;
  int64_t layer = 0;
  double lambda = 0;
  double floor = 0;   // mean ‖X̂_i − X_i‖₂ of the converged layered BP
  double rate = 0;    // c: error − floor ∝ e^{−cM}
  int64_t points = 0; // M values in the fit
  double r_squared = 0;
};
struct DepthResult {
  std::vector<DepthRow> rows;
  std::vector<DepthFit> fits;
  double seconds = 0;
};
DepthResult run_depth_study(const DepthOptions& options, const SimulationProgress& progress = {});

}  // namespace deepsc::mlcsc
