#pragma once
/// The one registry of sparse-coding solvers: name → how to run it on an operator D, signals Y
/// and the options every solver reads from, and what it supports. Every command and benchmark
/// looks solvers up here, so a new solver is added in one place and the command line's choices,
/// help text and capability checks follow from it.
///
/// All registered solvers address "find a sparse X with Y ≈ D X" (Zhang, "From sparse coding to
/// deep learning", 2024, sections 1–2): the lasso min_X ½‖Y − D X‖₂² + λ‖X‖₁ (ISTA, FISTA,
/// coordinate descent, ADMM), its one-step approximation X = S_β(DᵀY) (thresholding, Papyan,
/// Romano & Elad 2017), or min ‖X‖₀ s.t. ‖Y − D X‖₂ ≤ ε / ‖X‖₀ ≤ K (Batch-OMP, Rubinstein,
/// Zibulevsky & Elad 2008). Shapes as the operator says: signals [N, ...], codes [N, ...].
///
/// Layering: deepsc_sparse cannot see deepsc_conv (conv depends on sparse). This header holds the
/// registry type and sparse::solver_registry(), the solvers of this layer (threshold, ista and
/// fista on any LinearOperator; cd and omp on a DenseDictionary). deepsc_conv extends it with the
/// solvers that need a ConvDictionary (FFT-domain ADMM) in conv::solver_registry()
/// (deepsc/conv/solver_registry.h), the complete registry the command line uses. A new generic or
/// dense solver is added in src/sparse/solver_registry.cpp, a new CSC-only one in
/// src/conv/solver_registry.cpp; nothing else changes.

#include "deepsc/sparse/linear_operator.h"
#include "deepsc/sparse/proximal_gradient.h"
#include "deepsc/sparse/shrinkage.h"
#include "deepsc/sparse/solver_result.h"

#include <functional>
#include <string>
#include <vector>

