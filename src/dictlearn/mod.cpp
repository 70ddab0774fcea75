// MOD, the Method of Optimal Directions (Engan, Aase & Husøy 1999, ICASSP, "Method of optimal
// directions for frame design"), for min_{D, X} ½‖Y − X Dᵀ‖²_F s.t. ‖x_i‖₀ ≤ K, one pass over all
// signals per iteration:
//   1. sparse coding: Batch-OMP (sparse::omp) with ‖x‖₀ ≤ K (and ‖y − D x‖₂ ≤ ε when error_bound is set);
//   2. the least-squares dictionary for those codes, D = YᵀX (XᵀX)⁻¹, obtained by solving
//      (XᵀX + δI) Dᵀ = XᵀY with a Cholesky factorisation in float64 (never an explicit inverse);
//      δ = 1e-10·tr(XᵀX)/m keeps the system definite when an atom is unused (its row of Dᵀ is
//      then zero and the atom is replaced);
//   3. atoms renormalised (D's scale moves into the codes; X Dᵀ is unchanged);
//   4. atom swaps, dead-atom replacement and atom restarts (atom_swap.cpp, atom_restart.cpp).

#include "learner_internal.h"

#include <limits>

namespace deepsc::dictlearn::detail {

double mod_step(Problem& problem, LearnerState& state, int64_t t) {
  const auto& o = problem.options;
  const auto& y = problem.signals;
  const auto coded = pass_codes(problem, state);
  const auto& x = coded.codes;
  count_usage(state, x);
  auto fallback = restart_fallback(problem, state, coded.objective);
  const int64_t changed_before = state.replaced + state.swapped;

  const int64_t m = x.size(1);
  const auto xt = x.t();
  auto normal = torch::mm(xt, x).to(torch::kDouble);       // XᵀX  [m, m]
  const auto right = torch::mm(xt, y).to(torch::kDouble);  // XᵀY  [m, n]
  const auto delta = normal.trace() * (1e-10 / static_cast<double>(m)) + std::numeric_limits<double>::min();
  normal.diagonal().add_(delta);
  const auto factor = torch::linalg_cholesky(normal);
  const auto solved = torch::cholesky_solve(right, factor).to(y.scalar_type());  // Dᵀ, unnormalised
  state.atoms.copy_(solved);
  normalize_rows(state.atoms);

  // Residual of the update itself: Y − X Dᵀ with the unnormalised D (normalising rescales only).
  // Formed only when a swap, a replacement or a restart needs it (an [N, n] GEMM per pass otherwise).
  torch::Tensor residual;
  const auto residual_of = [&] {
    if (!residual.defined()) residual = torch::addmm(y, x, solved, 1, -1);
    return residual;
  };
  // The codes with respect to the normalised atoms carry the norms.
  torch::Tensor scaled_codes;
  const auto scaled_codes_of = [&] {
    if (!scaled_codes.defined()) scaled_codes = x * torch::linalg_vector_norm(solved, 2, {1}, false, c10::nullopt);
    return scaled_codes;
  };
  std::vector<int64_t> spared;
  if (o.swap_atoms()) spared = swap_atoms_if_enabled(problem, state, scaled_codes_of(), residual_of());
  replace_dead_atoms(problem, state, t, residual_of, spared);
  if (fallback.defined()) {
    restart_if_stalled(problem, state, coded.objective, std::move(fallback),
                       state.replaced + state.swapped != changed_before, scaled_codes_of(), residual_of());
  }
  return coded.objective;
}

}  // namespace deepsc::dictlearn::detail
