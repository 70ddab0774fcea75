// The simulation study's presets and its report files (simulation_report.h); the depth study's
// files are in depth_report.cpp.
#include "deepsc/mlcsc/simulation_report.h"

#include "report_format.h"


#include <algorithm>
#include <cmath>
#include <functional>
#include <iomanip>
#include <sstream>
#include <stdexcept>

namespace deepsc::mlcsc {

namespace report_detail {

/// Distinct values in order of first appearance.
template <typename T, typename F>
std::vector<T> distinct(const std::vector<SimulationRow>& rows, F key) {
  std::vector<T> out;
  for (const auto& row : rows) {
    if (std::find(out.begin(), out.end(), key(row)) == out.end()) out.push_back(key(row));
  }
  return out;
}

struct Axes {
  std::vector<std::string> pursuits;  // with tuned rows
  std::vector<double> ratios, noises;
  int64_t layers = 0;
};

Axes axes(const SimulationResult& result) {
  Axes a;
  std::vector<SimulationRow> tuned;
  for (const auto& row : result.rows) {
    if (row.parameters == "tuned") tuned.push_back(row);
    a.layers = std::max(a.layers, row.layer);
  }
  a.pursuits = distinct<std::string>(tuned, [](const SimulationRow& r) { return r.pursuit; });
  a.ratios = distinct<double>(result.rows, [](const SimulationRow& r) { return r.ratio; });
  a.noises = distinct<double>(result.rows, [](const SimulationRow& r) { return r.noise; });
  return a;
}

const SimulationRow* find_row(const SimulationResult& result, const std::string& pursuit, const std::string& parameters,
                              double ratio, double noise, int64_t layer) {
  for (const auto& row : result.rows) {
    if (row.pursuit == pursuit && row.parameters == parameters && row.ratio == ratio && row.noise == noise && row.layer == layer)
      return &row;
  }
  return nullptr;
}

/// A theorem's rows pooled over the noise levels, for one (theorem, pursuit, ratio, layer).
struct Pooled {
  std::string theorem, pursuit;
  double ratio = 0;
  int64_t layer = 0, levels = 0;
  double instances = 0, held = 0, guaranteed = 0, met_guaranteed = 0;
  int64_t violations = 0;
};

std::vector<Pooled> pool_theorems(const SimulationResult& result, int64_t trials) {
  std::vector<Pooled> out;
  for (const auto& row : result.rows) {
    if (row.theorem.empty()) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const Pooled& p) {
      return p.theorem == row.theorem && p.pursuit == row.pursuit && p.ratio == row.ratio && p.layer == row.layer;
    });
    if (it == out.end()) it = out.insert(out.end(), Pooled{row.theorem, row.pursuit, row.ratio, row.layer});
    // Counts from the rates (every level has `trials` signals); trials = 1 pools the fractions.
    const double n = static_cast<double>(trials), g = row.rates.guaranteed * n;
    it->levels += 1;
    it->instances += n;
    it->held += row.rates.condition * n;
    it->guaranteed += g;
    if (g > 0) it->met_guaranteed += row.rates.met_when_guaranteed * g;
    it->violations += row.rates.violations;
  }
  return out;
}

void write_model_table(std::ostream& md, const SimulationResult& result) {
  md << "| layer | shape of X_i | μ_i | ½(1 + 1/μ_i) | mean ‖X_i‖₀,∞ | max ‖X_i‖₀,∞ | mean \\|X_i^min\\|/\\|X_i^max\\| |\n"
     << "|---|---|---|---|---|---|---|\n";
  for (const auto& f : result.layers) {
    md << "| " << f.layer << " | " << dims_text(f.code_shape) << " | " << number(f.coherence) << " | " << number(f.bp_bound)
       << " | " << number(f.mean_l0_inf, 3) << " | " << f.max_l0_inf << " | " << number(f.mean_ratio, 3) << " |\n";
  }
}

void write_tuned_tables(std::ostream& md, const SimulationResult& result, const Axes& a) {
  for (const auto& pursuit : a.pursuits) {
    md << "\n### " << pursuit << " (tuned)\n\n| ratio | ε₀ |";
    for (int64_t l = 1; l <= a.layers; ++l) md << " layer " << l << " support % | layer " << l << " rel. error |";
    md << "\n|---|---|";
    for (int64_t l = 1; l <= a.layers; ++l) md << "---|---|";
    md << "\n";
    for (double ratio : a.ratios) {
      for (double noise : a.noises) {
        md << "| " << number(ratio) << " | " << number(noise) << " |";
        for (int64_t l = 1; l <= a.layers; ++l) {
          const auto* row = find_row(result, pursuit, "tuned", ratio, noise, l);
          md << " " << (row ? percent(row->support_equal) : "–") << " | " << (row ? number(row->mean_relative_error, 3) : "–")
             << " |";
        }
        md << "\n";
      }
    }
  }
}