namespace deepsc::sparse {

/// Which number sets how sparse the codes are.
enum class SparsityControl {
  /// λ of the lasso (ista, fista, cd, admm).
  Lambda,
  /// The shrinkage threshold β, or keep the K largest responses (threshold).
  Threshold,
  /// ‖X‖₀ ≤ K or ‖Y − D X‖₂ ≤ ε (omp): needs sparsity or epsilon.
  Support,
};

/// What a solver supports; SolverRegistry::check() refuses the other combinations.
struct SolverCapabilities {
  /// Runs on a DenseDictionary.
  bool dense = true;
  /// Runs on operators other than a DenseDictionary (a ConvDictionary, composites).
  bool convolutional = true;
  /// Convolutional dictionaries with stride 1 only (checked by the solver itself).
  bool stride_one = false;
  /// CPU tensors only.
  bool cpu_only = false;
  /// Honours nonneg (X ≥ 0).
  bool nonneg = true;
  /// Starts from SolverRequest::warm_start.
  bool warm_start = false;
  /// Honours SolverRequest::iters (exactly that many iterations from X = 0).
  bool fixed_iterations = false;
  /// Takes gradient steps η = step_scale / L, L = ‖DᵀD‖₂ (SolverRun reports both).
  bool gradient_step = false;
  SparsityControl control = SparsityControl::Lambda;
};

/// The options every solver reads from; each solver reads the subset its capabilities name.
struct SolverRequest {
  /// λ ≥ 0, weight of ‖X‖₁ (Lambda solvers).
  TORCH_ARG(double, lambda) = 0.1;
  /// Threshold β ≥ 0 (threshold).
  TORCH_ARG(double, beta) = 0.1;
  /// Shrinkage of threshold; nonneg turns it into S⁺.
  TORCH_ARG(Shrinkage, shrinkage) = Shrinkage::Soft;
  /// omp: non-zeros per signal; threshold: keep the K largest responses (0: not used).
  TORCH_ARG(int64_t, sparsity) = 0;
  /// omp: stop when ‖Y − D X‖₂ ≤ epsilon (0: not used).
  TORCH_ARG(double, epsilon) = 0;
  /// Iteration cap (sweeps for cd).
  TORCH_ARG(int64_t, max_iter) = 1000;
  /// > 0: run exactly this many iterations from X = 0 (solvers with fixed_iterations).
  TORCH_ARG(int64_t, iters) = 0;
  /// Tolerance of the stop rule.
  TORCH_ARG(double, tol) = 1e-6;
  /// Stop rule of ista, fista and cd.
  TORCH_ARG(StopRule, stop_rule) = StopRule::RelativeChange;
  /// ista/fista: check the stop rule every this many iterations; 0 picks 10 for the duality gap
  /// (it costs an apply and an adjoint) and 1 for the relative change.
  TORCH_ARG(int64_t, check_every) = 0;
  /// Constrain X ≥ 0.
  TORCH_ARG(bool, nonneg) = false;
  /// fista: per-signal adaptive restart.
  TORCH_ARG(bool, adaptive_restart) = true;
  /// ista/fista: η = step_scale / L.
  TORCH_ARG(double, step_scale) = 1.0;
  /// Initial codes (solvers with warm_start); undefined means X⁰ = 0.
  TORCH_ARG(torch::Tensor, warm_start) = {};
};

/// A finished solve: the solver's result, its wall time (device work included) and, for
/// gradient-step solvers, the Lipschitz constant L = ‖DᵀD‖₂ and step η = step_scale / L it used.
struct SolverRun {
  /// The solver that ran (the one "auto" stood for).
  std::string solver;
  SolverResult result;
  double seconds = 0;
  double lipschitz = 0;
  double step = 0;
};

/// One solver: its name, a one-line description, its capabilities and how to run it. `solve`
/// may assume the request passed SolverRegistry::check().
struct SolverEntry {
  std::string name;
  std::string description;
  SolverCapabilities supports;
  std::function<SolverResult(const LinearOperator& op, const torch::Tensor& signals, const SolverRequest& request)>
      solve;
};

/// Name → solver. Entries keep the order they were added in (the order names() lists).
class SolverRegistry {
 public:
  /// Adds a solver; throws std::invalid_argument for an empty or repeated name or a missing solve.
  void add(SolverEntry entry);
  /// The entry called `name`; throws std::invalid_argument "unknown solver 'x' (known: a, b, …)".
  const SolverEntry& find(const std::string& name) const;
  /// Every name, in order.
  std::vector<std::string> names() const;
  /// The names whose capabilities satisfy `keep`, in order.
  std::vector<std::string> names_where(const std::function<bool(const SolverCapabilities&)>& keep) const;
  /// Throws std::invalid_argument naming the solver and the option when `request` asks `name` for
  /// something it does not support on `op` (operator kind, device, nonneg, iters, warm start, a
  /// missing sparsity/epsilon), listing the solvers that would.
  void check(const std::string& name, const LinearOperator& op, const SolverRequest& request) const;
  /// `name`, or for "auto" the registered solver choose_lasso_solver() picks for `op` and `request`.
  std::string resolve(const std::string& name, const LinearOperator& op, const SolverRequest& request) const;
  /// check(), then solve, timed (waiting for the device). `name` may be "auto" (resolve()).
  SolverRun run(const std::string& name, const LinearOperator& op, const torch::Tensor& signals,
                const SolverRequest& request) const;

 private:
  std::vector<SolverEntry> entries_;
};

/// The name that stands for "the fastest lasso solver for this problem".
inline constexpr const char* kAutoSolver = "auto";

/// What "auto" runs: coordinate descent ("cd") for a dense dictionary on CPU — on 8,000 signals
/// over D [64, 256] it reaches the lasso optimum 4–8× sooner than FISTA, whether the codes were
/// sparse-generated or come from natural-image patches (docs/performance.md) — and "fista"
/// otherwise (convolutional operators, GPUs, or a fixed number of iterations).
std::string choose_lasso_solver(bool dense, bool cpu, int64_t fixed_iterations);

/// "a", "a or b", "a, b or c" (with `conjunction` in place of "or").
std::string join_names(const std::vector<std::string>& names, const std::string& conjunction = "or");

/// The solvers of deepsc_sparse: threshold, ista, fista (any operator), cd (dense, CPU) and omp
/// (dense). conv::solver_registry() adds the convolutional ones.
const SolverRegistry& solver_registry();

}  // namespace deepsc::sparse
