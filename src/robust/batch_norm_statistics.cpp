#include "deepsc/robust/batch_norm_statistics.h"

#include "deepsc/nn/batch_norm.h"
#include "deepsc/robust/lambda_scope.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::robust {

/// One batch-norm layer: its buffers, mode and momentum, whatever its dimension.
struct BatchNormLayer {
  torch::nn::Module* module = nullptr;
  torch::Tensor running_mean, running_var, num_batches_tracked;
  c10::optional<double>* momentum = nullptr;
};

namespace {

template <typename Impl>
bool add_batch_norm(torch::nn::Module& module, std::vector<std::shared_ptr<BatchNormLayer>>& layers) {
  auto* bn = module.as<Impl>();
  if (!bn) return false;
  if (bn->options.track_running_stats() && bn->running_mean.defined()) {
    auto layer = std::make_shared<BatchNormLayer>();
    layer->module = bn;
    layer->running_mean = bn->running_mean;
    layer->running_var = bn->running_var;
    layer->num_batches_tracked = bn->num_batches_tracked;
    layer->momentum = &bn->options.momentum();
    layers.push_back(layer);
  }
  return true;
}

std::vector<std::shared_ptr<BatchNormLayer>> batch_norm_layers(torch::nn::Module& model) {
  std::vector<std::shared_ptr<BatchNormLayer>> layers;
  for (const auto& module : model.modules(/*include_self=*/true)) {
    add_batch_norm<nn::BatchNorm2dImpl>(*module, layers) || add_batch_norm<torch::nn::BatchNorm2dImpl>(*module, layers) ||
        add_batch_norm<torch::nn::BatchNorm1dImpl>(*module, layers) ||
        add_batch_norm<torch::nn::BatchNorm3dImpl>(*module, layers);
  }
  return layers;
}

/// For the length of a calibration: every batch-norm layer in training mode with a cumulative
/// moving average (momentum none) starting from mean 0, variance 1 and no batches, the rest of the
/// model in evaluation mode. Modes, momenta and batch counts are put back on destruction, however
/// the calibration ends (the running statistics are BatchNormScope's business).
class CalibrationMode {
 public:
  CalibrationMode(nn::Classifier& model, std::vector<std::shared_ptr<BatchNormLayer>> layers)
      : model_(model), was_training_(model.is_training()), layers_(std::move(layers)) {
    torch::NoGradGuard no_grad;
    for (const auto& layer : layers_) {
      momenta_.push_back(*layer->momentum);
      counts_.push_back(layer->num_batches_tracked.detach().clone());
    }
    model_.eval();
    for (const auto& layer : layers_) {
      *layer->momentum = c10::nullopt;  // the running statistics become the mean over batches
      layer->running_mean.zero_();
      layer->running_var.fill_(1);
      layer->num_batches_tracked.zero_();
      layer->module->train(true);
    }
  }
  ~CalibrationMode() {
    model_.train(was_training_);
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < layers_.size(); ++i) {
      *layers_[i]->momentum = momenta_[i];
      layers_[i]->num_batches_tracked.copy_(counts_[i]);
    }
  }
  CalibrationMode(const CalibrationMode&) = delete;
  CalibrationMode& operator=(const CalibrationMode&) = delete;

  const std::vector<std::shared_ptr<BatchNormLayer>>& layers() const { return layers_; }

 private:
  nn::Classifier& model_;
  bool was_training_;
  std::vector<std::shared_ptr<BatchNormLayer>> layers_;
  std::vector<c10::optional<double>> momenta_;
  std::vector<torch::Tensor> counts_;
};

}  // namespace

BatchNormScope::BatchNormScope(torch::nn::Module& model) : layers_(batch_norm_layers(model)) {
  torch::NoGradGuard no_grad;
  for (const auto& layer : layers_) {
    saved_.running_means.push_back(layer->running_mean.detach().clone());
    saved_.running_vars.push_back(layer->running_var.detach().clone());
  }
}

BatchNormScope::~BatchNormScope() { restore(); }

void BatchNormScope::load(const BatchNormStatistics& statistics) {
  if (statistics.running_means.size() != layers_.size() || statistics.running_vars.size() != layers_.size()) {
    std::ostringstream msg;
    msg << "batch-norm statistics: " << statistics.running_means.size() << " layers given, the model has " << layers_.size();
    throw std::invalid_argument(msg.str());
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto& mean = statistics.running_means[i];
    const auto& var = statistics.running_vars[i];
    if (!mean.defined() || !var.defined() || !mean.sizes().equals(layers_[i]->running_mean.sizes()) ||
        !var.sizes().equals(layers_[i]->running_var.sizes()))
      throw std::invalid_argument("batch-norm statistics: layer " + std::to_string(i) + " has another number of channels");
    layers_[i]->running_mean.copy_(mean);
    layers_[i]->running_var.copy_(var);
  }
}

void BatchNormScope::restore() { load(saved_); }

BatchNormStatistics recalibrate_batch_norm(nn::Classifier& model, const torch::Tensor& images,
                                           const CalibrationOptions& options) {
  if (!images.defined() || images.dim() != 4) throw std::invalid_argument("batch-norm calibration: images must be [N, C, H, W]");
  if (images.size(0) < 2) throw std::invalid_argument("batch-norm calibration: needs at least 2 images");
  if (options.batch_size() < 2) throw std::invalid_argument("batch-norm calibration: batch size must be >= 2");
  BatchNormScope scope(model);  // puts the model's own statistics back on return
  if (scope.size() == 0) throw std::invalid_argument("batch-norm calibration: the model has no batch-norm layers");

  CalibrationMode mode(model, batch_norm_layers(model));
  torch::NoGradGuard no_grad;
  const int64_t n = images.size(0), batch = options.batch_size();
  for (int64_t start = 0; start < n;) {
    int64_t count = std::min(batch, n - start);
    if (n - start - count == 1) count += 1;  // no batch of a single image (its variance is undefined)
    model.forward(images.narrow(0, start, count).to(options.device()));
    start += count;
  }

  BatchNormStatistics statistics;
  for (const auto& layer : mode.layers()) {
    statistics.running_means.push_back(layer->running_mean.detach().clone());
    statistics.running_vars.push_back(layer->running_var.detach().clone());
  }
  return statistics;
}

std::vector<BatchNormStatistics> recalibrate_per_lambda(nn::Classifier& model, const torch::Tensor& images,
                                                        const std::vector<double>& lambdas,
                                                        const CalibrationOptions& options) {
  LambdaScope scope(model.csc_layers());
  if (scope.empty()) throw std::invalid_argument("batch-norm calibration per lambda: the model has no CSC layers");
  std::vector<BatchNormStatistics> statistics;
  for (const double lambda : lambdas) {
    if (!(lambda >= 0) || !std::isfinite(lambda))
      throw std::invalid_argument("batch-norm calibration per lambda: lambda must be finite and >= 0, got " + std::to_string(lambda));
    scope.set_all(lambda);
    statistics.push_back(recalibrate_batch_norm(model, images, options));
  }
  return statistics;
}

}  // namespace deepsc::robust
