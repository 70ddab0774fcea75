// Tests for patch extraction, folding and normalisation (deepsc/data/patches.h).

#include "support/expect_rejected.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>
#include <stdexcept>
#include <string>

#include "deepsc/data/patches.h"

using deepsc::data::extract_patches;
using deepsc::data::fold_patches;
using deepsc::data::random_patches;
using deepsc::data::remove_mean;
using deepsc::data::restore_mean;

namespace {

using torch::indexing::Slice;

using deepsc::testing::expect_rejected;

// The patch of image n at (y, x), flattened channel-major then row-major: the reference layout.
torch::Tensor direct_patch(const torch::Tensor& images, int64_t n, int64_t y, int64_t x, int64_t p) {
  return images[n].index({Slice(), Slice(y, y + p), Slice(x, x + p)}).reshape(-1);
}

// For each row of `rows`, the smallest L1 distance to any row of `pool` (a distance matrix, then
// min): exactly 0 when the row is a copy of some pool row.
torch::Tensor nearest_distance(const torch::Tensor& rows, const torch::Tensor& pool) {
  return (rows.unsqueeze(1) - pool.unsqueeze(0)).abs().sum(-1).amin(1);
}

}  // namespace

TEST(Patches, ExtractShapeAndRowsMatchDirectSlicing) {
  torch::manual_seed(1);
  const torch::Tensor images = torch::randn({2, 3, 7, 8});
  const int64_t p = 3, s = 2, Ho = (7 - p) / s + 1, Wo = (8 - p) / s + 1;  // 3 × 3 grid
  const torch::Tensor patches = extract_patches(images, p, s);
  ASSERT_EQ(patches.sizes(), (std::vector<int64_t>{2 * Ho * Wo, 3 * p * p}));
  EXPECT_EQ(patches.scalar_type(), torch::kFloat);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t a = 0; a < Ho; ++a)
      for (int64_t b = 0; b < Wo; ++b)
        EXPECT_TRUE(torch::equal(patches[n * Ho * Wo + a * Wo + b], direct_patch(images, n, a * s, b * s, p)))
            << "n=" << n << " a=" << a << " b=" << b;
}

TEST(Patches, ThreeDimensionalImagesAreSingleChannel) {
  torch::manual_seed(2);
  const torch::Tensor images = torch::randn({3, 5, 6}, torch::kDouble);
  const torch::Tensor patches = extract_patches(images, 2, 1);
  ASSERT_EQ(patches.sizes(), (std::vector<int64_t>{3 * 4 * 5, 4}));
  EXPECT_EQ(patches.scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::equal(patches, extract_patches(images.unsqueeze(1), 2, 1)));
  EXPECT_TRUE(torch::equal(patches[2 * 20 + 3 * 5 + 4], images[2].index({Slice(3, 5), Slice(4, 6)}).reshape(-1)));
}

TEST(Patches, IntegerImagesBecomeFloat32) {
  const torch::Tensor images = torch::arange(2 * 4 * 4, torch::kLong).reshape({2, 4, 4}).to(torch::kByte);
  const torch::Tensor patches = extract_patches(images, 2, 2);
  EXPECT_EQ(patches.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(patches[0], torch::tensor({0.f, 1.f, 4.f, 5.f})));
  EXPECT_EQ(random_patches(images, 2, 3).scalar_type(), torch::kFloat);
}

TEST(Patches, FoldInvertsExtractExactlyWithStrideOne) {
  torch::manual_seed(3);
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    const torch::Tensor images = torch::randn({2, 3, 9, 7}, dtype);
    for (const int64_t p : {1, 3, 5}) {
      const torch::Tensor back = fold_patches(extract_patches(images, p, 1), images.sizes(), p, 1);
      EXPECT_TRUE(torch::equal(back, images)) << "dtype " << dtype << " patch " << p;
    }
  }
}

