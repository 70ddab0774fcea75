#pragma once
// Random test problems shared by the sparse-coding tests.

#include "deepsc/sparse/analytic_dictionaries.h"

#include <torch/torch.h>

namespace deepsc::testing {

/// Unit-norm Gaussian dictionary D [n, m], drawn in float64 so every dtype sees the same atoms.
inline torch::Tensor gaussian_dictionary(int64_t n, int64_t m, torch::Dtype dtype = torch::kDouble) {
  auto d = torch::randn({n, m}, torch::kDouble);
  return (d / d.norm(2, {0}, true)).to(dtype);
}

/// [I, H/√n]: two orthonormal bases with μ = 1/√n, the classic incoherent pair (the library's).
inline torch::Tensor identity_hadamard(int64_t n, torch::Dtype dtype = torch::kDouble) {
  return sparse::identity_hadamard_dictionary(n, dtype);
}

/// Codes [N, m] with exactly k non-zeros per row at random positions, random signs and
/// magnitudes uniform in [lo, hi]; drawn in float64 so every dtype sees the same codes.
inline torch::Tensor random_sparse_codes(int64_t rows, int64_t m, int64_t k, double lo, double hi,
                                         torch::Dtype dtype = torch::kDouble) {
  auto support = torch::argsort(torch::rand({rows, m}), /*dim=*/1, /*descending=*/false).narrow(1, 0, k);
  auto sign = torch::randint(0, 2, {rows, k}, torch::kDouble) * 2 - 1;
  auto values = sign * (lo + (hi - lo) * torch::rand({rows, k}, torch::kDouble));
  return torch::zeros({rows, m}, torch::kDouble).scatter_(1, support, values).to(dtype);
}

/// The same with magnitudes in [1, 2].
inline torch::Tensor random_sparse_codes(int64_t rows, int64_t m, int64_t k, torch::Dtype dtype = torch::kDouble) {
  return random_sparse_codes(rows, m, k, 1.0, 2.0, dtype);
}

/// A lasso test problem: a unit-norm Gaussian D [n, m] and signals Y [count, n] = X Dᵀ + 0.05·noise
/// with 5-sparse X, drawn in float64 and cast to `dtype`.
struct LassoProblem {
  torch::Tensor d, y;
};
inline LassoProblem lasso_problem(int64_t n, int64_t m, int64_t count, torch::Dtype dtype) {
  auto d = gaussian_dictionary(n, m, torch::kDouble);
  auto x = random_sparse_codes(count, m, 5);
  auto y = x.mm(d.t()) + 0.05 * torch::randn({count, n}, torch::kDouble);
  return {d.to(dtype), y.to(dtype)};
}

}  // namespace deepsc::testing
