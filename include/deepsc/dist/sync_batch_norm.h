#pragma once
/// Synchronised batch normalisation for data-parallel training: every nn::BatchNorm2d of a module
/// normalises by the statistics of the global batch (the union of the ranks' batches), so W ranks
/// train exactly as one process on the global batch would (see deepsc/nn/batch_norm.h).

#include <torch/torch.h>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

namespace deepsc::dist {

/// y = Σ_r x_r over the ranks of `group` (every rank calls it with a tensor of the same shape), as
/// an autograd function: the gradient of x_r is Σ_r' ∂L/∂y_r' — the all-reduce is its own adjoint.
torch::Tensor replica_sum(const c10::intrusive_ptr<c10d::ProcessGroup>& group, const torch::Tensor& x);

/// Makes every deepsc::nn::BatchNorm2d in `module` use the statistics of all ranks of `group`
/// (null: back to per-process statistics). Returns how many layers it changed.
int64_t synchronize_batch_norm(torch::nn::Module& module, const c10::intrusive_ptr<c10d::ProcessGroup>& group);

}  // namespace deepsc::dist
