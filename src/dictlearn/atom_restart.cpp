// Atom restarts for K-SVD and MOD with a fixed K: a trial move out of local minima that atom swaps
// cannot see. There a generating direction is not blended into one atom but spread thinly over the
// users of several (each explains part of it), so no atom's users split into two lines; what is
// left of it sits in the residual R = Y − X Dᵀ, whose top principal direction points towards it
// while the residual is otherwise noise spread over all directions.
//
// When the objective F(D) = (1/N) Σ_i ½‖y_i − D x_i‖² (x_i the K-sparse OMP code) has stalled, the
// atom k with the smallest drop cost L_k (atom_swap.cpp) is set to the top eigenvector of RᵀR and
// the learner runs on for restart_passes passes. Then F of the new atoms is compared with F of the
// atoms before the move: lower, the move is kept (and another may follow at the next stall);
// otherwise those atoms come back and restarts end for the run, so a run never ends worse than
// without the move and never cycles through the same rejected move. The first-order estimates of
// a swap do not decide here: only the objective after the learner has refined the move does (the
// trial-and-accept step of basin hopping, Wales & Doye 1997).

#include "learner_internal.h"

namespace deepsc::dictlearn::detail {

namespace {

/// Relative decrease of the objective below which a pass counts as stalled.
constexpr double kStall = 1e-3;

bool restarts_apply(const Problem& problem) {
  const auto& o = problem.options;
  return o.restart_passes() > 0 && o.error_bound() == 0 &&
         (o.algorithm() == Algorithm::Ksvd || o.algorithm() == Algorithm::Mod);
}

}  // namespace

namespace {

/// Judges a trial whose passes are over at a coding of objective `objective`; true when it was
/// rejected and the atoms before it came back.
bool judge_restart(LearnerState& state, double objective) {
  if (state.restart_passes_left == 0 || --state.restart_passes_left > 0) return false;
  const bool kept = objective < state.restart_reference;
  if (kept) {
    ++state.restarted;
  } else {
    state.atoms.copy_(state.restart_fallback);
    state.restarts_over = true;
  }
  state.restart_fallback = torch::Tensor();
  return !kept;
}

}  // namespace

sparse::SolverResult pass_codes(const Problem& problem, LearnerState& state) {
  auto coded = omp_codes(*dictionary_of(state.atoms), problem.signals, problem.options);
  if (judge_restart(state, coded.objective)) coded = omp_codes(*dictionary_of(state.atoms), problem.signals, problem.options);
  return coded;
}

torch::Tensor restart_fallback(const Problem& problem, const LearnerState& state, double objective) {
  if (!restarts_apply(problem) || state.restarts_over || state.restart_passes_left > 0 || state.history.empty() ||
      !(objective > 0)) {
    return {};
  }
  const double previous = state.history.back().objective;
  if (!(previous - objective < kStall * previous)) return {};
  return state.atoms.clone();
}

void restart_if_stalled(const Problem& problem, LearnerState& state, double objective, torch::Tensor fallback,
                        bool atoms_changed, const torch::Tensor& codes, const torch::Tensor& residual) {
  if (!fallback.defined() || atoms_changed) return;
  const auto gram = torch::mm(residual.t(), residual).to(torch::kDouble);
  const auto direction = std::get<1>(torch::linalg_eigh(gram)).select(1, gram.size(0) - 1);  // ascending order
  const int64_t cheapest = drop_costs(state.atoms, codes).argmin().item<int64_t>();
  state.atoms[cheapest].copy_(direction);
  state.restart_fallback = std::move(fallback);
  state.restart_reference = objective;
  state.restart_passes_left = problem.options.restart_passes();
}

torch::Tensor final_atoms(const Problem& problem, const LearnerState& state) {
  if (state.restart_passes_left == 0) return state.atoms;
  const double now = omp_codes(*dictionary_of(state.atoms), problem.signals, problem.options).objective;
  return now < state.restart_reference ? state.atoms : state.restart_fallback;
}

}  // namespace deepsc::dictlearn::detail
