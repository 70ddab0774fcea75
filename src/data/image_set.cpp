#include "deepsc/data/image_set.h"

#include "deepsc/data/loader.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace deepsc::data {

StridedSubset::StridedSubset(std::shared_ptr<const Dataset> base, int64_t stride, int64_t count)
    : base_(std::move(base)), stride_(stride), count_(count) {
  if (!base_) throw std::invalid_argument("StridedSubset: no data set");
  if (stride_ < 1) throw std::invalid_argument("StridedSubset: stride must be >= 1, got " + std::to_string(stride_));
  if (count_ < 0 || (count_ > 0 && (count_ - 1) * stride_ >= base_->size()))
    throw std::invalid_argument("StridedSubset: " + std::to_string(count_) + " examples with stride " +
                                std::to_string(stride_) + " do not fit in " + std::to_string(base_->size()));
}

Example StridedSubset::get(int64_t index) const {
  if (index < 0 || index >= count_)
    throw std::out_of_range("StridedSubset: index " + std::to_string(index) + " outside [0, " + std::to_string(count_) + ")");
  return base_->get(index * stride_);
}

LabelledImages load_labelled_images(const std::shared_ptr<const Dataset>& dataset,
                                    const std::shared_ptr<const Transform>& geometry, int64_t limit, int workers) {
  if (limit < 0) throw std::invalid_argument("limit must be >= 0 (0: all), got " + std::to_string(limit));
  if (workers < 0) throw std::invalid_argument("workers must be >= 0, got " + std::to_string(workers));
  const int64_t size = dataset->size();
  const int64_t count = limit > 0 ? std::min(limit, size) : size;
  if (count == 0) return {};
  const int64_t stride = std::max<int64_t>(1, size / count);
  auto chosen = stride == 1 && count == size ? dataset : std::make_shared<const StridedSubset>(dataset, stride, count);
  DataLoader loader(chosen, geometry, LoaderOptions().batch_size(1000).shuffle(false).workers(workers));
  loader.start_epoch(0);
  std::vector<torch::Tensor> images, labels;
  while (auto batch = loader.next()) {
    images.push_back(batch->images);
    labels.push_back(batch->labels);
  }
  return {torch::cat(images).clamp_(0, 1).contiguous(), torch::cat(labels)};
}

}  // namespace deepsc::data
