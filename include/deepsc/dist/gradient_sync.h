#pragma once
/// What keeps data-parallel replicas of a module identical: the same start (rank 0's parameters and
/// buffers broadcast to every rank) and the same update (every parameter's gradient replaced by the
/// weighted mean over the ranks). With each rank's gradient the mean loss over its n_r samples and
/// weight n_r, the result Σ_r n_r g_r / Σ_r n_r is the gradient of the mean loss over the global
/// batch, so N steps of a W-process run equal N steps of one process on the union of the batches
/// (for modules without batch statistics).
///
/// Gradients travel in buckets: per dtype and device, flattened into buffers of at most
/// `bucket_bytes`, one all-reduce each (the Reducer of PyTorch's DDP does the same with hooks that
/// overlap the backward pass; here the buckets are reduced after it).

#include <torch/torch.h>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

namespace deepsc::dist {

/// Copies rank `root`'s parameters and buffers into every rank's `module` (same architecture on
/// every rank; parameters and buffers in registration order). Buffers of different sizes on
/// different ranks are not allowed (std::invalid_argument names the first).
void broadcast_state(c10d::ProcessGroup& group, torch::nn::Module& module, int64_t root = 0);

/// Replaces every defined gradient of `module`'s parameters by Σ_r w_r g_r / Σ_r w_r over the ranks,
/// `weight` ≥ 0 being this rank's w_r (its sample count). A parameter without a gradient on this rank
/// counts as a zero gradient (every rank takes part in every bucket). Returns Σ_r w_r.
double average_gradients(c10d::ProcessGroup& group, torch::nn::Module& module, double weight,
                         int64_t bucket_bytes = int64_t{25} << 20);

}  // namespace deepsc::dist
