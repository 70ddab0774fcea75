#include "deepsc/dist/gradient_sync.h"

#include <map>
#include <stdexcept>
#include <utility>

namespace deepsc::dist {

namespace {

/// All-reduces (sum) `tensors` in place as flat buckets of at most `bucket_bytes` per dtype and
/// device (one tensor larger than that is a bucket of its own).
void sum_in_buckets(c10d::ProcessGroup& group, const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) {
  std::map<std::pair<int, std::string>, std::vector<torch::Tensor>> by_kind;
  std::vector<std::pair<int, std::string>> order;
  for (const auto& t : tensors) {
    const auto key = std::make_pair(static_cast<int>(t.scalar_type()), t.device().str());
    if (by_kind.find(key) == by_kind.end()) order.push_back(key);
    by_kind[key].push_back(t);
  }
  for (const auto& key : order) {
    std::vector<torch::Tensor> bucket;
    int64_t bytes = 0;
    const auto flush = [&] {
      if (bucket.empty()) return;
      std::vector<torch::Tensor> flat{torch::cat(
          [&] {
            std::vector<torch::Tensor> views;
            for (const auto& t : bucket) views.push_back(t.reshape({-1}));
            return views;
          }())};
      group.allreduce(flat)->wait();
      int64_t offset = 0;
      for (auto& t : bucket) {
        t.copy_(flat[0].narrow(0, offset, t.numel()).view_as(t));
        offset += t.numel();
      }
      bucket.clear();
      bytes = 0;
    };
    for (const auto& t : by_kind[key]) {
      const int64_t size = t.numel() * static_cast<int64_t>(t.element_size());
      if (!bucket.empty() && bytes + size > bucket_bytes) flush();
      bucket.push_back(t);
      bytes += size;
    }
    flush();
  }
}

}  // namespace

void broadcast_state(c10d::ProcessGroup& group, torch::nn::Module& module, int64_t root) {
  if (root < 0 || root >= group.getSize()) {
    throw std::invalid_argument("broadcast root " + std::to_string(root) + " outside [0, " +
                                std::to_string(group.getSize()) + ")");
  }
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> tensors;
  for (const auto& p : module.parameters()) tensors.push_back(p);
  for (const auto& b : module.buffers())
    if (b.defined() && b.numel() > 0) tensors.push_back(b);
  c10d::BroadcastOptions options;
  options.rootRank = root;
  for (auto& t : tensors) {
    std::vector<torch::Tensor> one{t};
    group.broadcast(one, options)->wait();
  }
}

double average_gradients(c10d::ProcessGroup& group, torch::nn::Module& module, double weight, int64_t bucket_bytes) {
  if (!(weight >= 0)) throw std::invalid_argument("gradient weight must be >= 0, got " + std::to_string(weight));
  if (bucket_bytes < 1) throw std::invalid_argument("bucket_bytes must be >= 1, got " + std::to_string(bucket_bytes));
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> weights{torch::full({1}, weight, torch::kDouble)};
  group.allreduce(weights)->wait();
  const double total = weights[0].item<double>();
  std::vector<torch::Tensor> grads;
  for (auto& p : module.parameters()) {
    if (!p.requires_grad()) continue;
    auto& g = p.mutable_grad();
    if (!g.defined()) g = torch::zeros_like(p);
    g.mul_(weight);
    grads.push_back(g);
  }
  sum_in_buckets(group, grads, bucket_bytes);
  if (total > 0)
    for (auto& g : grads) g.div_(total);
  return total;
}

}  // namespace deepsc::dist
