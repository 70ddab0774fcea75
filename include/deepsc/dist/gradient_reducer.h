#pragma once
/// Gradient averaging that overlaps the backward pass (what the Reducer of PyTorch's DDP does, built
/// here on c10d collectives and autograd hooks).
///
/// Every parameter gets a hook on its gradient (a tensor hook on a leaf runs when the leaf's whole
/// gradient of the current backward is known, before it is accumulated into .grad). Parameters are
/// grouped into buckets of at most `bucket_bytes` per dtype and device, in reverse registration order
/// (roughly the order backward produces them). A hook copies w_r g into its bucket's flat buffer;
/// when a bucket is complete it is all-reduced asynchronously while backward goes on. Buckets are
/// launched in index order (a complete bucket waits for the ones before it), so every rank issues the
/// same collectives in the same order. finish() launches what is left (a parameter that received no
/// gradient counts as zero, as in average_gradients), waits, and writes Σ_r w_r g_r / Σ_r w_r into
/// every parameter's .grad.
///
/// Use per step:  reducer.prepare(n_local);  loss.backward();  reducer.finish();  optimizer.step();
/// Hooks do nothing outside prepare() … finish(), so other backward passes (attacks, gradient checks)
/// are not disturbed.

#include <torch/torch.h>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#include <memory>
#include <vector>

namespace deepsc::dist {

struct GradientReducerOptions {
  /// Largest flattened bucket (a parameter larger than this is a bucket of its own).
  TORCH_ARG(int64_t, bucket_bytes) = int64_t{25} << 20;
  /// false: hooks only collect; every bucket is all-reduced in finish() (for measuring the overlap).
  TORCH_ARG(bool, overlap) = true;
};

/// What the reducer spent, summed over the steps since construction.
struct ReducerTimes {
  int64_t steps = 0;
  /// Seconds inside finish(): communication that backward did not hide, plus the copies back.
  double exposed_seconds = 0;
  /// Buckets whose all-reduce started inside backward (the rest start in finish()).
  int64_t overlapped_buckets = 0;
};

class GradientReducer {
 public:
  /// Hooks every parameter of `parameters` that requires grad. Every rank must construct its reducer
  /// from the same architecture (same parameters, shapes and dtypes, in the same order).
  GradientReducer(c10::intrusive_ptr<c10d::ProcessGroup> group, const std::vector<torch::Tensor>& parameters,
                  const GradientReducerOptions& options = {});
  /// Removes the hooks.
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  /// Arms the hooks for the next backward; `weight` ≥ 0 is this rank's w_r (its sample count).
  void prepare(double weight);
  /// Completes the averaging (see above) and disarms the hooks; returns Σ_r w_r. Throws
  /// std::logic_error without a prepare(), and c10d's error when a peer fails or times out.
  double finish();

  int64_t buckets() const;
  const ReducerTimes& times() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the hooks
};

}  // namespace deepsc::dist
