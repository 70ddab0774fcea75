#pragma once
// Internal: the exact "Newton" step of the lasso on a fixed support and sign pattern, for the
// coordinate-descent kernel (coordinate_descent.cpp).
//
// On the orthant of a sign pattern σ over a support S (x_j = 0 off S), the lasso
//   F(x) = ½‖y − D x‖² + λ‖x‖₁
// is the quadratic ½ x_Sᵀ G_SS x_S − (c_S − λσ)ᵀ x_S + ½‖y‖² with G = DᵀD and c = Dᵀy, whose
// minimiser solves G_SS z = c_S − λσ. If sign(z) = σ, z is the minimiser of F over that orthant,
// so F(z) ≤ F(x) for every x in it, and z is the lasso solution when, in addition,
// |g_j| ≤ λ off S (g = c − G z). This is the step working-set solvers take on their support
// (Johnson & Guestrin 2015, blitz; Massias, Gramfort & Salmon 2018, celer) and the equicorrelation
// solve of the homotopy/LARS path (Osborne, Presnell & Turlach 2000; Efron et al. 2004). When
// some z_k leaves its orthant, the step goes from x towards z only up to the first coordinate that
// reaches zero (F decreases along the segment, a convex quadratic falling towards its minimiser)
// and that coordinate leaves the support, as in Lawson & Hanson's active-set method.
//
// Solved in float64 by a Cholesky factorisation of G_SS (|S| ≤ n, so at most n³/3 flops; on
// D [64, 256] a 20-atom support costs ~3k flops, less than one sweep of coordinate descent).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace deepsc::sparse::detail {

/// What a Newton step did to x.
enum class NewtonOutcome {
  Skipped,  // |S| = 0, |S| > n or G_SS numerically singular: x unchanged
  Exact,    // sign(z) = σ: x_S = z, the minimiser of F on the orthant
  Partial,  // x moved towards z to the first zero crossing, which left the support
};

/// Per-thread float64 buffers for supports of up to `capacity` atoms.
struct NewtonWorkspace {
  NewtonWorkspace(int64_t capacity, int64_t m)
      : factor(capacity * capacity), z(capacity), diagonal(capacity), column(capacity), kept(capacity), order(m) {}
  std::vector<double> factor;  // G_SS, then its Cholesky factor U (upper, row-major)
  std::vector<double> z;       // c_S − λσ, then the solution z
  std::vector<double> diagonal;  // the diagonal of G_SS, for the singularity test
  std::vector<double> column;    // null_space_step: L⁻¹ G_{S',a} of a candidate atom a
  std::vector<int64_t> kept;     // null_space_step: positions in the support of S'
  std::vector<int64_t> order;    // null_space_step: the support by decreasing |x_j|
};

/// In-place Cholesky factorisation A = Uᵀ U of the s × s symmetric matrix `a` (row-major, upper
/// triangle read and written), by outer-product updates along contiguous rows (no inner-product
/// reductions, so the updates vectorise). False when a pivot falls below 1e-12 of its diagonal
/// entry, i.e. G_SS is singular to float64 precision (atoms on S linearly dependent). Always
/// inlined, so that the AVX2 clone of the coordinate-descent kernel vectorises it.
inline __attribute__((always_inline)) bool cholesky_in_place(double* a, int64_t s, const double* diagonal) {
  for (int64_t k = 0; k < s; ++k) {
    double* row_k = a + k * s;
    const double pivot = row_k[k];
    if (!(pivot > 1e-12 * diagonal[k])) return false;
    const double root = std::sqrt(pivot), inv = 1.0 / root;
    row_k[k] = root;
#pragma omp simd
    for (int64_t j = k + 1; j < s; ++j) row_k[j] *= inv;
    for (int64_t i = k + 1; i < s; ++i) {
      double* row_i = a + i * s;
      const double u = row_k[i];
#pragma omp simd
      for (int64_t j = i; j < s; ++j) row_i[j] -= u * row_k[j];
    }
  }
  return true;
}

