#pragma once
/// Accuracy of a classifier with CSC layers on noisy images, with the λ of
///   min_c λ‖c‖₁ + ½‖x − Dc‖²
/// chosen at test time (Zhang, "From sparse coding to deep learning", 2024, section 5 and its
/// Algorithm 1; Dai et al., "Revisiting sparse convolutional model for visual recognition",
/// NeurIPS 2022). For every noise and level (clean, then each CIFAR-10-C severity; Hendrycks &
/// Dietterich, ICLR 2019) the test images are measured
///   - at the trained λ (for a model without CSC layers: its plain accuracy),
///   - at every λ of a grid (the oracle: the best λ on these very images),
///   - with Algorithm 1: on corrupted training images, the best λ of the grid and the mean CSC
///     residual r at the trained λ per level give a least-squares line λ(r) (robust::fit_lambda),
///     applied to the residual of the test set, and
///   - per sample, each test image coded with λ(r_i) of its own residual.
/// With calibration images the batch-norm statistics are re-estimated at each λ used
/// (robust::recalibrate_per_lambda). Images are corrupted in [0, 1] and normalised after.

#include "deepsc/data/corruption.h"
#include "deepsc/data/image_set.h"
#include "deepsc/nn/classifier.h"
#include "deepsc/robust/lambda_fit.h"

#include <functional>
#include <string>
#include <vector>

namespace deepsc::robust {

/// Images [N, C, H, W] with values in [0, 1] and their labels [N] (int64), on the CPU.
using data::LabelledImages;

struct RobustnessOptions {
  // (Declared first: TORCH_ARG leaves the rest of a struct private.)
  using Normalise = std::function<torch::Tensor(const torch::Tensor&)>;
  using PublishedImages = std::function<LabelledImages(data::Noise, int)>;
  using Progress = std::function<void(int64_t, int64_t)>;

  RobustnessOptions(std::vector<data::Noise> noises, std::vector<int> severities, std::vector<double> lambda_grid)
      : noises_(std::move(noises)), severities_(std::move(severities)), lambda_grid_(std::move(lambda_grid)) {}

  /// Noises, in the order of the report (at least one).
  TORCH_ARG(std::vector<data::Noise>, noises);
  /// CIFAR-10-C severities in 1..5; the clean images (severity 0) are always measured first.
  TORCH_ARG(std::vector<int>, severities);
  /// λ of the sweep: sorted, distinct, ≥ 0 (parse_lambda_grid).
  TORCH_ARG(std::vector<double>, lambda_grid);
  /// Training images on which λ(r) is fitted (Algorithm 1); none (undefined images): no fit.
  TORCH_ARG(LabelledImages, fit_images) = {};
  /// Also code each test image with λ(r_i) of its own residual; needs fit_images.
  TORCH_ARG(bool, per_sample) = false;
  /// Clean training images [M, C, H, W] in [0, 1] (M ≥ 2) on which the batch-norm statistics are
  /// re-estimated at every λ used; undefined: the trained statistics. Not with per_sample.
  TORCH_ARG(torch::Tensor, calibration_images) = {};
  /// Seed of the generated noise: set (noise, severity, training or test) is drawn with
  /// data::sample_seed(seed, training ? 1 : 0, 16·noise + severity).
  TORCH_ARG(uint64_t, seed) = 0;
  /// Images per forward, ≥ 1.
  TORCH_ARG(int64_t, batch_size) = 500;
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  /// Images in [0, 1] → the model's input (the run's (x − mean) / std), on the CPU; null: identity.
  TORCH_ARG(Normalise, normalise) = nullptr;
  /// The published corrupted test images at (noise, severity) (e.g. CIFAR-10-C), used instead of
  /// generated noise on the test images; null: generated. Training images are always generated.
  TORCH_ARG(PublishedImages, published) = nullptr;
  /// Called with (image-forwards done, total): each λ of a sweep counts an image once, the fitted λ
  /// once, per-sample λ twice (the probe), a calibration once per image.
  TORCH_ARG(Progress, progress) = nullptr;
};

/// One noise at one level of the test set.
struct RobustnessRow {
  std::string noise;
  /// 0 = clean.
  int severity = 0;
  /// data::severity_level of (noise, severity); 0 when clean.
  double level = 0;
  /// Top-1 at the trained λ (without CSC layers: the model's accuracy), and the mean residual there.
  double fixed = 0, residual = 0;
  /// The oracle: the best λ of the grid on these very images (the smallest among ties) and its top-1.
  double best_lambda = 0, best = 0;
  /// λ(r_test) and its top-1 (with a fit).
  double fit_lambda = 0, fitted = 0;
  /// Mean per-sample λ and its top-1 (with per_sample).
  double per_sample_lambda = 0, per_sample = 0;
  /// Top-1 and mean residual at each λ of the grid (with CSC layers).
  std::vector<double> curve, curve_residual;
};

/// Algorithm 1's pairs and line for one noise (on the training images).
struct NoiseFit {
  std::string noise;
  /// The levels fitted on: severities (0 = clean), their data::severity_level, the mean residual at
  /// the trained λ and the best λ of the grid there.
  std::vector<int> severities;
  std::vector<double> levels, residuals, best_lambdas;
  LambdaFit fit;
  int64_t samples = 0;
};

struct RobustnessResult {
  /// Noise names in order, and the grid swept.
  std::vector<std::string> noises;
  std::vector<double> lambda_grid;
  /// Every CSC layer's trained λ (empty without CSC layers).
  std::vector<double> trained_lambda;
  bool has_csc = false, fit = false, per_sample = false;
  /// Test images, and images the batch-norm statistics were re-estimated on (0: none).
  int64_t samples = 0, calibration_size = 0;
  /// One per noise, with a fit.
  std::vector<NoiseFit> fits;
  /// Per noise, the clean level then each severity.
  std::vector<RobustnessRow> rows;
  /// Wall-clock seconds of the evaluation.
  double seconds = 0;
};

/// Runs the evaluation described in the file comment on `test`. The model must be in eval mode;
/// its λ and batch-norm statistics are restored after. Sets are corrupted and normalised once;
/// within a batch the first CSC layer's analysis is shared by every λ (robust::sweep_lambda).
/// Throws std::invalid_argument for an empty noise list or grid, batch_size < 1, per_sample
/// without fit images or with calibration images, fewer than 2 calibration images, or a fit,
/// per-sample λ or calibration for a model without CSC layers.
RobustnessResult evaluate_robustness(nn::Classifier& model, const LabelledImages& test,
                                     const RobustnessOptions& options);

}  // namespace deepsc::robust
