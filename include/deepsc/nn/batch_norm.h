#pragma once
/// Batch normalisation (Ioffe & Szegedy 2015) whose batch statistics may span data-parallel
/// replicas ("synchronised batch norm"):
///   y = γ (x − μ) / √(σ² + ε) + β,  μ, σ² the per-channel mean and (biased) variance over the
///   batch and spatial positions of *every* replica's batch,
/// so W replicas with batches B_1 … B_W normalise exactly as one process on B_1 ∪ … ∪ B_W would.
/// Running statistics follow LibTorch's rule (momentum, or a cumulative average without one) with
/// the global count n (unbiased σ² · n/(n − 1)).
///
/// Same options, parameters and buffers (weight, bias, running_mean, running_var,
/// num_batches_tracked) as LibTorch's BatchNorm2d, so checkpoints are interchangeable, plus
/// `replica_sum`, a differentiable sum of a tensor over the replicas (set by
/// dist::synchronize_batch_norm). Unset, or in eval mode, the forward is LibTorch's batch_norm.
/// (A subclass of torch::nn::BatchNorm2dImpl would be simpler, but Debian's LibTorch does not export
/// the base's pretty_print that a subclass's vtable needs.)

#include <torch/torch.h>

#include <functional>

namespace deepsc::nn {

class BatchNorm2dImpl : public torch::nn::Cloneable<BatchNorm2dImpl> {
 public:
  explicit BatchNorm2dImpl(int64_t features) : BatchNorm2dImpl(torch::nn::BatchNormOptions(features)) {}
  explicit BatchNorm2dImpl(const torch::nn::BatchNormOptions& options);

  void reset() override;
  /// γ = 1, β = 0, running mean 0, running variance 1, no batches.
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;

  /// x [N, C, H, W] → y of the same shape.
  torch::Tensor forward(const torch::Tensor& input);

  torch::nn::BatchNormOptions options;
  torch::Tensor weight, bias;                                 // [C] (undefined without affine)
  torch::Tensor running_mean, running_var, num_batches_tracked;  // [C], [C], [] (with track_running_stats)

  /// Σ over the replicas of a tensor of the same shape on every replica, with gradient Σ over the
  /// replicas of the output's gradient (an all-reduce and its adjoint). Empty: one process.
  std::function<torch::Tensor(const torch::Tensor&)> replica_sum;
};
TORCH_MODULE(BatchNorm2d);

}  // namespace deepsc::nn
