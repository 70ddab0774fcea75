#pragma once
/// \file
/// Multi-threaded, deterministic mini-batch loader for labelled image data sets.
///
/// Determinism: the order of epoch e is a Fisher–Yates shuffle driven by std::mt19937_64 seeded
/// with epoch_seed(seed, e) (the identity when shuffle is off), and the transform of the sample
/// at position j of epoch e draws from cpu_generator(sample_seed(seed, e, j)). Every batch is
/// therefore a pure function of (dataset, transform, options, epoch, batch number): bit-identical
/// whatever the number of workers or the thread timing, and start_epoch(e, skip) resumes exactly
/// where an interrupted epoch stopped.

#include <cstdint>
#include <memory>
#include <optional>

#include <torch/torch.h>

#include "deepsc/data/image_dataset.h"
#include "deepsc/data/transforms.h"

namespace deepsc::data {

/// A mini-batch.
struct Batch {
  torch::Tensor images;  ///< [B, C, H, W] float32, CPU
  torch::Tensor labels;  ///< [B] int64, CPU
};

struct LoaderOptions {
  /// Samples per batch (the last one may be smaller unless drop_last).
  TORCH_ARG(int64_t, batch_size) = 128;
  /// Visit the samples in a fresh random order every epoch.
  TORCH_ARG(bool, shuffle) = true;
  /// Leave out the last batch when it would be smaller than batch_size.
  TORCH_ARG(bool, drop_last) = false;
  /// Worker threads preparing batches; 0 = prepare each batch in the calling thread inside
  /// next(). Workers run their tensor operations single-threaded (one OpenMP thread each).
  TORCH_ARG(int64_t, workers) = 2;
  /// Batches prepared ahead of the consumer (at least `workers` are kept in flight).
  TORCH_ARG(int64_t, prefetch) = 4;
  /// Seed of every random choice (order and augmentation).
  TORCH_ARG(uint64_t, seed) = 0;
  /// Distributed data parallelism: this process is `rank` of `world_size` (0 ≤ rank < world_size).
  /// All ranks draw one global order per epoch (the same seed gives the same order everywhere);
  /// global batch k holds positions [k·B·W, (k+1)·B·W) of that order (B = batch_size, W =
  /// world_size) and rank r gets every W-th of them from position r. Every sample is seen exactly
  /// once per epoch by exactly one rank, every rank has the same number of batches, and the union of
  /// the ranks' batch k is the batch k of one process with batch_size B·W and the same seed (same
  /// samples, same augmentation draws). Without drop_last, a last global batch of fewer than W
  /// samples is merged into the one before it, so that no rank gets an empty batch.
  TORCH_ARG(int64_t, rank) = 0;
  TORCH_ARG(int64_t, world_size) = 1;
};

/// Seed of the shuffle of epoch `epoch` (a splitmix64 hash of both).
uint64_t epoch_seed(uint64_t seed, int64_t epoch);
/// Seed of the transform of the sample at position `position` of epoch `epoch`. (LibTorch's CPU
/// generator keeps only the low 32 bits of a seed, so two samples of a large epoch may now and
/// then share an augmentation draw; the batches stay fully deterministic.)
uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t position);

class DataLoader {
 public:
  /// `transform` may be null: images are then only converted to float32 and divided by 255.
  /// \throws std::invalid_argument for a null data set, batch_size < 1, workers < 0,
  /// prefetch < 0, a rank outside [0, world_size), or fewer samples than ranks (world_size > 1).
  DataLoader(std::shared_ptr<const Dataset> data, std::shared_ptr<const Transform> transform,
             LoaderOptions options);
  /// Stops the workers (finishing at most the sample each is on) and joins them.
  ~DataLoader();
  DataLoader(DataLoader&&) noexcept;
  DataLoader& operator=(DataLoader&&) noexcept;
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  /// floor(N / (B·W)) with drop_last, else ceil(N / (B·W)) (one fewer when the last global batch
  /// would hold fewer than W samples); B·W = batch_size · world_size.
  int64_t batches_per_epoch() const;
  /// Starts epoch `epoch` (>= 0), skipping its first `skip` batches (0 <= skip <=
  /// batches_per_epoch()) so that next() yields exactly the batches an uninterrupted epoch would
  /// from batch `skip` on. Abandons the current epoch, if any (its workers are stopped first).
  /// \throws std::invalid_argument for a bad epoch or skip.
  void start_epoch(int64_t epoch, int64_t skip = 0);
  /// The next batch of the current epoch, or std::nullopt at its end.
  /// An exception raised while preparing the batch (a corrupt image file, a transform error,
  /// images of different shapes) is rethrown here unchanged; the loader then moves on to the
  /// following batch.
  /// \throws std::logic_error before the first start_epoch().
  std::optional<Batch> next();

  const LoaderOptions& options() const;
  /// The epoch started last, or -1.
  int64_t epoch() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace deepsc::data
