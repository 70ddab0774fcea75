// Loading a spread of a data set's images as one tensor (deepsc/data/image_set.h): the same images as
// loading the whole split and keeping every stride-th one, without decoding the others.
#include "deepsc/data/image_set.h"

#include "deepsc/data/loader.h"

#include <gtest/gtest.h>

#include <atomic>

namespace data = deepsc::data;

namespace {

/// 23 random 1×6×6 images (uint8), labels 0..4; counts every get().
class CountingDataset : public data::TensorDataset {
 public:
  CountingDataset()
      : TensorDataset((torch::manual_seed(4), torch::randint(0, 256, {23, 1, 6, 6}, torch::kByte)),
                      torch::arange(23, torch::kLong) % 5, 5) {}
  data::Example get(int64_t index) const override {
    ++gets;
    return TensorDataset::get(index);
  }
  mutable std::atomic<int64_t> gets{0};
};

/// The definition: every image through the loader, then index_select of 0, s, 2s, … (count of them).
data::LabelledImages every_stride(const std::shared_ptr<const data::Dataset>& set,
                                  const std::shared_ptr<const data::Transform>& geometry, int64_t count) {
  const int64_t stride = std::max<int64_t>(1, set->size() / count);
  data::DataLoader loader(set, geometry, data::LoaderOptions().batch_size(7).shuffle(false).workers(0));
  loader.start_epoch(0);
  std::vector<torch::Tensor> images, labels;
  while (auto batch = loader.next()) images.push_back(batch->images), labels.push_back(batch->labels);
  const auto index = torch::arange(0, count * stride, stride, torch::kLong);
  return {torch::cat(images).index_select(0, index).clamp(0, 1), torch::cat(labels).index_select(0, index)};
}

}  // namespace

TEST(LabelledImages, AreEveryStrideThImageAndOnlyThoseAreDecoded) {
  auto set = std::make_shared<CountingDataset>();
  const auto geometry = data::center_crop(4);
  for (const int64_t limit : {1, 5, 7, 11, 22}) {
    const auto expected = every_stride(set, geometry, limit);
    set->gets = 0;
    const auto got = data::load_labelled_images(set, geometry, limit, /*workers=*/2);
    EXPECT_EQ(set->gets.load(), limit) << limit;  // the other images are never read
    ASSERT_EQ(got.size(), limit);
    EXPECT_EQ(got.images.sizes(), (std::vector<int64_t>{limit, 1, 4, 4}));
    EXPECT_TRUE(torch::equal(got.images, expected.images)) << limit;
    EXPECT_TRUE(torch::equal(got.labels, expected.labels)) << limit;
  }
  // 0 and anything ≥ the size mean every image, in order.
  for (const int64_t limit : {0, 23, 100}) {
    const auto all = data::load_labelled_images(set, nullptr, limit, 0);
    ASSERT_EQ(all.size(), 23) << limit;
    EXPECT_TRUE(torch::equal(all.images, set->images().to(torch::kFloat).div(255))) << limit;
  }
  EXPECT_THROW(data::load_labelled_images(set, nullptr, -1, 0), std::invalid_argument);
}

TEST(LabelledImages, StridedSubsetChecksItsRange) {
  auto set = std::make_shared<CountingDataset>();
  const data::StridedSubset subset(set, 5, 5);  // 0, 5, 10, 15, 20
  EXPECT_EQ(subset.size(), 5);
  EXPECT_EQ(subset.get(4).label, 20 % 5);
  EXPECT_TRUE(torch::equal(subset.get(3).image, set->images()[15]));
  EXPECT_THROW(subset.get(5), std::out_of_range);
  EXPECT_THROW(data::StridedSubset(set, 5, 6), std::invalid_argument);  // 25 is past the end
  EXPECT_THROW(data::StridedSubset(set, 0, 1), std::invalid_argument);
}
