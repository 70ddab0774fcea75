#include "deepsc/robust/robustness_evaluation.h"

#include "deepsc/data/loader.h"
#include "deepsc/robust/batch_norm_statistics.h"
#include "deepsc/robust/lambda_scope.h"
#include "deepsc/robust/lambda_sweep.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <stdexcept>

namespace deepsc::robust {

namespace {

/// A seed for (noise, severity) so that every corrupted set is drawn independently and reproducibly.
uint64_t corruption_seed(uint64_t seed, data::Noise noise, int severity, bool training) {
  return data::sample_seed(seed, training ? 1 : 0, static_cast<int64_t>(noise) * 16 + severity);
}

void check_options(const RobustnessOptions& o, bool has_csc) {
  if (o.noises().empty()) throw std::invalid_argument("RobustnessOptions::noises: no noise given");
  if (o.lambda_grid().empty()) throw std::invalid_argument("RobustnessOptions::lambda_grid: no values");
  for (const double lambda : o.lambda_grid())
    if (!(lambda >= 0)) throw std::invalid_argument("RobustnessOptions::lambda_grid: every lambda must be >= 0");
  if (o.batch_size() < 1)
    throw std::invalid_argument("RobustnessOptions::batch_size must be >= 1, got " + std::to_string(o.batch_size()));
  const bool fit = o.fit_images().images.defined();
  const bool calibrate = o.calibration_images().defined();
  if (o.per_sample() && !fit) throw std::invalid_argument("RobustnessOptions::per_sample needs fit_images (lambda comes from the fitted line)");
  if (o.per_sample() && calibrate)
    throw std::invalid_argument("RobustnessOptions::calibration_images cannot be combined with per_sample (batch-norm statistics are per lambda)");
  if (calibrate && o.calibration_images().size(0) < 2)
    throw std::invalid_argument("RobustnessOptions::calibration_images: need at least 2 images");
  if ((fit || o.per_sample() || calibrate) && !has_csc)
    throw std::invalid_argument("RobustnessOptions: a fit, per-sample lambda or calibration needs a model with CSC layers");
}

/// Progress in image-forwards over stages (a sweep, a calibration, ...): a stage reports how far it
/// is and counts into the total when finished.
class Progress {
 public:
  Progress(RobustnessOptions::Progress report, int64_t total) : report_(std::move(report)), total_(total) {}
  /// `images_done` of the current stage, each counting `weight` forwards.
  void update(int64_t images_done, int64_t weight) {
    stage_done_ = images_done * weight;
    if (report_) report_(done_ + stage_done_, total_);
  }
  void finish_stage() {
    done_ += stage_done_;
    stage_done_ = 0;
  }

