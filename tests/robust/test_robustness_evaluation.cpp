// The whole robustness evaluation (deepsc/robust/robustness_evaluation.h) against the same steps
// done by hand with sweep_lambda, fit_lambda and evaluate_per_sample on a small SDNet.
#include "deepsc/data/loader.h"
#include "deepsc/nn/registry.h"
#include "deepsc/robust/batch_norm_statistics.h"
#include "deepsc/robust/lambda_sweep.h"
#include "deepsc/robust/robustness_evaluation.h"

#include "support/small_classifiers.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <utility>
#include <vector>

namespace robust = deepsc::robust;
namespace nn = deepsc::nn;
namespace data = deepsc::data;

using deepsc::testing::csc_lambdas;
using deepsc::testing::small_classifier;

namespace {

robust::LabelledImages random_images(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  return {torch::rand({n, 1, 16, 16}), torch::randint(0, 5, {n}, torch::kLong)};
}

torch::Tensor normalise_images(const torch::Tensor& images) { return (images - 0.4) / 0.3; }

/// The images of `set` at (noise, severity) as the evaluation draws them.
torch::Tensor corrupted(const torch::Tensor& images, data::Noise noise, int severity, uint64_t seed, bool training) {
  if (severity == 0) return images;
  return data::corrupt_severity(images, noise, severity,
                                data::sample_seed(seed, training ? 1 : 0, static_cast<int64_t>(noise) * 16 + severity));
}

size_t best_of(const robust::SweepResult& sweep, size_t grid_size) {
  size_t best = 0;
  for (size_t i = 1; i < grid_size; ++i)
    if (sweep.correct[i] > sweep.correct[best]) best = i;
  return best;
}

}  // namespace

TEST(RobustnessEvaluation, AgreesWithTheStepsDoneByHand) {
  auto model = small_classifier("sdnet18");
  const auto trained = csc_lambdas(*model);
  ASSERT_EQ(trained, (std::vector<double>{0.1}));
  const auto test = random_images(13, 1), fit_set = random_images(11, 2);
  const std::vector<double> grid{0.0, 0.05, 0.3};
  const std::vector<double> sweep_grid{0.0, 0.05, 0.3, 0.1};  // the grid and the trained λ
  const std::vector<data::Noise> noises{data::Noise::Gaussian, data::Noise::Impulse};
  std::vector<std::pair<int64_t, int64_t>> reports;
  const auto result = robust::evaluate_robustness(
      *model, test,
      robust::RobustnessOptions(noises, {2}, grid).fit_images(fit_set).per_sample(true).seed(9).batch_size(5).normalise(
          normalise_images).progress([&](int64_t done, int64_t total) { reports.emplace_back(done, total); }));
  EXPECT_EQ(csc_lambdas(*model), trained);
  EXPECT_TRUE(result.has_csc && result.fit && result.per_sample);
  EXPECT_EQ(result.samples, 13);
  EXPECT_EQ(result.trained_lambda, trained);
  EXPECT_EQ(result.noises, (std::vector<std::string>{"gaussian", "impulse"}));

  // Progress in image-forwards: per test set 4 sweep λ + the fitted λ + 2 for per-sample, and the
  // fit's 4 sweep λ on each training set; it only grows and ends at the total.
  const int64_t total = 2 * 2 * 13 * (4 + 1 + 2) + 2 * 2 * 11 * 4;
  ASSERT_FALSE(reports.empty());
  for (size_t i = 0; i < reports.size(); ++i) {
    EXPECT_EQ(reports[i].second, total);
    if (i > 0) {
      EXPECT_GE(reports[i].first, reports[i - 1].first);
    }
  }
  EXPECT_EQ(reports.back().first, total);

  const auto by_hand = robust::SweepOptions().batch_size(5);
  ASSERT_EQ(result.rows.size(), 4u);
  ASSERT_EQ(result.fits.size(), 2u);
  for (size_t n = 0; n < noises.size(); ++n) {
    // Algorithm 1 on the training images: best λ of the grid and the residual at the trained λ.
    std::vector<double> residuals, best;
    for (const int s : {0, 2}) {
      const auto sweep = robust::sweep_lambda(*model, normalise_images(corrupted(fit_set.images, noises[n], s, 9, true)),
                                              fit_set.labels, sweep_grid, by_hand);
      residuals.push_back(sweep.residual(3));
      best.push_back(grid[best_of(sweep, grid.size())]);
    }
    const auto& pairs = result.fits[n];
    EXPECT_EQ(pairs.noise, data::noise_name(noises[n]));
    EXPECT_EQ(pairs.severities, (std::vector<int>{0, 2}));
    EXPECT_EQ(pairs.levels, (std::vector<double>{0.0, data::severity_level(noises[n], 2)}));
    EXPECT_EQ(pairs.best_lambdas, best);
    ASSERT_EQ(pairs.residuals.size(), 2u);
    for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(pairs.residuals[i], residuals[i], 1e-9 * residuals[i]);
    EXPECT_GT(pairs.residuals[1], pairs.residuals[0]) << "noise raises the residual";
    const auto fit = robust::fit_lambda(residuals, best, grid.front(), grid.back());
    EXPECT_NEAR(pairs.fit.slope, fit.slope, 1e-9);
    EXPECT_NEAR(pairs.fit.intercept, fit.intercept, 1e-9);

    // The test images at each level.
    for (size_t level = 0; level < 2; ++level) {
      const int s = level ? 2 : 0;
      const auto& row = result.rows[2 * n + level];
      EXPECT_EQ(row.noise, data::noise_name(noises[n]));
      EXPECT_EQ(row.severity, s);
      const auto images = normalise_images(corrupted(test.images, noises[n], s, 9, false));
      const auto sweep = robust::sweep_lambda(*model, images, test.labels, sweep_grid, by_hand);
      EXPECT_DOUBLE_EQ(row.fixed, sweep.accuracy(3));
      EXPECT_NEAR(row.residual, sweep.residual(3), 1e-9 * sweep.residual(3));
      ASSERT_EQ(row.curve.size(), grid.size());
      for (size_t i = 0; i < grid.size(); ++i) {
        EXPECT_DOUBLE_EQ(row.curve[i], sweep.accuracy(i)) << i;
        EXPECT_NEAR(row.curve_residual[i], sweep.residual(i), 1e-9 * sweep.residual(i)) << i;
      }
      EXPECT_EQ(row.best_lambda, grid[best_of(sweep, grid.size())]);
      EXPECT_NEAR(row.fit_lambda, pairs.fit.at(row.residual), 1e-12);
      EXPECT_DOUBLE_EQ(row.fitted, robust::sweep_lambda(*model, images, test.labels, {row.fit_lambda}, by_hand).accuracy(0));
      const auto per_sample = robust::evaluate_per_sample(*model, images, test.labels, pairs.fit, by_hand);
      EXPECT_DOUBLE_EQ(row.per_sample, per_sample.accuracy());
      EXPECT_NEAR(row.per_sample_lambda, per_sample.mean_lambda(), 1e-9);
    }
  }
  // The residual grows with λ on every row (larger threshold, worse reconstruction).
  for (const auto& row : result.rows) EXPECT_GT(row.curve_residual.back(), row.curve_residual.front());
}

