#include "deepsc/nn/registry.h"
#include "deepsc/robust/lambda_fit.h"
#include "deepsc/robust/lambda_scope.h"
#include "deepsc/robust/lambda_sweep.h"

#include "support/small_classifiers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace robust = deepsc::robust;
namespace nn = deepsc::nn;

using deepsc::testing::csc_lambdas;
using deepsc::testing::small_classifier;

TEST(LambdaFit, RecoversAKnownLineAndClampsToTheGrid) {
  const std::vector<double> r{0.5, 1.0, 2.0, 3.5, 4.0};
  std::vector<double> l;
  for (double x : r) l.push_back(0.3 * x + 0.05);
  auto fit = robust::fit_lambda(r, l);
  EXPECT_NEAR(fit.slope, 0.3, 1e-12);
  EXPECT_NEAR(fit.intercept, 0.05, 1e-12);
  // Noisy pairs: the least-squares line, checked against the normal equations' residual
  // orthogonality Σ e_i = 0 and Σ e_i r_i = 0.
  const std::vector<double> noisy{0.21, 0.31, 0.72, 1.08, 1.3};
  fit = robust::fit_lambda(r, noisy, 0.1, 1.4);
  double e_sum = 0, e_r = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    const double e = noisy[i] - (fit.slope * r[i] + fit.intercept);
    e_sum += e;
    e_r += e * r[i];
  }
  EXPECT_NEAR(e_sum, 0, 1e-12);
  EXPECT_NEAR(e_r, 0, 1e-12);
  EXPECT_DOUBLE_EQ(fit.at(-100.0), 0.1);
  EXPECT_DOUBLE_EQ(fit.at(100.0), 1.4);
  auto batch = fit.at(torch::tensor({-100.0, 2.0, 100.0}, torch::kDouble));
  EXPECT_NEAR(batch[1].item<double>(), fit.at(2.0), 1e-12);
  EXPECT_DOUBLE_EQ(batch[0].item<double>(), 0.1);
  // One level (or equal residuals): a flat line at the mean λ.
  fit = robust::fit_lambda({2.0, 2.0}, {0.2, 0.4});
  EXPECT_DOUBLE_EQ(fit.slope, 0);
  EXPECT_NEAR(fit.at(7.0), 0.3, 1e-12);
  EXPECT_THROW(robust::fit_lambda({}, {}), std::invalid_argument);
  EXPECT_THROW(robust::fit_lambda({1.0}, {0.1, 0.2}), std::invalid_argument);
  EXPECT_THROW(robust::fit_lambda({NAN}, {0.1}), std::invalid_argument);
  EXPECT_THROW(robust::fit_lambda({1.0}, {0.1}, 1.0, 0.5), std::invalid_argument);
}

TEST(LambdaSweep, EqualsSeparateEvaluationsAndRestoresTheModel) {
  for (const std::string name : {"sdnet18", "sdnet18-all"}) {
    auto model = small_classifier(name);
    const auto before = csc_lambdas(*model);
    auto images = torch::randn({37, 1, 16, 16});
    auto labels = torch::randint(0, 5, {37}, torch::kLong);
    const std::vector<double> grid{0.0, 0.1, 0.6, 1.4};
    int64_t reported = 0;
    auto result = robust::sweep_lambda(*model, images, labels, grid,
                                       robust::SweepOptions().batch_size(16).progress([&](int64_t done, int64_t total) {
                                         EXPECT_EQ(total, 37);
                                         reported = done;
                                       }));
    EXPECT_EQ(reported, 37);
    EXPECT_EQ(result.samples, 37);
    EXPECT_EQ(csc_lambdas(*model), before) << name;
    std::set<int64_t> distinct;
    for (size_t i = 0; i < grid.size(); ++i) {
      // The same evaluation done plainly: whole set, one λ, no reuse of the analysis.
      robust::LambdaScope scope(model->csc_layers());
      scope.set_all(grid[i]);
      torch::NoGradGuard no_grad;
      const auto logits = model->forward(images);
      const auto residual = robust::csc_residual(model->csc_layers());
      EXPECT_EQ(result.correct[i], logits.argmax(1).eq(labels).sum().item<int64_t>()) << name << " λ " << grid[i];
      EXPECT_NEAR(result.residual(i), residual.mean().item<double>(), 1e-4 * residual.mean().item<double>());
      distinct.insert(result.correct[i]);
      if (i > 0 && name == "sdnet18") {
        EXPECT_GT(result.residual(i), result.residual(i - 1)) << "larger λ, larger residual";
      }
    }
    EXPECT_GT(result.accuracy(result.best()), 0.0);
    EXPECT_EQ(result.correct[result.best()], *distinct.rbegin());
  }
  auto model = small_classifier("sdnet18");
  auto images = torch::randn({4, 1, 16, 16});
  EXPECT_THROW(robust::sweep_lambda(*model, images, torch::zeros({3}, torch::kLong), {0.1}), std::invalid_argument);
  EXPECT_THROW(robust::sweep_lambda(*model, images, torch::zeros({4}, torch::kLong), {}), std::invalid_argument);
  EXPECT_THROW(robust::sweep_lambda(*model, images, torch::zeros({4}, torch::kLong), {-0.1}), std::invalid_argument);
  auto resnet = small_classifier("resnet18");
  EXPECT_THROW(robust::sweep_lambda(*resnet, images, torch::zeros({4}, torch::kLong), {0.1}), std::invalid_argument);
}

