#pragma once
/// Shrinkage (thresholding) operators of the lecture (Zhang 2024), section 1 (Figure 3):
///   soft      S_β(x)  = sign(x)·max(|x| − β, 0)   — proximal map of β‖·‖₁
///   hard      H_β(x)  = x·1[|x| > β]               — proximal map of ½β²‖·‖₀
///   nonneg    S⁺_β(x) = max(x − β, 0)              — proximal map of β‖·‖₁ + ι(x ≥ 0); = ReLU(x − β)
/// β is a scalar, a per-channel vector (size x.size(1), broadcast over the batch and any spatial
/// dimensions) or any tensor broadcastable to x (e.g. per sample [N, 1]). Soft and non-negative
/// soft are differentiable almost everywhere through autograd (in x and in β).

#include <torch/torch.h>

namespace deepsc::sparse {

/// Which shrinkage a solver or a layer applies.
enum class Shrinkage { Soft, Hard, NonNegSoft };

/// Parses "soft", "hard", "nonneg"; throws std::invalid_argument otherwise.
Shrinkage parse_shrinkage(const std::string& name);
const char* shrinkage_name(Shrinkage kind);

/// Reshapes a per-channel β ([C] with C == x.size(1), x of rank ≥ 2) to broadcast against x;
/// scalars and already-broadcastable tensors pass through. Throws std::invalid_argument when β
/// cannot broadcast to x, naming both shapes.
torch::Tensor broadcast_threshold(const torch::Tensor& beta, const torch::Tensor& x);

torch::Tensor soft_threshold(const torch::Tensor& x, const torch::Tensor& beta);
torch::Tensor soft_threshold(const torch::Tensor& x, double beta);
torch::Tensor hard_threshold(const torch::Tensor& x, const torch::Tensor& beta);
torch::Tensor hard_threshold(const torch::Tensor& x, double beta);
torch::Tensor nonneg_soft_threshold(const torch::Tensor& x, const torch::Tensor& beta);
torch::Tensor nonneg_soft_threshold(const torch::Tensor& x, double beta);

/// Dispatches on `kind`. Requires β ≥ 0 (checked for scalars).
torch::Tensor shrink(const torch::Tensor& x, const torch::Tensor& beta, Shrinkage kind);
torch::Tensor shrink(const torch::Tensor& x, double beta, Shrinkage kind);

}  // namespace deepsc::sparse
