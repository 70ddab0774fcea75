#include "proximal_update.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

namespace deepsc::sparse::detail {

namespace {

/// Everything one row-range of the fused kernel reads and writes.
template <typename scalar_t>
struct RowArgs {
  scalar_t* v;
  const scalar_t* x;
  scalar_t* z;
  double* t;
  double* change;
  double* norm;
  int64_t cols;
  scalar_t tau;
  bool nonneg, accelerate, restart;
};

/// Rows [begin, end) of the fused update. Branch-free selects and `omp simd` reductions let the
/// compiler vectorise both passes (built with -fopenmp-simd; no OpenMP runtime involved).
template <typename scalar_t>
inline __attribute__((always_inline)) void update_rows(const RowArgs<scalar_t>& a, int64_t begin, int64_t end) {
  const scalar_t tau = a.tau;
  for (int64_t i = begin; i < end; ++i) {
    scalar_t* vr = a.v + i * a.cols;
    const scalar_t* xr = a.x + i * a.cols;
    scalar_t* zr = a.z + i * a.cols;
    scalar_t change = 0, norm = 0, restart_dot = 0;
    // Pass 1: shrink in place and gather the row's statistics.
    if (a.nonneg) {
#pragma omp simd reduction(+ : change, norm, restart_dot)
      for (int64_t j = 0; j < a.cols; ++j) {
        const scalar_t up = vr[j] - tau;
        const scalar_t xn = up > 0 ? up : scalar_t(0);
        const scalar_t d = xn - xr[j];
        vr[j] = xn;
        change += d * d;
        norm += xn * xn;
        restart_dot += (zr[j] - xn) * d;
      }
    } else {
#pragma omp simd reduction(+ : change, norm, restart_dot)
      for (int64_t j = 0; j < a.cols; ++j) {
        const scalar_t up = vr[j] - tau, down = vr[j] + tau;
        const scalar_t xn = (up > 0 ? up : scalar_t(0)) + (down < 0 ? down : scalar_t(0));
        const scalar_t d = xn - xr[j];
        vr[j] = xn;
        change += d * d;
        norm += xn * xn;
        restart_dot += (zr[j] - xn) * d;
      }
    }
    a.change[i] = change;
    a.norm[i] = norm;
    if (!a.accelerate) continue;
    // Pass 2: momentum, with the row's own restart.
    double ti = a.t[i];
    if (a.restart && restart_dot > 0) ti = 1;
    const double t_next = 0.5 * (1 + std::sqrt(1 + 4 * ti * ti));
    const auto beta = static_cast<scalar_t>((ti - 1) / t_next);
    a.t[i] = t_next;
#pragma omp simd
    for (int64_t j = 0; j < a.cols; ++j) zr[j] = vr[j] + beta * (vr[j] - xr[j]);
  }
}

// Compiled for AVX2+FMA and for the baseline, chosen at load time: the project builds for generic
// x86-64, which would otherwise leave this kernel at SSE2 width.
__attribute__((target_clones("avx2,fma", "default"))) void update_rows_f32(const RowArgs<float>& a, int64_t b,
                                                                             int64_t e) {
  update_rows(a, b, e);
}
__attribute__((target_clones("avx2,fma", "default"))) void update_rows_f64(const RowArgs<double>& a, int64_t b,
                                                                             int64_t e) {
  update_rows(a, b, e);
}
void update_rows_any(const RowArgs<float>& a, int64_t b, int64_t e) { update_rows_f32(a, b, e); }
void update_rows_any(const RowArgs<double>& a, int64_t b, int64_t e) { update_rows_f64(a, b, e); }

template <typename scalar_t>
void fused_cpu(const ProximalUpdate& u, torch::Tensor& v, const torch::Tensor& x_old, torch::Tensor& z,
               torch::Tensor& t, torch::Tensor& change_sq, torch::Tensor& norm_sq) {
  RowArgs<scalar_t> args{v.data_ptr<scalar_t>(),
                         x_old.data_ptr<scalar_t>(),
                         z.data_ptr<scalar_t>(),
                         u.accelerate ? t.data_ptr<double>() : nullptr,
                         change_sq.data_ptr<double>(),
                         norm_sq.data_ptr<double>(),
                         v.size(1),
                         static_cast<scalar_t>(u.threshold),
                         u.nonneg,
                         u.accelerate,
                         u.restart};
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(args.cols, 1));
  at::parallel_for(0, v.size(0), grain, [&](int64_t begin, int64_t end) { update_rows_any(args, begin, end); });
}

void generic(const ProximalUpdate& u, torch::Tensor& v, const torch::Tensor& x_old, torch::Tensor& z, torch::Tensor& t,
             torch::Tensor& change_sq, torch::Tensor& norm_sq) {
  auto x_new = u.nonneg ? torch::relu(v - u.threshold)
                        : torch::relu(v - u.threshold) - torch::relu(-v - u.threshold);
  auto diff = x_new - x_old;
  change_sq.copy_(diff.square().sum(1));
  norm_sq.copy_(x_new.square().sum(1));
  if (u.accelerate) {
    auto ti = t;
    if (u.restart) {
      auto restart_dot = ((z - x_new) * diff).sum(1).to(torch::kDouble);
      ti = torch::where(restart_dot > 0, torch::ones_like(t), t);
    }
    auto t_next = 0.5 * (1 + torch::sqrt(1 + 4 * ti.square()));
    auto beta = ((ti - 1) / t_next).to(v.scalar_type()).unsqueeze(1);
    t.copy_(t_next);
    z.copy_(x_new + beta * diff);
  }
  v.copy_(x_new);
}

}  // namespace

void proximal_update(const ProximalUpdate& u, torch::Tensor& v, const torch::Tensor& x_old, torch::Tensor& z,
                     torch::Tensor& t, torch::Tensor& change_sq, torch::Tensor& norm_sq) {
  const bool can_fuse = u.fused && v.device().is_cpu() && v.is_contiguous() && x_old.is_contiguous() &&
                        z.is_contiguous() && (v.scalar_type() == torch::kFloat || v.scalar_type() == torch::kDouble);
  if (!can_fuse) {
    generic(u, v, x_old, z, t, change_sq, norm_sq);
    return;
  }
  AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "proximal_update", [&] {
    fused_cpu<scalar_t>(u, v, x_old, z, t, change_sq, norm_sq);
  });
}

}  // namespace deepsc::sparse::detail
