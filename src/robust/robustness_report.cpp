#include "deepsc/robust/robustness_report.h"

#include <iomanip>
#include <sstream>

namespace deepsc::robust {

namespace {

std::string fixed2(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << v;
  return s.str();
}

}  // namespace

nlohmann::json robustness_json(const RobustnessResult& result, const RobustnessReportInfo& info) {
  nlohmann::json fits = nlohmann::json::object();
  for (const auto& f : result.fits)
    fits[f.noise] = {{"slope", f.fit.slope},         {"intercept", f.fit.intercept},
                     {"residuals", f.residuals},     {"best_lambdas", f.best_lambdas},
                     {"levels", f.severities},       {"clamp", {f.fit.lowest, f.fit.highest}},
                     {"samples", f.samples}};
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : result.rows) {
    nlohmann::json j = {{"noise", row.noise}, {"severity", row.severity}, {"level", row.level}, {"fixed_top1", row.fixed}};
    if (result.has_csc) {
      j["residual"] = row.residual;
      j["best_lambda"] = row.best_lambda;
      j["best_top1"] = row.best;
      j["curve"] = {{"lambda", result.lambda_grid}, {"top1", row.curve}, {"residual", row.curve_residual}};
    }
    if (result.fit) {
      j["fit_lambda"] = row.fit_lambda;
      j["fit_top1"] = row.fitted;
    }
    if (result.per_sample) {
      j["per_sample_mean_lambda"] = row.per_sample_lambda;
      j["per_sample_top1"] = row.per_sample;
    }
    rows.push_back(j);
  }
  return {{"checkpoint", info.checkpoint},
          {"model", info.model},
          {"data", info.data},
          {"split", info.split},
          {"samples", result.samples},
          {"corrupted_from", info.corrupted_from},
          {"seed", info.seed},
          {"trained_lambda", result.trained_lambda},
          {"lambda_grid", result.lambda_grid},
          {"recalibrate_bn", result.calibration_size},
          {"fits", fits},
          {"rows", rows},
          {"seconds", result.seconds}};
}

std::string robustness_table_tsv(const RobustnessResult& result) {
  std::ostringstream table;
  table << "noise\tseverity\tlevel\tfixed_lambda_top1";
  if (result.has_csc) table << "\tresidual\tbest_lambda\tbest_top1";
  if (result.fit) table << "\tfit_lambda\tfit_top1";
  if (result.per_sample) table << "\tper_sample_mean_lambda\tper_sample_top1";
  table << "\n";
  for (const auto& row : result.rows) {
    table << row.noise << "\t" << row.severity << "\t" << row.level << "\t" << row.fixed;
    if (result.has_csc) table << "\t" << row.residual << "\t" << row.best_lambda << "\t" << row.best;
    if (result.fit) table << "\t" << row.fit_lambda << "\t" << row.fitted;
    if (result.per_sample) table << "\t" << row.per_sample_lambda << "\t" << row.per_sample;
    table << "\n";
  }
  return table.str();
}

std::string robustness_sweep_tsv(const RobustnessResult& result) {
  std::ostringstream sweep;
  sweep << "noise\tseverity\tlevel\tlambda\ttop1\tresidual\n";
  if (!result.has_csc) return sweep.str();
  for (const auto& row : result.rows)
    for (size_t i = 0; i < result.lambda_grid.size() && i < row.curve.size(); ++i)
      sweep << row.noise << "\t" << row.severity << "\t" << row.level << "\t" << result.lambda_grid[i] << "\t"
            << row.curve[i] << "\t" << row.curve_residual[i] << "\n";
  return sweep.str();
}

std::string robustness_fit_tsv(const RobustnessResult& result) {
  std::ostringstream fit;
  fit << "noise\tseverity\tlevel\tresidual\tbest_lambda\tfitted_lambda\n";
  for (const auto& f : result.fits) {
    for (size_t i = 0; i < f.residuals.size(); ++i)
      fit << f.noise << "\t" << f.severities[i] << "\t" << f.levels[i] << "\t" << f.residuals[i] << "\t"
          << f.best_lambdas[i] << "\t" << f.fit.at(f.residuals[i]) << "\n";
    fit << "\n";  // a gnuplot block per noise
  }
  return fit.str();
}

