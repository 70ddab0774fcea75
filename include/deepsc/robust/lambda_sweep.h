#pragma once
/// Robust inference with CSC layers (Zhang 2024, section 5; Dai et al., "Revisiting sparse convolutional
/// model for visual recognition", NeurIPS 2022): the λ of  min_c λ‖c‖₁ + ½‖x − Dc‖²  can change at
/// test time without retraining, and the best λ grows with the noise in x. This file measures a
/// model over a grid of λ, and codes each sample with a λ chosen from its own residual.
///
/// Residual of a sample: the mean over the model's CSC layers of ‖x_l − D_l c_l‖₂ (the ℓ2 norm of
/// each layer's reconstruction error for that sample), as in Algorithm 1 of the lecture (Zhang 2024).

#include "deepsc/nn/classifier.h"
#include "deepsc/robust/batch_norm_statistics.h"
#include "deepsc/robust/lambda_fit.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace deepsc::robust {

struct SweepOptions {
  /// Images per forward, ≥ 1.
  TORCH_ARG(int64_t, batch_size) = 500;
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  /// Called after each batch with (images done, total).
  using Progress = std::function<void(int64_t, int64_t)>;
  TORCH_ARG(Progress, progress) = nullptr;
  /// Empty: the model's own batch-norm statistics at every λ. Else one set per λ of the sweep
  /// (recalibrate_batch_norm at that λ), loaded while that λ is evaluated; the model's own are
  /// restored after.
  TORCH_ARG(std::vector<BatchNormStatistics>, statistics) = {};
};

/// Accuracy and mean residual per λ of one image set.
struct SweepResult {
  std::vector<double> lambdas;
  /// Correct top-1 predictions and the summed per-sample residual, per λ.
  std::vector<int64_t> correct;
  std::vector<double> residual_sum;
  int64_t samples = 0;

  double accuracy(size_t i) const { return samples ? static_cast<double>(correct[i]) / samples : 0.0; }
  double residual(size_t i) const { return samples ? residual_sum[i] / samples : 0.0; }
  /// The λ index of the highest accuracy among the first `count` λ (all by default; the smallest
  /// index among ties).
  size_t best(size_t count = SIZE_MAX) const;
};

/// The per-sample residual [N] of the model's last forward (see above). Throws std::logic_error
/// for a model without CSC layers.
torch::Tensor csc_residual(const std::vector<nn::CscLayer>& layers);

/// Every CSC layer's λ set in turn to each value of `lambdas` (the model's own λ restored after),
/// the model (in eval mode) run on `images` [N, C, H, W] (normalised, on any device) with labels
/// [N]. Batch-outer, λ-inner: each batch goes to the device once and the first CSC layer's
/// analysis Dᵀx is computed once for all λ (CscLayer::set_reuse_analysis). Throws
/// std::invalid_argument for an empty grid, a negative λ, mismatched sizes, statistics that are
/// not one per λ, or a model without CSC layers.
SweepResult sweep_lambda(nn::Classifier& model, const torch::Tensor& images, const torch::Tensor& labels,
                         const std::vector<double>& lambdas, const SweepOptions& options = {});

/// Forward with a per-sample λ chosen from each sample's residual.
struct PerSampleForward {
  /// [N, classes].
  torch::Tensor logits;
  /// λ_i = fit(r_i) [N], and r_i measured at the layers' current λ [N].
  torch::Tensor lambdas, residuals;
};

/// A probe at the layers' current λ gives each sample's residual r_i — only the input CSC layer
/// when it is the model's only one (its residual depends on the image alone), else the whole
/// model — then every layer codes sample i with λ_i = fit(r_i) in one batched forward (no
/// per-sample loop). The model's λ is restored after. `images` normalised, model in eval mode.
PerSampleForward per_sample_forward(nn::Classifier& model, const torch::Tensor& images, const LambdaFit& fit);

/// Correct predictions of per_sample_forward over a whole set, batch by batch; also the mean λ.
struct PerSampleResult {
  int64_t correct = 0, samples = 0;
  double lambda_sum = 0;
  double accuracy() const { return samples ? static_cast<double>(correct) / samples : 0.0; }
  double mean_lambda() const { return samples ? lambda_sum / samples : 0.0; }
};
PerSampleResult evaluate_per_sample(nn::Classifier& model, const torch::Tensor& images, const torch::Tensor& labels,
                                    const LambdaFit& fit, const SweepOptions& options = {});

}  // namespace deepsc::robust
