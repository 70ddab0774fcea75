#pragma once
/// Image patches for patch-based (dense) sparse coding: extraction on a regular grid or at random,
/// the averaging inverse (fold) for reconstructing images from coded patches, and per-patch mean
/// (and contrast) normalisation.
///
/// Layout shared by every function here and by deepsc::viz::dictionary_tiles: a patch of an
/// image with C channels is one row of length C·patch·patch, channel-major, then row-major
/// inside each channel — row[c·p·p + u·p + v] = image[c, y + u, x + v].

#include <torch/torch.h>

#include <cstdint>
#include <utility>

namespace deepsc::data {

/// All patch×patch patches of `images` whose top-left corners lie on the grid
/// {0, stride, 2·stride, ...} in both directions, one patch per row.
///
/// Requires: images of shape [N, C, H, W] or [N, H, W] (read as C = 1); patch ≥ 1, stride ≥ 1,
/// patch ≤ H and patch ≤ W. Integer images are converted to float32; floating images keep their
/// dtype. Throws std::invalid_argument otherwise.
/// Ensures: result [N·P, C·patch·patch] on images' device with P = Ho·Wo,
/// Ho = (H − patch)/stride + 1, Wo = (W − patch)/stride + 1 (integer division); row
/// n·P + a·Wo + b is the patch of image n at (a·stride, b·stride).
torch::Tensor extract_patches(const torch::Tensor& images, int64_t patch, int64_t stride);

/// `count` patches drawn independently and uniformly over (image, top-left position), i.e. rows
/// of extract_patches(images, patch, 1) drawn uniformly with replacement — without materialising
/// that matrix.
///
/// Requires: images as for extract_patches; 1 ≤ patch ≤ min(H, W); count ≥ 1. Throws
/// std::invalid_argument otherwise.
/// Ensures: result [count, C·patch·patch] on images' device (float32 for integer images). The
/// draws come from `gen` when it is defined, else from torch's default CPU generator, so they are
/// reproducible under torch::manual_seed and identical whatever device holds the images.
torch::Tensor random_patches(const torch::Tensor& images, int64_t patch, int64_t count,
                             torch::Generator gen = {});

/// Inverse of extract_patches: each pixel becomes the average of the patch entries that cover it;
/// pixels that no patch covers (possible when stride does not divide H − patch or W − patch) are 0.
///
/// Requires: patches floating, of shape [N·P, C·patch·patch] with N, C, P as extract_patches
/// gives for image_shape = [N, C, H, W] (or [N, H, W]); patch and stride as for extract_patches.
/// Throws std::invalid_argument otherwise.
/// Ensures: result of shape image_shape, dtype and device of patches, and
/// fold_patches(extract_patches(x, p, s), x.sizes(), p, s) == x bit for bit whenever every pixel
/// is covered (x floating; e.g. s = 1, or s divides H − p and W − p).
torch::Tensor fold_patches(const torch::Tensor& patches, c10::IntArrayRef image_shape, int64_t patch,
                           int64_t stride);

/// Per-row statistics removed by remove_mean, kept so that restore_mean can undo it.
struct PatchNormalisation {
  /// [N, 1]: each row's mean.
  torch::Tensor mean;
  /// [N, 1]: each row's divisor — std + eps with contrast normalisation, else 1.
  torch::Tensor scale;
};

/// Centres each row (patch) on zero mean and, with `contrast`, divides it by its population
/// standard deviation (divisor d, not d − 1) plus eps; eps keeps flat patches finite (they map to 0).
///
/// Requires: patches floating, of shape [N, d] with d ≥ 1; eps ≥ 0 (and > 0 if a row may be
/// constant). Throws std::invalid_argument otherwise.
/// Ensures: first = (patches − mean) / scale, shape [N, d]; every row of `first` has mean ≈ 0 and,
/// with contrast, std ≈ std/(std + eps) (≈ 1 unless the row is nearly flat).
std::pair<torch::Tensor, PatchNormalisation> remove_mean(const torch::Tensor& patches,
                                                         bool contrast = false, double eps = 1e-8);

/// Inverse of remove_mean: normalised · scale + mean (equal to the original up to rounding).
///
/// Requires: normalised floating, of shape [N, d]; stats.mean and stats.scale of shape [N, 1].
/// Throws std::invalid_argument otherwise. Ensures: result of shape [N, d].
torch::Tensor restore_mean(const torch::Tensor& normalised, const PatchNormalisation& stats);

}  // namespace deepsc::data
