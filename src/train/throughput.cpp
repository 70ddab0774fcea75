#include "deepsc/train/throughput.h"

#include "deepsc/core/runtime.h"
#include "deepsc/dist/gradient_reducer.h"
#include "deepsc/dist/gradient_sync.h"
#include "deepsc/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

namespace deepsc::train {

namespace {

double seconds_after(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Throws std::invalid_argument naming the first bad option.
void check_throughput_options(const ThroughputOptions& o, int64_t ranks) {
  const auto& input = o.input();
  if (input.size() != 3 || *std::min_element(input.begin(), input.end()) < 1)
    throw std::invalid_argument("throughput input must be {C, H, W} with positive sizes");
  if (o.batch() < 1) throw std::invalid_argument("batch must be >= 1, got " + std::to_string(o.batch()));
  if (o.classes() < 1) throw std::invalid_argument("classes must be >= 1, got " + std::to_string(o.classes()));
  if (o.warmup() < 0) throw std::invalid_argument("warmup steps must be >= 0, got " + std::to_string(o.warmup()));
  if (o.steps() < 1) throw std::invalid_argument("timed steps must be >= 1, got " + std::to_string(o.steps()));
  if (o.bucket_bytes() < 1)
    throw std::invalid_argument("bucket_bytes must be >= 1, got " + std::to_string(o.bucket_bytes()));
  if (o.allreduce_rounds() < 0)
    throw std::invalid_argument("allreduce_rounds must be >= 0, got " + std::to_string(o.allreduce_rounds()));
  if (o.batch() % ranks != 0)
    throw std::invalid_argument("global batch " + std::to_string(o.batch()) + " is not divisible by the " +
                                std::to_string(ranks) + " ranks");
}

/// Bytes of the gradients of the parameters that require grad.
int64_t trainable_gradient_bytes(torch::nn::Module& model) {
  int64_t bytes = 0;
  for (const auto& p : model.parameters())
    if (p.requires_grad()) bytes += p.numel() * static_cast<int64_t>(p.element_size());
  return bytes;
}

/// Every value replaced by its maximum over the ranks (in place; nothing without a group).
void max_over_ranks(c10d::ProcessGroup* group, std::vector<double>& values) {
  if (!group) return;
  std::vector<torch::Tensor> tensors{torch::tensor(values, torch::kDouble)};
  c10d::AllreduceOptions max;
  max.reduceOp = c10d::ReduceOp::MAX;
  group->allreduce(tensors, max)->wait();
  for (size_t i = 0; i < values.size(); ++i) values[i] = tensors[0][static_cast<int64_t>(i)].item<double>();
}

/// Seconds per round of averaging the whole existing gradient over the ranks, no compute: the
/// all-reduce a step would pay if nothing overlapped it (weight sum, buckets, scaling as the reducer).
double time_gradient_allreduce(c10d::ProcessGroup& group, nn::Classifier& model, double weight, int64_t bucket_bytes,
                               int64_t rounds, const torch::Device& device) {
  group.barrier()->wait();
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < rounds; ++i) dist::average_gradients(group, model, weight, bucket_bytes);
  synchronize(device);
  return seconds_after(start) / static_cast<double>(rounds);
}

}  // namespace

ThroughputResult measure_training_throughput(nn::Classifier& model, const ThroughputOptions& options) {
  c10d::ProcessGroup* group = options.group().get();
  const int64_t ranks = group ? group->getSize() : 1, rank = group ? group->getRank() : 0;
  check_throughput_options(options, ranks);
  const auto& device = options.device();
  const auto& input = options.input();
  const int64_t per_rank = options.batch() / ranks;

  model.to(device);
  model.train();
  std::unique_ptr<dist::GradientReducer> reducer;
  if (group) {
    dist::broadcast_state(*group, model);
    reducer = std::make_unique<dist::GradientReducer>(
        options.group(), model.parameters(),
        dist::GradientReducerOptions().bucket_bytes(options.bucket_bytes()).overlap(options.overlap()));
  }
  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.01).momentum(0.9).weight_decay(5e-4));
  // The one-process batch on every rank, of which each takes its rows.
  const auto images = torch::randn({options.batch(), input[0], input[1], input[2]}, torch::TensorOptions().device(device))
                          .narrow(0, rank * per_rank, per_rank);
  const auto labels =
      torch::randint(options.classes(), {options.batch()}, torch::TensorOptions().dtype(torch::kLong).device(device))
          .narrow(0, rank * per_rank, per_rank);

  const auto step = [&] {
    optimizer.zero_grad();
    const auto logits = model.forward(images);
    if (logits.size(1) < options.classes())
      throw std::invalid_argument("the model has " + std::to_string(logits.size(1)) + " outputs for " +
                                  std::to_string(options.classes()) + " classes");
    const auto loss = torch::nn::functional::cross_entropy(logits, labels);
    if (reducer) reducer->prepare(static_cast<double>(per_rank));  // all-reduces overlap backward
    loss.backward();
    if (reducer) reducer->finish();
    optimizer.step();
    project_csc_atoms(model);  // the atoms back on the sphere, as the trainer does
  };
  for (int64_t i = 0; i < options.warmup(); ++i) step();
  synchronize(device);
  if (group) group->barrier()->wait();  // every rank starts the clock together
  const double exposed_before = reducer ? reducer->times().exposed_seconds : 0.0;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < options.steps(); ++i) step();
  synchronize(device);
  const double seconds = seconds_after(start);
  const auto steps = static_cast<double>(options.steps());

  // Slowest rank: seconds, exposed communication per step, gradient-only all-reduce per round.
  std::vector<double> slowest{seconds, 0.0, 0.0};
  if (group) {
    slowest[1] = (reducer->times().exposed_seconds - exposed_before) / steps;
    const int64_t rounds =
        options.allreduce_rounds() > 0 ? options.allreduce_rounds() : std::max<int64_t>(5, options.steps() / 2);
    slowest[2] = time_gradient_allreduce(*group, model, static_cast<double>(per_rank), options.bucket_bytes(), rounds,
                                         device);
  }
  max_over_ranks(group, slowest);

  ThroughputResult result;
  result.seconds = slowest[0];
  result.images_per_second = static_cast<double>(options.batch()) * steps / result.seconds;
  result.ranks = ranks;
  result.batch_per_rank = per_rank;
  for (const auto& p : model.parameters()) result.parameters += p.numel();
  result.gradient_bytes = trainable_gradient_bytes(model);
  result.exposed_communication_seconds_per_step = slowest[1];
  result.allreduce_seconds_per_step = slowest[2];
  result.buckets = reducer ? reducer->buckets() : 0;
  return result;
}

}  // namespace deepsc::train
