#include "deepsc/dist/gradient_reducer.h"

#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

namespace deepsc::dist {

namespace {

/// One flattened all-reduce: the parameters it carries and where each sits in `flat`.
struct Bucket {
  std::vector<int64_t> members;  // indices into State::parameters
  std::vector<int64_t> offsets;  // element offset of each member in flat
  int64_t numel = 0, bytes = 0;
  torch::Tensor flat;
  int64_t pending = 0;  // members whose gradient has not arrived in this backward
  c10::intrusive_ptr<c10d::Work> work;
};

}  // namespace

struct GradientReducer::State {
  c10::intrusive_ptr<c10d::ProcessGroup> group;
  GradientReducerOptions options;
  std::vector<torch::Tensor> parameters;
  std::vector<unsigned> hooks;
  std::vector<int64_t> bucket_of, offset_of;
  std::vector<char> arrived;
  std::vector<Bucket> buckets;
  size_t next_launch = 0;
  bool armed = false;
  double weight = 0;
  std::vector<torch::Tensor> weight_sum;
  c10::intrusive_ptr<c10d::Work> weight_work;
  ReducerTimes times;
  std::mutex mutex;  // hooks of parameters on different devices run on different autograd threads

  torch::Tensor slot(int64_t i) {
    const auto& p = parameters[i];
    return buckets[bucket_of[i]].flat.narrow(0, offset_of[i], p.numel()).view(p.sizes());
  }

  /// All-reduces every complete bucket from next_launch on, in index order.
  void launch_complete() {
    while (next_launch < buckets.size() && buckets[next_launch].pending == 0) {
      auto& bucket = buckets[next_launch++];
      std::vector<torch::Tensor> flat{bucket.flat};
      bucket.work = group->allreduce(flat);
    }
  }

  void on_gradient(int64_t i, const torch::Tensor& grad) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed) return;
    if (arrived[i]) {
      throw std::logic_error("the gradient of parameter " + std::to_string(i) +
                             " arrived twice in one backward (one backward per prepare() / finish())");
    }
    arrived[i] = 1;
    torch::NoGradGuard no_grad;
    auto target = slot(i);
    at::mul_out(target, grad, weight);
    auto& bucket = buckets[bucket_of[i]];
    if (--bucket.pending == 0 && options.overlap()) {
      const size_t before = next_launch;
      launch_complete();
      times.overlapped_buckets += static_cast<int64_t>(next_launch - before);
    }
  }
};

GradientReducer::GradientReducer(c10::intrusive_ptr<c10d::ProcessGroup> group,
                                 const std::vector<torch::Tensor>& parameters, const GradientReducerOptions& options)
    : state_(std::make_shared<State>()) {
  if (!group) throw std::invalid_argument("GradientReducer: no process group");
  if (options.bucket_bytes() < 1) {
    throw std::invalid_argument("bucket_bytes must be >= 1, got " + std::to_string(options.bucket_bytes()));
  }
  auto& s = *state_;
  s.group = std::move(group);
  s.options = options;
  for (const auto& p : parameters)
    if (p.requires_grad()) s.parameters.push_back(p);
  const auto n = static_cast<int64_t>(s.parameters.size());
  s.bucket_of.assign(n, -1);
  s.offset_of.assign(n, 0);
  s.arrived.assign(n, 0);
  // Reverse registration order: the last layers' gradients come first in backward.
  std::map<std::pair<int, std::string>, int64_t> open;  // (dtype, device) → bucket being filled
  for (int64_t i = n - 1; i >= 0; --i) {
    const auto& p = s.parameters[i];
    const auto key = std::make_pair(static_cast<int>(p.scalar_type()), p.device().str());
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    const auto found = open.find(key);
    if (found == open.end() || (s.buckets[found->second].bytes > 0 &&
                                s.buckets[found->second].bytes + bytes > options.bucket_bytes())) {
      s.buckets.emplace_back();
      open[key] = static_cast<int64_t>(s.buckets.size()) - 1;
    }
    const int64_t b = open[key];
    auto& bucket = s.buckets[b];
    s.bucket_of[i] = b;
    s.offset_of[i] = bucket.numel;
    bucket.members.push_back(i);
    bucket.offsets.push_back(bucket.numel);
    bucket.numel += p.numel();
    bucket.bytes += bytes;
  }
  for (auto& bucket : s.buckets) {
    const auto& first = s.parameters[bucket.members.front()];
    bucket.flat = torch::zeros({bucket.numel}, first.options().requires_grad(false));
  }
  State* raw = state_.get();  // the hooks are removed in the destructor, before the state goes
  for (int64_t i = 0; i < n; ++i) {
    s.hooks.push_back(s.parameters[i].register_hook([raw, i](torch::Tensor grad) { raw->on_gradient(i, grad); }));
  }
}

GradientReducer::~GradientReducer() {
  for (size_t i = 0; i < state_->hooks.size(); ++i) state_->parameters[i].remove_hook(state_->hooks[i]);
}

void GradientReducer::prepare(double weight) {
  if (!(weight >= 0)) throw std::invalid_argument("gradient weight must be >= 0, got " + std::to_string(weight));
  auto& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.armed) throw std::logic_error("GradientReducer::prepare() twice without finish()");
  std::fill(s.arrived.begin(), s.arrived.end(), 0);
  for (auto& bucket : s.buckets) {
    bucket.pending = static_cast<int64_t>(bucket.members.size());
    bucket.work.reset();
  }
  s.next_launch = 0;
  s.weight = weight;
  s.weight_sum = {torch::full({1}, weight, torch::kDouble)};
  s.weight_work = s.group->allreduce(s.weight_sum);  // issued first on every rank
  s.armed = true;
}

double GradientReducer::finish() {
  auto& s = *state_;
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.armed) throw std::logic_error("GradientReducer::finish() without prepare()");
  const auto start = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  for (size_t b = s.next_launch; b < s.buckets.size(); ++b) {  // parameters without a gradient count as zero
    auto& bucket = s.buckets[b];
    for (const auto i : bucket.members)
      if (!s.arrived[i]) s.slot(i).zero_();
    bucket.pending = 0;
  }
  s.launch_complete();
  s.weight_work->wait();
  const double total = s.weight_sum[0].item<double>();
  for (auto& bucket : s.buckets) {
    bucket.work->wait();
    if (total > 0) bucket.flat.div_(total);
    for (const auto i : bucket.members) {
      auto& p = s.parameters[i];
      auto& grad = p.mutable_grad();
      if (!grad.defined()) {
        grad = s.slot(i).clone();
      } else {
        grad.copy_(s.slot(i));
      }
    }
    bucket.work.reset();
  }
  s.armed = false;
  ++s.times.steps;
  s.times.exposed_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return total;
}

int64_t GradientReducer::buckets() const { return static_cast<int64_t>(state_->buckets.size()); }

const ReducerTimes& GradientReducer::times() const { return state_->times; }

}  // namespace deepsc::dist
