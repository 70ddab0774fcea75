#pragma once
/// A data set's images as one tensor, for evaluations that reuse the same images many times (a λ
/// sweep, corruptions at every severity, batch-norm re-estimation): up to `limit` examples spread
/// evenly over the split — examples 0, s, 2s, … with stride s = ⌊size / count⌋ — passed through a
/// geometry transform (the run's test geometry: resize / centre crop, no augmentation) by the
/// DataLoader. Only the chosen examples are decoded.

#include "deepsc/data/image_dataset.h"
#include "deepsc/data/transforms.h"

#include <memory>

namespace deepsc::data {

/// Images [N, C, H, W] float32 with values in [0, 1] and their labels [N] (int64), on the CPU.
struct LabelledImages {
  torch::Tensor images, labels;
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

/// Examples index·stride of `base` for index < count (a view: nothing is copied or decoded).
class StridedSubset : public Dataset {
 public:
  /// Requires stride ≥ 1, count ≥ 0 and (count − 1)·stride < base->size(); throws
  /// std::invalid_argument otherwise.
  StridedSubset(std::shared_ptr<const Dataset> base, int64_t stride, int64_t count);
  int64_t size() const override { return count_; }
  Example get(int64_t index) const override;
  int64_t num_classes() const override { return base_->num_classes(); }
  int64_t channels() const override { return base_->channels(); }

 private:
  std::shared_ptr<const Dataset> base_;
  int64_t stride_, count_;
};

/// count = min(limit, size) (limit 0: all) examples of `dataset`, spread as in the file comment,
/// after `geometry` (may be null: the images as stored), loaded with `workers` threads and clamped
/// to [0, 1]. Throws std::invalid_argument for limit < 0 or workers < 0.
LabelledImages load_labelled_images(const std::shared_ptr<const Dataset>& dataset,
                                    const std::shared_ptr<const Transform>& geometry, int64_t limit, int workers);

}  // namespace deepsc::data
