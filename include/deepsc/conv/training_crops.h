#pragma once
/// Training data for convolutional dictionary learning on natural images (conv/dictionary_learning.h):
/// random windows of the pictures' high-pass, so that the atoms model the detail a Gaussian low-pass
/// leaves behind, as the restorations of conv/denoise.h code it (Zhang, "From sparse coding to deep
/// learning", 2024, section 2; Wohlberg 2016 for learning on high-passed images).
///
///   Y_high = Y − G_s ∗ Y                     (split_frequencies, image_filters.h, in float64)
///   crops  = crops_per_image windows s × s of each Y_high, top-left corners uniform

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace deepsc::conv {

struct TrainingCropOptions {
  /// s, the side of every crop in pixels (≥ 1).
  TORCH_ARG(int64_t, crop) = 64;
  /// Crops taken from each picture (≥ 1).
  TORCH_ARG(int64_t, crops_per_image) = 4;
  /// s of the Gaussian low-pass G_s removed before cropping, pixels (> 0).
  TORCH_ARG(double, lowpass_sigma) = 3.0;
};

/// Crops [P · crops_per_image, C, s, s] of the high-passes of `pictures`, each [1, C, H, W]
/// floating point with H, W ≥ s (all with the same C), in the pictures' order, in the dtype of the
/// pictures. The corners are drawn picture by picture (row, then column) from `gen` when it is
/// defined, else from torch's default CPU generator (reproducible under torch::manual_seed).
/// Requires a non-empty list and valid options; throws std::invalid_argument naming the argument
/// otherwise.
torch::Tensor highpass_crops(const std::vector<torch::Tensor>& pictures, const TrainingCropOptions& options,
                             torch::Generator gen = {});

}  // namespace deepsc::conv
