// K-SVD (Aharon, Elad & Bruckstein 2006, IEEE TSP 54(11):4311–4322) for
//   min_{D, X} ½‖Y − X Dᵀ‖²_F  s.t. ‖x_i‖₀ ≤ K,
// one pass over all signals per iteration:
//   1. sparse coding: Batch-OMP (sparse::omp) with ‖x‖₀ ≤ K (and ‖y − D x‖₂ ≤ ε when error_bound is set);
//   2. atom by atom, j = 1..m: on the signals ω_j that use atom j, the residual without it,
//      E = (Y − X Dᵀ)_ω + x_{ω,j} d_jᵀ, is approximated by the rank-1 matrix g d_jᵀ, updating the
//      atom and its coefficients together (the support stays, so ‖x‖₀ ≤ K holds);
//   3. atom swaps, dead-atom replacement and atom restarts (atom_swap.cpp, atom_restart.cpp).
// The rank-1 step is that of approximate K-SVD (Rubinstein, Zibulevsky & Elad 2008, Technion
// CS-2008-08), here with signals as rows (E [|ω|, n]): d = Eᵀg/‖Eᵀg‖, then g = E d, warm-started
// from the current codes g = x_{ω,j}. That is one power-iteration step towards E's top singular
// pair; ksvd_power_iterations > 1 repeats it and approaches the exact (SVD) K-SVD update.
// The residual R = Y − X Dᵀ is kept up to date row-block by row-block, so each atom costs O(|ω|·n).

#include "learner_internal.h"

#include <ATen/Dispatch.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace deepsc::dictlearn::detail {

namespace {

/// The non-zeros of X grouped by atom: for atom j, users[offset[j] .. offset[j + 1]) are the rows
/// that use it and values[…] their coefficients.
struct Supports {
  torch::Tensor users;   // [nnz] int64
  torch::Tensor values;  // [nnz] X's dtype
  std::vector<int64_t> offset;
};

Supports group_by_atom(const torch::Tensor& x) {
  // (atom, signal) pairs in row-major order of Xᵀ, and the values in the same order; one host
  // synchronisation for the group sizes.
  const auto xt = x.t().contiguous();
  const auto nonzero = torch::nonzero(xt);
  Supports s;
  s.users = nonzero.select(1, 1).contiguous();
  s.values = xt.masked_select(xt != 0);
  const auto counts = torch::bincount(nonzero.select(1, 0), {}, xt.size(0)).cpu();
  const auto* count = counts.data_ptr<int64_t>();
  s.offset.assign(static_cast<size_t>(xt.size(0)) + 1, 0);
  for (int64_t j = 0; j < xt.size(0); ++j) s.offset[j + 1] = s.offset[j] + count[j];
  return s;
}

/// The atom-by-atom update on CPU, in place on atoms [m, n] and residual [N, n] (contiguous).
/// E is formed once per atom in a buffer; the power steps then read it.
template <typename scalar_t>
void update_atoms_cpu(scalar_t* atoms, scalar_t* residual, const int64_t* users, scalar_t* values,
                      const std::vector<int64_t>& offset, int64_t n, int64_t steps) {
  const int64_t m = static_cast<int64_t>(offset.size()) - 1;
  int64_t widest = 0;
  for (int64_t j = 0; j < m; ++j) widest = std::max(widest, offset[j + 1] - offset[j]);
  std::vector<scalar_t> error(static_cast<size_t>(widest * n)), atom(static_cast<size_t>(n));
  for (int64_t j = 0; j < m; ++j) {
    const int64_t begin = offset[j], used = offset[j + 1] - begin;
    if (used == 0) continue;  // a dead atom: replaced afterwards
    const int64_t* rows = users + begin;
    scalar_t* g = values + begin;
    scalar_t* d = atoms + j * n;
    for (int64_t a = 0; a < used; ++a) {  // E = R_ω + g dᵀ
      const scalar_t* r = residual + rows[a] * n;
      scalar_t* e = error.data() + a * n;
      const scalar_t ga = g[a];
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) e[i] = r[i] + ga * d[i];
    }
    for (int64_t s = 0; s < steps; ++s) {
      scalar_t* u = atom.data();
      std::fill(atom.begin(), atom.end(), scalar_t(0));
      for (int64_t a = 0; a < used; ++a) {  // u = Eᵀ g
        const scalar_t* e = error.data() + a * n;
        const scalar_t ga = g[a];
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) u[i] += ga * e[i];
      }
      scalar_t norm2 = 0;
#pragma omp simd reduction(+ : norm2)
      for (int64_t i = 0; i < n; ++i) norm2 += u[i] * u[i];
      // Eᵀg = 0 only when E = 0 (the atom's signals are already fitted): the atom becomes zero and
      // is replaced as dead.
      const scalar_t scale = norm2 > 0 ? scalar_t(1) / std::sqrt(norm2) : scalar_t(0);
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) d[i] = u[i] * scale;
      for (int64_t a = 0; a < used; ++a) {  // g = E d
        const scalar_t* e = error.data() + a * n;
        scalar_t dot = 0;
#pragma omp simd reduction(+ : dot)
        for (int64_t i = 0; i < n; ++i) dot += e[i] * d[i];
        g[a] = dot;
      }
    }
    for (int64_t a = 0; a < used; ++a) {  // R_ω = E − g dᵀ
      const scalar_t* e = error.data() + a * n;
      scalar_t* r = residual + rows[a] * n;
      const scalar_t ga = g[a];
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) r[i] = e[i] - ga * d[i];
    }
  }
}

