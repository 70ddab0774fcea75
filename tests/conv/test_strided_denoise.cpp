// Strided CSC denoising averaged over the shifts of the stride grid (conv/strided_denoise.h):
// the canvas / window / averaging bookkeeping against closed forms, the patch model at s = k, the
// learned dictionary, and the errors. Synthetic pictures only.
#include "deepsc/conv/image_quality.h"
#include "deepsc/conv/strided_denoise.h"

#include "support/synthetic_images.h"
#include "support/tensors.h"

#include <gtest/gtest.h>

#include <string>

namespace conv = deepsc::conv;
namespace F = torch::nn::functional;

namespace {

torch::Tensor with_noise(const torch::Tensor& clean, double sigma, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return clean + sigma * torch::randn(clean.sizes(), gen, clean.options());
}

/// The k² pixel atoms (a basis of k × k patches), [k², 1, k, k].
torch::Tensor pixel_atoms(int64_t k) { return torch::eye(k * k, torch::kDouble).reshape({k * k, 1, k, k}); }

/// Σ over the k × k window whose top-left corner is at each position of the image zero-padded by
/// k − 1 on every side: [1, 1, H + k − 1, W + k − 1].
torch::Tensor window_sums(const torch::Tensor& image, int64_t k) {
  return F::conv2d(F::pad(image, F::PadFuncOptions({k - 1, k - 1, k - 1, k - 1})),
                   torch::ones({1, 1, k, k}, image.options()));
}

}  // namespace

// With λ = 0 and a basis of the patches, every shift fits the image exactly, at every stride: a
// window, offset or averaging mistake of the canvas would show.
TEST(StridedDenoise, ABasisAtLambdaZeroReturnsTheImageAtEveryStride) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto image = torch::rand({2, 1, 21, 18}, gen, torch::kDouble) * 0.8 + 0.1;  // inside (0, 1): no clamping
  for (int64_t s : {1, 2, 3, 4}) {
    const auto r = conv::strided_csc_denoise(
        image, pixel_atoms(4), conv::StridedDenoiseOptions(0.1).stride(s).lambda_per_sigma(0).max_iter(300).debias_iter(0));
    ASSERT_EQ(r.image.sizes(), image.sizes());
    EXPECT_LT((r.image - image).abs().max().item<double>(), 1e-9) << "stride " << s;
  }
}

// s = k is the patch model: with every atom but the constant one switched off by a huge λ, each
// shift replaces every k × k tile by its mean over the pixels inside the image, and the estimate
// of a pixel is the mean, over the k² windows that contain it, of their means (border windows hold
// fewer pixels); with a blend c, that mean is mixed with the noisy pixel at weight β = c / σ₂₅₅ against k².
TEST(StridedDenoise, StrideKAveragesTheMeansOfAllWindowsContainingAPixel) {
  const int64_t k = 5;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(4);
  const auto image = torch::rand({1, 1, 17, 23}, gen, torch::kDouble) * 0.8 + 0.1;
  const auto options = conv::StridedDenoiseOptions(0.1).stride(k).lambda(1e6).max_iter(3000).debias_iter(0);
  auto plain = options;
  const auto r = conv::strided_csc_denoise(image, pixel_atoms(k), plain.blend(0));
  const auto means = window_sums(image, k) / window_sums(torch::ones_like(image), k);  // [1, 1, H+k−1, W+k−1]
  const auto expected = F::conv2d(means, torch::ones({1, 1, k, k}, image.options())) / double(k * k);  // [1, 1, H, W]
  EXPECT_LT((r.image - expected).abs().max().item<double>(), 1e-7);
  for (double blend : {30.0, 200.0}) {  // deepsc denoise's, and one that weighs the noisy pixel more than the k² windows
    auto blended = options;
    const auto b = conv::strided_csc_denoise(image, pixel_atoms(k), blended.blend(blend));
    const double beta = blend / (0.1 * 255);
    EXPECT_LT((b.image - (beta * image + double(k * k) * expected) / (beta + double(k * k))).abs().max().item<double>(), 1e-7)
        << "blend " << blend;
  }
  // Only the constant atom's codes are non-zero: one per tile of the canvas, whose grid at shift
  // (a, b) has (a + H − 1) / k + 1 rows and (b + W − 1) / k + 1 columns.
  double tiles = 0;
  for (int64_t a = 0; a < k; ++a)
    for (int64_t b = 0; b < k; ++b) tiles += double(((a + 16) / k + 1) * ((b + 22) / k + 1));
  EXPECT_DOUBLE_EQ(r.nonzeros, tiles / double(k * k));
}

