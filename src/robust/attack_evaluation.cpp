#include "deepsc/robust/attack_evaluation.h"

#include "deepsc/robust/batch_norm_statistics.h"
#include "deepsc/robust/lambda_scope.h"
#include "deepsc/train/trainer.h"

#include <chrono>
#include <cmath>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace deepsc::robust {

namespace F = torch::nn::functional;

void Tally::add(const torch::Tensor& logits, const torch::Tensor& labels) {
  correct += train::topk_correct(logits, labels, 1);
  loss_sum += F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kSum)).item<double>();
}

nlohmann::json Tally::to_json(int64_t samples) const {
  const double n = static_cast<double>(std::max<int64_t>(samples, 1));
  return {{"top1", correct / n}, {"loss", loss_sum / n}};
}

namespace {

void check_options(const AttackEvaluationOptions& o, bool has_csc) {
  check_attack_options(o.attack());
  if (o.limit() < 0) throw std::invalid_argument("AttackEvaluationOptions::limit must be >= 0, got " + std::to_string(o.limit()));
  for (const double lambda : o.lambdas()) {
    if (!(lambda >= 0) || !std::isfinite(lambda)) {
      std::ostringstream msg;
      msg << "AttackEvaluationOptions::lambdas must be finite and >= 0, got " << lambda;
      throw std::invalid_argument(msg.str());
    }
  }
  if (!o.lambdas().empty() && !has_csc)
    throw std::invalid_argument("AttackEvaluationOptions::lambdas: the model has no CSC layers whose lambda could be re-chosen");
  if (o.calibration_images().defined()) {
    if (o.lambdas().empty())
      throw std::invalid_argument("AttackEvaluationOptions::calibration_images need lambdas (the statistics are re-estimated at each)");
    if (o.calibration_images().size(0) < 2)
      throw std::invalid_argument("AttackEvaluationOptions::calibration_images: need at least 2 images");
  }
}

}  // namespace

AttackEvaluation evaluate_attack(nn::Classifier& model, data::DataLoader& loader, const AttackEvaluationOptions& o) {
  LambdaScope lambdas(model.csc_layers());
  check_options(o, !lambdas.empty());
  const auto& options = o.attack();
  const auto device = o.device();
  const AttackEvaluationOptions::Normalise normalise =
      o.normalise() ? o.normalise() : [](const torch::Tensor& images) { return images; };
  const Logits logits = [&](const torch::Tensor& images01) { return model.forward(normalise(images01)); };
  const int64_t batch = loader.options().batch_size();
  const int64_t total = o.limit() > 0 ? o.limit() : loader.batches_per_epoch() * batch;
  loader.start_epoch(0);

  AttackEvaluation result;
  result.attack = options;
  result.step_size = resolved_step_size(options);
  result.fgsm = options.steps() == 1 && !options.random_start() && result.step_size == options.eps();
  result.trained_lambda = lambdas.trained();
  for (const double l : o.lambdas()) result.rows.push_back({l, {}, {}, {}});
  // Calibration: statistics per λ from clean training images coded at that λ.
  std::optional<BatchNormScope> batch_norm;
  std::vector<BatchNormStatistics> statistics;
  if (o.calibration_images().defined()) {
    batch_norm.emplace(model);
    const auto calibration_images = normalise(o.calibration_images().to(device));
    result.calibration_size = calibration_images.size(0);
    statistics = recalibrate_per_lambda(model, calibration_images, o.lambdas(),
                                        CalibrationOptions().batch_size(std::max<int64_t>(2, batch)).device(device));
  }
  const auto start = std::chrono::steady_clock::now();
  int64_t done = 0;
  while (o.limit() == 0 || done < total) {
    auto next = loader.next();
    if (!next) break;
    const int64_t n = o.limit() > 0 ? std::min<int64_t>(next->labels.size(0), total - done) : next->labels.size(0);
    const auto images = next->images.narrow(0, 0, n).to(device).clamp(0, 1);
    const auto labels = next->labels.narrow(0, 0, n).to(device);
    // One random start per batch position, shared by every λ so the rows differ only by λ.
    const auto batch_options = AttackOptions(options).seed(data::sample_seed(options.seed(), 0, done));

    lambdas.restore();
    if (batch_norm) batch_norm->restore();
    const auto adv = pgd(logits, images, labels, batch_options);
    {
      torch::NoGradGuard no_grad;
      result.clean.add(logits(images), labels);
      result.adversarial.add(logits(adv), labels);
    }
    for (size_t i = 0; i < result.rows.size(); ++i) {
      auto& row = result.rows[i];
      lambdas.set_all(row.lambda);
      if (batch_norm) batch_norm->load(statistics[i]);
      const auto adaptive = pgd(logits, images, labels, batch_options);
      torch::NoGradGuard no_grad;
      row.clean.add(logits(images), labels);
      row.transfer.add(logits(adv), labels);
      row.adaptive.add(logits(adaptive), labels);
    }
    done += n;
    if (o.progress()) o.progress()(done, std::max(total, done));
  }
  lambdas.restore();
  if (batch_norm) batch_norm->restore();
  result.samples = done;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace deepsc::robust
