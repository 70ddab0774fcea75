#pragma once
// Training patches for `deepsc learn-dict`: drawn from a folder of natural images (grey, optionally
// whitened as Olshausen & Field did, DC removed, one global scale) or read from a patch matrix.

#include "cli.h"

#include <torch/torch.h>

#include <string>

namespace deepsc::cli {

/// Where the patches come from and how they are made; filled by add_patch_source_options.
struct PatchSource {
  std::string images;       // folder of PNG/JPEG pictures, or
  std::string patches;      // a .npy patch matrix [N, n] used as it is
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
  int64_t patch = 0;      // p, with n = p²
  std::string whitening;  // what was applied ("none" for a patch file)
};

/// Images: every picture made grey, whitened if asked, `samples` random p × p patches spread over
/// the pictures in proportion to their areas (reproducible by --seed), each patch's mean removed
/// (and its contrast normalised with --contrast; ZCA after that), then all scaled by one factor so
/// that the mean ℓ2 norm of a patch is 1 — λ then means the same for any picture set. The last
/// `holdout_fraction` of the shuffled patches is held out. A patch file is used as it is, in its
/// own order: its last `holdout_fraction` rows are held out unless `holdout_path` names a held-out
/// file [H, n].
PreparedPatches prepare_patches(const PatchSource& source, const std::string& holdout_path, double holdout_fraction,
                                Context& ctx);

}  // namespace deepsc::cli
