#pragma once
/// Training throughput of a classifier on random data, in one process or data-parallel over a
/// process group: what `deepsc benchmark train` reports and bench/distributed_throughput.py tabulates.
///
/// One step is what the trainer does per batch, without a data loader: forward of random images
/// x ~ N(0, 1) [batch, C, H, W] with labels uniform in [0, classes) [batch], cross-entropy, backward,
/// SGD (lr 0.01, momentum 0.9, weight decay 5e-4), then project_csc_atoms. `warmup` untimed steps
/// come first, then `steps` timed ones (ended by a device synchronize, so GPU work is counted).
///
/// With a process group of W ranks, `batch` is the global batch: rank r trains on its own batch / W
/// images (rows r·batch/W … of the one-process batch), the model starts from rank 0's parameters and
/// buffers (dist::broadcast_state), and gradients are averaged over the ranks by a
/// dist::GradientReducer (buckets all-reduced during backward unless overlap is off). Every rank
/// must call measure_training_throughput with the same options and the same architecture.

#include "deepsc/nn/classifier.h"

#include <torch/torch.h>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

#include <vector>

namespace deepsc::train {

struct ThroughputOptions {
  /// Image size {C, H, W}, each ≥ 1.
  TORCH_ARG(std::vector<int64_t>, input) = std::vector<int64_t>{3, 32, 32};
  /// Global batch (≥ 1; with a process group, a multiple of its size).
  TORCH_ARG(int64_t, batch) = 64;
  /// Labels are drawn from [0, classes); must match the model's number of classes.
  TORCH_ARG(int64_t, classes) = 10;
  /// Untimed steps first (≥ 0), then timed steps (≥ 1).
  TORCH_ARG(int64_t, warmup) = 3;
  TORCH_ARG(int64_t, steps) = 20;
  /// Where the model (moved there) and the batches live.
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  /// Data-parallel over this group (null: one process).
  TORCH_ARG(c10::intrusive_ptr<c10d::ProcessGroup>, group) = {};
  /// Gradient bucket size of the reducer (≥ 1), as TrainOptions::bucket_bytes.
  TORCH_ARG(int64_t, bucket_bytes) = int64_t{25} << 20;
  /// false: every bucket is all-reduced after backward (dist::GradientReducerOptions::overlap).
  TORCH_ARG(bool, overlap) = true;
  /// Rounds of the gradient-only all-reduce measured after the timed steps (≥ 0; 0: max(5, steps / 2)).
  TORCH_ARG(int64_t, allreduce_rounds) = 0;
};

/// What a measurement found. Times of a distributed run are the slowest rank's (all-reduce MAX), so
/// every rank holds the same result.
struct ThroughputResult {
  /// Wall-clock seconds of the timed steps (after a barrier across the ranks).
  double seconds = 0;
  /// Global images per second: batch · steps / seconds.
  double images_per_second = 0;
  int64_t ranks = 1;
  /// Images each rank trains on per step (batch / ranks).
  int64_t batch_per_rank = 0;
  /// Elements of every parameter of the model.
  int64_t parameters = 0;
  /// Bytes of the gradient the ranks average per step (parameters that require grad; reported in
  /// one process too).
  int64_t gradient_bytes = 0;
  /// Seconds per timed step spent in GradientReducer::finish(): the communication backward did not
  /// hide, plus copying the averaged gradient back (0 in one process).
  double exposed_communication_seconds_per_step = 0;
  /// Seconds per round of averaging the whole gradient alone (dist::average_gradients on the
  /// existing gradients, no compute), measured after the timed steps (0 in one process).
  double allreduce_seconds_per_step = 0;
  /// All-reduces per step of the gradient (the reducer's buckets; 0 in one process).
  int64_t buckets = 0;
};

/// Moves `model` to options.device, switches it to training mode and measures its training
/// throughput as described above (the model's parameters change: it is trained on random data).
/// Throws std::invalid_argument with a one-line message for a bad option, a global batch that the
/// ranks do not divide, or a model with fewer than `classes` outputs; c10d's error when a peer fails.
ThroughputResult measure_training_throughput(nn::Classifier& model, const ThroughputOptions& options);

}  // namespace deepsc::train