/// The same update as tensor ops, for other devices.
void update_atoms_generic(torch::Tensor& atoms, torch::Tensor& residual, const Supports& s, int64_t steps) {
  for (int64_t j = 0; j + 1 < static_cast<int64_t>(s.offset.size()); ++j) {
    const int64_t used = s.offset[j + 1] - s.offset[j];
    if (used == 0) continue;
    const auto rows = s.users.narrow(0, s.offset[j], used);
    auto g = s.values.narrow(0, s.offset[j], used);
    auto atom = atoms[j];
    const auto error = residual.index_select(0, rows).addr_(g, atom);  // E = R_ω + g d_jᵀ
    torch::Tensor d;
    for (int64_t step = 0; step < steps; ++step) {
      d = torch::mv(error.t(), g);
      d.div_(torch::linalg_vector_norm(d, 2, c10::nullopt, false, c10::nullopt).clamp_min(1e-30));
      g = torch::mv(error, d);
    }
    atom.copy_(d);
    residual.index_copy_(0, rows, error.addr(g, d, 1, -1));
  }
}

}  // namespace

double ksvd_step(Problem& problem, LearnerState& state, int64_t t) {
  const auto& o = problem.options;
  const auto& y = problem.signals;
  const auto coded = pass_codes(problem, state);
  const auto& x = coded.codes;
  count_usage(state, x);
  auto fallback = restart_fallback(problem, state, coded.objective);
  const int64_t changed_before = state.replaced + state.swapped;

  auto residual = torch::addmm(y, x, state.atoms, 1, -1).contiguous();  // R = Y − X Dᵀ  [N, n]
  auto supports = group_by_atom(x);
  if (state.atoms.is_cpu()) {
    AT_DISPATCH_FLOATING_TYPES(y.scalar_type(), "ksvd_update_atoms", [&] {
      update_atoms_cpu<scalar_t>(state.atoms.data_ptr<scalar_t>(), residual.data_ptr<scalar_t>(),
                                 supports.users.data_ptr<int64_t>(), supports.values.data_ptr<scalar_t>(),
                                 supports.offset, y.size(1), o.ksvd_power_iterations());
    });
  } else {
    update_atoms_generic(state.atoms, residual, supports, o.ksvd_power_iterations());
  }

  // The codes after the update: X's support with the updated coefficients.
  auto updated = torch::zeros_like(x).t().contiguous();
  updated.masked_scatter_(x.t() != 0, supports.values);
  const auto spared = swap_atoms_if_enabled(problem, state, updated.t(), residual);
  replace_dead_atoms(problem, state, t, [&] { return residual; }, spared);
  restart_if_stalled(problem, state, coded.objective, std::move(fallback), state.replaced + state.swapped != changed_before,
                     updated.t(), residual);
  return coded.objective;
}

}  // namespace deepsc::dictlearn::detail