/// b ← (Uᵀ U)⁻¹ b for the factor of cholesky_in_place, both triangular solves by row updates.
inline __attribute__((always_inline)) void cholesky_solve(const double* u, int64_t s, double* b) {
  for (int64_t k = 0; k < s; ++k) {  // Uᵀ v = b: v_k is final once the rows above are applied
    const double* row = u + k * s;
    const double v = b[k] / row[k];
    b[k] = v;
#pragma omp simd
    for (int64_t j = k + 1; j < s; ++j) b[j] -= row[j] * v;
  }
  for (int64_t k = s - 1; k >= 0; --k) {  // U z = v, by inner products over the rows of U
    const double* row = u + k * s;
    double v = b[k];
#pragma omp simd reduction(- : v)
    for (int64_t j = k + 1; j < s; ++j) v -= row[j] * b[j];
    b[k] = v / row[k];
  }
}

/// One Newton step on the support `support[0..s)` of the row x (its non-zeros; σ = sign(x_S)).
/// gram: G [m, m] row-major; c: Dᵀy [m]; n: the signal dimension (|S| > n is singular). Moves x
/// in place and returns what it did; the caller re-derives the gradient afterwards.
template <typename scalar_t>
inline __attribute__((always_inline)) NewtonOutcome support_newton_step(const scalar_t* gram, const scalar_t* c, int64_t m, int64_t n, scalar_t lambda,
                                  const int64_t* support, int64_t s, scalar_t* x, NewtonWorkspace& w) {
  if (s == 0 || s > n) return NewtonOutcome::Skipped;
  double* a = w.factor.data();
  double* z = w.z.data();
  double* diagonal = w.diagonal.data();
  for (int64_t k = 0; k < s; ++k) {
    const scalar_t* row = gram + support[k] * m;
    for (int64_t l = k; l < s; ++l) a[k * s + l] = row[support[l]];
    diagonal[k] = a[k * s + k];
    const double sigma = x[support[k]] > 0 ? 1.0 : -1.0;
    z[k] = double(c[support[k]]) - double(lambda) * sigma;
  }
  if (!cholesky_in_place(a, s, diagonal)) return NewtonOutcome::Skipped;
  cholesky_solve(a, s, z);

  // The largest t ∈ [0, 1] with x + t(z − x) still in the orthant of σ.
  double t = 1.0;
  int64_t leaving = -1;
  for (int64_t k = 0; k < s; ++k) {
    const double xk = x[support[k]];
    if (xk > 0 ? z[k] > 0 : z[k] < 0) continue;
    const double reach = xk / (xk - z[k]);  // in (0, 1]: x_k and z_k − x_k have opposite signs
    if (leaving < 0 || reach < t) t = reach, leaving = k;
  }
  if (leaving < 0) {
    for (int64_t k = 0; k < s; ++k) x[support[k]] = static_cast<scalar_t>(z[k]);
    return NewtonOutcome::Exact;
  }
  for (int64_t k = 0; k < s; ++k) {
    const double xk = x[support[k]];
    scalar_t next = static_cast<scalar_t>(xk + t * (z[k] - xk));
    if (k == leaving || (xk > 0 ? next < 0 : next > 0)) next = 0;
    x[support[k]] = next;
  }
  return NewtonOutcome::Partial;
}