TEST(Patches, FoldInvertsExtractExactlyWhenStrideTiles) {
  torch::manual_seed(4);
  const torch::Tensor images = torch::rand({3, 2, 11, 9}) * 10;
  // (11 − 3) and (9 − 3) are multiples of 2: overlapping patches covering every pixel.
  EXPECT_TRUE(torch::equal(fold_patches(extract_patches(images, 3, 2), images.sizes(), 3, 2), images));
  // Non-overlapping: stride = patch, 12 × 8 images cut into 4 × 4 blocks.
  const torch::Tensor blocks = torch::randn({2, 1, 12, 8});
  EXPECT_TRUE(torch::equal(fold_patches(extract_patches(blocks, 4, 4), blocks.sizes(), 4, 4), blocks));
  // [N, H, W] shapes round-trip too.
  const torch::Tensor grey = torch::randn({2, 6, 6});
  EXPECT_TRUE(torch::equal(fold_patches(extract_patches(grey, 2, 2), grey.sizes(), 2, 2), grey));
}

TEST(Patches, FoldAveragesOverlapsAndZeroesUncoveredPixels) {
  torch::manual_seed(5);
  const int64_t N = 2, C = 2, H = 8, W = 7, p = 3, s = 2;  // (8 − 3) % 2 ≠ 0: last row uncovered
  const int64_t Ho = (H - p) / s + 1, Wo = (W - p) / s + 1;
  const torch::Tensor patches = torch::randn({N * Ho * Wo, C * p * p}, torch::kDouble);
  // Reference: accumulate every patch entry with loops.
  torch::Tensor sum = torch::zeros({N, C, H, W}, torch::kDouble), count = torch::zeros({H, W}, torch::kDouble);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t a = 0; a < Ho; ++a)
      for (int64_t b = 0; b < Wo; ++b) {
        const torch::Tensor block = patches[n * Ho * Wo + a * Wo + b].reshape({C, p, p});
        sum[n].index({Slice(), Slice(a * s, a * s + p), Slice(b * s, b * s + p)}) += block;
        if (n == 0) count.index({Slice(a * s, a * s + p), Slice(b * s, b * s + p)}) += 1;
      }
  const torch::Tensor expected = sum / count.clamp_min(1);
  const torch::Tensor folded = fold_patches(patches, {N, C, H, W}, p, s);
  EXPECT_TRUE(torch::allclose(folded, expected, 1e-12, 1e-12));
  EXPECT_TRUE(torch::equal(folded.index({Slice(), Slice(), H - 1}), torch::zeros({N, C, W}, torch::kDouble)));
}

TEST(Patches, RandomPatchesAreGridPatches) {
  torch::manual_seed(6);
  const torch::Tensor images = torch::randn({2, 3, 6, 7});
  const torch::Tensor all = extract_patches(images, 3, 1);  // 2 · 4 · 5 = 40 distinct patches
  const torch::Tensor drawn = random_patches(images, 3, 400);
  ASSERT_EQ(drawn.sizes(), (std::vector<int64_t>{400, 27}));
  EXPECT_EQ(nearest_distance(drawn, all).max().item<float>(), 0.0f);
  // Uniform over 40 patches: with 400 draws every one appears (a miss has probability < 1e-16).
  EXPECT_EQ(nearest_distance(all, drawn).max().item<float>(), 0.0f);
}

TEST(Patches, RandomPatchesAreReproducible) {
  const torch::Tensor images = torch::randn({4, 10, 10});
  torch::manual_seed(11);
  const torch::Tensor a = random_patches(images, 4, 16);
  torch::manual_seed(11);
  const torch::Tensor b = random_patches(images, 4, 16);
  EXPECT_TRUE(torch::equal(a, b));

  const torch::Tensor c = random_patches(images, 4, 16, at::make_generator<at::CPUGeneratorImpl>(99));
  const torch::Tensor d = random_patches(images, 4, 16, at::make_generator<at::CPUGeneratorImpl>(99));
  EXPECT_TRUE(torch::equal(c, d));
  EXPECT_FALSE(torch::equal(a, c));
}

