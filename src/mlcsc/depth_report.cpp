// The depth study's files (simulation_report.h): Theorem 10 of Li, Feng & Zhou (2024) measured.
#include "deepsc/mlcsc/simulation_report.h"

#include "report_format.h"

#include <algorithm>
#include <sstream>

namespace deepsc::mlcsc {

namespace report_detail {

std::vector<double> depth_noises(const DepthResult& result) {
  std::vector<double> noises;
  for (const auto& f : result.fits) {
    if (std::find(noises.begin(), noises.end(), f.noise) == noises.end()) noises.push_back(f.noise);
  }
  return noises;
}

int64_t depth_layers(const DepthResult& result) {
  int64_t layers = 0;
  for (const auto& f : result.fits) layers = std::max(layers, f.layer);
  return layers;
}

const DepthFit* find_fit(const DepthResult& result, double noise, int64_t layer) {
  for (const auto& f : result.fits) {
    if (f.noise == noise && f.layer == layer) return &f;
  }
  return nullptr;
}

const char* solver_name(sparse::UnrolledSolver solver) { return solver == sparse::UnrolledSolver::Ista ? "ista" : "fista"; }

}  // namespace report_detail

std::string depth_csv(const DepthResult& result) {
  using namespace report_detail;
  std::ostringstream csv;
  csv << "noise,depth,layer,mean_error\n";
  for (const auto& r : result.rows)
    csv << csv_number(r.noise) << "," << r.depth << "," << r.layer << "," << csv_number(r.mean_error) << "\n";
  return csv.str();
}

std::string depth_fit_csv(const DepthResult& result) {
  using namespace report_detail;
  std::ostringstream csv;
  csv << "noise,layer,lambda,floor,rate,points,r_squared\n";
  for (const auto& f : result.fits) {
    csv << csv_number(f.noise) << "," << f.layer << "," << csv_number(f.lambda) << "," << csv_number(f.floor) << ","
        << csv_number(f.rate) << "," << f.points << "," << csv_number(f.r_squared) << "\n";
  }
  return csv.str();
}

nlohmann::json depth_json(const DepthResult& result, const DepthOptions& options) {
  using namespace report_detail;
  nlohmann::json rows = nlohmann::json::array(), fits = nlohmann::json::array();
  for (const auto& r : result.rows)
    rows.push_back({{"noise", r.noise}, {"depth", r.depth}, {"layer", r.layer}, {"mean_error", r.mean_error}});
  for (const auto& f : result.fits) {
    fits.push_back({{"noise", f.noise},
                    {"layer", f.layer},
                    {"lambda", f.lambda},
                    {"floor", f.floor},
                    {"rate", f.rate},
                    {"points", f.points},
                    {"r_squared", f.r_squared}});
  }
  auto o = simulation_options_json(options.simulation());
  o["depths"] = options.depths();
  o["solver"] = solver_name(options.solver());
  return {{"options", o}, {"rows", rows}, {"fits", fits}, {"seconds", result.seconds}};
}

std::string depth_markdown(const DepthResult& result, const DepthOptions& options) {
  using namespace report_detail;
  const auto noises = depth_noises(result);
  const int64_t layers = depth_layers(result);
  const auto& depths = options.depths();
  std::ostringstream md;
  md << "# Unrolled layered pursuit against its depth M\n\n"
     << "Theorem 10 (Li, Feng & Zhou, \"Convergence analysis for deep sparse coding via convolutional neural networks\", "
        "2024): M unrolled " << solver_name(options.solver()) << " steps per layer approximate the true codes with "
        "‖X̃_i − X_i‖₂ ≤ C e^{−cM} + C_D·(noise). Mean ‖X̃_i − X_i‖₂ over " << options.simulation().trials()
     << " signals for M from " << (depths.empty() ? 0 : *std::min_element(depths.begin(), depths.end())) << " to "
     << (depths.empty() ? 0 : *std::max_element(depths.begin(), depths.end())) << ", λ_i tuned (by the mean error) for the "
        "deepest unrolling at each noise level; *floor*: the error of the converged layered BP with the same λ; *rate c*: least squares of "
        "log(error − floor) against M; " << number(result.seconds, 3) << " s.\n\n"
     << "| ε₀ | layer | λ | floor | rate c | points | R² |\n|---|---|---|---|---|---|---|\n";
  for (const auto& f : result.fits) {
    md << "| " << number(f.noise) << " | " << f.layer << " | " << number(f.lambda) << " | " << number(f.floor) << " | "
       << number(f.rate) << " | " << f.points << " | " << number(f.r_squared, 3) << " |\n";
  }
  md << "\n## The floor against the noise\n\n| ε₀ |";
  for (int64_t l = 1; l <= layers; ++l) md << " layer " << l << " floor |";
  md << "\n|---|";
  for (int64_t l = 1; l <= layers; ++l) md << "---|";
  md << "\n";
  for (double noise : noises) {
    md << "| " << number(noise) << " |";
    for (int64_t l = 1; l <= layers; ++l) {
      const auto* f = find_fit(result, noise, l);
      md << " " << (f ? number(f->floor) : "–") << " |";
    }
    md << "\n";
  }
  return md.str();
}

std::string depth_plot_script(const DepthResult& result) {
  using namespace report_detail;
  const auto noises = depth_noises(result);
  const int64_t layers = std::max<int64_t>(depth_layers(result), 1);
  std::ostringstream gp;
  gp << "# gnuplot depth.gp (run in this folder): depth.png\n$depth << EOD\n";
  for (int64_t l = 1; l <= layers; ++l) {
    for (double noise : noises) {  // one block per (layer, noise): M, error, floor
      const auto* f = find_fit(result, noise, l);
      for (const auto& r : result.rows) {
        if (r.layer == l && r.noise == noise)
          gp << r.depth << " " << csv_number(r.mean_error) << " " << csv_number(f ? f->floor : 0.0) << "\n";
      }
      gp << "\n\n";
    }
  }
  gp << "EOD\nset terminal pngcairo size " << 420 * layers << ",440 font ',10'\nset output 'depth.png'\n"
     << "set key below horizontal maxrows 3\nset grid\nset logscale y\nset xlabel 'unrolled steps per layer M'\n"
     << "set ylabel 'mean ||X_i(M) - X_i||_2' noenhanced\nset multiplot layout 1," << layers << "\n";
  for (int64_t l = 1; l <= layers; ++l) {
    gp << "set title 'layer " << l << " (dashed: converged floor)'\nplot ";
    for (size_t j = 0; j < noises.size(); ++j) {
      const size_t index = (static_cast<size_t>(l) - 1) * noises.size() + j;
      gp << (j ? ", \\\n     " : "") << "$depth index " << index << " using 1:2 with linespoints lc " << j + 1
         << " pt 7 ps 0.5 title 'eps0 " << number(noises[j]) << "', $depth index " << index << " using 1:3 with lines lc "
         << j + 1 << " dt 2 notitle";
    }
    gp << "\n";
  }
  gp << "unset multiplot\n";
  return gp.str();
}

std::string depth_table(const DepthResult& result) {
  using namespace report_detail;
  std::ostringstream out;
  out << pad("eps0", 9) << pad("layer", 6) << pad("lambda", 11) << pad("floor", 11) << pad("rate c", 11) << pad("points", 7)
      << pad("R^2", 7) << "\n";
  for (const auto& f : result.fits) {
    out << pad(number(f.noise), 9) << pad(std::to_string(f.layer), 6) << pad(number(f.lambda), 11) << pad(number(f.floor), 11)
        << pad(number(f.rate), 11) << pad(std::to_string(f.points), 7) << pad(number(f.r_squared, 3), 7) << "\n";
  }
  out << result.rows.size() << " rows, " << number(result.seconds, 3) << " s\n";
  return out.str();
}

ReportFiles write_depth_report(const DepthResult& result, const DepthOptions& options, const std::string& dir) {
  using namespace report_detail;
  return write_report(dir,
                      {{"depth.csv", depth_csv(result)},
                       {"depth-fit.csv", depth_fit_csv(result)},
                       {"depth.json", depth_json(result, options).dump(1) + "\n"},
                       {"depth.md", depth_markdown(result, options)},
                       {"depth.gp", depth_plot_script(result)}},
                      "depth.gp", {"depth.png"});
}

}  // namespace deepsc::mlcsc