/// For a support larger than n (x of a row whose coordinate descent keeps n + 1 or more atoms,
/// which it can do for thousands of sweeps when the solution holds ~n atoms): a step along a null
/// vector v of D_S, which drops one atom without raising F. Since D v = 0, F(x + t v) − F(x) =
/// λ t σᵀv on the orthant, so with the sign of v chosen to make σᵀv ≤ 0, F does not grow up to
/// the first coordinate that reaches zero, where the step stops (the argument behind the lasso
/// solution having at most n atoms; Tibshirani 2013, "The lasso problem and uniqueness").
/// v: the atoms of S taken by decreasing |x_j| into a Cholesky factor of G_S'S' a row at a time;
/// the first atom a whose pivot falls below 1e-10 G_aa lies in the span of S' (with |S'| = n,
/// always), and v = (e_a, −G_S'S'⁻¹ G_S'a). Moves x in place; false when no atom was dependent.
template <typename scalar_t>
inline bool null_space_step(const scalar_t* gram, int64_t m, scalar_t lambda, const int64_t* support, int64_t s,
                            scalar_t* x, NewtonWorkspace& w) {
  (void)lambda;  // F changes by λ t σᵀv: only the sign of σᵀv matters
  const int64_t capacity = static_cast<int64_t>(w.z.size());
  int64_t* order = w.order.data();
  for (int64_t k = 0; k < s; ++k) order[k] = k;
  std::sort(order, order + s, [&](int64_t u, int64_t v) { return std::abs(x[support[u]]) > std::abs(x[support[v]]); });
  double* l = w.factor.data();  // lower, row-major, stride `capacity`
  double* col = w.column.data();
  int64_t r = 0, dependent = -1;
  for (int64_t o = 0; o < s && dependent < 0; ++o) {
    const int64_t a = support[order[o]];
    const scalar_t* row_a = gram + a * m;
    double pivot = row_a[a];
    for (int64_t k = 0; k < r; ++k) {  // col = L⁻¹ G_S'a
      const double* row_k = l + k * capacity;
      double v = row_a[support[w.kept[k]]];
      for (int64_t j = 0; j < k; ++j) v -= row_k[j] * col[j];
      col[k] = v / row_k[k];
      pivot -= col[k] * col[k];
    }
    if (r == capacity || !(pivot > 1e-10 * double(row_a[a]))) {
      dependent = order[o];
      break;
    }
    double* row_r = l + r * capacity;
    for (int64_t k = 0; k < r; ++k) row_r[k] = col[k];
    row_r[r] = std::sqrt(pivot);
    w.kept[r++] = order[o];
  }
  if (dependent < 0) return false;
  double* v = w.z.data();  // v_S' = −L⁻ᵀ col, by updates along the rows of L
  for (int64_t k = 0; k < r; ++k) v[k] = -col[k];
  for (int64_t k = r - 1; k >= 0; --k) {
    const double* row_k = l + k * capacity;
    v[k] /= row_k[k];
    for (int64_t j = 0; j < k; ++j) v[j] -= row_k[j] * v[k];
  }
  const auto sigma = [&](int64_t position) { return x[support[position]] > 0 ? 1.0 : -1.0; };
  double slope = sigma(dependent);  // σᵀv with v_a = 1
  for (int64_t k = 0; k < r; ++k) slope += sigma(w.kept[k]) * v[k];
  const double direction = slope > 0 ? -1.0 : 1.0;
  // The first coordinate to reach zero along direction·v.
  double t = std::abs(double(x[support[dependent]]));
  int64_t leaving = sigma(dependent) * direction < 0 ? dependent : -1;
  if (leaving < 0) t = std::numeric_limits<double>::infinity();
  for (int64_t k = 0; k < r; ++k) {
    const double step = direction * v[k], xk = x[support[w.kept[k]]];
    if (sigma(w.kept[k]) * step >= 0) continue;
    const double reach = -xk / step;
    if (reach < t) t = reach, leaving = w.kept[k];
  }
  if (leaving < 0) return false;
  for (int64_t k = 0; k < r; ++k) {
    const int64_t j = support[w.kept[k]];
    const double xk = x[j];
    scalar_t next = static_cast<scalar_t>(xk + t * direction * v[k]);
    if (w.kept[k] == leaving || (xk > 0 ? next < 0 : next > 0)) next = 0;
    x[j] = next;
  }
  const int64_t ja = support[dependent];
  const double xa = x[ja];
  scalar_t next = static_cast<scalar_t>(xa + t * direction);
  if (dependent == leaving || (xa > 0 ? next < 0 : next > 0)) next = 0;
  x[ja] = next;
  return true;
}

}  // namespace deepsc::sparse::detail
