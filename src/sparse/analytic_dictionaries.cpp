#include "deepsc/sparse/analytic_dictionaries.h"

#include <cmath>
#include <stdexcept>

namespace deepsc::sparse {

torch::Tensor overcomplete_dct(int64_t patch, int64_t atoms_per_axis, torch::Dtype dtype) {
  if (patch < 1 || atoms_per_axis < patch) {
    throw std::invalid_argument("overcomplete DCT needs 1 <= patch <= atoms per axis, got patch " + std::to_string(patch) +
                                " and " + std::to_string(atoms_per_axis) + " atoms per axis");
  }
  auto opts = torch::TensorOptions().dtype(torch::kDouble);
  auto i = torch::arange(patch, opts).unsqueeze(1) + 0.5;   // sample positions (DCT-II grid)
  auto j = torch::arange(atoms_per_axis, opts).unsqueeze(0);  // frequencies
  auto a = torch::cos(std::acos(-1.0) * i * j / atoms_per_axis);         // [p, k]
  // Every non-constant atom is made zero-mean so the DC atom alone carries the patch mean.
  a.narrow(1, 1, atoms_per_axis - 1).sub_(a.narrow(1, 1, atoms_per_axis - 1).mean(0, true));
  a = a / a.norm(2, {0}, true);
  // Kronecker product: atom (u, v) is the outer product a_u a_vᵀ flattened row-major.
  auto d = torch::einsum("iu,jv->ijuv", {a, a}).reshape({patch * patch, atoms_per_axis * atoms_per_axis});
  return (d / d.norm(2, {0}, true)).to(dtype);
}

torch::Tensor identity_hadamard_dictionary(int64_t n, torch::Dtype dtype) {
  if (n < 1 || (n & (n - 1)) != 0) {
    throw std::invalid_argument("identity-Hadamard dictionary needs n a power of two, got " + std::to_string(n));
  }
  auto opts = torch::TensorOptions().dtype(torch::kDouble);
  // Sylvester's construction: H_{2m} = [[H_m, H_m], [H_m, −H_m]].
  auto h = torch::ones({1, 1}, opts);
  while (h.size(0) < n) h = torch::cat({torch::cat({h, h}, 1), torch::cat({h, -h}, 1)}, 0);
  return torch::cat({torch::eye(n, opts), h / std::sqrt(static_cast<double>(n))}, 1).to(dtype);
}

}  // namespace deepsc::sparse