// Where the constant atom is not enough, smaller strides couple tiles: the estimate differs from
// s = k's, yet both denoise; the dictionary learned from the picture (K-SVD, as `deepsc denoise`)
// fed back as a given dictionary gives the same estimate.
TEST(StridedDenoise, LearnedDictionaryDenoisesAndGivenBackGivesTheSameEstimate) {
  const auto clean = deepsc::testing::synthetic_picture(64).to(torch::kDouble);
  const double sigma = 25.0 / 255;
  const auto input = with_noise(clean, sigma, 21);
  const auto options = conv::StridedDenoiseOptions(sigma).stride(4).atoms(64).kernel_size(4).learning_iterations(3).max_iter(60).debias_iter(20);
  const auto learned = conv::strided_csc_denoise(input, torch::Tensor(), options);
  EXPECT_TRUE(learned.learned);
  ASSERT_EQ(learned.weights.sizes(), (std::vector<int64_t>{64, 1, 4, 4}));
  const double before = conv::psnr(input, clean).item<double>(), after = conv::psnr(learned.image, clean).item<double>();
  EXPECT_GT(after, before + 5.0) << "noisy " << before << " dB, denoised " << after << " dB";
  EXPECT_GE(learned.image.min().item<double>(), 0.0);
  EXPECT_LE(learned.image.max().item<double>(), 1.0);
  EXPECT_NEAR(learned.lambda, 3.5 * sigma, 1e-15);

  const auto given = conv::strided_csc_denoise(input, learned.weights, options);
  EXPECT_FALSE(given.learned);
  EXPECT_LT((given.image - learned.image).abs().max().item<double>(), 1e-12);
  // How many shifts are coded together changes nothing but the summation order.
  for (int64_t batch : {1, 3, 16}) {
    auto batched = options;
    const auto r = conv::strided_csc_denoise(input, learned.weights, batched.shift_batch(batch));
    EXPECT_LT((r.image - learned.image).abs().max().item<double>(), 1e-10) << "shift_batch " << batch;
    EXPECT_DOUBLE_EQ(r.nonzeros, learned.nonzeros) << "shift_batch " << batch;
  }

  auto halved_stride = options;
  const auto halved = conv::strided_csc_denoise(input, learned.weights, halved_stride.stride(2));
  EXPECT_GT((halved.image - learned.image).abs().max().item<double>(), 1e-3);
  EXPECT_GT(conv::psnr(halved.image, clean).item<double>(), before + 5.0);
}

TEST(StridedDenoise, RejectsBadArgumentsNamingThem) {
  const auto image = deepsc::testing::synthetic_picture(32).to(torch::kDouble);
  const auto atoms = pixel_atoms(4);
  using deepsc::testing::message_of;
  using Options = conv::StridedDenoiseOptions;
  EXPECT_NE(message_of([&] { conv::strided_csc_denoise(image, atoms, Options(0).stride(4)); }).find("sigma"), std::string::npos);
  EXPECT_NE(message_of([&] { conv::strided_csc_denoise(image, atoms, Options(0.1).stride(5)); }).find("stride"), std::string::npos);
  EXPECT_NE(message_of([&] { conv::strided_csc_denoise(image, atoms, Options(0.1).stride(0)); }).find("stride"), std::string::npos);
  EXPECT_NE(message_of([&] { conv::strided_csc_denoise(image, atoms, Options(0.1).stride(2).max_iter(0)); }).find("max_iter"),
            std::string::npos);
  EXPECT_NE(message_of([&] { conv::strided_csc_denoise(image, atoms, Options(0.1).stride(2).debias_iter(-1)); }).find("debias_iter"),
            std::string::npos);
  EXPECT_NE(message_of([&] { conv::strided_csc_denoise(image, atoms, Options(0.1).stride(2).shift_batch(0)); }).find("shift_batch"),
            std::string::npos);
  EXPECT_NE(message_of([&] { conv::strided_csc_denoise(image, atoms, Options(0.1).stride(2).lambda(-1)); }).find("lambda"),
            std::string::npos);
  EXPECT_NE(message_of([&] { conv::strided_csc_denoise(image, atoms, Options(0.1).stride(2).blend(-1)); }).find("blend"),
            std::string::npos);
  EXPECT_NE(message_of([&] { conv::strided_csc_denoise(image, atoms, Options(0.1).stride(2).blend(INFINITY)); }).find("blend"),
            std::string::npos);
  EXPECT_NE(message_of([&] { conv::strided_csc_denoise(image * NAN, atoms, Options(0.1).stride(2)); }).find("NaN"),
            std::string::npos);
  EXPECT_NE(message_of([&] { conv::strided_csc_denoise(image.narrow(2, 0, 3), atoms, Options(0.1).stride(2)); }).find("smaller"),
            std::string::npos);
  EXPECT_NE(message_of([&] { conv::strided_csc_denoise(image, atoms.repeat({1, 3, 1, 1}), Options(0.1).stride(2)); })
                .find("dictionary"),
            std::string::npos);
  EXPECT_NE(message_of([&] { conv::strided_csc_denoise(image, torch::ones({}), Options(0.1).stride(2)); }).find("dictionary"),
            std::string::npos);
  EXPECT_NE(message_of([&] { conv::strided_csc_denoise(image, atoms * 0, Options(0.1).stride(2)); }).find("zero atom"),
            std::string::npos);
  EXPECT_NE(message_of([&] { conv::strided_csc_denoise(image.repeat({1, 3, 1, 1}), torch::Tensor(), Options(0.1).stride(2)); })
                .find("grey"),
            std::string::npos);
}
