#include "deepsc/sparse/coordinate_descent.h"

#include "support_newton_step.h"

#include "deepsc/core/output_buffer.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

namespace deepsc::sparse {

namespace {

void check_cd_options(const DenseDictionary& dict, const torch::Tensor& signals, const CoordinateDescentOptions& o) {
  if (!(o.lambda() >= 0)) throw std::invalid_argument("lambda must be >= 0");
  if (o.max_iter() < 1) throw std::invalid_argument("max_iter must be >= 1");
  if (!(o.tol() >= 0)) throw std::invalid_argument("tol must be >= 0");
  const auto opts = dict.tensor_options();
  if (!opts.device().is_cpu()) {
    throw std::invalid_argument("coordinate descent runs on CPU tensors, the dictionary is on " +
                                opts.device().str() + " (use fista there)");
  }
  const auto type = c10::typeMetaToScalarType(opts.dtype());
  if (type != torch::kFloat && type != torch::kDouble) {
    throw std::invalid_argument(std::string("coordinate descent needs a float32 or float64 dictionary, got ") +
                                c10::toString(type));
  }
  dict.check_signals(signals);
}

/// Everything the kernel reads and writes. The kernel derives each row's DᵀY and gradient in
/// per-thread buffers, so a solve allocates nothing of size N·m besides the codes: on the
/// reference VM a fresh 20 MB buffer costs ~80 ms in page faults, more than the arithmetic.
template <typename scalar_t>
struct Problem {
  const scalar_t* gram;      // G = DᵀD [m, m], symmetric, so row j is column j
  const scalar_t* diag;      // G_jj
  const scalar_t* inv_diag;  // 1 / G_jj, 0 for a zero atom
  const double* inv_diag64;  // the same in float64, for the stop test at a Newton point
  const scalar_t* atoms;     // D [n, m], row-major: row k holds the k-th entry of every atom
  const scalar_t* atoms_t;   // Dᵀ [m, n]: row j is atom j, for the residual y − D x
  const scalar_t* signals;   // Y [N, n]
  scalar_t* x;               // codes [N, m]: in, the start (when warm); out, the result
  double* objective;         // F(x) per row, out
  int64_t* sweeps;           // per row, out
  bool* converged;           // per row, out
  int64_t n, m;
  scalar_t lambda;
  scalar_t low;              // −λ, or −∞ with nonneg: the lower end of the interval S_λ maps to 0
  double tol;
  int64_t max_sweeps;
  bool warm, gap_rule, nonneg;
};

/// Per-thread buffers, sized for the largest support.
template <typename scalar_t>
struct CdWorkspace {
  explicit CdWorkspace(int64_t n, int64_t m)
      : c(m), g(m), order(m), natural(m), residual(n), exact_g(m), exact_x(m), active(m), active_gram(m * m + 1), active_g(m + 1),
        active_x(m), newton(std::min(n, m), m), scratch(m) {
    for (int64_t j = 0; j < m; ++j) natural[j] = j;
  }
  std::vector<scalar_t> c, g;              // Dᵀy and Dᵀ(y − D x) of the current row
  std::vector<int64_t> order;              // the first sweep's strongest atoms
  std::vector<int64_t> natural;            // 0, 1, …, m − 1
  std::vector<double> residual;            // y − D x, for the objective and the gap
  std::vector<double> exact_g;             // g accumulated in float64 by refresh_gradient
  std::vector<double> exact_x;             // the Newton point in float64, for its stop test
  std::vector<int64_t> active;             // A, the row's non-zeros
  std::vector<scalar_t> active_gram;       // G_AA, |A| × |A| (+ 1 slot of slack)
  std::vector<scalar_t> active_g, active_x;  // g_A (+ 1 slot of slack), x_A
  detail::NewtonWorkspace newton;            // the support's Newton step (support_newton_step.h)
  std::vector<int64_t> scratch;              // strongest_first's sorted order
};

/// S_λ(u) = u − clamp(u, −λ, λ) (one-sided, u − min(u, λ), with nonneg): exactly 0 for u in
/// [p.low, λ], u ∓ λ outside. In scalar_t, or in float64 for the stop test.
template <typename value_t, typename scalar_t>
inline __attribute__((always_inline)) value_t threshold_excess(const Problem<scalar_t>& p, value_t u) {
  return u - std::min(std::max(u, value_t(p.low)), value_t(p.lambda));
}

/// One coordinate minimisation: the new x_j given g_j (the caller updates g); 0 for a zero atom
/// (inv_diag 0: x_j only costs λ|x_j|).
template <typename scalar_t>
inline __attribute__((always_inline)) scalar_t coordinate_minimum(const Problem<scalar_t>& p, int64_t j, scalar_t g_j,
                                                                  scalar_t x_j) {
  return threshold_excess(p, g_j + p.diag[j] * x_j) * p.inv_diag[j];
}

/// F(x) and the duality gap of one row (lasso.h): the residual r = y − D x is formed in float64,
/// ν = s r with s = min(1, λ / ‖g‖∞), gap = F(x) − (s⟨y, r⟩ − ½ s² ‖r‖²).
template <typename scalar_t>
inline __attribute__((always_inline)) std::pair<double, double> objective_and_gap(const Problem<scalar_t>& p,
                                                                                   const scalar_t* y, const scalar_t* x,
                                                                                   CdWorkspace<scalar_t>& w) {
  const int64_t n = p.n, m = p.m;
  double* r = w.residual.data();
  for (int64_t k = 0; k < n; ++k) r[k] = y[k];
  double l1 = 0, worst = 0;
  for (int64_t j = 0; j < m; ++j) {
    worst = std::max(worst, p.nonneg ? double(w.g[j]) : std::abs(double(w.g[j])));
    const double xj = x[j];
    if (xj == 0) continue;
    l1 += std::abs(xj);
    const scalar_t* atom = p.atoms_t + j * n;
#pragma omp simd
    for (int64_t k = 0; k < n; ++k) r[k] -= xj * double(atom[k]);
  }
  double r2 = 0, yr = 0;
  for (int64_t k = 0; k < n; ++k) {
    r2 += r[k] * r[k];
    yr += double(y[k]) * r[k];
  }
  const double lambda = p.lambda;
  const double s = worst > lambda ? lambda / worst : 1.0;
  const double primal = 0.5 * r2 + lambda * l1;
  return {primal, primal - (s * yr - 0.5 * s * s * r2)};
}

/// g ← c − Σ_{x_j ≠ 0} x_j G_{j,:}: the exact gradient, replacing one that rounding has drifted,
/// accumulated in float64 (a Newton step's point is checked against λ through it).
template <typename scalar_t>
inline __attribute__((always_inline)) void refresh_gradient(const Problem<scalar_t>& p, const scalar_t* x,
                                                            CdWorkspace<scalar_t>& w) {
  const int64_t m = p.m;
  double* acc = w.exact_g.data();
  const scalar_t* c = w.c.data();
#pragma omp simd
  for (int64_t k = 0; k < m; ++k) acc[k] = c[k];
  for (int64_t j = 0; j < m; ++j) {
    const double xj = x[j];
    if (xj == 0) continue;
    const scalar_t* gj = p.gram + j * m;
#pragma omp simd
    for (int64_t k = 0; k < m; ++k) acc[k] -= xj * double(gj[k]);
  }
  scalar_t* g = w.g.data();
#pragma omp simd
  for (int64_t k = 0; k < m; ++k) g[k] = static_cast<scalar_t>(acc[k]);
}

/// After an exact Newton step, whose float64 solution z sits on `support[0..s)`: sets g (and its
/// float64 copy) to the gradient at z, and says whether the stop rule holds at that point rather
/// than after a sweep. The change rule: the largest step any single coordinate minimisation would
/// take from z, in float64, against tol·max_j |z_j|; the gap rule: the gap of the stored codes x
/// against tol·F(x) (sets `objective`). The change rule is judged at z, not at x = z rounded to
/// float32: on an ill-conditioned support (~60 atoms in 64 dimensions) that rounding alone moves
/// the next coordinate steps by more than 1e-6·max|x|, as does the rounding of g in a float32
/// sweep for rows whose codes are ~1e-3; no float32 point meets the rule there, its minimiser does.
template <typename scalar_t>
inline __attribute__((always_inline)) bool stop_rule_holds_at_newton_point(const Problem<scalar_t>& p,
                                                                           const scalar_t* y, const scalar_t* x,
                                                                           const int64_t* support, int64_t s,
                                                                           const double* z, CdWorkspace<scalar_t>& w,
                                                                           double& objective) {
  const int64_t m = p.m;
  double* acc = w.exact_g.data();
  double* at = w.exact_x.data();
  const scalar_t* c = w.c.data();
#pragma omp simd
  for (int64_t k = 0; k < m; ++k) acc[k] = c[k], at[k] = 0;
  for (int64_t k = 0; k < s; ++k) {
    const double zk = z[k];
    at[support[k]] = zk;
    const scalar_t* gj = p.gram + support[k] * m;
#pragma omp simd
    for (int64_t l = 0; l < m; ++l) acc[l] -= zk * double(gj[l]);
  }
  scalar_t* g = w.g.data();
#pragma omp simd
  for (int64_t k = 0; k < m; ++k) g[k] = static_cast<scalar_t>(acc[k]);
  if (p.gap_rule) {
    const auto [primal, gap] = objective_and_gap(p, y, x, w);
    objective = primal;
    return gap <= p.tol * std::abs(primal);
  }
  // Branch-free, so that it vectorises: the coordinate minimisation of x_j = at[j] is
  // S_λ(u) / G_jj with u = g_j + G_jj x_j, in float64.
  double max_step = 0, max_x = 0;
  const double* inv = p.inv_diag64;
  const scalar_t* diag = p.diag;
#pragma omp simd reduction(max : max_step, max_x)
  for (int64_t j = 0; j < m; ++j) {
    const double xj = at[j];
    const double next = threshold_excess(p, acc[j] + double(diag[j]) * xj) * inv[j];
    const double size = std::abs(next), step = std::abs(next - xj);
    max_x = size > max_x ? size : max_x;
    max_step = step > max_step ? step : max_step;
  }
  return max_step <= p.tol * max_x;
}

/// One sweep over coordinates `order[0..count)` with the full g. Returns the largest |Δx_j| and
/// the largest |x_j| seen.
template <typename scalar_t>
inline __attribute__((always_inline)) std::pair<scalar_t, scalar_t> sweep(const Problem<scalar_t>& p, const int64_t* order,
                                                                           int64_t count, scalar_t* x, scalar_t* g) {
  const int64_t m = p.m;
  scalar_t max_step = 0, max_x = 0;
  for (int64_t o = 0; o < count; ++o) {
    const int64_t j = order[o];
    const scalar_t old = x[j];
    // A zero x_j whose g_j lies in [−λ, λ] ([−∞, λ] with nonneg) stays zero: the common case of a
    // full sweep, decided without the minimisation (which gives exactly 0 there).
    if (old == 0 && g[j] <= p.lambda && g[j] >= p.low) continue;
    const scalar_t next = coordinate_minimum(p, j, g[j], old);
    max_x = std::max(max_x, std::abs(next));
    if (next == old) continue;
    const scalar_t step = next - old;
    x[j] = next;
    max_step = std::max(max_step, std::abs(step));
    const scalar_t* gj = p.gram + j * m;
#pragma omp simd
    for (int64_t k = 0; k < m; ++k) g[k] -= step * gj[k];
  }
  return {max_step, max_x};
}

/// Sweeps over the support A alone, g_A kept through G_AA (|A|² work per sweep instead of |A|·m),
/// until the largest step is at most `tol`·max|x_A| or `budget` sweeps are spent. Returns the
/// sweeps run.
template <typename scalar_t>
inline __attribute__((always_inline)) int64_t active_sweeps(const Problem<scalar_t>& p, CdWorkspace<scalar_t>& w, int64_t s,
                                                            double tol, int64_t budget) {
  int64_t sweeps = 0;
  while (sweeps < budget) {
    ++sweeps;
    scalar_t max_step = 0, max_x = 0;
    scalar_t* ga = w.active_g.data();
    scalar_t* xa = w.active_x.data();
    const scalar_t* gram = w.active_gram.data();
    // The sweep is one chain of dependent coordinate minimisations, so its speed is the latency
    // of one link: g_k → u = g_k + G_kk x_k → e = u − clamp(u, −λ, λ) → g_{k+1}. The next gradient
    // travels in a register (formed before the update of all of g_A is stored, and as
    // (g_{k+1} + x_k G_k,k+1) − e (G_k,k+1 / G_kk), whose other terms do not wait on e); the new
    // x_k = e / G_kk and the step come off the chain. Measured on D [64, 256], one thread: the
    // register alone took 12% off the active phase, the shorter link 7% off the whole solve on
    // image patches (a tie on sparse-generated signals). ga and active_gram have one slot of
    // slack for the read past the end.
    scalar_t g_k = ga[0];
    for (int64_t k = 0; k < s; ++k) {
      const int64_t j = w.active[k];
      const scalar_t old = xa[k], inv = p.inv_diag[j], coupling = gram[k * s + k + 1];
      const scalar_t u = g_k + p.diag[j] * old;
      const scalar_t excess = threshold_excess(p, u);
      const scalar_t next = excess * inv;  // 0 for a zero atom (inv = 0)
      max_x = std::max(max_x, std::abs(next));
      if (next == old) {
        g_k = ga[k + 1];
        continue;
      }
      const scalar_t step = next - old;
      xa[k] = next;
      max_step = std::max(max_step, std::abs(step));
      g_k = (ga[k + 1] + old * coupling) - excess * (inv * coupling);
      const scalar_t* gk = gram + k * s;
#pragma omp simd
      for (int64_t l = 0; l < s; ++l) ga[l] -= step * gk[l];
    }
    if (max_step <= tol * max_x) break;
  }
  return sweeps;
}

/// The atoms a first sweep from x = 0 visits before the others: those with
/// |c_j| > max(λ, ¼·max_k |c_k|), strongest first. The strongest atoms then explain the signal
/// before weaker, correlated ones enter the support only to leave it again (measured on
/// D [64, 256], λ = 0.1: in natural order the first support was four times the final one, and the
/// solve 2× slower). "Strongest first" is by 8 bands of |c_j| between the cut and the peak, in a
/// stable counting sort: as good as a full sort here, without its ~5k cycles of mispredicted
/// comparisons per row (the front holds ~50 atoms). Returns how many atoms were put at the front
/// of `w.order`.
template <typename scalar_t>
int64_t strongest_first(const Problem<scalar_t>& p, CdWorkspace<scalar_t>& w) {
  constexpr int kBands = 8;
  const scalar_t* c = w.c.data();
  scalar_t peak = 0;
  for (int64_t j = 0; j < p.m; ++j) peak = std::max(peak, std::abs(c[j]));
  const scalar_t cut = std::max<scalar_t>(p.lambda, scalar_t(0.25) * peak);
  int64_t front = 0;
  for (int64_t j = 0; j < p.m; ++j) {
    w.order[front] = j;
    front += std::abs(c[j]) > cut;  // branch-free: the comparison is unpredictable
  }
  if (front < 2) return front;
  int64_t start[kBands + 1] = {0};
  int64_t* band = w.active.data();  // the band of each front atom (w.active is free until the sweep)
  const scalar_t scale = kBands / (peak - cut);
  for (int64_t k = 0; k < front; ++k) {
    const int above = std::min(kBands - 1, static_cast<int>((std::abs(c[w.order[k]]) - cut) * scale));
    band[k] = kBands - 1 - above;  // band 0 holds the strongest atoms
    ++start[band[k] + 1];
  }
  for (int b = 0; b < kBands; ++b) start[b + 1] += start[b];
  int64_t* sorted = w.scratch.data();
  for (int64_t k = 0; k < front; ++k) sorted[start[band[k]]++] = w.order[k];
  std::copy(sorted, sorted + front, w.order.begin());
  return front;
}

/// Most sweeps one active-set phase may run before a full sweep with an exact gradient.
constexpr int64_t kActiveSweepsPerPhase = 100;
/// The first active phase's tolerance (relative change). It only has to settle the support's
/// signs for the Newton step: measured on D [64, 256], λ = 0.1, 1e-2 leaves more Newton steps
/// that cross zero, 1e-4 spends more sweeps on the support; 1e-3 was the cheapest overall.
constexpr double kFirstActiveTol = 1e-3;

/// Solves one row to its stop: a sweep over all m coordinates finds the support and checks the
/// stop rule; sweeps over the support alone (glmnet-style, g_A through G_AA) settle its signs;
/// a Newton step (support_newton_step.h) then lands on the minimiser of F on that orthant, and
/// the row stops there when the stop rule holds at that point (stop_rule_holds_at_newton_point). Otherwise g
/// is re-derived exactly and the next full sweep adds the atoms that violate |g_j| ≤ λ.
/// Rows with ~60 atoms in 64 dimensions (high-contrast image patches), whose G_AA is
/// ill-conditioned, did not meet the relative-change rule in 100,000 sweeps of coordinate
/// descent alone; the Newton step ends them in a few rounds.
template <typename scalar_t>
inline __attribute__((always_inline)) void solve_row(const Problem<scalar_t>& p, int64_t i, CdWorkspace<scalar_t>& w) {
  const int64_t n = p.n, m = p.m;
  const scalar_t* y = p.signals + i * n;
  scalar_t* x = p.x + i * m;
  scalar_t* c = w.c.data();
  scalar_t* g = w.g.data();
  // c = Dᵀy as n rows of D scaled by y_k, all contiguous.
  std::fill(c, c + m, scalar_t(0));
  for (int64_t k = 0; k < n; ++k) {
    const scalar_t yk = y[k];
    const scalar_t* row = p.atoms + k * m;
#pragma omp simd
    for (int64_t j = 0; j < m; ++j) c[j] += yk * row[j];
  }
  if (p.warm) {
    refresh_gradient(p, x, w);
  } else {
    std::fill(x, x + m, scalar_t(0));
    std::copy(c, c + m, g);
  }

  // The active phase's tolerance starts loose and tightens (down to tol with the change rule)
  // after each round whose Newton step crossed zero or could not be taken.
  const double inner_floor = p.gap_rule ? 8 * double(std::numeric_limits<scalar_t>::epsilon()) : p.tol;
  double inner_tol = std::max(kFirstActiveTol, inner_floor);
  bool done = false;
  int64_t sweeps = 0;
  double objective = 0;
  while (sweeps < p.max_sweeps) {
    ++sweeps;
    scalar_t max_step = 0, max_x = 0;
    if (sweeps == 1 && !p.warm) {
      // Visiting an atom twice in a sweep is still coordinate descent, so the strongest atoms
      // simply go first, then every atom in order.
      const auto front = sweep(p, w.order.data(), strongest_first(p, w), x, g);
      const auto rest = sweep(p, w.natural.data(), m, x, g);
      max_step = std::max(front.first, rest.first);
      max_x = std::max(front.second, rest.second);
    } else {
      std::tie(max_step, max_x) = sweep(p, w.natural.data(), m, x, g);
    }
    if (p.gap_rule) {
      const auto [primal, gap] = objective_and_gap(p, y, x, w);
      objective = primal;
      done = gap <= p.tol * std::abs(primal);
    } else {
      done = max_step <= p.tol * max_x;
    }
    if (done || sweeps >= p.max_sweeps) break;

    int64_t s = 0;
    for (int64_t j = 0; j < m; ++j) {  // branch-free: which x_j are zero is unpredictable
      w.active[s] = j;
      s += x[j] != 0;
    }
    if (s == 0) continue;
    for (int64_t k = 0; k < s; ++k) {
      const scalar_t* row = p.gram + w.active[k] * m;
      for (int64_t l = 0; l < s; ++l) w.active_gram[k * s + l] = row[w.active[l]];
      w.active_g[k] = g[w.active[k]];
      w.active_x[k] = x[w.active[k]];
    }
    // A bounded phase: g_A is updated incrementally, so a long phase would let rounding drift
    // it away from the true gradient (the next full sweep starts from an exact g).
    sweeps += active_sweeps(p, w, s, inner_tol, std::min<int64_t>(kActiveSweepsPerPhase, p.max_sweeps - sweeps));
    int64_t kept = 0;  // the support after the phase, which may have dropped atoms
    for (int64_t k = 0; k < s; ++k) {
      x[w.active[k]] = w.active_x[k];
      if (w.active_x[k] != 0) w.active[kept++] = w.active[k];
    }
    // Newton steps until one is exact; each one that crosses zero drops an atom from the support
    // (Lawson & Hanson's loop), and so does a null-space step while the support has more than n
    // atoms. Each counts as one sweep: it costs less than one.
    auto outcome = detail::NewtonOutcome::Skipped;
    while (sweeps < p.max_sweeps) {
      outcome = detail::support_newton_step(p.gram, c, m, n, p.lambda, w.active.data(), kept, x, w.newton);
      if (outcome == detail::NewtonOutcome::Skipped &&
          !(kept > n && detail::null_space_step(p.gram, m, p.lambda, w.active.data(), kept, x, w.newton)))
        break;
      ++sweeps;
      if (outcome == detail::NewtonOutcome::Exact) break;
      int64_t left = 0;
      for (int64_t k = 0; k < kept; ++k)
        if (x[w.active[k]] != 0) w.active[left++] = w.active[k];
      kept = left;
    }
    if (outcome != detail::NewtonOutcome::Exact) {
      refresh_gradient(p, x, w);
    } else if (stop_rule_holds_at_newton_point(p, y, x, w.active.data(), kept, w.newton.z.data(), w, objective)) {
      done = true;
      break;
    }
    // An exact step that failed only off the support needs no tighter phase: the next sweep adds
    // the atoms it lacks.
    if (outcome != detail::NewtonOutcome::Exact) inner_tol = std::max(inner_tol * 0.1, inner_floor);
  }
  if (!p.gap_rule) objective = objective_and_gap(p, y, x, w).first;
  p.objective[i] = objective;
  p.sweeps[i] = sweeps;
  p.converged[i] = done;
}

/// Rows a thread claims at a time. Rows differ in cost by 100× and more (a 60-atom patch against
/// an 8-atom one), so threads claim small blocks from a shared counter instead of each taking a
/// fixed half; which thread solves a row does not change its result.
constexpr int64_t kRowBlock = 32;

/// One thread's share: blocks of rows claimed from `next` until all `count` rows are taken, with
/// one workspace for all of them.
template <typename scalar_t>
inline __attribute__((always_inline)) void solve_rows(const Problem<scalar_t>& p, std::atomic<int64_t>& next,
                                                      int64_t count) {
  CdWorkspace<scalar_t> w(p.n, p.m);
  for (int64_t begin = next.fetch_add(kRowBlock); begin < count; begin = next.fetch_add(kRowBlock)) {
    const int64_t end = std::min(begin + kRowBlock, count);
    for (int64_t i = begin; i < end; ++i) solve_row(p, i, w);
  }
}

// Compiled for AVX2+FMA and for the baseline, chosen at load time (the build targets generic
// x86-64, which would leave the O(m) updates at SSE2 width).
__attribute__((target_clones("avx2,fma", "default"))) void solve_rows_f32(const Problem<float>& p,
                                                                            std::atomic<int64_t>& next, int64_t count) {
  solve_rows(p, next, count);
}
__attribute__((target_clones("avx2,fma", "default"))) void solve_rows_f64(const Problem<double>& p,
                                                                            std::atomic<int64_t>& next, int64_t count) {
  solve_rows(p, next, count);
}
void solve_rows_any(const Problem<float>& p, std::atomic<int64_t>& next, int64_t count) {
  solve_rows_f32(p, next, count);
}
void solve_rows_any(const Problem<double>& p, std::atomic<int64_t>& next, int64_t count) {
  solve_rows_f64(p, next, count);
}

}  // namespace

SolverResult coordinate_descent(const DenseDictionary& dict, const torch::Tensor& signals,
                                const CoordinateDescentOptions& o) {
  check_cd_options(dict, signals, o);
  torch::NoGradGuard no_grad;
  const int64_t count = signals.size(0), m = dict.num_atoms();
  const auto opts = signals.options();

  torch::Tensor x;
  const bool warm = o.warm_start().defined();
  if (warm) {
    if (o.warm_start().sizes() != c10::IntArrayRef{count, m}) {
      std::ostringstream msg;
      msg << "warm start has shape " << o.warm_start().sizes() << ", expected [" << count << ", " << m << "]";
      throw std::invalid_argument(msg.str());
    }
    x = o.warm_start().to(opts).clone(at::MemoryFormat::Contiguous);
    if (o.nonneg()) x.clamp_min_(0);
  } else {
    x = empty_output({count, m}, opts);  // every row is zeroed by the kernel
  }

  const auto gram = dict.gram().contiguous();                                     // [m, m]
  const auto diag = gram.diagonal().contiguous();                                 // [m]
  const auto inv_diag = torch::where(diag > 0, diag.reciprocal(), torch::zeros_like(diag)).contiguous();
  const auto diag64 = diag.to(torch::kDouble);
  const auto inv_diag64 = torch::where(diag64 > 0, diag64.reciprocal(), torch::zeros_like(diag64)).contiguous();
  const auto atoms = dict.matrix().contiguous();                                  // [n, m]
  const auto atoms_t = atoms.t().contiguous();                                    // [m, n]
  const auto y = signals.contiguous();                                            // [N, n]
  auto objective = torch::empty({count}, torch::kDouble);
  auto sweeps = torch::zeros({count}, torch::kLong);
  auto converged = torch::zeros({count}, torch::kBool);

  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "coordinate_descent", [&] {
    Problem<scalar_t> p{gram.data_ptr<scalar_t>(),
                        diag.data_ptr<scalar_t>(),
                        inv_diag.data_ptr<scalar_t>(),
                        inv_diag64.data_ptr<double>(),
                        atoms.data_ptr<scalar_t>(),
                        atoms_t.data_ptr<scalar_t>(),
                        y.data_ptr<scalar_t>(),
                        x.data_ptr<scalar_t>(),
                        objective.data_ptr<double>(),
                        sweeps.data_ptr<int64_t>(),
                        converged.data_ptr<bool>(),
                        dict.signal_dim(),
                        m,
                        static_cast<scalar_t>(o.lambda()),
                        o.nonneg() ? -std::numeric_limits<scalar_t>::infinity() : -static_cast<scalar_t>(o.lambda()),
                        o.tol(),
                        o.max_iter(),
                        warm,
                        o.stop_rule() == StopRule::DualityGap,
                        o.nonneg()};
    // One task per thread (at most one per block); each then claims blocks until none are left.
    std::atomic<int64_t> next{0};
    const int64_t blocks = (count + kRowBlock - 1) / kRowBlock;
    at::parallel_for(0, blocks, 1, [&](int64_t, int64_t) { solve_rows_any(p, next, count); });
  });

  SolverResult result;
  result.codes = x;
  if (count == 0) {
    result.converged = true;
    return result;
  }
  result.iterations = sweeps.max().item<int64_t>();
  result.converged = converged.all().item<bool>();
  result.objective = objective.mean().item<double>();
  return result;
}

}  // namespace deepsc::sparse
