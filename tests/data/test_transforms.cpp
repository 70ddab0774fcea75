// Tests for the image transforms (deepsc/data/transforms.h): exact properties of each, and that
// random ones are pure functions of the generator's seed.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>
#include <utility>

#include "deepsc/data/transforms.h"

using namespace deepsc::data;

namespace {

torch::Tensor image(std::vector<int64_t> shape, uint64_t seed = 0) {
  torch::manual_seed(seed);
  return torch::rand(shape);
}

}  // namespace

TEST(Transforms, NormalizeInvertsWithTheStats) {
  const auto x = image({3, 5, 6});
  const std::vector<double> mean = {0.49, 0.48, 0.45}, std = {0.25, 0.24, 0.26};
  auto gen = cpu_generator(0);
  const auto y = (*normalize(mean, std))(x, gen);
  const auto m = torch::tensor(mean, torch::kDouble).to(torch::kFloat).view({3, 1, 1});
  const auto s = torch::tensor(std, torch::kDouble).to(torch::kFloat).view({3, 1, 1});
  EXPECT_TRUE(torch::allclose(y * s + m, x, 0, 1e-6));
  EXPECT_TRUE(torch::allclose(y.mean({1, 2}), (x.mean({1, 2}) - m.view({3})) / s.view({3}), 0, 1e-5));
  // One value for every channel.
  const auto z = (*normalize({0.5}, {0.5}))(x, gen);
  EXPECT_TRUE(torch::allclose(z, (x - 0.5) / 0.5, 0, 1e-6));
  EXPECT_THROW((*normalize({0.5, 0.5}, {1, 1}))(x, gen), std::invalid_argument);
  EXPECT_THROW(normalize({0.5}, {0.0}), std::invalid_argument);
  EXPECT_THROW(normalize({0.5, 0.1}, {1.0}), std::invalid_argument);
}

TEST(Transforms, RandomCropIsAShiftedWindowOfTheZeroPaddedImage) {
  const int64_t pad = 2;
  const auto x = image({2, 6, 6}) + 0.1;  // > 0 everywhere, so padding zeros are recognisable
  const auto padded = torch::constant_pad_nd(x, {pad, pad, pad, pad}, 0);
  const auto crop = random_crop(6, pad);
  std::set<std::pair<int64_t, int64_t>> offsets;
  for (uint64_t seed = 0; seed < 60; ++seed) {
    auto gen = cpu_generator(seed);
    const auto y = (*crop)(x, gen);
    ASSERT_EQ(y.sizes(), x.sizes());
    int found = 0;
    for (int64_t dy = 0; dy <= 2 * pad; ++dy)
      for (int64_t dx = 0; dx <= 2 * pad; ++dx)
        if (padded.slice(1, dy, dy + 6).slice(2, dx, dx + 6).equal(y)) {
          ++found;
          offsets.insert({dy, dx});
        }
    EXPECT_EQ(found, 1) << "seed " << seed;
  }
  EXPECT_GT(offsets.size(), 10u);  // the positions are drawn, not fixed
  // Same seed, same crop.
  auto g1 = cpu_generator(7), g2 = cpu_generator(7);
  EXPECT_TRUE((*crop)(x, g1).equal((*crop)(x, g2)));
  // Too small even with padding.
  auto g = cpu_generator(0);
  EXPECT_THROW((*random_crop(11, 2))(x, g), std::invalid_argument);
}

TEST(Transforms, FlipTwiceIsIdentity) {
  const auto x = image({3, 4, 7});
  auto gen = cpu_generator(3);
  const auto always = random_horizontal_flip(1.0);
  const auto once = (*always)(x, gen);
  EXPECT_TRUE(once.equal(x.flip({2})));
  EXPECT_TRUE((*always)(once, gen).equal(x));
  EXPECT_TRUE((*random_horizontal_flip(0.0))(x, gen).equal(x));
  int flipped = 0;
  const auto half = random_horizontal_flip(0.5);
  for (uint64_t s = 0; s < 200; ++s) {
    auto g = cpu_generator(s);
    flipped += (*half)(x, g).equal(x) ? 0 : 1;
  }
  EXPECT_GT(flipped, 70);
  EXPECT_LT(flipped, 130);
}

TEST(Transforms, ResizeAndCenterCropShapes) {
  auto gen = cpu_generator(0);
  const auto landscape = image({3, 40, 60});
  const auto r = (*resize(32))(landscape, gen);
  EXPECT_EQ(r.sizes(), (std::vector<int64_t>{3, 32, 48}));
  const auto c = (*center_crop(32))(r, gen);
  EXPECT_EQ(c.sizes(), (std::vector<int64_t>{3, 32, 32}));
  EXPECT_TRUE(c.equal(r.slice(2, 8, 40)));
  const auto portrait = (*resize(20))(image({1, 50, 30}), gen);
  EXPECT_EQ(portrait.sizes(), (std::vector<int64_t>{1, 33, 20}));
  // Upscaling too, and a constant image stays constant.
  const auto flat = torch::full({3, 10, 12}, 0.25);
  const auto up = (*resize(25))(flat, gen);
  EXPECT_EQ(up.sizes(), (std::vector<int64_t>{3, 25, 30}));
  EXPECT_TRUE(torch::allclose(up, torch::full_like(up, 0.25), 0, 1e-6));
  // Centre crop larger than the image pads with zeros around it.
  const auto small = image({1, 3, 3}) + 0.1;
  const auto big = (*center_crop(5))(small, gen);
  EXPECT_TRUE(big.slice(1, 1, 4).slice(2, 1, 4).equal(small));
  EXPECT_EQ(big.sum().item<float>(), small.sum().item<float>());
  // Compose chains them.
  const auto both = (*compose({resize(32), center_crop(32)}))(landscape, gen);
  EXPECT_TRUE(both.equal(c));
  EXPECT_THROW(compose({resize(3), nullptr}), std::invalid_argument);
}

TEST(Transforms, RandomResizedCropOutput) {
  const auto t = random_resized_crop(24);
  std::set<float> firsts;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    for (auto shape : {std::vector<int64_t>{3, 50, 70}, std::vector<int64_t>{3, 12, 200}, std::vector<int64_t>{1, 24, 24}}) {
      auto gen = cpu_generator(seed);
      const auto y = (*t)(image(shape, seed), gen);
      EXPECT_EQ(y.sizes(), (std::vector<int64_t>{shape[0], 24, 24}));
      EXPECT_GE(y.min().item<float>(), 0.0f);
      EXPECT_LE(y.max().item<float>(), 1.0f);
    }
    auto gen = cpu_generator(seed);
    firsts.insert((*t)(image({3, 50, 70}, 1), gen)[0][0][0].item<float>());
  }
  EXPECT_GT(firsts.size(), 10u);
  // Scale (1, 1) and ratio of the image: the whole image, resized.
  auto gen = cpu_generator(0);
  const auto x = image({3, 48, 48});
  const auto whole = (*random_resized_crop(24, {1.0, 1.0}, {1.0, 1.0}))(x, gen);
  EXPECT_TRUE(torch::allclose(whole, (*resize(24))(x, gen), 0, 1e-6));
  EXPECT_THROW(random_resized_crop(24, {0.5, 0.2}), std::invalid_argument);
}

TEST(Transforms, RejectNonImages) {
  auto gen = cpu_generator(0);
  EXPECT_THROW((*center_crop(2))(torch::zeros({4, 4}), gen), std::invalid_argument);
  EXPECT_THROW((*resize(2))(torch::zeros({1, 4, 4}, torch::kByte), gen), std::invalid_argument);
}
