#include "deepsc/robust/lambda_sweep.h"

#include "deepsc/robust/lambda_scope.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace deepsc::robust {

namespace {

void check_set(const torch::Tensor& images, const torch::Tensor& labels, const SweepOptions& options) {
  if (!images.defined() || images.dim() != 4) throw std::invalid_argument("robust evaluation: images must be [N, C, H, W]");
  if (!labels.defined() || labels.dim() != 1 || labels.size(0) != images.size(0)) {
    std::ostringstream msg;
    msg << "robust evaluation: labels must be [" << images.size(0) << "], got "
        << (labels.defined() ? labels.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  if (options.batch_size() < 1) throw std::invalid_argument("robust evaluation: batch size must be >= 1");
}

std::vector<nn::CscLayer> csc_layers_of(const nn::Classifier& model) {
  auto layers = model.csc_layers();
  if (layers.empty()) throw std::invalid_argument("robust evaluation: the model has no CSC layers whose lambda could change");
  return layers;
}

/// Turns on CscLayer::set_reuse_analysis for a scope.
class ReuseAnalysis {
 public:
  explicit ReuseAnalysis(std::vector<nn::CscLayer> layers) : layers_(std::move(layers)) {
    for (auto& layer : layers_) layer->set_reuse_analysis(true);
  }
  ~ReuseAnalysis() {
    for (auto& layer : layers_) layer->set_reuse_analysis(false);
  }

 private:
  std::vector<nn::CscLayer> layers_;
};

int64_t count_correct(const torch::Tensor& logits, const torch::Tensor& labels) {
  return logits.argmax(1).eq(labels).sum().item<int64_t>();
}

}  // namespace

size_t SweepResult::best(size_t count) const {
  size_t best = 0;
  for (size_t i = 1; i < std::min(count, correct.size()); ++i)
    if (correct[i] > correct[best]) best = i;
  return best;
}

torch::Tensor csc_residual(const std::vector<nn::CscLayer>& layers) {
  if (layers.empty()) throw std::logic_error("csc_residual: no CSC layers");
  torch::Tensor sum;
  for (const auto& layer : layers) {
    auto r = layer->last_residual().sqrt();
    sum = sum.defined() ? sum + r : r;
  }
  return sum / static_cast<double>(layers.size());
}

SweepResult sweep_lambda(nn::Classifier& model, const torch::Tensor& images, const torch::Tensor& labels,
                         const std::vector<double>& lambdas, const SweepOptions& options) {
  check_set(images, labels, options);
  if (lambdas.empty()) throw std::invalid_argument("lambda sweep: no lambda values");
  for (const double l : lambdas)
    if (!(l >= 0) || !std::isfinite(l)) throw std::invalid_argument("lambda sweep: lambda must be finite and >= 0, got " + std::to_string(l));
  const auto& statistics = options.statistics();
  if (!statistics.empty() && statistics.size() != lambdas.size())
    throw std::invalid_argument("lambda sweep: " + std::to_string(statistics.size()) + " sets of batch-norm statistics for " +
                                std::to_string(lambdas.size()) + " lambda values");
  LambdaScope scope(csc_layers_of(model));
  ReuseAnalysis reuse(scope.layers());
  std::optional<BatchNormScope> batch_norm;  // only when statistics are swapped in
  if (!statistics.empty()) batch_norm.emplace(model);
  torch::NoGradGuard no_grad;

  SweepResult result;
  result.lambdas = lambdas;
  result.correct.assign(lambdas.size(), 0);
  result.residual_sum.assign(lambdas.size(), 0.0);
  const int64_t n = images.size(0);
  for (int64_t start = 0; start < n; start += options.batch_size()) {
    const int64_t count = std::min(options.batch_size(), n - start);
    // One tensor object per batch: every λ's forward hands the first CSC layer this very input.
    const auto x = images.narrow(0, start, count).to(options.device());
    const auto y = labels.narrow(0, start, count).to(options.device());
    for (size_t i = 0; i < lambdas.size(); ++i) {
      scope.set_all(lambdas[i]);
      if (batch_norm) batch_norm->load(statistics[i]);
      const auto logits = model.forward(x);
      result.correct[i] += count_correct(logits, y);
      result.residual_sum[i] += csc_residual(scope.layers()).sum().item<double>();
    }
    result.samples += count;
    if (options.progress()) options.progress()(result.samples, n);
  }
  return result;
}

PerSampleForward per_sample_forward(nn::Classifier& model, const torch::Tensor& images, const LambdaFit& fit) {
  LambdaScope scope(csc_layers_of(model));
  ReuseAnalysis reuse(scope.layers());
  torch::NoGradGuard no_grad;
  PerSampleForward out;
  auto input_layer = model.input_csc_layer();
  if (input_layer && scope.layers().size() == 1) {
    input_layer->forward(images);  // the probe needs only the layer that sees the images
  } else {
    model.forward(images);
  }
  out.residuals = csc_residual(scope.layers());
  out.lambdas = fit.at(out.residuals);
  scope.set_per_sample(out.lambdas);
  out.logits = model.forward(images);
  return out;
}

PerSampleResult evaluate_per_sample(nn::Classifier& model, const torch::Tensor& images, const torch::Tensor& labels,
                                    const LambdaFit& fit, const SweepOptions& options) {
  check_set(images, labels, options);
  PerSampleResult result;
  const int64_t n = images.size(0);
  for (int64_t start = 0; start < n; start += options.batch_size()) {
    const int64_t count = std::min(options.batch_size(), n - start);
    const auto x = images.narrow(0, start, count).to(options.device());
    const auto y = labels.narrow(0, start, count).to(options.device());
    const auto forward = per_sample_forward(model, x, fit);
    result.correct += count_correct(forward.logits, y);
    result.lambda_sum += forward.lambdas.sum().item<double>();
    result.samples += count;
    if (options.progress()) options.progress()(result.samples, n);
  }
  return result;
}

}  // namespace deepsc::robust