 private:
  RobustnessOptions::Progress report_;
  int64_t total_ = 0, done_ = 0, stage_done_ = 0;
};

}  // namespace

RobustnessResult evaluate_robustness(nn::Classifier& model, const LabelledImages& test,
                                     const RobustnessOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  LambdaScope scope(model.csc_layers());
  const bool has_csc = !scope.empty();
  check_options(o, has_csc);
  const auto& grid = o.lambda_grid();
  const bool fit_wanted = o.fit_images().images.defined();
  const auto& fit_set = o.fit_images();
  const double trained = has_csc ? scope.trained().front() : 0.0;
  // The sweep's grid plus the trained λ (for the residual r_c and the fixed-λ accuracy).
  auto sweep_grid = grid;
  if (has_csc && std::find(grid.begin(), grid.end(), trained) == grid.end()) sweep_grid.push_back(trained);
  const size_t trained_index =
      has_csc ? std::find(sweep_grid.begin(), sweep_grid.end(), trained) - sweep_grid.begin() : 0;
  const RobustnessOptions::Normalise normalise =
      o.normalise() ? o.normalise() : [](const torch::Tensor& images) { return images; };

  torch::Tensor calibration_images;
  if (o.calibration_images().defined()) calibration_images = normalise(o.calibration_images());
  const int64_t calibration_size = calibration_images.defined() ? calibration_images.size(0) : 0;
  const int64_t levels = 1 + static_cast<int64_t>(o.severities().size());
  const int64_t noise_count = static_cast<int64_t>(o.noises().size());
  const auto sweep_size = static_cast<int64_t>(sweep_grid.size());
  // Image-forwards: sweeps (×λ), the fitted λ (×1) and per-sample λ (×2 for the probe) per test set;
  // the fit's sweeps; recalibration at every λ of the sweep once and at each level's fitted λ.
  const int64_t per_test_set =
      test.size() * (has_csc ? sweep_size + (fit_wanted ? 1 : 0) + (o.per_sample() ? 2 : 0) : 1);
  const int64_t total = noise_count * levels * per_test_set +
                        (fit_wanted ? noise_count * levels * fit_set.size() * sweep_size : 0) +
                        calibration_size * (sweep_size + (fit_wanted ? noise_count * levels : 0));
  Progress progress(o.progress(), total);

  // Batch-norm statistics of the model with its CSC layers at λ.
  auto calibrate = [&](double lambda) {
    auto statistics = recalibrate_per_lambda(
        model, calibration_images, {lambda},
        CalibrationOptions().batch_size(std::max<int64_t>(2, o.batch_size())).device(o.device()));
    progress.update(calibration_size, 1);
    progress.finish_stage();
    return statistics.front();
  };
  std::vector<BatchNormStatistics> grid_statistics;  // one per λ of sweep_grid
  if (calibration_size > 0)
    for (const double lambda : sweep_grid) grid_statistics.push_back(calibrate(lambda));
  auto sweep_options = [&](int64_t weight) {
    return SweepOptions().batch_size(o.batch_size()).device(o.device()).statistics(grid_statistics).progress(
        [&progress, weight](int64_t done, int64_t /*of*/) { progress.update(done, weight); });
  };
  auto corrupted = [&](const LabelledImages& set, data::Noise noise, int severity, bool training) -> LabelledImages {
    if (severity == 0) return set;
    if (!training && o.published()) return o.published()(noise, severity);
    return {data::corrupt_severity(set.images, noise, severity, corruption_seed(o.seed(), noise, severity, training)),
            set.labels};
  };
  auto plain_accuracy = [&](const torch::Tensor& images, const torch::Tensor& labels) {
    torch::NoGradGuard no_grad;
    int64_t correct = 0;
    for (int64_t first = 0; first < images.size(0); first += o.batch_size()) {
      const int64_t count = std::min(o.batch_size(), images.size(0) - first);
      const auto logits = model.forward(images.narrow(0, first, count).to(o.device()));
      correct += logits.argmax(1).cpu().eq(labels.narrow(0, first, count)).sum().item<int64_t>();
      progress.update(first + count, 1);
    }
    progress.finish_stage();
    return static_cast<double>(correct) / std::max<int64_t>(images.size(0), 1);
  };

  // The clean level is the same images for every noise: its sweeps (training and test images) run
  // once and are reused, their forwards still counted by the progress.
  std::optional<SweepResult> clean_fit_sweep, clean_test_sweep;
  auto sweep_level = [&](std::optional<SweepResult>& clean, int severity, const torch::Tensor& images,
                         const torch::Tensor& labels) {
    SweepResult sweep;
    if (severity == 0 && clean) {
      sweep = *clean;
      progress.update(images.size(0), sweep_size);
    } else {
      sweep = sweep_lambda(model, images, labels, sweep_grid, sweep_options(sweep_size));
      if (severity == 0) clean = sweep;
    }
    progress.finish_stage();
    return sweep;
  };

  RobustnessResult result;
  result.lambda_grid = grid;
  result.trained_lambda = scope.trained();
  result.has_csc = has_csc;
  result.fit = fit_wanted;
  result.per_sample = o.per_sample();
  result.samples = test.size();
  result.calibration_size = calibration_size;
  std::vector<int> all_levels{0};
  all_levels.insert(all_levels.end(), o.severities().begin(), o.severities().end());
  for (const auto noise : o.noises()) {
    const std::string name = data::noise_name(noise);
    result.noises.push_back(name);

    // Algorithm 1, lines 3–12: best λ and residual per level on corrupted training images; the line.
    LambdaFit fit;
    if (fit_wanted) {
      NoiseFit pairs;
      pairs.noise = name;
      pairs.samples = fit_set.size();
      for (const int s : all_levels) {
        const auto set = corrupted(fit_set, noise, s, true);
        const auto sweep = sweep_level(clean_fit_sweep, s, normalise(set.images), set.labels);
        const size_t best_index = sweep.best(grid.size());  // the user's grid, not the appended trained λ
        pairs.severities.push_back(s);
        pairs.levels.push_back(s ? data::severity_level(noise, s) : 0.0);
        pairs.residuals.push_back(sweep.residual(trained_index));
        pairs.best_lambdas.push_back(grid[best_index]);
      }
      fit = pairs.fit = fit_lambda(pairs.residuals, pairs.best_lambdas, grid.front(), grid.back());
      result.fits.push_back(std::move(pairs));
    }

    // The test set at every level: fixed λ, the grid (oracle best), λ(r_test), per-sample λ.
    for (const int s : all_levels) {
      const auto set = corrupted(test, noise, s, false);
      const auto images = normalise(set.images);
      RobustnessRow row;
      row.noise = name;
      row.severity = s;
      row.level = s ? data::severity_level(noise, s) : 0.0;
      if (!has_csc) {
        row.fixed = plain_accuracy(images, set.labels);
        result.rows.push_back(row);
        continue;
      }
      const auto sweep = sweep_level(clean_test_sweep, s, images, set.labels);
      row.fixed = sweep.accuracy(trained_index);
      row.residual = sweep.residual(trained_index);
      for (size_t i = 0; i < grid.size(); ++i) {
        row.curve.push_back(sweep.accuracy(i));
        row.curve_residual.push_back(sweep.residual(i));
      }
      const size_t best_index = sweep.best(grid.size());
      row.best_lambda = grid[best_index];
      row.best = sweep.accuracy(best_index);
      if (fit_wanted) {
        row.fit_lambda = fit.at(row.residual);
        auto at_fit_options = sweep_options(1).statistics({});
        if (calibration_size > 0) at_fit_options.statistics({calibrate(row.fit_lambda)});
        const auto at_fit = sweep_lambda(model, images, set.labels, {row.fit_lambda}, at_fit_options);
        progress.finish_stage();
        row.fitted = at_fit.accuracy(0);
      }
      if (o.per_sample()) {
        const auto per_sample = evaluate_per_sample(model, images, set.labels, fit, sweep_options(2));
        progress.finish_stage();
        row.per_sample = per_sample.accuracy();
        row.per_sample_lambda = per_sample.mean_lambda();
      }
      result.rows.push_back(row);
    }
  }
  scope.restore();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace deepsc::robust
