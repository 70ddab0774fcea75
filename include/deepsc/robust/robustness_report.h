#pragma once
/// The files and the printed table of a robustness evaluation (robust::evaluate_robustness):
///   robust.json  everything, for programs;
///   table.tsv    one row per noise and level: top-1 at the trained λ, and with CSC layers the mean
///                residual ‖x − Dc‖₂ at the trained λ, the oracle's best λ of the grid and its top-1,
///                λ(r_test) and its top-1, the mean per-sample λ and its top-1 (as computed);
///   sweep.tsv    top-1 and mean residual at every λ of the grid (the curves of Figure 2 in Zhang,
///                "From sparse coding to deep learning", 2024);
///   fit.tsv      Algorithm 1's pairs (residual, best λ) per training level and the fitted λ(r),
///                one gnuplot block per noise;
///   plot.gp      a gnuplot script, run in the folder, drawing robust.png (and fit.png).
/// Numbers in the tables are fractions (top-1 in [0, 1]); the printed table shows percentages.

#include "deepsc/robust/robustness_evaluation.h"

#include <nlohmann/json.hpp>

#include <string>

namespace deepsc::robust {

/// Where the evaluated numbers come from (written into robust.json and the printed table).
struct RobustnessReportInfo {
  std::string checkpoint, model, data, split;
  /// "generated", or the folder of the published corrupted images.
  std::string corrupted_from = "generated";
  uint64_t seed = 0;
};

/// robust.json: the info, "trained_lambda", "lambda_grid", "recalibrate_bn" (calibration images),
/// "fits" (per noise: slope, intercept, residuals, best_lambdas, levels, clamp, samples), "rows"
/// and "seconds".
nlohmann::json robustness_json(const RobustnessResult& result, const RobustnessReportInfo& info);
/// table.tsv: noise, severity, level, fixed_lambda_top1 [, residual, best_lambda, best_top1]
/// [, fit_lambda, fit_top1] [, per_sample_mean_lambda, per_sample_top1].
std::string robustness_table_tsv(const RobustnessResult& result);
/// sweep.tsv: noise, severity, level, lambda, top1, residual; one line per row and grid λ.
std::string robustness_sweep_tsv(const RobustnessResult& result);
/// fit.tsv: noise, severity, level, residual, best_lambda, fitted_lambda; a blank line after each noise.
std::string robustness_fit_tsv(const RobustnessResult& result);
/// plot.gp: accuracy against λ, one panel per noise and one curve per severity → robust.png; with a
/// fit also the pairs and lines of fit.tsv → fit.png. Reads sweep.tsv and fit.tsv from its folder.
std::string robustness_plot_script(const RobustnessResult& result);
/// table.md: the rows as a Markdown table whose header names every number — noise, severity, the
/// corruption level, top-1 % at the trained λ, and with CSC layers the mean CSC residual ‖x − Dc‖₂
/// at the trained λ, the best λ of the grid on these images with its top-1 %, λ(r) with its top-1 %,
/// the mean per-sample λ with its top-1 % — for reports a person reads.
std::string robustness_table_markdown(const RobustnessResult& result);
/// The printed table: a title line, then per row the top-1 % at the trained λ, the best of the grid
/// (its λ), the fitted λ and the per-sample λ, as computed.
std::string robustness_summary(const RobustnessResult& result, const RobustnessReportInfo& info);

}  // namespace deepsc::robust
