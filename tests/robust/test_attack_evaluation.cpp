// The attack loop and its report (deepsc/robust/attack_evaluation.h, attack_report.h) against plain
// forwards and pgd by hand, on a small SDNet and an in-memory data set.
#include "deepsc/data/image_dataset.h"
#include "deepsc/data/loader.h"
#include "deepsc/nn/registry.h"
#include "deepsc/robust/attack_evaluation.h"
#include "deepsc/robust/attack_report.h"
#include "deepsc/robust/lambda_scope.h"

#include "support/small_classifiers.h"

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <vector>

namespace robust = deepsc::robust;
namespace nn = deepsc::nn;
namespace data = deepsc::data;
namespace F = torch::nn::functional;

using deepsc::testing::small_classifier;

namespace {

/// 11 grey 16×16 images (uint8) with labels in 0..4.
std::shared_ptr<data::TensorDataset> dataset() {
  torch::manual_seed(8);
  return std::make_shared<data::TensorDataset>(torch::randint(0, 256, {11, 1, 16, 16}).to(torch::kUInt8),
                                               torch::randint(0, 5, {11}, torch::kLong), 5);
}

data::DataLoader loader_of(const std::shared_ptr<data::TensorDataset>& set, int64_t batch) {
  return data::DataLoader(set, nullptr, data::LoaderOptions().batch_size(batch).shuffle(false).workers(0));
}

torch::Tensor attack_normalise(const torch::Tensor& images) { return (images - 0.5) / 0.25; }

/// Correct answers and summed cross-entropy of the model on images in [0, 1], in one forward.
robust::Tally plain(nn::Classifier& model, const torch::Tensor& images01, const torch::Tensor& labels) {
  torch::NoGradGuard no_grad;
  const auto logits = model.forward(attack_normalise(images01));
  robust::Tally tally;
  tally.correct = logits.argmax(1).eq(labels).sum().item<int64_t>();
  tally.loss_sum = F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kSum)).item<double>();
  return tally;
}

}  // namespace

TEST(AttackEvaluation, CleanTallyIsAPlainForwardAndTheRowsDifferOnlyByLambda) {
  auto model = small_classifier("sdnet18");
  const auto set = dataset();
  const int64_t limit = 9;
  const auto images = set->images().narrow(0, 0, limit).to(torch::kFloat) / 255;
  const auto labels = set->labels().narrow(0, 0, limit);
  auto loader = loader_of(set, 4);
  const auto attack = robust::AttackOptions().eps(0.05).steps(2).seed(11);
  std::vector<int64_t> progress;
  const auto result = robust::evaluate_attack(
      *model, loader,
      robust::AttackEvaluationOptions(attack).lambdas({0.02, 0.5}).limit(limit).normalise(attack_normalise).progress(
          [&](int64_t done, int64_t total) {
            EXPECT_EQ(total, limit);
            progress.push_back(done);
          }));
  EXPECT_EQ(progress, (std::vector<int64_t>{4, 8, 9}));
  EXPECT_EQ(result.samples, limit);
  EXPECT_EQ(result.trained_lambda, (std::vector<double>{0.1}));
  EXPECT_EQ(model->csc_layers().front()->options.lambda(), 0.1) << "λ restored";

  // The clean tally at the trained λ is the model's plain accuracy and summed loss.
  const auto clean = plain(*model, images, labels);
  EXPECT_EQ(result.clean.correct, clean.correct);
  EXPECT_NEAR(result.clean.loss_sum, clean.loss_sum, 1e-4 * clean.loss_sum);
  // The adversarial tally is that of pgd run by hand batch by batch (seeded by position).
  const robust::Logits logits = [&](const torch::Tensor& x) { return model->forward(attack_normalise(x)); };
  robust::Tally adversarial;
  for (int64_t first = 0; first < limit; first += 4) {
    const int64_t n = std::min<int64_t>(4, limit - first);
    const auto x = images.narrow(0, first, n), y = labels.narrow(0, first, n);
    const auto adv = robust::pgd(logits, x, y, robust::AttackOptions(attack).seed(data::sample_seed(11, 0, first)));
    const auto t = plain(*model, adv, y);
    adversarial.correct += t.correct;
    adversarial.loss_sum += t.loss_sum;
  }
  EXPECT_EQ(result.adversarial.correct, adversarial.correct);
  EXPECT_NEAR(result.adversarial.loss_sum, adversarial.loss_sum, 1e-4 * adversarial.loss_sum);
  EXPECT_GT(result.adversarial.loss_sum, result.clean.loss_sum) << "the attack raises the loss";

  // Each row's clean tally is the plain forward at its λ; the adaptive attack hurts at least as
  // much as clean images there.
  ASSERT_EQ(result.rows.size(), 2u);
  for (const auto& row : result.rows) {
    robust::LambdaScope scope(model->csc_layers());
    scope.set_all(row.lambda);
    const auto at_lambda = plain(*model, images, labels);
    EXPECT_EQ(row.clean.correct, at_lambda.correct) << row.lambda;
    EXPECT_NEAR(row.clean.loss_sum, at_lambda.loss_sum, 1e-4 * at_lambda.loss_sum) << row.lambda;
    EXPECT_GT(row.adaptive.loss_sum, row.clean.loss_sum) << row.lambda;
  }
  EXPECT_NE(result.rows[0].clean.loss_sum, result.rows[1].clean.loss_sum) << "λ must matter for the test to mean anything";
}