void write_theorem_tables(std::ostream& md, const SimulationResult& result, const SimulationOptions& o, const Axes& a) {
  const auto pooled = pool_theorems(result, o.trials());
  if (pooled.empty()) return;
  md << "\n## Theorems\n\nPooled over the noise levels where each applies (Theorem 8 without noise, the stable layered "
        "BP with it). An instance is one signal at one noise level; *guaranteed*: the hypotheses of layers 1..i held; "
        "a violation is a guaranteed instance whose prediction failed.\n\n"
     << "| theorem | pursuit | ratio | layer | noise levels | instances | hypotheses held % | guaranteed % | "
        "met when guaranteed % | violations |\n|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& p : pooled) {
    md << "| " << p.theorem << " | " << p.pursuit << " | " << number(p.ratio) << " | " << p.layer << " | " << p.levels << " | "
       << number(p.instances, 10) << " | " << percent(p.held / p.instances) << " | " << percent(p.guaranteed / p.instances) << " | "
       << (p.guaranteed > 0 ? percent(p.met_guaranteed / p.guaranteed) : "–") << " | " << p.violations << " |\n";
  }
  md << "\nGuaranteed % / support recovered % with the theorem's parameters, at each noise level ε₀:\n\n"
     << "| theorem | ratio | layer |";
  for (double noise : a.noises) md << " " << number(noise) << " |";
  md << "\n|---|---|---|";
  for (size_t j = 0; j < a.noises.size(); ++j) md << "---|";
  md << "\n";
  for (const auto& p : pooled) {
    md << "| " << p.theorem << " | " << number(p.ratio) << " | " << p.layer << " |";
    for (double noise : a.noises) {
      const SimulationRow* row = nullptr;
      for (const auto& r : result.rows) {
        if (r.theorem == p.theorem && r.ratio == p.ratio && r.layer == p.layer && r.noise == noise) row = &r;
      }
      md << " " << (row ? percent(row->rates.guaranteed) + " / " + percent(row->support_equal) : "–") << " |";
    }
    md << "\n";
  }
}

/// Inline data for plot.gp: one block per (layer, pursuit, ratio), lines "noise support error".
std::string curves_block(const SimulationResult& result, const Axes& a) {
  std::ostringstream data;
  data << "$curves << EOD\n";
  for (int64_t l = 1; l <= a.layers; ++l) {
    for (const auto& pursuit : a.pursuits) {
      for (double ratio : a.ratios) {
        for (double noise : a.noises) {
          if (const auto* row = find_row(result, pursuit, "tuned", ratio, noise, l))
            data << csv_number(noise) << " " << csv_number(row->support_equal) << " " << csv_number(row->mean_relative_error)
                 << "\n";
        }
        data << "\n\n";
      }
    }
  }
  data << "EOD\n";
  return data.str();
}

}  // namespace report_detail

GeneratorOptions simulation_preset(int64_t layers, bool convolutional) {
  if (layers < 1 || layers > 5) {
    throw std::invalid_argument("--layers must be between 1 and 5, got " + std::to_string(layers));
  }
  const auto k = static_cast<size_t>(layers);
  std::vector<int64_t> atoms;
  for (size_t i = 1; i < k; ++i) atoms.push_back(i == 1 && !convolutional ? 4 : 2);
  auto o = GeneratorOptions().atom_nonzeros(atoms).deepest_nonzeros(layers == 1 && !convolutional ? 4 : convolutional ? 1 : 2);
  if (convolutional) {
    const std::vector<int64_t> channels{1, 2, 4, 4, 4, 4}, kernels{16, 4, 4, 4, 4};
    return o.convolutional(true)
        .channels({channels.begin(), channels.begin() + static_cast<long>(k) + 1})
        .kernel_sizes({kernels.begin(), kernels.begin() + static_cast<long>(k)})
        .signal_length(256);
  }
  const std::vector<int64_t> dims{256, 512, 256, 128, 64, 32};
  return o.dims({dims.begin(), dims.begin() + static_cast<long>(k) + 1}).first_layer(FirstLayer::IdentityHadamard);
}

