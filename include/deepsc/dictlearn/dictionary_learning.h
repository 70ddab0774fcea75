#pragma once
/// Dense dictionary learning: given signals Y [N, n] (one per row), find atoms D [n, m] with unit-norm
/// columns and sparse codes X [N, m] with Y ≈ X Dᵀ, by alternating a sparse-coding step (D fixed)
/// and a dictionary step (X fixed). Four learners, two objectives:
///
///   ℓ1 (Olshausen-Field, Online):  min_D (1/N) Σ_i min_x ½‖y_i − D x‖₂² + λ‖x‖₁
///   ℓ0 (K-SVD, MOD):               min_D (1/N) Σ_i min_{‖x‖₀ ≤ K} ½‖y_i − D x‖₂²
///
/// - Olshausen & Field 1996 (Nature 381): per mini-batch, lasso codes X, then one gradient step
///   D ← D + η (Y − X Dᵀ)ᵀ X / B and renormalised atoms.
/// - Online dictionary learning, Mairal, Bach, Ponce & Sapiro 2009 (ICML) / 2010 (JMLR 11),
///   Algorithms 1–2 with the mini-batch extension and past weighting of their section 3.4:
///   A ← βA + XᵀX, B ← βB + YᵀX, then one pass of block-coordinate descent over the atoms,
///   warm-started from the current D, u_j = (b_j − D a_j)/A_jj + d_j, d_j = u_j/‖u_j‖.
/// - K-SVD, Aharon, Elad & Bruckstein 2006 (IEEE TSP 54): Batch-OMP codes with ‖x‖₀ ≤ K, then atom
///   by atom the rank-1 update of the residual restricted to the atom's support, in the
///   approximate form of Rubinstein, Zibulevsky & Elad 2008 (one power-iteration step; more
///   steps converge to the exact SVD update, see ksvd_power_iterations).
/// - MOD, Engan, Aase & Husøy 1999 (ICASSP): Batch-OMP codes, then the least-squares dictionary
///   D = YᵀX (XᵀX + δI)⁻¹ (solved by Cholesky in float64, δ = 1e-10·tr(XᵀX)/m), renormalised.
///
/// Every learner replaces dead atoms: one that no signal used over the last window (one iteration for
/// K-SVD / MOD, which see every signal per iteration), an all-zero one, or one nearly identical to
/// an earlier atom (|⟨d_i, d_j⟩| > duplicate_threshold) becomes the normalised residual y − D x of
/// the signal (of the window's last batch) that the dictionary represents worst: the direction
/// that most reduces that signal's error (Aharon et al. use the signal itself; its residual does
/// not re-create directions the other atoms already span, and recovers planted atoms more often).
///
/// K-SVD and MOD also swap atoms (swap_atoms): alternating minimisation stalls in local minima where
/// one atom blends two directions of the data (its users' parts are better explained by two lines
/// than one) while another atom carries little (unused, rarely used, or a near copy of its
/// neighbour). After each update, while the largest gain of splitting an atom into its best two
/// lines through 0 (2-line clustering of its users' parts, as the codebook splitting of Linde,
/// Buzo & Gray 1980) exceeds the smallest cost of dropping an atom (the energy it carries that its
/// closest neighbour cannot), the blend becomes one line and the cheap atom the other; at most
/// max(1, m/10) swaps per iteration. On the synthetic experiment of Aharon et al. this takes K-SVD
/// from about 94% to 99% of the generating atoms recovered (docs/dictionary-learning.md).
///
/// K-SVD and MOD with a fixed K also restart atoms (restart_passes): some local minima leave a
/// generating direction spread over several atoms' users, where no swap sees it, yet it is the top
/// principal direction of the residual Y − X Dᵀ. When a pass lowers the objective by less than
/// 0.1% relative to the pass before and changed no atom by a swap or replacement, the atom that
/// costs least to drop restarts along that direction; restart_passes passes later the objective is
/// compared: lower, the restart is kept, otherwise the atoms of before it come back and no restart is
/// tried again in the run (a descent step with a trial move, as in basin hopping). A run that ends
/// inside a trial returns the better of the two. Not with an error bound, whose objective sits at
/// the bound. On the synthetic experiment this takes MOD at 10 dB SNR from 93.5% to 99.5% of the
/// atoms (docs/dictionary-learning.md).
///
/// Randomness (random start, mini-batch order, fallbacks) comes from CPU generators seeded from
/// `seed` and the iteration number, so a run is reproducible on any device and a run resumed from
/// a checkpoint gives exactly the dictionary of an uninterrupted one.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace deepsc::dictlearn {

