// deepsc denoise: patch-based denoising of a grey picture (Elad & Aharon 2006): every overlapping
// p × p patch is sparse-coded by Batch-OMP to the noise level over a dense dictionary and the
// estimates are averaged (dictlearn/patch_denoise.h). The dictionary is a file (--dict D.npy), the
// overcomplete DCT (--dict dct), or — by default — learned by K-SVD on the noisy picture's own
// patches, started from the DCT, as in the paper (dictlearn/denoising_dictionary.h). --add-noise
// makes the noisy picture from a clean one (reproducible by --seed); --clean scores the result
// against a reference (PSNR, SSIM).
#include "command_support.h"
#include "restore_support.h"

#include "deepsc/data/npy_tensor.h"
#include "deepsc/dictlearn/denoising_dictionary.h"
#include "deepsc/dictlearn/patch_denoise.h"
#include "deepsc/viz/image_grid.h"

#include <iomanip>
#include <memory>

namespace deepsc::cli {

namespace {

struct PatchDenoiseCommand {
  std::string image, dict, clean, out, noisy_out, save_dict;
  double sigma = 0;
  int64_t patch = 8, atoms = 256, learn_iterations = 10, learn_patches = 40000, stride = 1;
  double gain = dictlearn::PatchDenoiseOptions(1).gain();
  double blend = dictlearn::PatchDenoiseOptions(1).blend();
  bool add_noise = false, json = false, no_atom_swaps = false;
};

/// The dictionary of the run: a file, the DCT, or learned from the noisy picture.
struct ChosenDictionary {
  torch::Tensor atoms;                     // D [p², m]
  std::string source;                      // what the report calls it
  dictlearn::DenoisingDictionary learned;  // atoms undefined unless learned
};

ChosenDictionary choose_dictionary(const PatchDenoiseCommand& o, const torch::Tensor& image, double sigma, Context& ctx) {
  if (!o.dict.empty() && o.dict != "dct") {
    auto atoms = load_float_array(o.dict, "--dict", 2).to(torch::kFloat);
    const int64_t p = square_side(atoms.size(0));
    if (p == 0)
      throw std::invalid_argument("--dict " + o.dict + ": " + std::to_string(atoms.size(0)) + "-dimensional atoms are not grey p x p patches");
    if (p > image.size(0) || p > image.size(1)) throw std::invalid_argument("--dict " + o.dict + ": atoms larger than --image");
    atoms = atoms / atoms.norm(2, {0}, true).clamp_min(1e-12);  // unit-norm atoms, as OMP's selection rule expects
    return {atoms, o.dict, {}};
  }
  if (dictlearn::dct_atoms_per_axis(o.atoms, o.patch) == 0)
    throw std::invalid_argument("--atoms " + std::to_string(o.atoms) + ": the DCT start needs a square number of atoms >= patch^2 (" +
                                std::to_string(o.patch * o.patch) + ")");
  if (o.dict == "dct") return {dictlearn::dct_start(o.patch, o.atoms).to(image.device()), "overcomplete DCT", {}};
  auto learned = dictlearn::learn_denoising_dictionary(image, dictlearn::DenoisingDictionaryOptions(sigma)
                                                                  .patch(o.patch)
                                                                  .atoms(o.atoms)
                                                                  .iterations(o.learn_iterations)
                                                                  .patches(o.learn_patches)
                                                                  .gain(o.gain)
                                                                  .seed(ctx.runtime.seed)
                                                                  .swap_atoms(!o.no_atom_swaps));
  return {learned.atoms, "K-SVD on the noisy picture", learned};
}

nlohmann::json learning_json(const PatchDenoiseCommand& o, const dictlearn::DenoisingDictionary& learned) {
  return {{"algo", "ksvd"},         {"sparsity", learned.sparsity},  {"error_bound", learned.error_bound},
          {"iterations", o.learn_iterations}, {"patches", o.learn_patches}, {"seconds", learned.seconds}, {"atom_swaps", !o.no_atom_swaps}};
}

void run_patch_denoise(const PatchDenoiseCommand& o, Context& ctx) {
  restore::check_output_paths({{o.out, "--out"}, {o.noisy_out, "--noisy-out"}, {o.save_dict, "--save-dict"}});
  const auto device = parse_device(ctx.runtime.device);
  const double sigma = o.sigma / 255.0;
  const auto picture = restore::load_noisy_picture(o.image, o.clean, o.add_noise, sigma, ctx.runtime.seed);
  const auto& noisy = picture.noisy;
  if (noisy.size(2) < o.patch || noisy.size(3) < o.patch)
    throw std::invalid_argument("--image " + o.image + " is smaller than --patch " + std::to_string(o.patch));
  const auto dict = choose_dictionary(o, noisy[0][0].to(device), sigma, ctx);

  Stopwatch clock;
  const auto result = dictlearn::patch_denoise(noisy[0][0].to(device), sparse::DenseDictionary(dict.atoms.to(device)),
                                               dictlearn::PatchDenoiseOptions(sigma).stride(o.stride).gain(o.gain).blend(o.blend));
  synchronize(device);
  const double seconds = clock.seconds();

  const auto denoised = result.image.to(torch::kCPU).clamp(0, 1).view({1, 1, noisy.size(2), noisy.size(3)});
  if (!o.save_dict.empty()) data::save_npy(o.save_dict, dict.atoms.to(torch::kCPU));
  if (!o.noisy_out.empty()) viz::write_png(o.noisy_out, noisy[0]);
  viz::write_png(o.out, denoised[0]);

  nlohmann::json report{{"command", "denoise"}, {"image", o.image}, {"out", o.out}, {"height", noisy.size(2)},
                        {"width", noisy.size(3)}, {"sigma", o.sigma}, {"noise_added", o.add_noise},
                        {"dictionary", dict.source}, {"patch", square_side(dict.atoms.size(0))}, {"atoms", dict.atoms.size(1)},
                        {"stride", o.stride}, {"gain", o.gain}, {"blend_lambda", result.blend_lambda},
                        {"patches", result.patches}, {"mean_nonzeros", result.mean_nonzeros}, {"denoise_seconds", seconds},
                        {"threads", at::get_num_threads()}, {"note", picture.note}};
  if (dict.learned.atoms.defined()) report["learning"] = learning_json(o, dict.learned);
  const auto scores = restore::score_denoising(picture, denoised, report);
  if (o.json) {
    ctx.out << report.dump() << "\n";
    return;
  }
  if (!picture.note.empty()) ctx.out << "note: " << picture.note << "\n";
  ctx.out << std::setprecision(4) << "denoised " << o.image << " (" << noisy.size(3) << "x" << noisy.size(2) << ", sigma "
          << o.sigma << "/255" << (o.add_noise ? ", noise added with seed " + std::to_string(ctx.runtime.seed) : "") << ") over "
          << dict.atoms.size(1) << " atoms (" << dict.source;
  if (dict.learned.atoms.defined())
    ctx.out << ": " << o.learn_iterations << " iterations, codes to the noise level (at most " << dict.learned.sparsity
            << " atoms), " << std::setprecision(3) << dict.learned.seconds << " s";
  ctx.out << "), " << std::setprecision(3) << result.mean_nonzeros << " atoms per patch, " << seconds << " s -> " << o.out << "\n";
  ctx.out << scores;
}

}  // namespace

Action add_denoise_command(CLI::App& app) {
  auto o = std::make_shared<PatchDenoiseCommand>();
  auto* cmd = app.add_subcommand("denoise", "Denoise a grey picture by sparse coding of its overlapping patches (Elad-Aharon)");
  cmd->add_option("--image", o->image, "Noisy picture (PNG/JPEG; RGB is converted to grey), or the clean one with --add-noise")
      ->required()->check(CLI::ExistingFile);
  cmd->add_option("--sigma", o->sigma, "Noise standard deviation on the 0-255 scale")->required()->check(CLI::PositiveNumber);
  cmd->add_option("--out", o->out, "Denoised picture, grey PNG (written atomically)")->required();
  cmd->add_option("--dict", o->dict, "Dense dictionary D.npy [p*p, m], or 'dct' for the overcomplete DCT (default: K-SVD on the noisy patches)");
  auto* clean = cmd->add_option("--clean", o->clean, "Clean reference picture: report PSNR/SSIM")->check(CLI::ExistingFile);
  auto* add_noise = cmd->add_flag("--add-noise", o->add_noise, "--image is clean: add Gaussian noise of --sigma (seeded by --seed) and score against it");
  add_noise->excludes(clean);
  cmd->add_option("--patch", o->patch, "Patch side p when the dictionary is the DCT or learned")->check(CLI::Range(2, 32))->capture_default_str();
  cmd->add_option("--atoms", o->atoms, "Atoms of the DCT / learned dictionary (a square number)")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--learn-iterations", o->learn_iterations, "K-SVD iterations on the noisy patches")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--learn-patches", o->learn_patches, "Random noisy patches K-SVD learns from")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--stride", o->stride, "Step between coded patches (1: every overlapping patch)")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--gain", o->gain, "C of the OMP error bound n (C sigma)^2")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--blend", o->blend, "c of the weight c/sigma of the noisy picture in the average (0: plain average)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--noisy-out", o->noisy_out, "Also write the noisy input as PNG (clipped, 8 bits)");
  cmd->add_option("--save-dict", o->save_dict, "Also write the dictionary used as D.npy [p*p, m]");
  cmd->add_flag("--no-atom-swaps", o->no_atom_swaps, "K-SVD as published, without atom swaps (see learn-dict)");
  cmd->add_flag("--json", o->json, "Print a JSON report");
  return [o](Context& ctx) { run_patch_denoise(*o, ctx); };
}

}  // namespace deepsc::cli
