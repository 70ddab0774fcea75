#pragma once
/// Internal to deepsc_dictlearn: what the four learners share (learner_common.cpp), the state a
/// run carries from one iteration to the next and that checkpoints hold (learner_state.cpp), and
/// one iteration of each learner (olshausen_field.cpp, online.cpp, ksvd.cpp, mod.cpp).
///
/// Atoms are kept as the rows of Dᵀ [m, n] (contiguous), so an atom is a contiguous row; the
/// public D [n, m] is its transpose.

#include "deepsc/dictlearn/dictionary_learning.h"

#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/proximal_gradient.h"
#include "deepsc/sparse/solver_result.h"

#include <array>
#include <functional>

namespace deepsc::dictlearn::detail {

/// Independent random streams of a run, each seeded from (seed, stream, index).
enum class Stream : uint64_t { Start = 1, Order = 2, Replace = 3 };

/// A CPU generator for stream `stream`, item `index` (an epoch, an iteration) of a run seeded `seed`:
/// draws depend on these three numbers only, never on the device or on earlier draws.
at::Generator generator(uint64_t seed, Stream stream, uint64_t index);

/// Mini-batch order: the signals run through a fresh random permutation each epoch; the batch of
/// iteration t is positions [tB, (t+1)B) of that endless stream. Only t is needed to resume.
class BatchSampler {
 public:
  BatchSampler(int64_t count, int64_t batch, uint64_t seed) : count_(count), batch_(batch), seed_(seed) {}
  /// Row indices [B] (int64, CPU) of iteration t (0-based).
  torch::Tensor indices(int64_t t);

