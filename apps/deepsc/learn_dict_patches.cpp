// Training patches for `deepsc learn-dict` (see learn_dict_patches.h).
#include "learn_dict_patches.h"

#include "command_support.h"
#include "restore_support.h"

#include "deepsc/data/patches.h"
#include "deepsc/data/whitening.h"

#include <cmath>
#include <vector>

namespace deepsc::cli {

CLI::Option* add_patch_source_options(CLI::App* cmd, PatchSource& s) {
  auto* images = cmd->add_option("--images", s.images, "Folder of natural images (.png/.jpg; made grey)");
  auto* patches = cmd->add_option("--patches", s.patches, "Patch matrix .npy [N, n], one patch per row, used as it is");
  images->excludes(patches);
  cmd->add_option("--patch", s.patch, "p: patches are p x p")->check(CLI::Range(2, 64))->capture_default_str();
  cmd->add_option("--samples", s.samples, "Patches drawn from the images (held-out ones included)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--whiten", s.whiten, "none | of (Olshausen-Field 1/f filter on the images) | zca (on the patches)")
      ->check(CLI::IsMember({"none", "of", "zca"}))->capture_default_str();
  cmd->add_flag("--contrast", s.contrast, "Divide every patch by its own standard deviation");
  return images;
}

namespace {

/// `samples` p × p patches from the pictures, each picture giving a share proportional to its
/// number of patch positions (the last one takes the rounding), [samples, p²].
torch::Tensor draw_patches(const std::vector<torch::Tensor>& pictures, int64_t patch, int64_t samples,
                           torch::Generator& gen) {
  std::vector<double> positions;
  double total = 0;
  for (const auto& pic : pictures) {
    positions.push_back(static_cast<double>((pic.size(2) - patch + 1) * (pic.size(3) - patch + 1)));
    total += positions.back();
  }
  std::vector<torch::Tensor> drawn;
  int64_t left = samples;
  for (size_t i = 0; i < pictures.size() && left > 0; ++i) {
    const int64_t count = i + 1 == pictures.size() ? left : std::min(left, static_cast<int64_t>(std::llround(samples * positions[i] / total)));
    if (count > 0) drawn.push_back(data::random_patches(pictures[i], patch, count, gen));
    left -= count;
  }
  return torch::cat(drawn, 0);
}

/// Grey pictures [1, 1, H, W] of the folder that hold at least one p × p patch.
std::vector<torch::Tensor> load_pictures(const PatchSource& s, Context& ctx) {
  std::vector<torch::Tensor> pictures;
  for (const auto& file : restore::image_files(s.images, "--images")) {
    auto grey = restore::load_grey(file, "--images").image;
    if (grey.size(2) < s.patch || grey.size(3) < s.patch) {
      ctx.err << "deepsc: skipping " << file << ": smaller than --patch " << s.patch << "\n";
      continue;
    }
    if (s.whiten == "of") grey = data::whiten_images(grey.to(torch::kDouble), data::ImageWhiteningOptions()).to(torch::kFloat);
    pictures.push_back(grey);
  }
  if (pictures.empty()) throw std::invalid_argument("--images " + s.images + ": no picture is at least --patch pixels wide");
  return pictures;
}

}  // namespace

PreparedPatches prepare_patches(const PatchSource& s, const std::string& holdout_path, double holdout_fraction,
                                Context& ctx) {
  if (s.images.empty() == s.patches.empty()) throw std::invalid_argument("give --images DIR or --patches P.npy");
  PreparedPatches out;
  torch::Tensor all;
  if (!s.patches.empty()) {
    all = load_float_array(s.patches, "--patches", 2).to(torch::kFloat).contiguous();
    out.patch = square_side(all.size(1));
    if (out.patch == 0)
      throw std::invalid_argument("--patches " + s.patches + ": rows of length " + std::to_string(all.size(1)) +
                                  " are not p x p patches");
    out.whitening = "none";
  } else {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(ctx.runtime.seed);
    all = draw_patches(load_pictures(s, ctx), s.patch, s.samples, gen);
    // Shuffled, so the held-out tail is a sample of every picture, not the last picture's patches.
    all = all.index_select(0, torch::randperm(all.size(0), gen, torch::kLong));
    all = data::remove_mean(all, s.contrast).first;
    out.patch = s.patch;
    out.whitening = s.whiten;
  }

  // Held-out rows: a file, or the last fraction of the patches.
  if (!holdout_path.empty()) {
    out.train = all;
    out.holdout = load_float_array(holdout_path, "--holdout", 2).to(torch::kFloat).contiguous();
    if (out.holdout.size(1) != all.size(1))
      throw std::invalid_argument("--holdout " + holdout_path + ": rows of length " + std::to_string(out.holdout.size(1)) +
                                  " but the patches have " + std::to_string(all.size(1)));
  } else {
    const auto held = static_cast<int64_t>(std::floor(holdout_fraction * static_cast<double>(all.size(0))));
    if (all.size(0) - held < 1) throw std::invalid_argument("no training patches left after the held-out fraction");
    out.train = all.narrow(0, 0, all.size(0) - held).contiguous();
    if (held > 0) out.holdout = all.narrow(0, all.size(0) - held, held).contiguous();
  }

  // Transforms fitted on the training rows only, applied to both.
  if (!s.images.empty()) {
    if (s.whiten == "zca") {
      const auto zca = data::ZcaWhitening::fit(out.train);
      out.train = zca.whiten(out.train);
      if (out.holdout.defined()) out.holdout = zca.whiten(out.holdout);
    }
    const double mean_norm = out.train.norm(2, {1}).mean().item<double>();
    if (!(mean_norm > 0)) throw std::invalid_argument("--images " + s.images + ": every patch is flat");
    out.train.div_(mean_norm);
    if (out.holdout.defined()) out.holdout.div_(mean_norm);
  }
  return out;
}

}  // namespace deepsc::cli
