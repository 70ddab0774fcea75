// deepsc demo: the sparse-coding core on real data. Fashion-MNIST 8×8 patches are coded over an
// overcomplete DCT dictionary by every solver (thresholding, ISTA, FISTA, Batch-OMP) through the
// solver registry; the command reports speed, sparsity and reconstruction quality, and writes
// pictures into a run folder.
#include "cli.h"
#include "command_support.h"

#include "deepsc/conv/image_quality.h"
#include "deepsc/data/idx_tensor.h"
#include "deepsc/data/patches.h"
#include "deepsc/sparse/analytic_dictionaries.h"
#include "deepsc/sparse/coherence.h"
#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/solver_comparison.h"
#include "deepsc/viz/image_grid.h"

#include <filesystem>
#include <iomanip>
#include <memory>
#include <sstream>

namespace deepsc::cli {

namespace {

struct DemoOptions {
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string out = "runs/demo";
  int64_t patches = 10000, patch = 8, atoms_per_axis = 16, sparsity = 6, images = 8, max_iter = 2000;
  double lambda = 0.1, tol = 1e-3;
  bool json = false;
};

using Dictionary = std::shared_ptr<const sparse::DenseDictionary>;

/// The trials, in the report's order. The complete (orthonormal) DCT `basis` has μ = 0: there
/// one-step thresholding is exact best-K approximation. The overcomplete `dict` is coherent, and
/// only the pursuits cope with it. ISTA and FISTA are asked the same accuracy: a relative
/// duality gap of tol (checked every 10 iterations).
std::vector<sparse::SolverTrial> demo_trials(const DemoOptions& o, const Dictionary& dict, const Dictionary& basis) {
  const std::string k = std::to_string(o.sparsity);
  const auto top_k = sparse::SolverRequest().beta(0).sparsity(o.sparsity).shrinkage(sparse::Shrinkage::Hard);
  const auto lasso = sparse::SolverRequest().lambda(o.lambda).tol(o.tol).max_iter(o.max_iter).stop_rule(
      sparse::StopRule::DualityGap);
  std::ostringstream lambda;
  lambda << " lambda=" << o.lambda;
  return {{"threshold K=" + k + " (complete DCT)", "threshold", top_k, basis},
          {"threshold K=" + k, "threshold", top_k, dict},
          {"omp K=" + k, "omp", sparse::SolverRequest().sparsity(o.sparsity), dict},
          {"ista" + lambda.str(), "ista", lasso, dict},
          {"fista" + lambda.str(), "fista", lasso, dict}};
}

/// Codes every patch of `images` [K, 1, H, W] (stride 1) by `trial`, puts the mean back and
/// averages the overlapping reconstructions into images.
torch::Tensor rebuild_images(const torch::Tensor& images, int64_t patch, const sparse::SolverTrial& trial) {
  auto [centred, norm] = data::remove_mean(data::extract_patches(images, patch, 1));
  auto codes = sparse::solver_registry().run(trial.solver, *trial.op, centred, trial.request).result.codes;
  return data::fold_patches(data::restore_mean(trial.op->apply(codes), norm), images.sizes(), patch, 1);
}

/// Writes `rows` of images, each row scaled 3× (nearest neighbour) so the digits' pixels show.
void write_image_rows(const std::string& png, const std::vector<torch::Tensor>& rows, int64_t per_row) {
  namespace F = torch::nn::functional;
  auto grid = viz::tile_grid(torch::cat(rows), per_row, 2, /*normalise_each=*/false);
  viz::write_png(png, F::interpolate(grid.unsqueeze(0), F::InterpolateFuncOptions()
                                                            .scale_factor(std::vector<double>{3, 3})
                                                            .mode(torch::kNearest))
                          .squeeze(0));
}

void print_demo(std::ostream& out, const DemoOptions& o, const nlohmann::json& report) {
  const auto& d = report["dictionary"];
  const auto& images = report["images"];
  out << "deepsc demo: " << o.patches << " Fashion-MNIST " << o.patch << "x" << o.patch << " patches (mean removed) over an "
      << "overcomplete DCT dictionary D [" << d["n"] << ", " << d["m"] << "]\n"
      << std::setprecision(4) << "mu(D) = " << d["mu"].get<double>() << ", so BP and OMP are guaranteed to recover supports below "
      << d["recovery_bound"].get<double>() << " non-zeros\n\n"
      << std::left << std::setw(38) << "solver" << std::right << std::setw(9) << "seconds" << std::setw(11) << "nnz/patch"
      << std::setw(9) << "PSNR dB" << std::setw(7) << "iters" << "  converged\n";
  for (const auto& r : report["solvers"])
    out << std::left << std::setw(38) << r["solver"].get<std::string>() << std::right << std::fixed << std::setprecision(3)
        << std::setw(9) << r["seconds"].get<double>() << std::setprecision(2) << std::setw(11)
        << r["nonzeros_per_patch"].get<double>() << std::setw(9) << r["psnr_db"].get<double>() << std::setw(7)
        << r["iterations"].get<int64_t>() << "  " << (r["converged"].get<bool>() ? "yes" : "no (cap)") << "\n";
  out << std::defaultfloat << std::setprecision(4) << "\n" << o.images << " test images rebuilt from overlapping patches: "
      << "PSNR " << images["psnr_db_threshold"].get<double>() << " dB (thresholding, complete DCT), "
      << images["psnr_db_omp"].get<double>() << " dB (OMP), K = " << o.sparsity << "\nwrote "
      << images["png"].get<std::string>() << " (rows: original, thresholding on the complete DCT, OMP on the overcomplete one), "
      << report["atoms_png"].get<std::string>() << ", " << o.out << "/report.json\n";
}

void run_demo(const DemoOptions& o, Context& ctx) {
  const auto device = parse_device(ctx.runtime.device);
  const std::string train = o.data + "/train-images-idx3-ubyte.gz", test = o.data + "/t10k-images-idx3-ubyte.gz";
  for (const auto& f : {train, test})
    if (!std::filesystem::exists(f))
      throw std::invalid_argument("--data: " + f + " not found (install the Debian package dataset-fashion-mnist)");
  ensure_directory(o.out);

  auto train_images = data::load_idx(train).to(torch::kFloat).div_(255).unsqueeze(1);  // [60000, 1, 28, 28]
  auto test_images = data::load_idx(test).to(torch::kFloat).div_(255).unsqueeze(1);
  auto centred = data::remove_mean(data::random_patches(train_images, o.patch, o.patches)).first.to(device);  // [N, p²]
  auto dict = std::make_shared<const sparse::DenseDictionary>(sparse::overcomplete_dct(o.patch, o.atoms_per_axis).to(device));
  auto basis = std::make_shared<const sparse::DenseDictionary>(sparse::overcomplete_dct(o.patch, o.patch).to(device));
  const double mu = sparse::mutual_coherence(dict->matrix());
  const auto trials = demo_trials(o, dict, basis);
  const auto rows = sparse::compare_solvers(sparse::solver_registry(), centred, trials);

  // Whole test images rebuilt from their overlapping patches.
  auto shown = test_images.narrow(0, 0, o.images);
  auto by_threshold = rebuild_images(shown.to(device), o.patch, trials[0]).cpu();
  auto by_omp = rebuild_images(shown.to(device), o.patch, trials[2]).cpu();
  const std::string demo_png = o.out + "/reconstructions.png", atoms_png = o.out + "/atoms.png";
  write_image_rows(demo_png, {shown, by_threshold.clamp(0, 1), by_omp.clamp(0, 1)}, o.images);
  viz::write_dictionary_png(atoms_png, dict->matrix().cpu(), 1, o.atoms_per_axis, viz::visible_scale(o.patch));

  nlohmann::json report{{"data", o.data}, {"patches", o.patches}, {"patch", o.patch},
                        {"dictionary", {{"kind", "overcomplete DCT"}, {"n", dict->signal_dim()}, {"m", dict->num_atoms()},
                                        {"mu", mu}, {"recovery_bound", sparse::recovery_bound(mu)}}},
                        {"threads", torch::get_num_threads()}, {"device", device.str()}};
  report["solvers"] = nlohmann::json::array();
  for (const auto& r : rows)
    report["solvers"].push_back({{"solver", r.label}, {"seconds", r.run.seconds}, {"nonzeros_per_patch", r.nonzeros_per_signal},
                                 {"psnr_db", r.psnr_db}, {"objective", r.run.result.objective},
                                 {"iterations", r.run.result.iterations}, {"converged", r.run.result.converged}});
  auto psnr = [&](const torch::Tensor& images) {  // over all pixels of all images, as one picture
    return conv::psnr(shown.reshape({1, 1, -1, shown.size(-1)}), images.reshape({1, 1, -1, shown.size(-1)})).item<double>();
  };
  report["images"] = {{"count", o.images}, {"psnr_db_omp", psnr(by_omp)}, {"psnr_db_threshold", psnr(by_threshold)},
                      {"png", demo_png}};
  report["atoms_png"] = atoms_png;
  write_text_file(o.out + "/report.json", report.dump(2) + "\n");
  if (o.json) {
    ctx.out << report.dump() << "\n";
  } else {
    print_demo(ctx.out, o, report);
  }
}

}  // namespace

Action add_demo_command(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  auto* cmd = app.add_subcommand("demo", "Sparse-code Fashion-MNIST patches with every solver and write pictures");
  cmd->add_option("--data", o->data, "Folder with the Fashion-MNIST IDX files")->capture_default_str();
  cmd->add_option("--out", o->out, "Run folder for report.json and the PNGs")->capture_default_str();
  cmd->add_option("--patches", o->patches, "Random training patches to code")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--patch", o->patch, "Patch side")->check(CLI::Range(2, 28))->capture_default_str();
  cmd->add_option("--atoms-per-axis", o->atoms_per_axis, "DCT frequencies per axis (atoms = square)")
      ->check(CLI::Range(2, 64))
      ->capture_default_str();
  cmd->add_option("--sparsity,-K", o->sparsity, "Non-zeros for thresholding and OMP")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--lambda", o->lambda, "ISTA/FISTA weight of ||X||_1")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--tol", o->tol, "ISTA/FISTA relative duality gap")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--max-iter", o->max_iter, "ISTA/FISTA iteration cap")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--images", o->images, "Test images to rebuild in the picture")->check(CLI::Range(1, 64))->capture_default_str();
  cmd->add_flag("--json", o->json, "Print the report as JSON");
  return [o](Context& ctx) {
    if (o->atoms_per_axis < o->patch) throw std::invalid_argument("--atoms-per-axis must be >= --patch");
    if (o->sparsity > o->atoms_per_axis * o->atoms_per_axis) throw std::invalid_argument("--sparsity exceeds the atom count");
    run_demo(*o, ctx);
  };
}

}  // namespace deepsc::cli