enum class Algorithm { OlshausenField, Online, Ksvd, Mod };

/// "olshausen-field", "online", "ksvd", "mod"; anything else throws std::invalid_argument listing them.
Algorithm parse_algorithm(const std::string& name);
/// The name parse_algorithm() accepts.
std::string algorithm_name(Algorithm algorithm);

/// How atoms start when no `initial` dictionary is given.
enum class Initialization {
  /// m distinct training signals drawn at random, normalised (Gaussian atoms for the rest when
  /// N < m, and in place of all-zero signals).
  Signals,
  /// i.i.d. Gaussian atoms, normalised.
  Gaussian,
};

/// What the learner reports after every iteration.
/// How an atom-restart trial ended at an iteration's coding (K-SVD and MOD; see the file comment).
enum class RestartOutcome {
  None,
  Kept,     // the objective is lower than before the trial
  Rejected  // it is not: the iteration ran from the atoms of before the trial
};

/// "", "kept", "rejected".
std::string restart_outcome_name(RestartOutcome outcome);

struct LearnProgress {
  int64_t iteration = 0;  // 1-based
  int64_t total = 0;      // iterations of the run
  /// Mean objective of the iteration's signals (the mini-batch, or all signals for K-SVD / MOD) at
  /// the codes of the iteration's coding step, i.e. with the dictionary before its update.
  double objective = 0;
  /// dictionary_objective() on the held-out signals after the update; NaN where not evaluated.
  double holdout_objective = std::numeric_limits<double>::quiet_NaN();
  double seconds = 0;  // wall time since the start of the run (resumed runs include earlier time)
  RestartOutcome restart_outcome = RestartOutcome::None;
  bool restart_started = false;  // a trial began after this iteration's update
};

struct LearnOptions {
  explicit LearnOptions(int64_t atoms) : atoms_(atoms) {}