std::string robustness_plot_script(const RobustnessResult& result) {
  const auto& noises = result.noises;
  std::ostringstream gp;
  gp << "# gnuplot plot.gp (run in this folder): robust.png" << (result.fit ? " and fit.png" : "") << "\n"
     << "set terminal pngcairo size " << 460 * noises.size() << ",440 font ',10'\n"
     // The legend under each panel: inside, it hides the clean and mild curves it names.
     << "set output 'robust.png'\nset datafile separator '\\t'\nset key below horizontal maxrows 2\nset grid\n"
     << "set multiplot layout 1," << noises.size() << "\n";
  for (const auto& noise : noises) {
    gp << "set title '" << noise << "'\nset xlabel 'lambda'\nset ylabel 'top-1 accuracy (%)'\n"
       << "plot for [s=0:5] 'sweep.tsv' using (strcol(1) eq '" << noise << "' && $2 == s ? $4 : 1/0):($5*100) "
       << "with linespoints title (s == 0 ? 'clean' : sprintf('severity %d', s))\n";
  }
  gp << "unset multiplot\n";
  if (result.fit) {
    gp << "set terminal pngcairo size 520,400 font ',10'\nset output 'fit.png'\nset key inside top left vertical\n"
       << "set title 'best lambda against CSC residual (corrupted training images)'\n"
       << "set xlabel 'mean CSC residual ||x - Dc||_2 at the trained lambda'\n"
       << "set ylabel 'lambda'\nplot 'fit.tsv' using 4:5 with points pt 7 title 'best lambda per level', \\\n"
       << "     'fit.tsv' using 4:6 with lines title 'fitted lambda(r) per noise'\n";
  }
  return gp.str();
}

std::string robustness_table_markdown(const RobustnessResult& result) {
  std::ostringstream out;
  out << "| noise | severity | level | top-1 % at the trained λ";
  if (result.has_csc) out << " | mean residual ‖x − Dc‖₂ | best λ of the grid | its top-1 %";
  if (result.fit) out << " | λ(r) | its top-1 %";
  if (result.per_sample) out << " | mean per-sample λ | its top-1 %";
  out << " |\n|---|---|---|---";
  const int extra = (result.has_csc ? 3 : 0) + (result.fit ? 2 : 0) + (result.per_sample ? 2 : 0);
  for (int i = 0; i < extra; ++i) out << "|---";
  out << "|\n";
  for (const auto& row : result.rows) {
    out << "| " << row.noise << " | " << row.severity << " | " << (row.severity ? fixed2(row.level) : "clean") << " | "
        << fixed2(100 * row.fixed);
    if (result.has_csc) out << " | " << fixed2(row.residual) << " | " << fixed2(row.best_lambda) << " | " << fixed2(100 * row.best);
    if (result.fit) out << " | " << fixed2(row.fit_lambda) << " | " << fixed2(100 * row.fitted);
    if (result.per_sample) out << " | " << fixed2(row.per_sample_lambda) << " | " << fixed2(100 * row.per_sample);
    out << " |\n";
  }
  return out.str();
}

std::string robustness_summary(const RobustnessResult& result, const RobustnessReportInfo& info) {
  std::ostringstream out;
  out << info.model << " on " << info.data << "/" << info.split << ", " << result.samples << " images, "
      << fixed2(result.seconds) << " s; top-1 %";
  if (result.calibration_size > 0)
    out << " (batch-norm statistics re-estimated at each lambda on " << result.calibration_size << " training images)";
  out << "\n";
  out << std::left << std::setw(10) << "noise" << std::setw(9) << "severity" << std::setw(14)
      << (result.has_csc ? "fixed lambda" : "top-1");
  if (result.has_csc) out << std::setw(16) << "best lambda";
  if (result.fit) out << std::setw(16) << "fitted lambda";
  if (result.per_sample) out << "per-sample lambda";
  out << "\n";
  for (const auto& row : result.rows) {
    out << std::setw(10) << row.noise << std::setw(9) << row.severity << std::setw(14) << fixed2(100 * row.fixed);
    if (result.has_csc) out << std::setw(16) << (fixed2(100 * row.best) + " (" + fixed2(row.best_lambda) + ")");
    if (result.fit) out << std::setw(16) << (fixed2(100 * row.fitted) + " (" + fixed2(row.fit_lambda) + ")");
    if (result.per_sample) out << fixed2(100 * row.per_sample) << " (mean " << fixed2(row.per_sample_lambda) << ")";
    out << "\n";
  }
  return out.str();
}

}  // namespace deepsc::robust
