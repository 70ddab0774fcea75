#pragma once
// Internal: the element-wise half of one ISTA/FISTA iteration, fused into one pass over the codes
// on CPU (shrinkage, restart test, extrapolation, stopping statistics), with an equivalent
// tensor-op path for every other device.

#include <torch/torch.h>

namespace deepsc::sparse::detail {

struct ProximalUpdate {
  double threshold = 0;      // τ = λη
  bool nonneg = false;       // S⁺_τ instead of S_τ
  bool accelerate = false;   // FISTA extrapolation
  bool restart = false;      // adaptive restart (only with accelerate)
  bool fused = true;         // allow the fused CPU kernel
};

/// All tensors are [N, K] contiguous views (rows are independent problems) of one dtype/device.
///   v       in: Z − η∇f(Z); out: X_new = shrink(v)
///   x_old   X^l (read only)
///   z       in: Z^l (read only without accelerate); out (accelerate): Z^{l+1}
///   t       [N] float64 momentum per row (accelerate only), updated in place
///   change_sq, norm_sq  [N] float64, out: ‖X_new − X^l‖², ‖X_new‖² per row
void proximal_update(const ProximalUpdate& update, torch::Tensor& v, const torch::Tensor& x_old, torch::Tensor& z,
                     torch::Tensor& t, torch::Tensor& change_sq, torch::Tensor& norm_sq);

}  // namespace deepsc::sparse::detail
