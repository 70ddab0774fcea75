#include "deepsc/nn/batch_norm.h"
#include "deepsc/nn/registry.h"
#include "deepsc/robust/batch_norm_statistics.h"
#include "deepsc/robust/lambda_scope.h"
#include "deepsc/robust/lambda_sweep.h"

#include <gtest/gtest.h>

namespace robust = deepsc::robust;
namespace nn = deepsc::nn;

namespace {

/// A small SDNet-18 on 1×16×16 images (untrained: its batch norms hold the initial statistics
/// 0 and 1, far from those of any input).
std::shared_ptr<nn::Classifier> small_sdnet(const std::string& name = "sdnet18") {
  torch::manual_seed(5);
  auto model = nn::make_model(name, nn::ModelOptions().num_classes(5).in_channels(1).width(0.0625));
  model->eval();
  return model;
}

/// Every parameter and buffer of a model, cloned, by name. The CSC layers cache their step size L
/// in buffers on the first forward at an image size: call after one.
std::vector<std::pair<std::string, torch::Tensor>> state_of(const torch::nn::Module& model) {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  for (const auto& p : model.named_parameters()) state.emplace_back(p.key(), p.value().detach().clone());
  for (const auto& b : model.named_buffers()) state.emplace_back(b.key(), b.value().detach().clone());
  return state;
}

void expect_same_state(const torch::nn::Module& model, const std::vector<std::pair<std::string, torch::Tensor>>& before) {
  const auto after = state_of(model);
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].first, before[i].first);
    EXPECT_TRUE(torch::equal(after[i].second, before[i].second)) << after[i].first;
  }
}

}  // namespace

