#pragma once
/// Checkpoints of a training run, written atomically (temporary file in the same folder, then
/// rename), so a run killed at any moment leaves either the previous checkpoint or the new one.
///
/// One file holds the model's parameters and buffers (including each CSC layer's power-iteration
/// vector, so a resumed run computes the same step sizes), the optimiser's state and the run's
/// counters; a resumed run therefore continues bit-identically from the end of the saved epoch.

#include <torch/torch.h>

#include <string>

namespace deepsc::train {

/// Where a run stands after a completed epoch.
struct RunState {
  int64_t epochs_done = 0;     // completed epochs
  int64_t steps_done = 0;      // optimisation steps so far
  double best_top1 = -1;       // best test top-1 so far (-1: none yet)
  int64_t best_epoch = 0;
  double seconds = 0;          // training wall time so far
};

/// Saves model (+ optimiser when given) and state to `path` atomically.
void save_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                     const RunState& state);

/// Loads into an already built model (and optimiser when given); returns the saved state.
/// Throws std::invalid_argument naming the file when it is missing, not a deepsc checkpoint,
/// or does not fit the model (e.g. a different architecture).
RunState load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer);

}  // namespace deepsc::train
