#include "deepsc/robust/attack_report.h"

#include <iomanip>
#include <sstream>

namespace deepsc::robust {

namespace {

std::string percent(double fraction) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(2) << 100 * fraction << "%";
  return text.str();
}

std::string number(double value) {
  std::ostringstream text;
  text << value;
  return text.str();
}

/// Calls row(setting, λ text, clean tally, adversarial tally) for the trained λ and each λ row.
template <typename Row>
void for_each_setting(const AttackEvaluation& result, Row row) {
  row("trained", lambda_text(result.trained_lambda), result.clean, result.adversarial);
  for (const auto& r : result.rows) {
    row("transfer", number(r.lambda), r.clean, r.transfer);
    row("adaptive", number(r.lambda), r.clean, r.adaptive);
  }
}

}  // namespace

std::string lambda_text(const std::vector<double>& lambdas) {
  if (lambdas.empty()) return "none";
  for (const double l : lambdas)
    if (l != lambdas.front()) return "per-layer";
  return number(lambdas.front());
}

nlohmann::json attack_json(const AttackEvaluation& result, const AttackReportInfo& info) {
  const auto done = result.samples;
  const auto& options = result.attack;
  nlohmann::json lambda_rows = nlohmann::json::array();
  for (const auto& row : result.rows) {
    lambda_rows.push_back({{"lambda", row.lambda},
                           {"clean", row.clean.to_json(done)},
                           {"transfer", row.transfer.to_json(done)},
                           {"adaptive", row.adaptive.to_json(done)}});
  }
  return {{"checkpoint", info.checkpoint},
          {"model", info.model},
          {"data", info.data},
          {"split", info.split},
          {"samples", done},
          {"device", info.device},
          {"attack",
           {{"method", result.fgsm ? "fgsm" : "pgd"},
            {"norm", norm_name(options.norm())},
            {"eps", options.eps()},
            {"eps_text", info.eps_text},
            {"steps", options.steps()},
            {"step_size", result.step_size},
            {"random_start", options.random_start()},
            {"seed", options.seed()}}},
          {"preprocessing", info.preprocessing},
          {"trained_lambda", result.trained_lambda},
          {"recalibrate_bn", result.calibration_size},
          {"trained", {{"clean", result.clean.to_json(done)}, {"adversarial", result.adversarial.to_json(done)}}},
          {"lambdas", lambda_rows},
          {"seconds", result.seconds}};
}

std::string attack_tsv(const AttackEvaluation& result) {
  std::ostringstream tsv;
  tsv << "setting\tlambda\tclean_top1\tclean_loss\tadversarial_top1\tadversarial_loss\n";
  for_each_setting(result, [&](const std::string& setting, const std::string& lambda, const Tally& c, const Tally& a) {
    const auto cj = c.to_json(result.samples), aj = a.to_json(result.samples);
    tsv << setting << "\t" << lambda << "\t" << cj["top1"] << "\t" << cj["loss"] << "\t" << aj["top1"] << "\t"
        << aj["loss"] << "\n";
  });
  return tsv.str();
}

std::string attack_summary(const AttackEvaluation& result, const AttackReportInfo& info) {
  const auto& options = result.attack;
  const int64_t n = std::max<int64_t>(result.samples, 1);
  std::ostringstream out;
  out << info.model << " on " << info.data << "/" << info.split << " (" << result.samples
      << " images): " << (result.fgsm ? "FGSM " : "PGD ") << norm_name(options.norm()) << " eps "
      << std::setprecision(4) << options.eps() << " (" << info.eps_text << "), " << options.steps() << " steps of "
      << result.step_size << (options.random_start() ? ", random start" : "") << "\n";
  out << std::left << std::setw(10) << "setting" << std::setw(12) << "lambda" << std::setw(14) << "clean top-1"
      << "adversarial top-1\n";
  for_each_setting(result, [&](const std::string& setting, const std::string& lambda, const Tally& c, const Tally& a) {
    out << std::setw(10) << setting << std::setw(12) << lambda << std::setw(14)
        << percent(static_cast<double>(c.correct) / n) << percent(static_cast<double>(a.correct) / n) << "\n";
  });
  if (!result.rows.empty())
    out << "(transfer: examples crafted at the trained lambda; adaptive: crafted at the row's lambda"
        << (result.calibration_size > 0 ? "; batch-norm statistics re-estimated at each lambda on " +
                                              std::to_string(result.calibration_size) + " training images"
                                        : "")
        << ")\n";
  return out.str();
}

}  // namespace deepsc::robust
