#pragma once
/// The files and the printed table of an attack evaluation (robust::evaluate_attack):
///   attack.json  everything, for programs;
///   attack.tsv   per setting (trained λ; transfer and adaptive examples at each λ) the top-1
///                (fraction in [0, 1]) and mean cross-entropy on clean and adversarial images.

#include "deepsc/robust/attack_evaluation.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace deepsc::robust {

/// Where the attacked numbers come from (written into attack.json and the printed table).
struct AttackReportInfo {
  std::string checkpoint, model, data, split, device;
  /// ε as the user wrote it (e.g. "8/255").
  std::string eps_text;
  /// The images' preprocessing (mean, std, resize, size), reported as given.
  nlohmann::json preprocessing = nlohmann::json::object();
};

/// attack.json: the info, "samples", "attack" (method, norm, eps, eps_text, steps, step_size,
/// random_start, seed), "trained_lambda", "recalibrate_bn", "trained" {clean, adversarial},
/// "lambdas" [{lambda, clean, transfer, adaptive}], "seconds".
nlohmann::json attack_json(const AttackEvaluation& result, const AttackReportInfo& info);
/// attack.tsv: setting, lambda, clean_top1, clean_loss, adversarial_top1, adversarial_loss; the
/// trained row, then a transfer and an adaptive row per λ.
std::string attack_tsv(const AttackEvaluation& result);
/// The printed table: the attack, then clean and adversarial top-1 % per setting.
std::string attack_summary(const AttackEvaluation& result, const AttackReportInfo& info);
/// The trained λ as a table shows it: "none" (no CSC layer), the common value, or "per-layer".
std::string lambda_text(const std::vector<double>& lambdas);

}  // namespace deepsc::robust