std::string simulation_csv(const SimulationResult& result) {
  using namespace report_detail;
  std::ostringstream csv;
  csv << "pursuit,parameters,ratio,noise,layer,value,support_equal,support_contained,mean_error,max_error,"
         "mean_relative_error,theorem,condition,guaranteed,met,met_when_guaranteed,violations,mean_error_bound\n";
  for (const auto& r : result.rows) {
    csv << r.pursuit << "," << r.parameters << "," << csv_number(r.ratio) << "," << csv_number(r.noise) << "," << r.layer << ","
        << csv_number(r.value) << "," << csv_number(r.support_equal) << "," << csv_number(r.support_contained) << ","
        << csv_number(r.mean_error) << "," << csv_number(r.max_error) << "," << csv_number(r.mean_relative_error) << ",";
    if (r.theorem.empty()) {
      csv << ",,,,,,\n";
      continue;
    }
    // Theorem names hold commas ("layered thresholding (Theorem 7)" does not, but quote anyway).
    csv << "\"" << r.theorem << "\"," << csv_number(r.rates.condition) << "," << csv_number(r.rates.guaranteed) << ","
        << csv_number(r.rates.met) << "," << csv_number(r.rates.met_when_guaranteed) << "," << r.rates.violations << ","
        << csv_number(r.mean_error_bound) << "\n";
  }
  return csv.str();
}

nlohmann::json simulation_json(const SimulationResult& result, const SimulationOptions& options) {
  using namespace report_detail;
  nlohmann::json layers = nlohmann::json::array(), rows = nlohmann::json::array();
  for (const auto& f : result.layers) {
    layers.push_back({{"layer", f.layer},
                      {"code_shape", f.code_shape},
                      {"coherence", f.coherence},
                      {"bp_bound", f.bp_bound},
                      {"mean_l0_inf", f.mean_l0_inf},
                      {"max_l0_inf", f.max_l0_inf},
                      {"mean_ratio", f.mean_ratio}});
  }
  for (const auto& r : result.rows) {
    nlohmann::json j{{"pursuit", r.pursuit},
                     {"parameters", r.parameters},
                     {"ratio", r.ratio},
                     {"noise", r.noise},
                     {"layer", r.layer},
                     {"value", r.value},
                     {"support_equal", r.support_equal},
                     {"support_contained", r.support_contained},
                     {"mean_error", r.mean_error},
                     {"max_error", r.max_error},
                     {"mean_relative_error", r.mean_relative_error}};
    if (!r.theorem.empty()) {
      j["theorem"] = r.theorem;
      j["condition"] = r.rates.condition;
      j["guaranteed"] = r.rates.guaranteed;
      j["met"] = r.rates.met;
      j["met_when_guaranteed"] = r.rates.met_when_guaranteed;  // NaN → null
      j["violations"] = r.rates.violations;
      j["mean_error_bound"] = r.mean_error_bound;
    }
    rows.push_back(std::move(j));
  }
  return {{"options", simulation_options_json(options)}, {"layers", layers}, {"rows", rows}, {"seconds", result.seconds}};
}

std::string simulation_markdown(const SimulationResult& result, const SimulationOptions& o) {
  using namespace report_detail;
  const auto a = axes(result);
  std::ostringstream md;
  md << "# ML-CSC simulation\n\n"
     << (o.model().convolutional() ? "Convolutional (1-D)" : "Dense") << " model of " << result.layers.size() << " layers, "
     << o.trials() << " signals per min/max ratio, " << a.noises.size() << " noise levels ε₀ = ‖E‖^P₂,∞ from "
     << number(a.noises.front()) << " to " << number(a.noises.back()) << ", seed " << o.seed() << ", "
     << number(result.seconds, 3) << " s. *Tuned*: one β_i or λ_i per layer for all signals, chosen from a grid of "
     << o.grid_points() << " by the support-recovery rate on the batch (an oracle choice); ML-ISTA, ML-FISTA and "
     << "layered ISTA run with layered BP's tuned λ times one common factor tuned the same way.\n\n## Model\n\n";
  write_model_table(md, result);
  md << "\n## Support recovery and mean relative error ‖X̂_i − X_i‖^P₂,∞ / ‖X_i‖^P₂,∞\n";
  write_tuned_tables(md, result, a);
  write_theorem_tables(md, result, o, a);
  return md.str();
}

