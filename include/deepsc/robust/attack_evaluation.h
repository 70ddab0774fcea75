#pragma once
/// Accuracy of a classifier under an adversarial attack (robust::pgd: PGD, Madry et al. ICLR 2018,
/// or FGSM, Goodfellow et al. ICLR 2015), and for a model with CSC layers how re-choosing their λ of
///   min_c λ‖c‖₁ + ½‖x − Dc‖²
/// at test time (Zhang, "From sparse coding to deep learning", 2024, section 5) changes it: at each
/// λ of a list, the clean images, the examples crafted at the trained λ ("transfer") and examples
/// crafted against the model at that λ ("adaptive", the honest number).
///
/// The attack works on images in [0, 1] as the loader gives them; the model is attacked as
/// model(normalise(x)). Batch b's random start is drawn from data::sample_seed(seed, 0, first image
/// of b) and shared by every λ, so the rows differ only by λ.

#include "deepsc/data/loader.h"
#include "deepsc/nn/classifier.h"
#include "deepsc/robust/attack.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace deepsc::robust {

/// Correct top-1 answers and summed cross-entropy over the images seen so far.
struct Tally {
  int64_t correct = 0;
  double loss_sum = 0;

  /// Adds a batch: logits [B, K], labels [B].
  void add(const torch::Tensor& logits, const torch::Tensor& labels);
  /// {"top1": correct / samples, "loss": mean cross-entropy} (samples ≥ 1 assumed, 0 counts as 1).
  nlohmann::json to_json(int64_t samples) const;
};

/// The numbers at one λ of AttackEvaluationOptions::lambdas.
struct AttackLambdaRow {
  double lambda = 0;
  Tally clean, transfer, adaptive;
};

struct AttackEvaluationOptions {
  // (Declared first: TORCH_ARG leaves the rest of a struct private.)
  using Normalise = std::function<torch::Tensor(const torch::Tensor&)>;
  using Progress = std::function<void(int64_t, int64_t)>;

  explicit AttackEvaluationOptions(AttackOptions attack) : attack_(std::move(attack)) {}

  /// The attack (its seed is the seed of every batch's random start).
  TORCH_ARG(AttackOptions, attack);
  /// Every CSC layer's λ set to each of these (≥ 0, finite) in turn; empty: the trained λ only.
  TORCH_ARG(std::vector<double>, lambdas) = {};
  /// Attack at most this many images (0: every image of the loader's epoch).
  TORCH_ARG(int64_t, limit) = 0;
  /// Clean training images [M, C, H, W] in [0, 1] (M ≥ 2) on which the batch-norm statistics are
  /// re-estimated at each λ of `lambdas` (robust::recalibrate_per_lambda), used for that λ's row;
  /// undefined: the trained statistics. The trained row always uses the trained statistics.
  TORCH_ARG(torch::Tensor, calibration_images) = {};
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  /// Images in [0, 1] on `device` → the model's input; null: identity.
  TORCH_ARG(Normalise, normalise) = nullptr;
  /// Called after each batch with (images done, images to do).
  TORCH_ARG(Progress, progress) = nullptr;
};

struct AttackEvaluation {
  AttackOptions attack;
  /// α used (resolved_step_size), and whether the attack is FGSM (one step of ε, no random start).
  double step_size = 0;
  bool fgsm = false;
  int64_t samples = 0, calibration_size = 0;
  /// Every CSC layer's trained λ (empty without CSC layers).
  std::vector<double> trained_lambda;
  /// At the trained λ: the clean images and the adversarial examples.
  Tally clean, adversarial;
  std::vector<AttackLambdaRow> rows;
  /// Wall-clock seconds of the attack loop (after any calibration).
  double seconds = 0;
};

/// Runs epoch 0 of `loader` (which yields images in [0, 1], clamped again here) through the attack
/// at the trained λ and at every λ of the options. The model must be in eval mode; its λ and
/// batch-norm statistics are restored after. Throws std::invalid_argument for bad attack options,
/// a negative limit, a λ < 0 or not finite, λ or calibration images for a model without CSC
/// layers, calibration images without λ or fewer than 2 of them.
AttackEvaluation evaluate_attack(nn::Classifier& model, data::DataLoader& loader, const AttackEvaluationOptions& options);

}  // namespace deepsc::robust
