// deepsc mlcsc-sim: the ML-CSC simulation study (deepsc/mlcsc/simulation.h; Papyan, Romano & Elad
// 2017, section 6; the lecture, Zhang, "From sparse coding to deep learning", 2024): random models
// and signals, every pursuit's support recovery and error against the noise, and how often the
// recovery theorems' hypotheses held and their predictions came true; with --unrolled-depth the
// error of the M-step unrolled layered pursuit against M (Theorem 10, Li, Feng & Zhou 2024). The
// model is simulation_preset(--layers, --conv) (deepsc/mlcsc/simulation_report.h) unless --dims
// gives the sizes of a dense one; the runtime --seed seeds the model and the signals.
#include "checkpoint_support.h"
#include "cli.h"
#include "command_support.h"
#include "progress_bar.h"

#include "deepsc/mlcsc/levels.h"
#include "deepsc/mlcsc/simulation_report.h"

#include <sstream>

namespace deepsc::cli {

namespace {

struct MlcscSimCommand {
  int64_t layers = 3, trials = 100, deepest = 0, grid = 16, max_iter = 2000;
  double tol = 1e-6;
  bool conv = false, nonneg = false, json = false;
  std::string noise = "0:0.2:11", pursuits = "thresholding,layered-bp,ml-fista", ratios = "0.3,1", depths, solver = "ista",
              dims, out;
};

std::vector<mlcsc::Pursuit> parse_pursuit_list(const std::string& text) {
  std::vector<mlcsc::Pursuit> out;
  std::stringstream list(text);
  for (std::string name; std::getline(list, name, ',');) out.push_back(mlcsc::parse_pursuit(name));
  if (out.empty()) throw std::invalid_argument("--pursuits: give at least one pursuit");
  return out;
}

mlcsc::SimulationOptions simulation_options(const MlcscSimCommand& o, const RuntimeOptions& runtime) {
  if (!o.dims.empty() && o.conv) throw std::invalid_argument("--dims sets a dense model; it cannot be combined with --conv");
  const auto dims = o.dims.empty() ? std::vector<int64_t>{} : mlcsc::parse_integer_range(o.dims, "--dims", 1);
  auto model = mlcsc::simulation_preset(dims.empty() ? o.layers : static_cast<int64_t>(dims.size()) - 1, o.conv);
  if (!dims.empty()) model.dims(dims);
  if (o.deepest > 0) model.deepest_nonzeros(o.deepest);
  model.nonneg(o.nonneg).seed(runtime.seed).device(parse_device(runtime.device));
  return mlcsc::SimulationOptions()
      .model(model)
      .noise_levels(mlcsc::parse_levels(o.noise, "--noise"))
      .min_max_ratios(mlcsc::parse_levels(o.ratios, "--ratios"))
      .trials(o.trials)
      .pursuits(parse_pursuit_list(o.pursuits))
      .seed(runtime.seed)
      .grid_points(o.grid)
      .max_iter(o.max_iter)
      .tol(o.tol);
}

void run_mlcsc_sim(const MlcscSimCommand& o, Context& ctx) {
  const auto options = simulation_options(o, ctx.runtime);
  check_output_folder(o.out);
  Stopwatch clock;
  ProgressBar bar(ctx.err);
  const auto progress = [&](int64_t done, int64_t total) {
    const double rate = done / std::max(clock.seconds(), 1e-9);
    bar.update(done, total, "mlcsc-sim", 60 * rate, (total - done) / std::max(rate, 1e-9), "cases/min");
  };
  nlohmann::json json;
  std::string table;
  mlcsc::ReportFiles files;
  if (o.depths.empty()) {
    const auto result = mlcsc::run_simulation(options, progress);
    files = mlcsc::write_simulation_report(result, options, o.out);
    json = mlcsc::simulation_json(result, options), table = mlcsc::simulation_table(result);
  } else {
    const auto depth = mlcsc::DepthOptions()
                           .simulation(options)
                           .depths(mlcsc::parse_integer_range(o.depths, "--unrolled-depth", 1))
                           .solver(o.solver == "fista" ? sparse::UnrolledSolver::Fista : sparse::UnrolledSolver::Ista);
    const auto result = mlcsc::run_depth_study(depth, progress);
    files = mlcsc::write_depth_report(result, depth, o.out);
    json = mlcsc::depth_json(result, depth), table = mlcsc::depth_table(result);
  }
  bar.finish();
  json["out"] = o.out, json["files"] = files.files, json["note"] = files.note;
  if (o.json) {
    ctx.out << json.dump() << "\n";
    return;
  }
  std::string written;
  for (const auto& f : files.files) written += (written.empty() ? "" : ", ") + f;
  ctx.out << table << "-> " << o.out << "/: " << written << "\n" << (files.note.empty() ? "" : files.note + "\n");
}

}  // namespace

Action add_mlcsc_sim_command(CLI::App& app) {
  auto o = std::make_shared<MlcscSimCommand>();
  auto* cmd = app.add_subcommand("mlcsc-sim", "ML-CSC simulation: support recovery, errors and the recovery theorems against noise");
  auto* layers = cmd->add_option("--layers", o->layers,
                                 "K, 1..5: dense dims 256,512,256,128,... with D1 = [I, H/16] (mu1 = 1/16), atoms of D2 with 4 "
                                 "non-zeros and deeper ones with 2, 2 non-zeros in X_K (4 for K = 1)")
                     ->capture_default_str();
  cmd->add_flag("--conv", o->conv, "1-D convolutional model: channels 1,2,4,4,..., kernels 16,4,4,..., length 256, atoms of D2.. with 2 non-zeros, 1 non-zero per stripe of X_K");
  cmd->add_option("--noise", o->noise, "eps0 = ||E||^P_2,inf levels: first:last:count or a,b,c")->capture_default_str();
  cmd->add_option("--trials", o->trials, "Signals per min/max ratio")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--pursuits", o->pursuits, "Comma list of thresholding, layered-bp, layered-ista, ml-ista, ml-fista")
      ->capture_default_str();
  cmd->add_option("--ratios", o->ratios, "|X_K^min|/|X_K^max| of the deepest codes, in (0, 1]: a,b,...")->capture_default_str();
  cmd->add_option("--deepest-nonzeros", o->deepest, "Non-zeros of X_K (0: the preset's)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--nonneg", o->nonneg, "Non-negative D_i (i >= 2) and X_K, and non-negative shrinkage (a ReLU network)");
  cmd->add_option("--grid", o->grid, "Points of each layer's parameter grid in the tuned runs")->check(CLI::Range(2, 1000))
      ->capture_default_str();
  cmd->add_option("--unrolled-depth", o->depths, "Depth study instead: unrolled steps M per layer, first:last or a,b,c");
  cmd->add_option("--unrolled-solver", o->solver, "Depth study: ista or fista steps")->check(CLI::IsMember({"ista", "fista"}))
      ->capture_default_str();
  cmd->add_option("--dims", o->dims, "Advanced: a dense model's sizes n0,n1,...,nK instead of the preset's (n1 = 2 n0, n0 a power "
                                     "of two; small sizes make quick runs)")
      ->excludes(layers);
  cmd->add_option("--max-iter", o->max_iter, "Advanced: iteration cap of the iterative pursuits")->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--tol", o->tol, "Advanced: their tolerance")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--out", o->out, "Folder for the report (created)")->required();
  cmd->add_flag("--json", o->json, "Print one JSON line (the report's JSON) instead of the tables");
  return [o](Context& ctx) { run_mlcsc_sim(*o, ctx); };
}

}  // namespace deepsc::cli