std::string simulation_plot_script(const SimulationResult& result) {
  using namespace report_detail;
  const auto a = axes(result);
  std::ostringstream gp;
  gp << "# gnuplot plot.gp (run in this folder): recovery.png and error.png\n" << curves_block(result, a);
  const auto panels = [&](const char* picture, const char* ylabel, const char* column) {
    gp << "set terminal pngcairo size " << 420 * std::max<int64_t>(a.layers, 1) << ",440 font ',10'\nset output '" << picture
       << "'\nset key below horizontal maxrows 3\nset grid\nset xlabel 'noise eps0 = ||E||^P_{2,inf}'\nset ylabel '" << ylabel
       << "'\nset multiplot layout 1," << std::max<int64_t>(a.layers, 1) << "\n";
    for (int64_t l = 1; l <= a.layers; ++l) {
      gp << "set title 'layer " << l << "'\nplot ";
      for (size_t p = 0; p < a.pursuits.size(); ++p) {
        for (size_t r = 0; r < a.ratios.size(); ++r) {
          const size_t index = ((static_cast<size_t>(l) - 1) * a.pursuits.size() + p) * a.ratios.size() + r;
          gp << (p + r ? ", \\\n     " : "") << "$curves index " << index << " using 1:" << column << " with linespoints lc "
             << p + 1 << " dt " << r + 1 << " pt " << p + 4 << " title '" << a.pursuits[p] << ", ratio " << number(a.ratios[r])
             << "'";
        }
      }
      gp << "\n";
    }
    gp << "unset multiplot\n";
  };
  panels("recovery.png", "support recovered (%)", "($2*100)");
  panels("error.png", "mean relative error", "3");
  return gp.str();
}

std::string simulation_table(const SimulationResult& result) {
  using namespace report_detail;
  const auto a = axes(result);
  std::ostringstream out;
  const auto block = [&](const std::string& title, const std::function<std::string(const SimulationRow&)>& cell) {
    out << title << "\n" << pad("ratio", 6) << pad("eps0", 9) << " |";
    std::vector<size_t> widths;
    for (const auto& p : a.pursuits) {
      widths.push_back(std::max(p.size(), static_cast<size_t>(9 * a.layers)));
      out << " " << pad(p, widths.back()) << " |";
    }
    out << "\n" << std::string(15, ' ') << " |";
    for (size_t p = 0; p < a.pursuits.size(); ++p) {
      std::string layers;
      for (int64_t l = 1; l <= a.layers; ++l) layers += pad("L" + std::to_string(l), 9);
      out << " " << pad(layers, widths[p]) << " |";
    }
    out << "\n";
    for (double ratio : a.ratios) {
      for (double noise : a.noises) {
        out << pad(number(ratio, 3), 6) << pad(number(noise, 4), 9) << " |";
        for (size_t p = 0; p < a.pursuits.size(); ++p) {
          std::string cells;
          for (int64_t l = 1; l <= a.layers; ++l) {
            const auto* row = find_row(result, a.pursuits[p], "tuned", ratio, noise, l);
            cells += " " + pad(row ? cell(*row) : "-", 8);
          }
          out << " " << pad(cells, widths[p]) << " |";
        }
        out << "\n";
      }
    }
  };
  block("support recovered % (tuned parameters), per pursuit and layer:",
        [](const SimulationRow& r) { return percent(r.support_equal); });
  block("mean relative error (tuned parameters):", [](const SimulationRow& r) { return number(r.mean_relative_error, 3); });
  for (const auto& p : pool_theorems(result, 1)) {
    out << p.theorem << ", " << p.pursuit << ", ratio " << number(p.ratio) << ", layer " << p.layer << ": hypotheses "
        << percent(p.held / p.instances) << "%, guaranteed " << percent(p.guaranteed / p.instances) << "%, met when guaranteed "
        << (p.guaranteed > 0 ? percent(p.met_guaranteed / p.guaranteed) + "%" : "-") << ", violations " << p.violations << "\n";
  }
  out << result.rows.size() << " rows, " << number(result.seconds, 3) << " s\n";
  return out.str();
}

ReportFiles write_simulation_report(const SimulationResult& result, const SimulationOptions& options, const std::string& dir) {
  using namespace report_detail;
  return write_report(dir,
                      {{"simulation.csv", simulation_csv(result)},
                       {"simulation.json", simulation_json(result, options).dump(1) + "\n"},
                       {"summary.md", simulation_markdown(result, options)},
                       {"plot.gp", simulation_plot_script(result)}},
                      "plot.gp", {"recovery.png", "error.png"});
}

}  // namespace deepsc::mlcsc
