#pragma once
// Optimality checks of the lasso shared by the solver tests.

#include <torch/torch.h>

#include <algorithm>

namespace deepsc::testing {

/// Largest violation of the lasso KKT conditions, relative to λ:
///   g = Dᵀ(y − Dx);  g_i = λ sign(x_i) where x_i ≠ 0, |g_i| ≤ λ where x_i = 0
/// (non-negative: g_i = λ where x_i > 0, g_i ≤ λ where x_i = 0). Evaluated in float64.
inline double kkt_violation(const torch::Tensor& d, const torch::Tensor& y, const torch::Tensor& x, double lambda,
                            bool nonneg) {
  auto d64 = d.to(torch::kDouble), y64 = y.to(torch::kDouble), x64 = x.to(torch::kDouble);
  auto g = (y64 - x64.mm(d64.t())).mm(d64);
  auto active = x64 != 0;
  auto on_support = (g - lambda * x64.sign()).abs().masked_select(active);
  auto off = nonneg ? (g - lambda).clamp_min(0) : (g.abs() - lambda).clamp_min(0);
  auto off_support = off.masked_select(~active);
  double worst = 0;
  if (on_support.numel()) worst = std::max(worst, on_support.max().item<double>());
  if (off_support.numel()) worst = std::max(worst, off_support.max().item<double>());
  return worst / lambda;
}

}  // namespace deepsc::testing