  /// m ≥ 1, the number of atoms.
  TORCH_ARG(int64_t, atoms);
  TORCH_ARG(Algorithm, algorithm) = Algorithm::Online;
  /// λ > 0, weight of ‖x‖₁ per signal (olshausen-field, online): ½‖y − D x‖² + λ‖x‖₁.
  TORCH_ARG(double, lambda) = 0;
  /// K ≥ 1, the ℓ0 budget ‖x‖₀ ≤ K (ksvd, mod); K ≤ min(n, m).
  TORCH_ARG(int64_t, sparsity) = 0;
  /// ε ≥ 0 (ksvd, mod): code each signal only until ‖y − D x‖₂ ≤ ε, K staying the cap — the
  /// error-constrained coding of Elad & Aharon's K-SVD denoising (ε = √n·Cσ for noise σ, C = 1.15),
  /// so smooth signals take fewer atoms than textured ones. 0: always K atoms.
  TORCH_ARG(double, error_bound) = 0;
  /// ksvd / mod: passes over all signals; olshausen-field / online: mini-batches.
  TORCH_ARG(int64_t, iterations) = 100;
  /// Mini-batch size B (olshausen-field, online); min(B, N) is used. Batches run through random
  /// permutations of the signals, one permutation per epoch.
  TORCH_ARG(int64_t, batch_size) = 256;
  /// Olshausen-field step η ≥ 0. 0: η_t = 1/L_t with L_t = ‖XᵀX‖₂/B the Lipschitz constant of the
  /// batch's gradient in D (3 power iterations per batch, warm-started), so every step is a
  /// stable gradient step whatever the scale of the data and of λ.
  TORCH_ARG(double, learning_rate) = 0;
  TORCH_ARG(uint64_t, seed) = 0;
  /// D⁰ [n, m], any floating dtype (converted to the signals' dtype and device, then normalised;
  /// an all-zero atom is rejected). Undefined: see `initialization`.
  TORCH_ARG(torch::Tensor, initial) = {};
  TORCH_ARG(Initialization, initialization) = Initialization::Signals;
  /// Optional held-out signals [H, n] (converted to the signals' dtype and device): their
  /// dictionary_objective() is evaluated every eval_every iterations and after the last one. For
  /// the ℓ1 learners each evaluation is warm-started from the previous one's codes (kept in
  /// checkpoints), so it costs about one coding step of H signals, not a solve from zero.
  TORCH_ARG(torch::Tensor, holdout) = {};
  TORCH_ARG(int64_t, eval_every) = 10;
  /// File for checkpoints ("" for none), written atomically (a temporary file, then renamed) every
  /// checkpoint_every iterations and after the last one.
  TORCH_ARG(std::string, checkpoint) = "";
  TORCH_ARG(int64_t, checkpoint_every) = 10;
  /// Continue from `checkpoint` if that file exists (start afresh if it does not). The checkpoint
  /// must come from a run with the same algorithm, data size, atoms, seed and coding options;
  /// `iterations` may differ (a finished run can be extended; a checkpoint already at or past
  /// `iterations` is returned as it is).
  TORCH_ARG(bool, resume) = false;
  /// Called after every iteration; may be empty.
  TORCH_ARG(std::function<void(const LearnProgress&)>, on_progress) = nullptr;
  /// ℓ1 coding during learning (coordinate descent on CPU, FISTA elsewhere): stop when a sweep
  /// changes no code entry by more than coding_tol·max|x| (scikit-learn's rule). Codes this loose
  /// learn as well as exact ones: the dictionary step averages over the batch. Held-out and
  /// dictionary_objective() codes are solved to a relative duality gap of 1e-6 (1e-5 in float32).
  TORCH_ARG(double, coding_tol) = 1e-2;
  /// K-SVD: power-iteration steps of each atom's rank-1 update, warm-started from the current atom
  /// and codes. 1 is approximate K-SVD (Rubinstein et al. 2008); more approach exact K-SVD.
  TORCH_ARG(int64_t, ksvd_power_iterations) = 1;
  /// Replace dead and duplicated atoms (see the file comment).
  TORCH_ARG(bool, replace_dead_atoms) = true;
  /// Two atoms with |⟨d_i, d_j⟩| above this are duplicates and the later one is replaced. Lower
  /// values (still above the coherence the dictionary should have) also break up pairs of atoms
  /// that share one underlying atom, a local minimum of every learner here.
  TORCH_ARG(double, duplicate_threshold) = 0.99;
  /// K-SVD and MOD: after each dictionary update, split atoms that blend two directions into the
  /// place of atoms that carry little (see the file comment). Off: the learners as published.
  TORCH_ARG(bool, swap_atoms) = true;
  /// K-SVD and MOD with a fixed K: passes of an atom-restart trial before it is judged (see the
  /// file comment); 0: no restarts (the learners as published).
  TORCH_ARG(int64_t, restart_passes) = 10;
  /// Iterations over which an atom must be unused to count as dead. 0: 1 for ksvd / mod, and
  /// ⌈10·m / B⌉ for the mini-batch learners (an atom used by one signal in m survives a window
  /// with probability ≈ 1 − e⁻¹⁰).
  TORCH_ARG(int64_t, dead_atom_window) = 0;
};

struct LearnResult {
  torch::Tensor dictionary;            // D [n, m], unit-norm columns, the signals' dtype and device
  std::vector<LearnProgress> history;  // one entry per iteration (holdout_objective NaN where not evaluated)
  int64_t replaced_atoms = 0;          // dead atoms replaced over the run
  int64_t swapped_atoms = 0;           // atoms changed by atom swaps over the run (two per swap)
  int64_t restarted_atoms = 0;         // atom restarts kept over the run
};

/// Learns D from signals Y [N, n] (float32 or float64, any device, finite, N ≥ 1, n ≥ 1). N may be
/// smaller than the number of atoms (the random start then fills in Gaussian atoms). Throws
/// std::invalid_argument naming the option for bad options, shapes or data, and for a checkpoint
/// that cannot be resumed.
LearnResult learn_dictionary(const torch::Tensor& signals, const LearnOptions& options);

/// Mean over the rows of `signals` [N, n] of the algorithm's objective with D [n, m] fixed (used as
/// given, not renormalised): for olshausen-field / online ½‖y − D x‖² + λ‖x‖₁ with x a lasso
/// solution (relative duality gap ≤ 1e-6, 1e-5 in float32); for ksvd / mod ½‖y − D x‖² with x the
/// Batch-OMP code with ‖x‖₀ ≤ K. `options.atoms` is not consulted (D gives m). Signals are
/// converted to D's dtype and device. Throws std::invalid_argument for bad shapes, data or λ / K.
double dictionary_objective(const torch::Tensor& dictionary, const torch::Tensor& signals, const LearnOptions& options);

}  // namespace deepsc::dictlearn
