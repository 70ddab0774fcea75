#include "deepsc/data/image_dataset.h"

#include <stdexcept>
#include <string>

#include "../support/text.h"

namespace deepsc::data {
namespace {

using deepsc::detail::shape_string;

}  // namespace

TensorDataset::TensorDataset(torch::Tensor images, torch::Tensor labels, int64_t num_classes) {
  if (!images.defined() || images.dim() != 4 || images.scalar_type() != torch::kByte)
    throw std::invalid_argument("TensorDataset: images must be a [N, C, H, W] uint8 tensor, got " +
                                (images.defined() ? std::string(c10::toString(images.scalar_type())) +
                                                        " " + shape_string(images)
                                                  : std::string("an undefined tensor")));
  if (images.size(1) != 1 && images.size(1) != 3)
    throw std::invalid_argument("TensorDataset: images must have 1 or 3 channels, got shape " +
                                shape_string(images));
  if (!labels.defined() || labels.dim() != 1 || labels.is_floating_point() ||
      labels.is_complex() || labels.scalar_type() == torch::kBool)
    throw std::invalid_argument("TensorDataset: labels must be a [N] integer tensor");
  if (labels.size(0) != images.size(0))
    throw std::invalid_argument("TensorDataset: " + std::to_string(images.size(0)) +
                                " images but " + std::to_string(labels.size(0)) + " labels");
  images_ = images.to(torch::kCPU).contiguous();
  labels_ = labels.to(torch::kCPU, torch::kLong).contiguous();
  const int64_t n = labels_.size(0);
  const int64_t lo = n > 0 ? labels_.min().item<int64_t>() : 0;
  const int64_t hi = n > 0 ? labels_.max().item<int64_t>() : -1;
  num_classes_ = num_classes > 0 ? num_classes : hi + 1;
  if (lo < 0 || hi >= num_classes_)
    throw std::invalid_argument("TensorDataset: labels span [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + "], outside [0, " +
                                std::to_string(num_classes_) + ")");
  label_data_ = labels_.data_ptr<int64_t>();
}

Example TensorDataset::get(int64_t index) const {
  if (index < 0 || index >= size())
    throw std::out_of_range("TensorDataset::get: index " + std::to_string(index) +
                            " outside [0, " + std::to_string(size()) + ")");
  return Example{images_[index], label_data_[index]};
}

}  // namespace deepsc::data