TEST(BatchNormCalibration, TheStemsStatisticsAreTheMeanAndVarianceOfItsCodesAtTheNewLambda) {
  auto model = small_sdnet();
  const auto images = torch::randn({41, 1, 16, 16});
  robust::LambdaScope lambdas(model->csc_layers());
  lambdas.set_all(0.3);
  // The stem's batch norm (the model's first) sees the codes of the CSC stem at λ = 0.3.
  torch::Tensor codes;
  {
    torch::NoGradGuard no_grad;
    codes = model->input_csc_layer()->forward(images);
  }
  // One batch: the running statistics are exactly the batch's mean and unbiased variance.
  auto one = robust::recalibrate_batch_norm(*model, images, robust::CalibrationOptions().batch_size(64));
  ASSERT_FALSE(one.empty());
  EXPECT_TRUE(torch::allclose(one.running_means[0], codes.mean({0, 2, 3}), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(one.running_vars[0], codes.var({0, 2, 3}, /*unbiased=*/true), 1e-4, 1e-6));
  // Batches of 20 and 21 (no batch of one image is left): the average of the batches' statistics.
  auto two = robust::recalibrate_batch_norm(*model, images, robust::CalibrationOptions().batch_size(20));
  const auto first = codes.narrow(0, 0, 20), second = codes.narrow(0, 20, 21);
  EXPECT_TRUE(torch::allclose(two.running_means[0], (first.mean({0, 2, 3}) + second.mean({0, 2, 3})) / 2, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(two.running_vars[0], (first.var({0, 2, 3}, true) + second.var({0, 2, 3}, true)) / 2, 1e-4, 1e-6));
  // A larger λ shrinks the codes, and their statistics follow.
  lambdas.set_all(1.2);
  const auto larger = robust::recalibrate_batch_norm(*model, images, robust::CalibrationOptions().batch_size(64));
  EXPECT_LT(larger.running_means[0].sum().item<double>(), one.running_means[0].sum().item<double>());
  // Every batch norm of the network got statistics, not only the stem's.
  size_t batch_norms = 0;
  for (const auto& module : model->modules()) batch_norms += module->as<nn::BatchNorm2d>() != nullptr;
  EXPECT_EQ(one.running_means.size(), batch_norms);
  for (size_t i = 0; i < batch_norms; ++i) EXPECT_FALSE(torch::equal(one.running_vars[i], torch::ones_like(one.running_vars[i]))) << i;
}

TEST(BatchNormCalibration, LeavesTheModelAsItWas) {
  auto model = small_sdnet();
  const auto images = torch::randn({24, 1, 16, 16});
  model->forward(images);
  const auto before = state_of(*model);
  const auto per_lambda = robust::recalibrate_per_lambda(*model, images, {0.0, 0.5}, robust::CalibrationOptions().batch_size(8));
  ASSERT_EQ(per_lambda.size(), 2u);
  expect_same_state(*model, before);  // statistics, batch counts, weights and λ
  EXPECT_DOUBLE_EQ(model->csc_layers().front()->options.lambda(), 0.1);
  for (const auto& module : model->modules()) {
    EXPECT_FALSE(module->is_training()) << module->name();
    if (auto* bn = module->as<nn::BatchNorm2d>()) {
      ASSERT_TRUE(bn->options.momentum().has_value());
      EXPECT_DOUBLE_EQ(*bn->options.momentum(), 0.1);
    }
  }
  // A scope puts loaded statistics back.
  {
    robust::BatchNormScope scope(*model);
    scope.load(per_lambda[1]);
    EXPECT_TRUE(torch::equal(model->named_buffers()["bn1.running_mean"], per_lambda[1].running_means[0]));
    EXPECT_TRUE(torch::equal(model->named_buffers()["bn1.running_var"], per_lambda[1].running_vars[0]));
  }
  expect_same_state(*model, before);
}

TEST(BatchNormCalibration, ASweepWithStatisticsEqualsLoadingThemAtEachLambda) {
  auto model = small_sdnet("sdnet18-all");
  const auto calibration = torch::randn({32, 1, 16, 16});
  model->forward(calibration);
  const auto before = state_of(*model);
  const auto images = torch::randn({30, 1, 16, 16});
  const auto labels = torch::randint(0, 5, {30}, torch::kLong);
  const std::vector<double> grid{0.05, 0.4};
  const auto statistics = robust::recalibrate_per_lambda(*model, calibration, grid, robust::CalibrationOptions().batch_size(16));
  const auto sweep =
      robust::sweep_lambda(*model, images, labels, grid, robust::SweepOptions().batch_size(7).statistics(statistics));
  const auto plain = robust::sweep_lambda(*model, images, labels, grid, robust::SweepOptions().batch_size(7));
  for (size_t i = 0; i < grid.size(); ++i) {
    robust::LambdaScope lambdas(model->csc_layers());
    robust::BatchNormScope batch_norm(*model);
    lambdas.set_all(grid[i]);
    batch_norm.load(statistics[i]);
    torch::NoGradGuard no_grad;
    const auto logits = model->forward(images);
    EXPECT_EQ(sweep.correct[i], logits.argmax(1).eq(labels).sum().item<int64_t>()) << grid[i];
    EXPECT_NEAR(sweep.residual(i), robust::csc_residual(model->csc_layers()).mean().item<double>(), 1e-4) << grid[i];
  }
  // SDNet-18-All has CSC layers after batch norms: there the statistics change the residuals too.
  EXPECT_NE(sweep.residual_sum[1], plain.residual_sum[1]);
  expect_same_state(*model, before);
}

TEST(BatchNormCalibration, RejectsWhatItCannotUse) {
  auto model = small_sdnet();
  const auto images = torch::randn({8, 1, 16, 16});
  EXPECT_THROW(robust::recalibrate_batch_norm(*model, images.narrow(0, 0, 1)), std::invalid_argument);
  EXPECT_THROW(robust::recalibrate_batch_norm(*model, images, robust::CalibrationOptions().batch_size(1)), std::invalid_argument);
  EXPECT_THROW(robust::recalibrate_batch_norm(*model, images.view({8, 256})), std::invalid_argument);
  EXPECT_THROW(robust::recalibrate_per_lambda(*model, images, {0.1, -0.2}), std::invalid_argument);
  auto resnet = nn::make_model("resnet18", nn::ModelOptions().num_classes(5).in_channels(1).width(0.0625));
  EXPECT_THROW(robust::recalibrate_per_lambda(*resnet, images, {0.1}), std::invalid_argument);  // no CSC layer
  const auto statistics = robust::recalibrate_per_lambda(*model, images, {0.1});
  const auto labels = torch::zeros({8}, torch::kLong);
  EXPECT_THROW(robust::sweep_lambda(*model, images, labels, {0.1, 0.2}, robust::SweepOptions().statistics(statistics)),
               std::invalid_argument);
  robust::BatchNormScope scope(*model);
  auto wrong = statistics.front();
  wrong.running_means.pop_back();
  EXPECT_THROW(scope.load(wrong), std::invalid_argument);
  wrong = statistics.front();
  wrong.running_vars[0] = torch::ones({3});
  EXPECT_THROW(scope.load(wrong), std::invalid_argument);
}
