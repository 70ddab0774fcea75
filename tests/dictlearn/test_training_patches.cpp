// Training patches from pictures for dense dictionary learning (dictlearn/training_patches.h):
// the share of each picture, the shuffled held-out tail, mean removal, whitening and the global
// scale, on synthetic pictures.
#include "deepsc/dictlearn/training_patches.h"

#include "support/expect_rejected.h"
#include "support/synthetic_images.h"

#include <gtest/gtest.h>

namespace dl = deepsc::dictlearn;
using deepsc::testing::expect_rejected;

namespace {

/// Rows that are all zero: the patches of a flat picture once their mean is removed.
int64_t zero_rows(const torch::Tensor& patches) { return (patches.abs().amax(1) == 0).sum().item<int64_t>(); }

/// Mean correlation of horizontally adjacent pixels over p × p patches [N, p²].
double neighbour_correlation(const torch::Tensor& patches, int64_t p) {
  const auto x = patches.to(torch::kDouble).view({-1, p, p});
  const auto a = x.narrow(2, 0, p - 1).reshape(-1), b = x.narrow(2, 1, p - 1).reshape(-1);
  const auto ca = a - a.mean(), cb = b - b.mean();
  return ((ca * cb).mean() / (ca.std(false) * cb.std(false))).item<double>();
}

}  // namespace

TEST(TrainingPatches, PicturesGiveSharesByAreaAndAShuffledHeldOutTail) {
  // A flat 40 × 40 picture and a textured 24 × 24 one; 4 × 4 patches: 37² and 21² positions, so the
  // flat one gives round(1000 · 1369 / 1810) = 756 patches, all zero once their mean is removed.
  const auto flat = torch::full({1, 1, 40, 40}, 0.5);
  const auto textured = torch::rand({1, 1, 24, 24}, at::make_generator<at::CPUGeneratorImpl>(1));
  const auto options = dl::TrainingPatchOptions(4).samples(1000).whitening(dl::PatchWhitening::None).holdout_fraction(0.2).seed(3);
  const auto made = dl::patches_from_pictures({flat, textured}, options);
  ASSERT_EQ(made.train.sizes(), (std::vector<int64_t>{800, 16}));
  ASSERT_EQ(made.holdout.sizes(), (std::vector<int64_t>{200, 16}));
  EXPECT_EQ(zero_rows(made.train) + zero_rows(made.holdout), 756);
  // Shuffled: the held-out tail samples both pictures (75.6 % flat expected, 200 rows).
  const double held_flat = zero_rows(made.holdout) / 200.0;
  EXPECT_GT(held_flat, 0.6);
  EXPECT_LT(held_flat, 0.9);
  // Every patch centred, and one global scale: the mean training-patch norm is 1.
  EXPECT_LT(made.train.mean(1).abs().max().item<double>(), 1e-5);
  EXPECT_NEAR(made.train.norm(2, {1}).mean().item<double>(), 1.0, 1e-5);
  // Reproducible from the seed alone.
  EXPECT_TRUE(torch::equal(made.train, dl::patches_from_pictures({flat, textured}, options).train));
  auto other = options;
  EXPECT_FALSE(torch::equal(made.train, dl::patches_from_pictures({flat, textured}, other.seed(4)).train));
}

TEST(TrainingPatches, WhiteningDecorrelatesNeighbouringPixels) {
  const auto picture = deepsc::testing::synthetic_picture(64).to(torch::kFloat);
  auto options = dl::TrainingPatchOptions(6).samples(3000).holdout_fraction(0.1).seed(2);
  const auto plain = dl::patches_from_pictures({picture}, options.whitening(dl::PatchWhitening::None));
  const auto zca = dl::patches_from_pictures({picture}, options.whitening(dl::PatchWhitening::Zca));
  const auto of = dl::patches_from_pictures({picture}, options.whitening(dl::PatchWhitening::OlshausenField));
  // Smooth pictures: adjacent pixels of a patch are strongly correlated until whitened.
  const double c_plain = neighbour_correlation(plain.train, 6), c_zca = neighbour_correlation(zca.train, 6);
  const double c_of = neighbour_correlation(of.train, 6);
  EXPECT_GT(c_plain, 0.5);
  EXPECT_LT(std::abs(c_zca), 0.5 * c_plain);
  EXPECT_LT(c_of, c_plain);
  // ZCA is fitted on the training rows and applied to the held-out ones with the same scale.
  EXPECT_NEAR(zca.train.norm(2, {1}).mean().item<double>(), 1.0, 1e-4);
  EXPECT_EQ(zca.holdout.size(0), 300);
  EXPECT_TRUE(torch::isfinite(zca.holdout).all().item<bool>());
}

TEST(TrainingPatches, AGivenHeldOutSetIsScaledLikeTheTrainingPatches) {
  const auto picture = deepsc::testing::synthetic_picture(32).to(torch::kFloat);
  const auto given = torch::randn({10, 16});
  const auto made = dl::patches_from_pictures(
      {picture}, dl::TrainingPatchOptions(4).samples(200).whitening(dl::PatchWhitening::None), given);
  EXPECT_EQ(made.train.size(0), 200);  // nothing held out of the drawn patches
  const auto ratio = made.holdout / given;
  EXPECT_TRUE(torch::allclose(ratio, ratio.flatten()[0].expand_as(ratio), 1e-5, 1e-6));
  expect_rejected([&] { dl::patches_from_pictures({picture}, dl::TrainingPatchOptions(4), torch::zeros({3, 9})); }, "holdout");
}

TEST(TrainingPatches, SplitHoldoutKeepsTheFileOrder) {
  const auto rows = torch::arange(20, torch::kDouble).view({10, 2});
  const auto split = dl::split_holdout(rows, 0.25);
  EXPECT_TRUE(torch::equal(split.train, rows.narrow(0, 0, 8).to(torch::kFloat)));
  EXPECT_TRUE(torch::equal(split.holdout, rows.narrow(0, 8, 2).to(torch::kFloat)));
  EXPECT_FALSE(dl::split_holdout(rows, 0).holdout.defined());
  expect_rejected([&] { dl::split_holdout(rows.narrow(0, 0, 1), 0.5, torch::zeros({2, 3})); }, "holdout");
  expect_rejected([&] { dl::split_holdout(rows, 1.0); }, "holdout_fraction");
}

TEST(TrainingPatches, RejectsBadInputsNamingThem) {
  const auto picture = torch::rand({1, 1, 8, 8});
  expect_rejected([&] { dl::patches_from_pictures({picture}, dl::TrainingPatchOptions(12)); }, "smaller");
  expect_rejected([&] { dl::patches_from_pictures({}, dl::TrainingPatchOptions(4)); }, "pictures");
  expect_rejected([&] { dl::patches_from_pictures({torch::full({1, 1, 8, 8}, 0.3)}, dl::TrainingPatchOptions(4).samples(50)); },
                  "flat");
  expect_rejected([] { dl::parse_patch_whitening("pca"); }, "pca");
  EXPECT_EQ(dl::parse_patch_whitening("of"), dl::PatchWhitening::OlshausenField);
}
