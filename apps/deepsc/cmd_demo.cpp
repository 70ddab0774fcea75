// deepsc demo: the sparse-coding core on real data. Fashion-MNIST 8×8 patches are coded over an
// overcomplete DCT dictionary by every solver (thresholding, ISTA, FISTA, Batch-OMP); the command
// reports speed, sparsity and reconstruction quality, and writes pictures into a run folder.
#include "cli.h"
#include "command_support.h"

#include "deepsc/data/idx_tensor.h"
#include "deepsc/data/patches.h"
#include "deepsc/sparse/analytic_dictionaries.h"
#include "deepsc/sparse/coherence.h"
#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/omp.h"
#include "deepsc/sparse/proximal_gradient.h"
#include "deepsc/sparse/thresholding.h"
#include "deepsc/viz/image_grid.h"

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <memory>

namespace deepsc::cli {

namespace {

struct DemoOptions {
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string out = "runs/demo";
  int64_t patches = 10000, patch = 8, atoms_per_axis = 16, sparsity = 6, images = 8, max_iter = 2000;
  double lambda = 0.1, tol = 1e-3;
  bool json = false;
};

/// PSNR in dB of a reconstruction of data whose dynamic range is 1.
double psnr(const torch::Tensor& reference, const torch::Tensor& estimate) {
  const double mse = (reference - estimate).square().mean().item<double>();
  return 10 * std::log10(1.0 / std::max(mse, 1e-20));
}

/// Codes every patch of `images` [K, 1, H, W] (stride 1) with `encode`, puts the mean back and
/// averages the overlapping reconstructions into images.
template <typename Encode>
torch::Tensor reconstruct_images(const torch::Tensor& images, int64_t patch, const sparse::DenseDictionary& dict,
                                 Encode encode) {
  auto patches = data::extract_patches(images, patch, 1);
  auto [centred, norm] = data::remove_mean(patches);
  auto codes = encode(centred);
  auto restored = data::restore_mean(dict.apply(codes), norm);
  return data::fold_patches(restored, images.sizes(), patch, 1);
}

void run_demo(const DemoOptions& o, Context& ctx) {
  const auto device = parse_device(ctx.runtime.device);
  const std::string train = o.data + "/train-images-idx3-ubyte.gz";
  const std::string test = o.data + "/t10k-images-idx3-ubyte.gz";
  for (const auto& f : {train, test})
    if (!std::filesystem::exists(f))
      throw std::invalid_argument("--data: " + f + " not found (install the Debian package dataset-fashion-mnist)");
  ensure_directory(o.out);

  auto train_images = data::load_idx(train).to(torch::kFloat).div_(255).unsqueeze(1);  // [60000, 1, 28, 28]
  auto test_images = data::load_idx(test).to(torch::kFloat).div_(255).unsqueeze(1);
  auto patches = data::random_patches(train_images, o.patch, o.patches);  // [N, 64]
  auto [centred, norm] = data::remove_mean(patches);
  centred = centred.to(device);

  sparse::DenseDictionary dict(sparse::overcomplete_dct(o.patch, o.atoms_per_axis).to(device));
  const double mu = sparse::mutual_coherence(dict.matrix());

  nlohmann::json report{{"data", o.data},
                        {"patches", o.patches},
                        {"patch", o.patch},
                        {"dictionary", {{"kind", "overcomplete DCT"}, {"n", dict.signal_dim()}, {"m", dict.num_atoms()},
                                        {"mu", mu}, {"recovery_bound", sparse::recovery_bound(mu)}}},
                        {"threads", torch::get_num_threads()},
                        {"device", device.str()}};
  struct Row {
    std::string name;
    double seconds, nonzeros, psnr, objective;
    int64_t iterations;
    bool converged;
  };
  std::vector<Row> rows;
  auto record_with = [&](const sparse::DenseDictionary& d, const std::string& name, const sparse::SolverResult& r,
                         double seconds) {
    auto recon = data::restore_mean(d.apply(r.codes).cpu(), norm);
    rows.push_back({name, seconds, (r.codes != 0).sum().item<double>() / o.patches, psnr(patches, recon), r.objective,
                    r.iterations, r.converged});
  };
  auto record = [&](const std::string& name, const sparse::SolverResult& r, double seconds) {
    record_with(dict, name, r, seconds);
  };

  // The complete (orthonormal) DCT has μ = 0: there one-step thresholding is exact best-K
  // approximation. The overcomplete one is coherent, and only the pursuits cope with it.
  sparse::DenseDictionary basis(sparse::overcomplete_dct(o.patch, o.patch).to(device));
  const auto top_k = sparse::ThresholdingOptions(0).sparsity(o.sparsity).shrinkage(sparse::Shrinkage::Hard);
  {
    Stopwatch c;
    auto r = sparse::threshold(basis, centred, top_k);
    synchronize(device);
    record_with(basis, "threshold K=" + std::to_string(o.sparsity) + " (complete DCT)", r, c.seconds());
  }
  {
    Stopwatch c;
    auto r = sparse::threshold(dict, centred, top_k);
    synchronize(device);
    record("threshold K=" + std::to_string(o.sparsity), r, c.seconds());
  }
  {
    Stopwatch c;
    auto r = sparse::omp(dict, centred, sparse::OmpOptions().sparsity(o.sparsity));
    synchronize(device);
    record("omp K=" + std::to_string(o.sparsity), r, c.seconds());
  }
  // Same accuracy asked of both: a relative duality gap of tol, checked every 10 iterations.
  auto fista_options = sparse::ProximalGradientOptions(o.lambda)
                           .tol(o.tol)
                           .stop_rule(sparse::StopRule::DualityGap)
                           .check_every(10)
                           .max_iter(o.max_iter);
  for (const char* which : {"ista", "fista"}) {
    Stopwatch c;
    auto r = std::string(which) == "ista" ? sparse::ista(dict, centred, fista_options)
                                          : sparse::fista(dict, centred, fista_options);
    synchronize(device);
    std::ostringstream name;
    name << which << " lambda=" << o.lambda;
    record(name.str(), r, c.seconds());
  }

  // Whole test images rebuilt from their overlapping patches.
  auto shown = test_images.narrow(0, 0, o.images);
  auto by_omp = reconstruct_images(shown.to(device), o.patch, dict, [&](const torch::Tensor& y) {
    return sparse::omp(dict, y, sparse::OmpOptions().sparsity(o.sparsity)).codes;
  }).cpu();
  auto by_threshold = reconstruct_images(shown.to(device), o.patch, basis, [&](const torch::Tensor& y) {
    return sparse::threshold(basis, y, top_k).codes;
  }).cpu();
  const double image_psnr_omp = psnr(shown, by_omp), image_psnr_threshold = psnr(shown, by_threshold);
  auto grid = viz::tile_grid(torch::cat({shown, by_threshold.clamp(0, 1), by_omp.clamp(0, 1)}), o.images, 2,
                             /*normalise_each=*/false);
  const std::string demo_png = o.out + "/reconstructions.png", atoms_png = o.out + "/atoms.png";
  viz::write_png(demo_png, torch::nn::functional::interpolate(
                               grid.unsqueeze(0), torch::nn::functional::InterpolateFuncOptions()
                                                      .scale_factor(std::vector<double>{3, 3})
                                                      .mode(torch::kNearest))
                               .squeeze(0));
  viz::write_dictionary_png(atoms_png, dict.matrix().cpu(), 1, o.atoms_per_axis, 4);

  report["solvers"] = nlohmann::json::array();
  for (const auto& r : rows)
    report["solvers"].push_back({{"solver", r.name}, {"seconds", r.seconds}, {"nonzeros_per_patch", r.nonzeros},
                                 {"psnr_db", r.psnr}, {"objective", r.objective}, {"iterations", r.iterations},
                                 {"converged", r.converged}});
  report["images"] = {{"count", o.images}, {"psnr_db_omp", image_psnr_omp}, {"psnr_db_threshold", image_psnr_threshold},
                      {"png", demo_png}};
  report["atoms_png"] = atoms_png;
  write_text_file(o.out + "/report.json", report.dump(2) + "\n");

  if (o.json) {
    ctx.out << report.dump() << "\n";
    return;
  }
  auto& out = ctx.out;
  out << "deepsc demo: " << o.patches << " Fashion-MNIST " << o.patch << "x" << o.patch << " patches (mean removed) over an "
      << "overcomplete DCT dictionary D [" << dict.signal_dim() << ", " << dict.num_atoms() << "]\n"
      << std::setprecision(4) << "mu(D) = " << mu << ", so BP and OMP are guaranteed to recover supports below "
      << sparse::recovery_bound(mu) << " non-zeros\n\n"
      << std::left << std::setw(38) << "solver" << std::right << std::setw(9) << "seconds" << std::setw(11) << "nnz/patch"
      << std::setw(9) << "PSNR dB" << std::setw(7) << "iters" << "  converged\n";
  for (const auto& r : rows)
    out << std::left << std::setw(38) << r.name << std::right << std::fixed << std::setprecision(3) << std::setw(9)
        << r.seconds << std::setprecision(2) << std::setw(11) << r.nonzeros << std::setw(9) << r.psnr << std::setw(7)
        << r.iterations << "  " << (r.converged ? "yes" : "no (cap)") << "\n";
  out << std::defaultfloat << std::setprecision(4) << "\n" << o.images << " test images rebuilt from overlapping patches: "
      << "PSNR " << image_psnr_threshold << " dB (thresholding, complete DCT), " << image_psnr_omp << " dB (OMP), K = " << o.sparsity
      << "\nwrote " << demo_png << " (rows: original, thresholding on the complete DCT, OMP on the overcomplete one), " << atoms_png << ", " << o.out
      << "/report.json\n";
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
