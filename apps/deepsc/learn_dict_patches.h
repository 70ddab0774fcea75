#pragma once
// Training patches for `deepsc learn-dict`: the flags that say where they come from, and the
// reading of the pictures or the patch matrix; the patches are made by
// dictlearn::patches_from_pictures / dictlearn::split_holdout (dictlearn/training_patches.h).

#include "cli.h"

#include <torch/torch.h>

#include <string>

namespace deepsc::cli {

/// Where the patches come from and how they are made; filled by add_patch_source_options.
struct PatchSource {
  std::string images;       // folder of PNG/JPEG pictures, or
  std::string patches;      // a .npy matrix [N, n] of signals (any n; image patches when n = p²) used as it is
  int64_t patch = 12;       // p: patches are p × p (n = p²)
  int64_t samples = 50000;  // patches drawn from the images (held-out ones included)
  std::string whiten = "of";  // none | of (1/f filter on whole images) | zca (on the patches)
  bool contrast = false;      // divide every patch by its own standard deviation
};

/// Registers --images/--patches (one of them required), --patch, --samples, --whiten, --contrast.
CLI::Option* add_patch_source_options(CLI::App* cmd, PatchSource& source);

struct PreparedPatches {
  torch::Tensor train;    // [N, n] float32, CPU
  torch::Tensor holdout;  // [H, n] or undefined
  int64_t patch = 0;      // p, with n = p²; 0 when the rows of a --patches file are not p × p patches
  std::string whitening;  // what was applied ("none" for a patch file)
};

/// The patches of `source` (seeded by --seed): from the pictures of --images (grey; those smaller
/// than --patch skipped with a line on ctx.err) by dictlearn::patches_from_pictures, or the
/// --patches file by dictlearn::split_holdout. `holdout_path` (--holdout) names a held-out file
/// [H, n]; otherwise `holdout_fraction` of the patches is held out. Errors name the flag.
PreparedPatches prepare_patches(const PatchSource& source, const std::string& holdout_path, double holdout_fraction,
                                Context& ctx);

}  // namespace deepsc::cli
