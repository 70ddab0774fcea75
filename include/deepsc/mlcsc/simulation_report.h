#pragma once
/// The default models of the ML-CSC simulation study and the files and printed tables of its results
/// (simulation.h: run_simulation, run_depth_study).
///
/// A simulation (SimulationResult) is reported as
///   simulation.csv   one line per SimulationRow, every field (theorem fields empty on tuned rows);
///   simulation.json  the options, the model's layer facts, the rows and the seconds, for programs;
///   summary.md       the model per layer (shape, μ_i, ½(1 + 1/μ_i), ‖X_i‖_{0,∞}, min/max ratio), per
///                    pursuit the tuned support-recovery rate and mean relative error per layer and
///                    noise level, and the theorems' rates (hypotheses held, guaranteed, predictions met
///                    when guaranteed, violations) per layer, pooled over the noise levels, and the
///                    guaranteed fraction at each noise level;
///   plot.gp          a gnuplot script with its data inline, run in the folder: recovery.png (support
///                    recovery against ε₀, one panel per layer, one colour per pursuit, one dash
///                    pattern per min/max ratio) and error.png (mean relative error, same layout).
/// A depth study (DepthResult, Theorem 10 of Li, Feng & Zhou 2024) as
///   depth.csv, depth-fit.csv, depth.json, depth.md (the fits: ε₀, layer, λ, floor, rate c, points,
///   R²) and depth.gp → depth.png (mean error against M on a log scale, one panel per layer, one curve
///   per noise level, its floor dashed).
/// Numbers in the files are fractions (rates in [0, 1]); the markdown and printed tables show %.

#include "deepsc/mlcsc/theorems.h"  // before simulation.h, which uses LayerRates without including it
#include "deepsc/mlcsc/simulation.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace deepsc::mlcsc {

/// The study's default model for `layers` ∈ [1, 5] (std::invalid_argument otherwise):
///   dense: dims {256, 512, 256, 128, 64, 32} cut to layers + 1 entries, D₁ = [I, H/16]
///     (IdentityHadamard, μ₁ = 1/16, ½(1 + 1/μ₁) = 8.5), atoms of D₂ with 4 non-zeros and of every
///     deeper layer with 2, deepest_nonzeros 2 (4 for a single layer, to load the one dictionary);
///   convolutional: 1-D, channels {1, 2, 4, 4, 4, 4} and kernel sizes {16, 4, 4, 4, 4} cut to the
///     layers, signal_length 256, atoms of every deeper layer with 2 non-zeros, deepest_nonzeros 1
///     (denser settings leave more non-zeros in X₁ than Y has samples to determine them).
/// Every X_i = D_{i+1}X_{i+1} multiplies the non-zeros by up to s_{i+1}, so deep presets leave the
/// theorems' sparsity conditions on the shallow layers: that is what the study shows.
/// Seed, dtype (float64), device and min/max ratio are left at GeneratorOptions' defaults.
GeneratorOptions simulation_preset(int64_t layers, bool convolutional);

/// simulation.csv: the header, then one line per row in the result's order.
std::string simulation_csv(const SimulationResult& result);
/// simulation.json: {"options", "layers", "rows", "seconds"}; NaN becomes null.
nlohmann::json simulation_json(const SimulationResult& result, const SimulationOptions& options);
/// summary.md (described above).
std::string simulation_markdown(const SimulationResult& result, const SimulationOptions& options);
/// plot.gp (described above); reads no file.
std::string simulation_plot_script(const SimulationResult& result);
/// The printed table: per min/max ratio and noise level the tuned support-recovery % of every
/// pursuit and layer and the mean relative error, then one line per theorem and layer.
std::string simulation_table(const SimulationResult& result);

/// What a write_*_report call did.
struct ReportFiles {
  std::vector<std::string> files;  // names written in the folder, pictures included
  std::string note;                // empty, or one line: gnuplot missing or failed (the tables are written)
};

/// Creates `dir` (and parents) and writes simulation.csv, simulation.json, summary.md and plot.gp
/// atomically (data::write_file_atomically), then runs gnuplot in `dir` if it is installed
/// (viz::run_gnuplot, its messages in plot.log). Throws data::FileWriteError or std::runtime_error
/// naming the path when a file cannot be written.
ReportFiles write_simulation_report(const SimulationResult& result, const SimulationOptions& options, const std::string& dir);

/// depth.csv: noise, depth, layer, mean_error; depth-fit.csv: noise, layer, lambda, floor, rate,
/// points, r_squared.
std::string depth_csv(const DepthResult& result);
std::string depth_fit_csv(const DepthResult& result);
/// depth.json: {"options", "rows", "fits", "seconds"}.
nlohmann::json depth_json(const DepthResult& result, const DepthOptions& options);
/// depth.md: the fit table and the floor against the noise level.
std::string depth_markdown(const DepthResult& result, const DepthOptions& options);
/// depth.gp → depth.png (described above); data inline.
std::string depth_plot_script(const DepthResult& result);
/// The printed table: one line per fit.
std::string depth_table(const DepthResult& result);
/// As write_simulation_report for depth.csv, depth-fit.csv, depth.json, depth.md, depth.gp.
ReportFiles write_depth_report(const DepthResult& result, const DepthOptions& options, const std::string& dir);

}  // namespace deepsc::mlcsc
