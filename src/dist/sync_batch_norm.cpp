#include "deepsc/dist/sync_batch_norm.h"

#include "deepsc/nn/batch_norm.h"

#include <stdexcept>

namespace deepsc::dist {

namespace {

/// The all-reduce as an autograd function. saved_data holds IValues, so the group is saved as its
/// address; the batch-norm layer's replica_sum closure owns the group for as long as its forward and
/// backward can run.
struct ReplicaSum : torch::autograd::Function<ReplicaSum> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, int64_t group_address) {
    ctx->saved_data["group"] = group_address;
    return sum_over_ranks(x, group_address);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    return {sum_over_ranks(grads[0], ctx->saved_data["group"].toInt()), torch::Tensor()};
  }

  static torch::Tensor sum_over_ranks(const torch::Tensor& x, int64_t group_address) {
    auto* group = reinterpret_cast<c10d::ProcessGroup*>(group_address);
    std::vector<torch::Tensor> buffer{x.detach().contiguous().clone()};
    group->allreduce(buffer)->wait();
    return buffer[0];
  }
};

}  // namespace

torch::Tensor replica_sum(const c10::intrusive_ptr<c10d::ProcessGroup>& group, const torch::Tensor& x) {
  if (!group) throw std::invalid_argument("replica_sum: no process group");
  return ReplicaSum::apply(x, reinterpret_cast<int64_t>(group.get()));
}

int64_t synchronize_batch_norm(torch::nn::Module& module, const c10::intrusive_ptr<c10d::ProcessGroup>& group) {
  int64_t changed = 0;
  for (const auto& child : module.modules(/*include_self=*/true)) {
    auto* batch_norm = dynamic_cast<nn::BatchNorm2dImpl*>(child.get());
    if (batch_norm == nullptr) continue;
    if (group) {
      // The layer keeps the group alive for as long as it may run a forward or backward with it.
      batch_norm->replica_sum = [group](const torch::Tensor& x) { return replica_sum(group, x); };
    } else {
      batch_norm->replica_sum = nullptr;
    }
    ++changed;
  }
  return changed;
}

}  // namespace deepsc::dist