TEST(Patches, RemoveMeanRoundTripsAndCentres) {
  torch::manual_seed(7);
  const torch::Tensor patches = torch::randn({50, 16}, torch::kDouble) * 3 + 5;
  for (const bool contrast : {false, true}) {
    const auto [normalised, stats] = remove_mean(patches, contrast);
    ASSERT_EQ(stats.mean.sizes(), (std::vector<int64_t>{50, 1}));
    ASSERT_EQ(stats.scale.sizes(), (std::vector<int64_t>{50, 1}));
    EXPECT_LT(normalised.mean(1).abs().max().item<double>(), 1e-12) << "contrast " << contrast;
    if (contrast) {
      const torch::Tensor std = normalised.square().mean(1).sqrt();  // population std
      EXPECT_TRUE(torch::allclose(std, torch::ones({50}, torch::kDouble), 0, 1e-7));
    } else {
      EXPECT_TRUE(torch::equal(stats.scale, torch::ones({50, 1}, torch::kDouble)));
    }
    EXPECT_TRUE(torch::allclose(restore_mean(normalised, stats), patches, 1e-12, 1e-12)) << "contrast " << contrast;
  }
}

TEST(Patches, ContrastNormalisationKeepsFlatPatchesFinite) {
  const torch::Tensor flat = torch::full({3, 9}, 2.5f);
  const auto [normalised, stats] = remove_mean(flat, /*contrast=*/true);
  EXPECT_TRUE(torch::equal(normalised, torch::zeros({3, 9})));
  EXPECT_TRUE(torch::equal(restore_mean(normalised, stats), flat));
}

TEST(Patches, BadInputsThrowWithMessages) {
  const torch::Tensor images = torch::randn({2, 1, 5, 6});
  expect_rejected([&] { extract_patches(torch::randn({5, 6}), 2, 1); }, "[N, C, H, W]");
  expect_rejected([&] { extract_patches(torch::randn({1, 1, 1, 5, 6}), 2, 1); }, "got [1, 1, 1, 5, 6]");
  expect_rejected([&] { extract_patches(images, 6, 1); }, "larger than the 5x6 images");
  expect_rejected([&] { extract_patches(images, 0, 1); }, "patch must be >= 1");
  expect_rejected([&] { extract_patches(images, 2, 0); }, "stride must be >= 1");
  expect_rejected([&] { extract_patches(images, 2, -3); }, "stride must be >= 1");
  expect_rejected([&] { random_patches(images, 2, 0); }, "count must be >= 1");
  expect_rejected([&] { random_patches(images, 7, 4); }, "larger than");
  expect_rejected([&] { random_patches(torch::randn({4}), 2, 4); }, "random_patches");
  expect_rejected([&] { fold_patches(torch::ones({10, 4}, torch::kLong), {2, 1, 5, 6}, 2, 1); }, "floating point");
  expect_rejected([&] { fold_patches(torch::ones({10, 4}), {2, 1, 5, 6}, 2, 1); }, "expected [40, 4]");
  expect_rejected([&] { fold_patches(torch::ones({10, 4}), {5, 6}, 2, 1); }, "image_shape");
  expect_rejected([&] { fold_patches(torch::ones({10, 4}), {2, 1, 5, 6}, 2, 0); }, "stride");
  expect_rejected([&] { remove_mean(torch::ones({3, 4}, torch::kInt)); }, "floating point");
  expect_rejected([&] { remove_mean(torch::ones({3, 4, 2})); }, "[N, d]");
  // A plain pair, not a structured binding: C++17 lambdas cannot capture those.
  const auto normalised = remove_mean(torch::randn({3, 4}));
  expect_rejected([&] { restore_mean(normalised.first.t(), normalised.second); }, "stats.mean must have shape [4, 1]");
}
