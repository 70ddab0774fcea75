#pragma once
/// \file
/// Labelled image collections for training classifiers: the Dataset interface and the in-memory
/// TensorDataset. deepsc/data/open_dataset.h opens the standard ones (MNIST, CIFAR, SVHN, image
/// folders); deepsc/data/loader.h batches them; deepsc/data/dataset.h includes all of it.

#include <cstdint>
#include <memory>

#include <torch/torch.h>

namespace deepsc::data {

/// One labelled image: [C, H, W] uint8 (values 0–255) and its class.
struct Example {
  torch::Tensor image;  ///< [C, H, W] uint8, CPU; callers must not modify it in place
  int64_t label = 0;    ///< class in [0, num_classes())
};

/// A labelled image collection. Implementations must make get() thread-safe: the loader calls it
/// from several worker threads at once.
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Number of examples.
  virtual int64_t size() const = 0;
  /// Example `index` (0 <= index < size()).
  /// \throws std::out_of_range for a bad index; implementations may throw their decoding errors.
  virtual Example get(int64_t index) const = 0;
  /// Number of classes; labels lie in [0, num_classes()).
  virtual int64_t num_classes() const = 0;
  /// Channels of every image (1 or 3).
  virtual int64_t channels() const = 0;
};

/// In-memory data set: images [N, C, H, W] uint8, labels [N] int64.
class TensorDataset : public Dataset {
 public:
  /// Takes `images` [N, C, H, W] uint8 (C = 1 or 3) and `labels` [N] (any integer type, stored
  /// as int64), both on the CPU (made contiguous). `num_classes` <= 0 means max(labels) + 1.
  /// \throws std::invalid_argument for wrong ranks, dtypes, channels, mismatched N, or a label
  /// outside [0, num_classes).
  TensorDataset(torch::Tensor images, torch::Tensor labels, int64_t num_classes = 0);

  int64_t size() const override { return images_.size(0); }
  /// images()[index] (a view, no copy) and its label.
  Example get(int64_t index) const override;
  int64_t num_classes() const override { return num_classes_; }
  int64_t channels() const override { return images_.size(1); }

  /// All images [N, C, H, W] uint8.
  const torch::Tensor& images() const { return images_; }
  /// All labels [N] int64.
  const torch::Tensor& labels() const { return labels_; }

 private:
  torch::Tensor images_;
  torch::Tensor labels_;
  const int64_t* label_data_ = nullptr;
  int64_t num_classes_ = 0;
};

}  // namespace deepsc::data
