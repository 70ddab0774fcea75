#include "proximal_update.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

namespace deepsc::sparse::detail {

namespace {

template <typename scalar_t>
void fused_cpu(const ProximalUpdate& u, torch::Tensor& v, const torch::Tensor& x_old, torch::Tensor& z,
               torch::Tensor& t, torch::Tensor& change_sq, torch::Tensor& norm_sq) {
  const int64_t rows = v.size(0), cols = v.size(1);
  scalar_t* vp = v.data_ptr<scalar_t>();
  const scalar_t* xp = x_old.data_ptr<scalar_t>();
  scalar_t* zp = z.data_ptr<scalar_t>();
  double* tp = u.accelerate ? t.data_ptr<double>() : nullptr;
  double* cp = change_sq.data_ptr<double>();
  double* np = norm_sq.data_ptr<double>();
  const auto tau = static_cast<scalar_t>(u.threshold);
  const scalar_t zero = 0;
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(cols, 1));

  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      scalar_t* vr = vp + i * cols;
      const scalar_t* xr = xp + i * cols;
      scalar_t* zr = zp + i * cols;
      scalar_t change = 0, norm = 0, restart_dot = 0;
      // Pass 1: shrink in place and gather the row's statistics (branch-free, so it vectorises).
      if (u.nonneg) {
        for (int64_t j = 0; j < cols; ++j) {
          const scalar_t xn = std::max(vr[j] - tau, zero);
          const scalar_t d = xn - xr[j];
          vr[j] = xn;
          change += d * d;
          norm += xn * xn;
          restart_dot += (zr[j] - xn) * d;
        }
      } else {
        for (int64_t j = 0; j < cols; ++j) {
          const scalar_t xn = std::max(vr[j] - tau, zero) + std::min(vr[j] + tau, zero);
          const scalar_t d = xn - xr[j];
          vr[j] = xn;
          change += d * d;
          norm += xn * xn;
          restart_dot += (zr[j] - xn) * d;
        }
      }
      cp[i] = change;
      np[i] = norm;
      if (!u.accelerate) continue;
      // Pass 2: momentum, with the row's own restart.
      double ti = tp[i];
      if (u.restart && restart_dot > 0) ti = 1;
      const double t_next = 0.5 * (1 + std::sqrt(1 + 4 * ti * ti));
      const auto beta = static_cast<scalar_t>((ti - 1) / t_next);
      tp[i] = t_next;
      for (int64_t j = 0; j < cols; ++j) zr[j] = vr[j] + beta * (vr[j] - xr[j]);
    }
  });
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
