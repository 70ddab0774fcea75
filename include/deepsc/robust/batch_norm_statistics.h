#pragma once
/// Batch-norm statistics that match a test-time λ.
///
/// A batch-norm layer in evaluation normalises with the running mean and variance its inputs had
/// in training, i.e. at the trained λ of the CSC layers before it. A larger λ shrinks every code
/// (the threshold λη of  min_c λ‖c‖₁ + ½‖x − Dc‖²  grows), so the layers after a CSC layer see
/// inputs of another mean and scale than their statistics assume. Re-estimating the statistics on
/// clean training images coded at the new λ (as SWA re-estimates them for averaged weights:
/// Izmailov et al., "Averaging weights leads to wider optima and better generalization", UAI 2018)
/// separates the two effects of a new λ: what it does to the codes, and the mismatch of the
/// trained statistics. No test image and no label is used, and the weights are not touched.

#include "deepsc/nn/classifier.h"

#include <vector>

namespace deepsc::robust {

/// Running mean and variance of every batch-norm layer (1-D, 2-D or 3-D) of a model, in module
/// order.
struct BatchNormStatistics {
  std::vector<torch::Tensor> running_means, running_vars;
  bool empty() const { return running_means.empty(); }
};

/// One batch-norm layer of a model (its buffers, mode and momentum); defined where it is used.
struct BatchNormLayer;

/// The model's batch-norm statistics, remembered on construction and put back by restore() and
/// on destruction: a model evaluated with other statistics is left as it was.
class BatchNormScope {
 public:
  explicit BatchNormScope(torch::nn::Module& model);
  ~BatchNormScope();
  BatchNormScope(const BatchNormScope&) = delete;
  BatchNormScope& operator=(const BatchNormScope&) = delete;

  /// Copies `statistics` into the layers (in place: the registered buffers stay). Throws
  /// std::invalid_argument when they do not match the model's layers and channels.
  void load(const BatchNormStatistics& statistics);
  /// The remembered statistics.
  void restore();
  const BatchNormStatistics& saved() const { return saved_; }
  /// Number of batch-norm layers with running statistics.
  size_t size() const { return layers_.size(); }

 private:
  std::vector<std::shared_ptr<BatchNormLayer>> layers_;
  BatchNormStatistics saved_;
};

struct CalibrationOptions {
  /// Images per forward, ≥ 2 (a batch's variance needs two samples).
  TORCH_ARG(int64_t, batch_size) = 500;
  TORCH_ARG(torch::Device, device) = torch::kCPU;
};

/// Every batch-norm layer's running mean and variance re-estimated on `images` [N, C, H, W]
/// (normalised as the model expects, on any device), with the model as it is now (for example its
/// CSC layers' λ set by a LambdaScope): each batch-norm layer in training mode and the rest of the
/// model in evaluation mode, no gradient, the statistics the average over batches of each batch's
/// mean and unbiased variance (cumulative moving average). Returns the new statistics; the model's
/// own statistics, momentum and modes are restored. Throws std::invalid_argument for a model without
/// batch-norm layers, fewer than 2 images or a batch size < 2.
BatchNormStatistics recalibrate_batch_norm(nn::Classifier& model, const torch::Tensor& images,
                                           const CalibrationOptions& options = {});

/// recalibrate_batch_norm with every CSC layer's λ set to each of `lambdas` in turn (the model's
/// λ restored after): one set of statistics per λ, for SweepOptions::statistics.
std::vector<BatchNormStatistics> recalibrate_per_lambda(nn::Classifier& model, const torch::Tensor& images,
                                                        const std::vector<double>& lambdas,
                                                        const CalibrationOptions& options = {});

}  // namespace deepsc::robust
