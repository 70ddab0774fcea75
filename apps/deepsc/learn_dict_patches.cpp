// Training patches for `deepsc learn-dict` (see learn_dict_patches.h).
#include "learn_dict_patches.h"

#include "command_support.h"
#include "restore_support.h"

#include "deepsc/dictlearn/training_patches.h"

#include <stdexcept>

namespace deepsc::cli {

CLI::Option* add_patch_source_options(CLI::App* cmd, PatchSource& s) {
  auto* images = cmd->add_option("--images", s.images, "Folder of natural images (.png/.jpg; made grey)");
  auto* patches = cmd->add_option("--patches", s.patches, "Signals .npy [N, n], one per row, used as they are: p x p image patches (n = p*p) or rows of any length n");
  images->excludes(patches);
  cmd->add_option("--patch", s.patch, "p: patches are p x p")->check(CLI::Range(2, 64))->capture_default_str();
  cmd->add_option("--samples", s.samples, "Patches drawn from the images (held-out ones included)")
      ->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--whiten", s.whiten, "none | of (Olshausen-Field 1/f filter on the images) | zca (on the patches)")
      ->check(CLI::IsMember({"none", "of", "zca"}))->capture_default_str();
  cmd->add_flag("--contrast", s.contrast, "Divide every patch by its own standard deviation");
  return images;
}

PreparedPatches prepare_patches(const PatchSource& s, const std::string& holdout_path, double holdout_fraction,
                                Context& ctx) {
  if (s.images.empty() == s.patches.empty()) throw std::invalid_argument("give --images DIR or --patches P.npy");
  torch::Tensor holdout;
  if (!holdout_path.empty()) holdout = load_float_array(holdout_path, "--holdout", 2);
  PreparedPatches out;
  if (!s.patches.empty()) {
    const auto all = load_float_array(s.patches, "--patches", 2);
    out.patch = square_side(all.size(1));  // 0: rows of any other length (audio frames, features, ...)
    out.whitening = "none";
    if (holdout.defined() && holdout.size(1) != all.size(1))
      throw std::invalid_argument("--holdout " + holdout_path + ": rows of length " + std::to_string(holdout.size(1)) +
                                  " but the patches have " + std::to_string(all.size(1)));
    auto split = dictlearn::split_holdout(all, holdout_fraction, holdout);
    out.train = split.train;
    out.holdout = split.holdout;
    return out;
  }
  if (holdout.defined() && holdout.size(1) != s.patch * s.patch)
    throw std::invalid_argument("--holdout " + holdout_path + ": rows of length " + std::to_string(holdout.size(1)) +
                                " but the patches have " + std::to_string(s.patch * s.patch));
  const auto pictures = restore::load_grey_pictures(s.images, "--images", s.patch, "--patch", ctx);
  const auto options = dictlearn::TrainingPatchOptions(s.patch)
                           .samples(s.samples)
                           .whitening(dictlearn::parse_patch_whitening(s.whiten))
                           .contrast(s.contrast)
                           .holdout_fraction(holdout_fraction)
                           .seed(ctx.runtime.seed);
  try {
    auto made = dictlearn::patches_from_pictures(pictures, options, holdout);
    out.train = made.train;
    out.holdout = made.holdout;
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("--images " + s.images + ": " + e.what());
  }
  out.patch = s.patch;
  out.whitening = s.whiten;
  return out;
}

}  // namespace deepsc::cli
