// Online dictionary learning (Mairal, Bach, Ponce & Sapiro 2009, ICML; 2010, JMLR 11:19–60),
// Algorithm 1 with the mini-batch extension and past weighting of section 3.4.
//
// Per mini-batch Y_t [B, n]: lasso codes X_t [B, m] with D_{t−1}; the sufficient statistics of the
// surrogate (1/t) Σ_s ½‖y_s − D x_s‖² + λ‖x_s‖₁,
//   A_t = β_t A_{t−1} + X_tᵀ X_t   [m, m],       Bᵀ_t = β_t Bᵀ_{t−1} + X_tᵀ Y_t   [m, n],
// with θ_t = tB if t < B, else B² + t − B, and β_t = (θ_t + 1 − B)/(θ_t + 1) (section 3.4.2:
// early batches, coded with a poor dictionary, weigh less); then one pass of block-coordinate
// descent over the atoms (Algorithm 2), warm-started from D_{t−1}:
//   u_j = (b_j − D a_j)/A_jj + d_j,   d_j = u_j/‖u_j‖₂.
// The surrogate is isotropic in d_j (Hessian A_jj I), so u_j/‖u_j‖ is its exact minimiser over the
// unit sphere (the paper projects onto the ball; unit-norm atoms are the convention here).

#include "learner_internal.h"

#include <ATen/Dispatch.h>

#include <cmath>
#include <limits>
#include <vector>

namespace deepsc::dictlearn::detail {

namespace {

/// One Gauss–Seidel pass over the rows of Dᵀ [m, n] (CPU, contiguous). An atom whose A_jj is at
/// rounding level (no signal has used it yet) is left as it is.
template <typename scalar_t>
void update_atoms_cpu(scalar_t* atoms, const scalar_t* a, const scalar_t* b, int64_t m, int64_t n) {
  scalar_t largest = 0;
  for (int64_t j = 0; j < m; ++j) largest = std::max(largest, a[j * m + j]);
  const scalar_t floor = static_cast<scalar_t>(m) * std::numeric_limits<scalar_t>::epsilon() * largest;
  std::vector<scalar_t> u(static_cast<size_t>(n));
  scalar_t* uj = u.data();
  for (int64_t j = 0; j < m; ++j) {
    const scalar_t ajj = a[j * m + j];
    if (!(ajj > floor)) continue;
    const scalar_t* bj = b + j * n;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) uj[i] = bj[i];
    // u = b_j − D a_j: a sum of atoms weighted by row j of A (A is symmetric).
    const scalar_t* aj = a + j * m;
    for (int64_t k = 0; k < m; ++k) {
      const scalar_t c = aj[k];
      if (c == 0) continue;
      const scalar_t* dk = atoms + k * n;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) uj[i] -= c * dk[i];
    }
    scalar_t* dj = atoms + j * n;
    const scalar_t inv_ajj = scalar_t(1) / ajj;
    scalar_t norm2 = 0;
#pragma omp simd reduction(+ : norm2)
    for (int64_t i = 0; i < n; ++i) {
      uj[i] = uj[i] * inv_ajj + dj[i];
      norm2 += uj[i] * uj[i];
    }
    if (!(norm2 > 0)) continue;
    const scalar_t scale = scalar_t(1) / std::sqrt(norm2);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) dj[i] = uj[i] * scale;
  }
}

/// The same pass as tensor ops, for other devices (no host synchronisation).
void update_atoms_generic(torch::Tensor& atoms, const torch::Tensor& a, const torch::Tensor& b) {
  const int64_t m = atoms.size(0);
  const double eps = atoms.scalar_type() == torch::kDouble ? std::numeric_limits<double>::epsilon()
                                                           : std::numeric_limits<float>::epsilon();
  const auto floor = a.diagonal().max() * (static_cast<double>(m) * eps);
  for (int64_t j = 0; j < m; ++j) {
    const auto ajj = a[j][j];
    auto dj = atoms[j];
    auto u = torch::addmv(b[j], atoms.t(), a[j], 1, -1).div_(ajj.clamp_min(floor)).add_(dj);
    const auto norm = torch::linalg_vector_norm(u, 2, c10::nullopt, false, c10::nullopt);
    const auto keep = (ajj <= floor) | (norm == 0);
    dj.copy_(torch::where(keep, dj, u / norm.clamp_min(1e-30)));
  }
}

void update_atoms(torch::Tensor& atoms, const torch::Tensor& a, const torch::Tensor& b) {
  if (!atoms.is_cpu()) return update_atoms_generic(atoms, a, b);
  AT_DISPATCH_FLOATING_TYPES(atoms.scalar_type(), "online_update_atoms", [&] {
    update_atoms_cpu<scalar_t>(atoms.data_ptr<scalar_t>(), a.data_ptr<scalar_t>(), b.data_ptr<scalar_t>(),
                               atoms.size(0), atoms.size(1));
  });
}

}  // namespace

double online_step(Problem& problem, LearnerState& state, int64_t t) {
  const auto& o = problem.options;
  const auto y = problem.batch_signals(t);
  const auto coded = training_codes(*dictionary_of(state.atoms), y, o);

  const auto& x = coded.codes;
  count_usage(state, x);

  // Past weighting of section 3.4.2, with the paper's 1-based t and η = B.
  const double batch = static_cast<double>(problem.batch), step = static_cast<double>(t + 1);
  const double theta = step < batch ? step * batch : batch * batch + step - batch;
  const double beta = (theta + 1 - batch) / (theta + 1);
  const auto xt = x.t();
  state.stats_a.addmm_(xt, x, beta, 1);
  state.stats_b.addmm_(xt, y, beta, 1);
  update_atoms(state.atoms, state.stats_a, state.stats_b);

  replace_dead_atoms(problem, state, t, [&] { return torch::addmm(y, x, state.atoms, 1, -1); });
  return coded.objective;
}

}  // namespace deepsc::dictlearn::detail
