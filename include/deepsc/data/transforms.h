#pragma once
/// \file
/// Image transforms for training and evaluating classifiers, applied to one image at a time by
/// the data loader (deepsc/data/loader.h). Each takes an image [C, H, W] float32 with values in
/// [0, 1] (what the loader makes of the data set's uint8) and returns a new image; random ones
/// draw only from the generator they are given, so their output is a pure function of the
/// image and that generator's state. All are immutable, hence safe to share between threads.
/// Geometry follows torchvision's conventions.

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace deepsc::data {

/// A transform of one image [C, H, W] float32 in [0, 1] (random ones draw from `gen`).
class Transform {
 public:
  virtual ~Transform() = default;
  /// Requires a CPU generator (see cpu_generator()). Must not modify `image` in place.
  virtual torch::Tensor operator()(torch::Tensor image, torch::Generator& gen) const = 0;
};

/// A CPU generator (mt19937) seeded with `seed`.
torch::Generator cpu_generator(uint64_t seed);

/// (x - mean[c]) / std[c] per channel c; `mean` and `std` hold one value per channel, or one
/// value for every channel. \throws std::invalid_argument for empty or unequal-length lists or
/// a std <= 0; the call throws for an image whose channel count does not match.
std::shared_ptr<Transform> normalize(std::vector<double> mean, std::vector<double> std);

/// Pads every side with `padding` zeros, then crops a size×size window at a uniformly drawn
/// position (the CIFAR augmentation: random_crop(32, 4)). Output [C, size, size].
/// \throws std::invalid_argument for size < 1 or padding < 0; the call throws when the padded
/// image is smaller than size.
std::shared_ptr<Transform> random_crop(int64_t size, int64_t padding);

/// Mirrors the image left-right with probability p (one uniform draw per call).
std::shared_ptr<Transform> random_horizontal_flip(double p = 0.5);

/// Inception-style crop (torchvision RandomResizedCrop): up to 10 draws of an area fraction in
/// `scale` and a log-uniform aspect ratio (width / height) in `ratio`, else a centre crop of the
/// whole image clamped to `ratio`; the crop is resized bilinearly (antialiased) to size×size.
std::shared_ptr<Transform> random_resized_crop(int64_t size,
                                               std::pair<double, double> scale = {0.08, 1.0},
                                               std::pair<double, double> ratio = {3.0 / 4, 4.0 / 3});

/// Bilinear (antialiased when shrinking) resize so that the shorter side becomes
/// `shorter_side`, keeping the aspect ratio: the longer side becomes
/// floor(shorter_side × long / short), as torchvision does.
std::shared_ptr<Transform> resize(int64_t shorter_side);

/// The central size×size window (top = floor((H - size) / 2)); an image smaller than size is
/// padded with zeros around it.
std::shared_ptr<Transform> center_crop(int64_t size);

/// Applies `steps` in order, all drawing from the same generator.
/// \throws std::invalid_argument if a step is null.
std::shared_ptr<Transform> compose(std::vector<std::shared_ptr<Transform>> steps);

}  // namespace deepsc::data