 private:
  const torch::Tensor& permutation(int64_t epoch);
  int64_t count_, batch_;
  uint64_t seed_;
  std::array<int64_t, 2> cached_epoch_{{-1, -1}};
  std::array<torch::Tensor, 2> cached_{};
};

/// The fixed inputs of a run, checked.
struct Problem {
  Problem(const torch::Tensor& signals, const LearnOptions& options);
  torch::Tensor signals;  // Y [N, n], contiguous
  torch::Tensor holdout;  // [H, n] in Y's dtype and device, or undefined
  LearnOptions options;
  int64_t batch = 0;   // mini-batch size actually used, min(B, N)
  int64_t window = 1;  // dead-atom window in iterations
  BatchSampler sampler;
  /// Signals of mini-batch t (0-based), on Y's device.
  torch::Tensor batch_signals(int64_t t);
};

/// Everything that decides the rest of a run; a checkpoint holds all of it.
struct LearnerState {
  torch::Tensor atoms;          // Dᵀ [m, n], unit-norm rows
  torch::Tensor stats_a;        // online: A = Σ β-weighted x xᵀ [m, m]; else undefined
  torch::Tensor stats_b;        // online: Bᵀ = Σ β-weighted x yᵀ [m, n]; else undefined
  torch::Tensor power_vector;   // olshausen-field with the default step: [m]; else undefined
  torch::Tensor usage;          // [m] int64: signals that used each atom in the current window
  torch::Tensor holdout_codes;  // ℓ1 learners: the held-out codes of the last evaluation (warm start)
  int64_t iteration = 0;        // completed iterations
  int64_t replaced = 0;         // atoms replaced so far
  int64_t swapped = 0;          // atoms changed by atom swaps so far (two per swap)
  int64_t restarted = 0;        // atom restarts kept so far
  // Atom restarts (atom_restart.cpp): while a trial runs, the atoms before it, their objective and
  // the passes left before it is judged; after a rejected trial no other is tried.
  torch::Tensor restart_fallback;   // Dᵀ [m, n] before the trial; undefined when no trial runs
  double restart_reference = 0;     // mean objective of restart_fallback
  int64_t restart_passes_left = 0;  // > 0 while a trial runs
  bool restarts_over = false;
  double seconds = 0;           // wall time of the iterations done
  std::vector<LearnProgress> history;
};

/// The state of a fresh run: normalised starting atoms and zero statistics.
LearnerState initial_state(const Problem& problem);

/// Rows of `atoms` rescaled to unit ℓ2 norm in place (an all-zero row stays zero).
void normalize_rows(torch::Tensor& atoms);

/// The dictionary of `atoms` (Dᵀ [m, n]) as a sparse::DenseDictionary D = atomsᵀ.
std::unique_ptr<sparse::DenseDictionary> dictionary_of(const torch::Tensor& atoms);

/// Lasso codes min ½‖y − D x‖² + λ‖x‖₁ per row: coordinate descent on CPU, FISTA elsewhere, both
/// stopped by `rule` at `tol`, starting from `warm` codes when given.
sparse::SolverResult lasso_codes(const sparse::DenseDictionary& dict, const torch::Tensor& signals, double lambda,
                                 sparse::StopRule rule, double tol, const torch::Tensor& warm = {});
/// The codes of a learner's coding step (ℓ1 learners): lasso_codes() with the relative-change
/// rule at options.coding_tol().
sparse::SolverResult training_codes(const sparse::DenseDictionary& dict, const torch::Tensor& signals,
                                    const LearnOptions& options);
/// Batch-OMP codes with ‖x‖₀ ≤ K, stopping early at ‖y − D x‖₂ ≤ error_bound when that is > 0.
sparse::SolverResult omp_codes(const sparse::DenseDictionary& dict, const torch::Tensor& signals, const LearnOptions& options);

/// Adds each atom's number of users in `codes` [rows, m] to state.usage.
void count_usage(LearnerState& state, const torch::Tensor& codes);

/// At the end of a dead-atom window (iteration t, 0-based): replaces the atoms no signal used over
/// the window, all-zero atoms and atoms with |⟨d_i, d_j⟩| > duplicate_threshold for an earlier i
/// by the largest rows of `residuals()` ([rows, n], the residuals y − D x of the iteration's
/// signals; called only when something is replaced), normalised; zeroes the online statistics of
/// the replaced atoms; restarts the window.
void replace_dead_atoms(const Problem& problem, LearnerState& state, int64_t t,
                        const std::function<torch::Tensor()>& residuals, const std::vector<int64_t>& spared = {});

/// Atom swaps (atom_swap.cpp; K-SVD and MOD after their dictionary update): up to max(1, m/10)
/// times, the atom whose part of the signals is best explained by two directions instead of one
/// becomes one of them and the atom that costs least to drop becomes the other, when the gain
/// exceeds the cost. atoms: Dᵀ [m, n] (unit rows, changed in place); codes [N, m] with respect to
/// these atoms; residual [N, n] = Y − codes·atoms. Returns the atoms changed (two per swap).
std::vector<int64_t> swap_atoms(torch::Tensor& atoms, const torch::Tensor& codes, const torch::Tensor& residual);

/// swap_atoms() when options.swap_atoms(), counted in state.swapped; returns the atoms changed.
std::vector<int64_t> swap_atoms_if_enabled(const Problem& problem, LearnerState& state, const torch::Tensor& codes,
                                           const torch::Tensor& residual);

/// L_k = Σ_i c_ik² (1 − max_{l≠k} ⟨d_l, d_k⟩²) for every atom [m] (float64): the energy atom k
/// carries that its closest other atom cannot, the first-order cost of dropping it. atoms: Dᵀ [m, n]
/// with unit rows; codes [N, m] with respect to them.
torch::Tensor drop_costs(const torch::Tensor& atoms, const torch::Tensor& codes);

/// Atom restarts (atom_restart.cpp; K-SVD and MOD with a fixed K), in three calls per pass:
/// 1. the pass's codes: Batch-OMP (omp_codes) of all signals, after judging a trial whose passes
///    are over at that coding (rejected: the atoms before it come back and are coded instead).
sparse::SolverResult pass_codes(const Problem& problem, LearnerState& state);
/// 2. before the dictionary update, with the codes' mean objective: when a restart may begin after
///    this pass — none running or rejected, and the objective fell by less than 0.1% from the last
///    pass's — a copy of the atoms it would fall back to; otherwise undefined (no copy).
torch::Tensor restart_fallback(const Problem& problem, const LearnerState& state, double objective);
/// 3. after the update, swaps and replacements: when `fallback` is defined and no atom was swapped
///    or replaced in this pass, the atom with the smallest drop_costs() restarts along the top
///    eigenvector of residualᵀresidual and a trial of restart_passes passes begins, judged against
///    `objective`. codes [N, m], residual [N, n] = Y − codes·atomsᵀ.
void restart_if_stalled(const Problem& problem, LearnerState& state, double objective, torch::Tensor fallback,
                        bool atoms_changed, const torch::Tensor& codes, const torch::Tensor& residual);
/// The dictionary a run ending now returns (Dᵀ [m, n]): the atoms, or, inside a trial, the
/// fallback unless the atoms' objective is already lower.
torch::Tensor final_atoms(const Problem& problem, const LearnerState& state);

/// dictionary_objective() of the held-out signals at the current atoms; for the ℓ1 learners
/// warm-started from (and updating) state.holdout_codes, solved to the same duality gap.
double holdout_objective(const Problem& problem, LearnerState& state);

/// One iteration t (0-based) of each learner: updates `state` (not its counters) and returns the
/// mean objective of the iteration's signals at its codes.
double olshausen_field_step(Problem& problem, LearnerState& state, int64_t t);
double online_step(Problem& problem, LearnerState& state, int64_t t);
double ksvd_step(Problem& problem, LearnerState& state, int64_t t);
double mod_step(Problem& problem, LearnerState& state, int64_t t);

/// Checkpoint files (learner_state.cpp). save_state writes them atomically (data::write_file_atomically_with).
void save_state(const std::string& path, const Problem& problem, const LearnerState& state);
/// Loads a checkpoint written by a run of the same problem; std::invalid_argument otherwise.
LearnerState load_state(const std::string& path, const Problem& problem);

}  // namespace deepsc::dictlearn::detail