TEST(PerSampleLambda, EqualsEachSampleRunAloneWithItsLambda) {
  for (const std::string name : {"sdnet18", "sdnet18-all"}) {
    auto model = small_classifier(name);
    const auto before = csc_lambdas(*model);
    // Inputs of very different energy, so that their residuals, and λ, differ.
    auto images = torch::randn({6, 1, 16, 16}) * torch::tensor({0.2, 0.5, 1.0, 2.0, 4.0, 8.0}).view({-1, 1, 1, 1});
    const auto fit = robust::LambdaFit{0.05, 0.02, 0.0, 5.0};
    const auto out = robust::per_sample_forward(*model, images, fit);
    EXPECT_EQ(csc_lambdas(*model), before) << name;
    ASSERT_EQ(out.lambdas.sizes(), (std::vector<int64_t>{6}));
    EXPECT_GT((out.lambdas.max() - out.lambdas.min()).item<double>(), 0.1) << "λ must vary for the test to mean anything";
    EXPECT_TRUE(torch::allclose(out.lambdas, fit.at(out.residuals)));
    torch::NoGradGuard no_grad;
    for (int64_t i = 0; i < 6; ++i) {
      robust::LambdaScope scope(model->csc_layers());
      const auto alone = images.narrow(0, i, 1);
      model->forward(alone);  // the residual at the model's own λ
      EXPECT_NEAR(robust::csc_residual(model->csc_layers()).item<double>(), out.residuals[i].item<double>(),
                  1e-4 * out.residuals[i].item<double>());
      scope.set_all(out.lambdas[i].item<double>());
      const auto logits = model->forward(alone);
      EXPECT_LT((logits[0] - out.logits[i]).abs().max().item<double>(), 1e-4 * (1 + logits.abs().max().item<double>()))
          << name << " sample " << i;
    }
    // And the λ really changes the output: the model's own λ for every sample differs.
    const auto own = model->forward(images);
    EXPECT_GT((own - out.logits).abs().max().item<double>(), 1e-3);
  }
  // Whole-set evaluation counts what per_sample_forward predicts.
  auto model = small_classifier("sdnet18");
  auto images = torch::randn({9, 1, 16, 16});
  auto labels = torch::randint(0, 5, {9}, torch::kLong);
  const auto fit = robust::LambdaFit{0.05, 0.02, 0.0, 5.0};
  auto result = robust::evaluate_per_sample(*model, images, labels, fit, robust::SweepOptions().batch_size(4));
  const auto whole = robust::per_sample_forward(*model, images, fit);
  EXPECT_EQ(result.samples, 9);
  EXPECT_EQ(result.correct, whole.logits.argmax(1).eq(labels).sum().item<int64_t>());
  EXPECT_NEAR(result.mean_lambda(), whole.lambdas.mean().item<double>(), 1e-6);
}