TEST(AttackEvaluation, ZeroBudgetLeavesTheImagesAndTheReportHasEveryRow) {
  auto model = small_classifier("sdnet18");
  const auto set = dataset();
  auto loader = loader_of(set, 5);
  const auto result = robust::evaluate_attack(
      *model, loader, robust::AttackEvaluationOptions(robust::AttackOptions().eps(0).steps(1)).lambdas({0.3}).normalise(attack_normalise));
  EXPECT_EQ(result.samples, 11) << "limit 0: the whole epoch";
  EXPECT_EQ(result.adversarial.correct, result.clean.correct);
  EXPECT_DOUBLE_EQ(result.adversarial.loss_sum, result.clean.loss_sum);
  EXPECT_EQ(result.rows[0].adaptive.correct, result.rows[0].clean.correct);

  const robust::AttackReportInfo info{"c.pt", "sdnet18", "mnist", "test", "cpu", "0", {{"mean", {0.5}}}};
  const auto j = robust::attack_json(result, info);
  EXPECT_EQ(j["samples"], 11);
  EXPECT_EQ(j["attack"]["method"], "pgd");
  EXPECT_EQ(j["attack"]["eps_text"], "0");
  EXPECT_EQ(j["preprocessing"]["mean"], (std::vector<double>{0.5}));
  EXPECT_EQ(j["trained"]["clean"]["top1"], result.clean.to_json(11)["top1"]);
  ASSERT_EQ(j["lambdas"].size(), 1u);
  EXPECT_EQ(j["lambdas"][0]["lambda"], 0.3);

  std::istringstream tsv(robust::attack_tsv(result));
  std::vector<std::string> lines;
  for (std::string line; std::getline(tsv, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);  // header, trained, transfer and adaptive at 0.3
  EXPECT_EQ(lines[0], "setting\tlambda\tclean_top1\tclean_loss\tadversarial_top1\tadversarial_loss");
  EXPECT_EQ(lines[1].rfind("trained\t0.1\t", 0), 0u);
  EXPECT_EQ(lines[2].rfind("transfer\t0.3\t", 0), 0u);
  EXPECT_EQ(lines[3].rfind("adaptive\t0.3\t", 0), 0u);
  const auto summary = robust::attack_summary(result, info);
  EXPECT_NE(summary.find("(11 images): PGD linf eps 0 (0), 1 steps of 0, random start"), std::string::npos) << summary;
  EXPECT_NE(summary.find("(transfer: examples crafted at the trained lambda"), std::string::npos) << summary;

  EXPECT_EQ(robust::lambda_text({}), "none");
  EXPECT_EQ(robust::lambda_text({0.2, 0.2}), "0.2");
  EXPECT_EQ(robust::lambda_text({0.2, 0.3}), "per-layer");
}

TEST(AttackEvaluation, RejectsLambdasWithoutCscLayersAndBadOptions) {
  const auto set = dataset();
  auto resnet = small_classifier("resnet18");
  auto loader = loader_of(set, 4);
  EXPECT_THROW(robust::evaluate_attack(*resnet, loader, robust::AttackEvaluationOptions(robust::AttackOptions()).lambdas({0.1})),
               std::invalid_argument);
  auto model = small_classifier("sdnet18");
  EXPECT_THROW(robust::evaluate_attack(*model, loader, robust::AttackEvaluationOptions(robust::AttackOptions().steps(0))),
               std::invalid_argument);
  EXPECT_THROW(robust::evaluate_attack(*model, loader, robust::AttackEvaluationOptions(robust::AttackOptions()).lambdas({-1.0})),
               std::invalid_argument);
  EXPECT_THROW(robust::evaluate_attack(*model, loader, robust::AttackEvaluationOptions(robust::AttackOptions()).limit(-1)),
               std::invalid_argument);
  // Calibration images need λ to calibrate at.
  EXPECT_THROW(robust::evaluate_attack(*model, loader,
                                       robust::AttackEvaluationOptions(robust::AttackOptions()).calibration_images(torch::rand({4, 1, 16, 16}))),
               std::invalid_argument);
}
