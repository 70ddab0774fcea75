#pragma once
/// \file
/// Image-folder data set in the ImageNet / torchvision ImageFolder layout:
///   <root>/<split>/<class>/**/*.{png,jpg,jpeg}   (extensions case-insensitive)
/// Classes are the sub-folder names of <root>/<split> in byte order, numbered from 0; images are
/// found recursively under each class folder and listed in byte order of their paths. Pixels are
/// decoded lazily in get(), so memory stays small whatever the number of images.

#include <cstdint>
#include <string>
#include <vector>

#include "deepsc/data/image_dataset.h"

namespace deepsc::data {

/// Whether `path` names a picture deepsc reads: extension .png, .jpg or .jpeg (any case).
bool is_image_file(const std::string& path);

class ImageFolderDataset : public Dataset {
 public:
  /// Lists `<root>/<split>`.
  /// \throws std::invalid_argument naming the folder if it is missing, has no class folders, or a
  /// class folder holds no .png/.jpg/.jpeg file.
  ImageFolderDataset(const std::string& root, const std::string& split);

  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  /// Decodes image `index`: [3, H, W] uint8 (grey images replicated to 3 channels, alpha
  /// dropped; see deepsc/data/image_file.h). Images may differ in size: the loader needs a
  /// transform that makes them equal (resize + center_crop, random_resized_crop).
  /// Thread-safe. \throws image::ImageError naming the file if it cannot be decoded.
  Example get(int64_t index) const override;
  int64_t num_classes() const override { return static_cast<int64_t>(classes_.size()); }
  /// Always 3.
  int64_t channels() const override { return 3; }

  /// Class names (sub-folder names), index = label.
  const std::vector<std::string>& classes() const { return classes_; }
  /// Path of image `index`.
  const std::string& path(int64_t index) const;
  /// Label of image `index`, without decoding it.
  int64_t label(int64_t index) const;

 private:
  std::vector<std::string> classes_;
  std::vector<std::string> files_;
  std::vector<int64_t> labels_;
};

}  // namespace deepsc::data
