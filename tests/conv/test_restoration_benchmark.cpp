// The benchmark side of the restorations: seeded Gaussian noise and random masks, the best-blur
// inpainting baseline, the PSNR/SSIM pair of a report, and the high-pass training crops of
// convolutional dictionary learning.
#include "deepsc/conv/denoise.h"
#include "deepsc/conv/image_filters.h"
#include "deepsc/conv/image_quality.h"
#include "deepsc/conv/restoration_benchmark.h"
#include "deepsc/conv/training_crops.h"

#include "support/expect_rejected.h"
#include "support/synthetic_images.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace conv = deepsc::conv;
using deepsc::testing::expect_rejected;

TEST(ImageQuality, IsTheMeanPsnrAndSsimAndPrintsThemAsReportsDo) {
  const auto clean = deepsc::testing::synthetic_picture(32).to(torch::kFloat);
  const auto same = conv::image_quality(clean, clean);
  EXPECT_TRUE(std::isinf(same.psnr));
  EXPECT_NEAR(same.ssim, 1.0, 1e-12);
  // A constant error of 0.1 everywhere: MSE 0.01, PSNR exactly 20 dB.
  const auto shifted = conv::image_quality(clean + 0.1, clean);
  EXPECT_NEAR(shifted.psnr, 20.0, 1e-4);
  EXPECT_LT(shifted.ssim, 1.0);
  // Two images: the mean of the per-image numbers.
  const auto pair = conv::image_quality(torch::cat({clean + 0.1, clean + 0.01}), torch::cat({clean, clean}));
  EXPECT_NEAR(pair.psnr, (20.0 + 40.0) / 2, 1e-3);
  EXPECT_EQ(conv::to_string({28.123, 0.81234}), "PSNR 28.12 dB, SSIM 0.8123");
  expect_rejected([&] { conv::image_quality(clean, clean.narrow(3, 0, 30)); }, "shape");
}

TEST(RestorationBenchmark, GaussianNoiseIsSeededUnclippedAndOfTheGivenSigma) {
  const auto clean = torch::full({1, 1, 128, 128}, 0.95, torch::kDouble);
  const auto a = conv::add_gaussian_noise(clean, 0.1, 7), b = conv::add_gaussian_noise(clean, 0.1, 7);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, conv::add_gaussian_noise(clean, 0.1, 8)));
  const auto noise = a - clean;
  EXPECT_NEAR(noise.std().item<double>(), 0.1, 0.005);  // 16384 draws: std error ≈ 0.0006
  EXPECT_NEAR(noise.mean().item<double>(), 0.0, 0.005);
  EXPECT_GT(a.max().item<double>(), 1.0);  // not clipped
  EXPECT_EQ(a.scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::equal(conv::add_gaussian_noise(clean, 0, 7), clean));
  expect_rejected([&] { conv::add_gaussian_noise(clean, -0.1, 7); }, "sigma");
}

TEST(RestorationBenchmark, RandomMaskDropsTheGivenFractionReproducibly) {
  const auto image = torch::rand({1, 1, 100, 100});
  const auto mask = conv::random_pixel_mask(image, 0.3, 5);
  EXPECT_EQ(mask.sizes(), image.sizes());
  EXPECT_EQ(mask.scalar_type(), torch::kFloat);
  EXPECT_TRUE(((mask == 0) | (mask == 1)).all().item<bool>());
  EXPECT_NEAR(1 - mask.mean().item<double>(), 0.3, 0.02);  // 10⁴ pixels: std error ≈ 0.005
  EXPECT_TRUE(torch::equal(mask, conv::random_pixel_mask(image, 0.3, 5)));
  EXPECT_FALSE(torch::equal(mask, conv::random_pixel_mask(image, 0.3, 6)));
  EXPECT_TRUE((conv::random_pixel_mask(image, 0.0, 5) == 1).all().item<bool>());
  expect_rejected([&] { conv::random_pixel_mask(image, 1.0, 5); }, "missing");
}

TEST(RestorationBenchmark, BestBaselineIsTheHighestPsnrOfTheBlurs) {
  const auto clean = deepsc::testing::synthetic_picture(48);
  const auto mask = conv::random_pixel_mask(clean, 0.5, 3);
  const auto corrupted = clean * mask;
  const std::vector<double> blurs = {0.5, 1.0, 3.0};
  const auto best = conv::best_inpaint_baseline(corrupted, mask, clean, blurs);
  double highest = -std::numeric_limits<double>::infinity();
  double arg = 0;
  for (double s : blurs) {
    const auto q = conv::image_quality(conv::inpaint_baseline(corrupted, mask, s), clean);
    if (q.psnr > highest) highest = q.psnr, arg = s;
  }
  EXPECT_EQ(best.fill_sigma, arg);
  EXPECT_DOUBLE_EQ(best.quality.psnr, highest);
  // Better than leaving the holes black, which the baseline fills.
  EXPECT_GT(best.quality.psnr, conv::image_quality(corrupted, clean).psnr + 10);
  EXPECT_EQ(conv::best_inpaint_baseline(corrupted, mask, clean, {3.0}).fill_sigma, 3.0);
  expect_rejected([&] { conv::best_inpaint_baseline(corrupted, mask, clean, {}); }, "fill_sigmas");
}

TEST(TrainingCrops, AreWindowsOfTheHighPassAtSeededPositions) {
  const auto a = deepsc::testing::synthetic_picture(40).to(torch::kFloat);
  const auto b = deepsc::testing::synthetic_picture(32).to(torch::kFloat).flip({3});
  const auto options = conv::TrainingCropOptions().crop(16).crops_per_image(3).lowpass_sigma(2.0);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const auto crops = conv::highpass_crops({a, b}, options, gen);
  ASSERT_EQ(crops.sizes(), (std::vector<int64_t>{6, 1, 16, 16}));
  EXPECT_EQ(crops.scalar_type(), torch::kFloat);
  // Every crop is a window of its picture's high-pass: found at the positions a generator with
  // the same seed draws, row then column.
  auto replay = at::make_generator<at::CPUGeneratorImpl>(9);
  int64_t c = 0;
  for (const auto& picture : {a, b}) {
    const auto high = conv::split_frequencies(picture.to(torch::kDouble), 2.0).high.to(torch::kFloat);
    for (int i = 0; i < 3; ++i, ++c) {
      const int64_t top = torch::randint(picture.size(2) - 16 + 1, {1}, replay).item<int64_t>();
      const int64_t left = torch::randint(picture.size(3) - 16 + 1, {1}, replay).item<int64_t>();
      EXPECT_TRUE(torch::equal(crops[c], high[0].narrow(1, top, 16).narrow(2, left, 16))) << c;
    }
  }
  // A flat picture has no high-pass.
  const auto flat = conv::highpass_crops({torch::full({1, 1, 20, 20}, 0.5)}, conv::TrainingCropOptions().crop(8));
  EXPECT_LT(flat.abs().max().item<double>(), 1e-6);
  expect_rejected([&] { conv::highpass_crops({torch::rand({1, 1, 10, 10})}, options); }, "crop");
  expect_rejected([&] { conv::highpass_crops({}, options); }, "no pictures");
}