TEST(RobustnessEvaluation, RecalibratesTheStatisticsAtEveryLambda) {
  auto model = small_classifier("sdnet18");
  const auto test = random_images(7, 4), calibration = random_images(6, 5);
  const std::vector<double> grid{0.05, 0.3};
  const auto result = robust::evaluate_robustness(
      *model, test,
      robust::RobustnessOptions({data::Noise::Speckle}, {}, grid).calibration_images(calibration.images).batch_size(4).normalise(normalise_images));
  EXPECT_EQ(result.calibration_size, 6);
  ASSERT_EQ(result.rows.size(), 1u);
  const std::vector<double> sweep_grid{0.05, 0.3, 0.1};
  const auto statistics = robust::recalibrate_per_lambda(*model, normalise_images(calibration.images), sweep_grid,
                                                         robust::CalibrationOptions().batch_size(4));
  const auto sweep = robust::sweep_lambda(*model, normalise_images(test.images), test.labels, sweep_grid,
                                          robust::SweepOptions().batch_size(4).statistics(statistics));
  for (size_t i = 0; i < grid.size(); ++i) EXPECT_DOUBLE_EQ(result.rows[0].curve[i], sweep.accuracy(i));
  EXPECT_DOUBLE_EQ(result.rows[0].fixed, sweep.accuracy(2));
}

TEST(RobustnessEvaluation, AModelWithoutCscLayersGetsItsPlainAccuracy) {
  auto model = small_classifier("resnet18");
  const auto test = random_images(9, 6);
  const auto result = robust::evaluate_robustness(
      *model, test, robust::RobustnessOptions({data::Noise::Shot}, {1}, {0.1}).batch_size(4).seed(2));
  EXPECT_FALSE(result.has_csc);
  EXPECT_TRUE(result.trained_lambda.empty());
  ASSERT_EQ(result.rows.size(), 2u);
  torch::NoGradGuard no_grad;
  for (size_t level = 0; level < 2; ++level) {
    const auto images = corrupted(test.images, data::Noise::Shot, static_cast<int>(level), 2, false);
    const auto correct = model->forward(images).argmax(1).eq(test.labels).sum().item<int64_t>();
    EXPECT_DOUBLE_EQ(result.rows[level].fixed, correct / 9.0);
    EXPECT_TRUE(result.rows[level].curve.empty());
  }
  // A fit needs a λ to change.
  EXPECT_THROW(robust::evaluate_robustness(*model, test,
                                           robust::RobustnessOptions({data::Noise::Shot}, {1}, {0.1}).fit_images(test)),
               std::invalid_argument);
}

TEST(RobustnessEvaluation, RejectsBadOptions) {
  auto model = small_classifier("sdnet18");
  const auto test = random_images(4, 7);
  const std::vector<data::Noise> gaussian{data::Noise::Gaussian};
  auto expect_rejected = [&](const robust::RobustnessOptions& options) {
    EXPECT_THROW(robust::evaluate_robustness(*model, test, options), std::invalid_argument);
  };
  expect_rejected(robust::RobustnessOptions({}, {1}, {0.1}));
  expect_rejected(robust::RobustnessOptions(gaussian, {1}, {}));
  expect_rejected(robust::RobustnessOptions(gaussian, {1}, {-0.1}));
  expect_rejected(robust::RobustnessOptions(gaussian, {1}, {0.1}).batch_size(0));
  expect_rejected(robust::RobustnessOptions(gaussian, {1}, {0.1}).per_sample(true));
  expect_rejected(robust::RobustnessOptions(gaussian, {1}, {0.1}).fit_images(test).per_sample(true).calibration_images(test.images));
  expect_rejected(robust::RobustnessOptions(gaussian, {1}, {0.1}).calibration_images(test.images.narrow(0, 0, 1)));
  EXPECT_EQ(csc_lambdas(*model), (std::vector<double>{0.1}));
}
