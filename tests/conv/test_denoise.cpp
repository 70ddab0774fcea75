// Image restoration by convolutional sparse coding: the masked operator, the low/high-pass split,
// PSNR/SSIM, and denoising / inpainting of synthetic pictures (never natural images from disk).
#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/conv/denoise.h"
#include "deepsc/conv/image_filters.h"
#include "deepsc/conv/image_quality.h"
#include "deepsc/conv/lipschitz_bound.h"
#include "deepsc/conv/masked_operator.h"

#include "support/synthetic_images.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using deepsc::conv::ConvDictionary;
using deepsc::conv::ConvOptions;
using deepsc::conv::MaskedOperator;
namespace conv = deepsc::conv;

namespace {

torch::Tensor bernoulli_mask(c10::IntArrayRef shape, double known, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return (torch::rand(shape, gen, torch::kDouble) < known).to(torch::kDouble);
}

torch::Tensor noisy(const torch::Tensor& clean, double sigma, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return clean + sigma * torch::randn(clean.sizes(), gen, clean.options());
}

/// PSNR of one image, or the lowest over a batch.
double psnr(const torch::Tensor& a, const torch::Tensor& b) { return conv::psnr(a, b).min().item<double>(); }

}  // namespace

TEST(MaskedOperator, AdjointIdentityWithSharedAndPerSignalMasks) {
  torch::manual_seed(1);
  auto dict = std::make_shared<ConvDictionary>(torch::randn({5, 2, 3, 3}, torch::kDouble), ConvOptions().padding(2));
  const std::vector<int64_t> signal_shape{3, 2, 10, 9};
  for (auto mask : {bernoulli_mask({1, 1, 10, 9}, 0.5, 2), bernoulli_mask({3, 1, 10, 9}, 0.5, 3),
                    torch::rand({3, 2, 10, 9}, torch::kDouble)}) {
    MaskedOperator op(dict, mask);
    auto x = torch::randn(op.code_shape(signal_shape), torch::kDouble);
    auto y = torch::randn(signal_shape, torch::kDouble);
    const double lhs = (op.apply(x) * y).sum().item<double>();
    const double rhs = (x * op.adjoint(y)).sum().item<double>();
    EXPECT_NEAR(lhs, rhs, 1e-10 * std::max(1.0, std::abs(lhs))) << mask.sizes();
    EXPECT_TRUE(torch::allclose(op.apply(x), dict->apply(x) * mask));
    // The adjoint ignores the samples where a 0/1 mask is 0.
    if (((mask == 0) | (mask == 1)).all().item<bool>()) {
      auto y2 = y + (1 - mask) * 100;
      EXPECT_TRUE(torch::allclose(op.adjoint(y), op.adjoint(y2), 1e-9, 1e-9));
    }
  }
}

TEST(MaskedOperator, LipschitzIsTheMaskedOperatorNorm) {
  torch::manual_seed(4);
  auto dict = std::make_shared<ConvDictionary>(torch::randn({2, 1, 3, 3}, torch::kDouble), ConvOptions().padding(2));
  const std::vector<int64_t> signal_shape{1, 1, 6, 5};
  MaskedOperator op(dict, bernoulli_mask({1, 1, 6, 5}, 0.5, 5));
  // The operator as an explicit matrix [signal numel, code numel].
  auto code_shape = op.code_shape(signal_shape);
  const int64_t m = code_shape[1] * code_shape[2] * code_shape[3];
  code_shape[0] = m;
  auto matrix = op.apply(torch::eye(m, torch::kDouble).view(code_shape)).reshape({m, -1}).t();
  const double exact = std::pow(torch::linalg_svdvals(matrix).max().item<double>(), 2);
  const double estimate = op.lipschitz(signal_shape);
  EXPECT_NEAR(estimate, exact, 1e-4 * exact);
  EXPECT_LE(estimate, dict->lipschitz(signal_shape) * (1 + 1e-6));
}

TEST(MaskedOperator, RejectsBadMasksNamingThem) {
  auto dict = std::make_shared<ConvDictionary>(torch::randn({2, 1, 3, 3}), ConvOptions().padding(2));
  EXPECT_THROW(MaskedOperator(nullptr, torch::ones({1, 1, 4, 4})), std::invalid_argument);
  EXPECT_THROW(MaskedOperator(dict, torch::full({1, 1, 4, 4}, 2.0)), std::invalid_argument);
  EXPECT_THROW(MaskedOperator(dict, torch::ones({1, 1, 4, 4}, torch::kLong)), std::invalid_argument);
  MaskedOperator op(dict, torch::ones({1, 1, 4, 4}));
  try {
    (void)op.code_shape({1, 1, 5, 4});
    FAIL() << "a mask of the wrong size was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("mask"), std::string::npos) << e.what();
  }
}

TEST(LipschitzBound, BoundsThePowerIterationTightly) {
  torch::manual_seed(10);
  struct Case {
    std::vector<int64_t> weights, signals;
    ConvOptions geometry;
  };
  const std::vector<Case> cases = {
      {{6, 1, 5, 5}, {1, 1, 40, 36}, ConvOptions().padding(4)},               // full codes
      {{4, 2, 3, 3}, {1, 2, 30, 30}, ConvOptions().padding(1)},               // "same", two channels
      {{3, 1, 3, 3}, {1, 1, 33, 31}, ConvOptions().padding(2).dilation(2)},   // dilated
      {{5, 3, 7}, {1, 3, 64}, ConvOptions().padding(6)},                      // 1-D
  };
  for (const auto& c : cases) {
    ConvDictionary dict(torch::randn(c.weights, torch::kDouble), c.geometry);
    const double bound = conv::conv_lipschitz_bound(dict, c.signals);
    const double power = dict.lipschitz(c.signals, deepsc::sparse::LipschitzOptions().tol(1e-10).max_iter(5000));
    EXPECT_GE(bound, power * (1 - 1e-9)) << dict.weights().sizes();
    EXPECT_LE(bound, power * 1.05) << dict.weights().sizes();
  }
  // A small case against the exact largest singular value.
  auto small = std::make_shared<ConvDictionary>(torch::randn({2, 1, 3, 3}, torch::kDouble), ConvOptions().padding(2));
  const std::vector<int64_t> shape{1, 1, 5, 4};
  auto code_shape = small->code_shape(shape);
  const int64_t m = code_shape[1] * code_shape[2] * code_shape[3];
  code_shape[0] = m;
  auto matrix = small->apply(torch::eye(m, torch::kDouble).view(code_shape)).reshape({m, -1});
  EXPECT_GE(conv::conv_lipschitz_bound(*small, shape), std::pow(torch::linalg_svdvals(matrix).max().item<double>(), 2));
  EXPECT_THROW(conv::conv_lipschitz_bound(ConvDictionary(torch::randn({2, 1, 3, 3}), ConvOptions().stride(2)), {1, 1, 9, 9}),
               std::invalid_argument);
  // The wrapper reports the given constant and forwards everything else.
  conv::KnownLipschitzOperator known(small, 123.0);
  EXPECT_EQ(known.lipschitz(shape), 123.0);
  auto x = torch::randn(small->code_shape(shape), torch::kDouble);
  EXPECT_TRUE(torch::equal(known.apply(x), small->apply(x)));
  EXPECT_THROW(conv::KnownLipschitzOperator(small, 0.0), std::invalid_argument);
}

TEST(DctDictionary, ZeroMeanUnitAtomsLowFrequenciesFirst) {
  auto w = conv::dct_dictionary(20, 2, 6, torch::kDouble);
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{20, 2, 6, 6}));
  EXPECT_TRUE(torch::allclose(w.reshape({20, -1}).norm(2, {1}), torch::ones({20}, torch::kDouble)));
  EXPECT_LT(w.sum({1, 2, 3}).abs().max().item<double>(), 1e-12);  // no DC atom
  // The first two atoms are the lowest vertical and horizontal frequencies: transposes.
  EXPECT_TRUE(torch::allclose(w[0][0], w[1][0].t()) || torch::allclose(w[0][0], -w[1][0].t()));
  EXPECT_EQ(conv::dct_dictionary(70, 1, 8).size(0), 70);  // more than k² − 1: a finer frame
}

TEST(ImageFilters, SplitSumsBackAndKeepsConstants) {
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    torch::manual_seed(6);
    auto images = torch::rand({2, 3, 20, 17}, dtype);
    auto split = conv::split_frequencies(images, 2.0);
    EXPECT_EQ(split.low.sizes(), images.sizes());
    EXPECT_EQ(split.low.scalar_type(), dtype);
    EXPECT_TRUE(torch::allclose(split.low + split.high, images, 1e-6, 1e-6));
    // The low-pass is smoother: less energy in the pixel differences.
    auto roughness = [](const torch::Tensor& t) { return (t.narrow(3, 1, 16) - t.narrow(3, 0, 16)).square().sum().item<double>(); };
    EXPECT_LT(roughness(split.low), 0.1 * roughness(images));
    // Reflect padding and a normalised kernel: a constant image passes unchanged.
    auto flat = torch::full({1, 1, 12, 12}, 0.37, dtype);
    EXPECT_TRUE(torch::allclose(conv::gaussian_blur(flat, 3.0), flat, 1e-6, 1e-6));
  }
  EXPECT_THROW(conv::gaussian_blur(torch::rand({1, 1, 9, 30}), 3.0), std::invalid_argument);  // radius 9
  EXPECT_THROW(conv::gaussian_blur(torch::rand({1, 1, 30, 30}), 0.0), std::invalid_argument);
  EXPECT_THROW(conv::gaussian_blur(torch::rand({30, 30}), 1.0), std::invalid_argument);
}

TEST(ImageFilters, MaskedLowpassUsesKnownPixelsOnly) {
  torch::manual_seed(7);
  auto images = torch::rand({2, 1, 24, 24}, torch::kDouble);
  // All known: the plain blur.
  EXPECT_TRUE(torch::allclose(conv::masked_lowpass(images, torch::ones({1, 1, 24, 24}, torch::kDouble), 1.5),
                              conv::gaussian_blur(images, 1.5), 1e-9, 1e-9));
  // A constant image seen through any mask stays constant, whatever hides under the mask.
  auto mask = bernoulli_mask({2, 1, 24, 24}, 0.4, 8);
  auto flat = torch::full({2, 1, 24, 24}, 0.6, torch::kDouble);
  auto corrupted = mask * flat + (1 - mask) * images;
  EXPECT_TRUE(torch::allclose(conv::masked_lowpass(corrupted, mask, 2.0), flat, 1e-9, 1e-9));
  // A hole far wider than the blur is filled with the mean of the known pixels.
  auto holed = torch::ones({1, 1, 24, 24}, torch::kDouble);
  holed.narrow(3, 0, 20).zero_();
  auto fill = conv::masked_lowpass(images.narrow(0, 0, 1), holed, 1.0);
  const double mean = images[0].narrow(2, 20, 4).mean().item<double>();
  EXPECT_NEAR(fill[0][0][12][2].item<double>(), mean, 1e-9);
  EXPECT_THROW(conv::masked_lowpass(images, torch::ones({1, 1, 24, 23}, torch::kDouble), 1.0), std::invalid_argument);
}

TEST(ImageQuality, PsnrOfAKnownErrorAndSsimProperties) {
  torch::manual_seed(9);
  auto a = torch::rand({3, 1, 32, 32}, torch::kDouble) * 0.8;
  // MSE 0.01 → 20 dB; 0.001 → 30 dB (data range 1).
  EXPECT_NEAR(psnr(a, a + 0.1), 20.0, 1e-9);
  EXPECT_NEAR(psnr(a + std::sqrt(0.001), a), 30.0, 1e-9);
  EXPECT_NEAR(conv::psnr(a * 255, a * 255 + 25.5, 255.0)[0].item<double>(), 20.0, 1e-9);
  EXPECT_EQ(psnr(a, a), std::numeric_limits<double>::infinity());

  auto same = conv::ssim(a, a);
  EXPECT_EQ(same.sizes(), (std::vector<int64_t>{3}));
  EXPECT_TRUE(torch::allclose(same, torch::ones({3}, torch::kDouble), 0, 1e-12));
  auto b = (a + 0.1 * torch::randn_like(a)).clamp(0, 1);
  auto ab = conv::ssim(a, b), ba = conv::ssim(b, a);
  EXPECT_TRUE(torch::allclose(ab, ba, 0, 1e-12));  // symmetric
  EXPECT_TRUE((ab < 0.99).all().item<bool>());
  EXPECT_TRUE((conv::ssim(a, (a + 0.3 * torch::randn_like(a)).clamp(0, 1)) < ab).all().item<bool>());
  // Two constant images: only the luminance term is left, (2 c d + C1) / (c² + d² + C1).
  const double c = 0.3, d = 0.5, c1 = 1e-4;
  auto cc = torch::full({1, 1, 16, 16}, c, torch::kDouble), dd = torch::full({1, 1, 16, 16}, d, torch::kDouble);
  EXPECT_NEAR(conv::ssim(cc, dd).item<double>(), (2 * c * d + c1) / (c * c + d * d + c1), 1e-12);
  // Float32 input is scored in float64.
  EXPECT_NEAR(conv::ssim(a.to(torch::kFloat), b.to(torch::kFloat))[0].item<double>(), ab[0].item<double>(), 1e-5);
  EXPECT_THROW(conv::ssim(a, a.narrow(3, 0, 20)), std::invalid_argument);
  EXPECT_THROW(conv::ssim(a.narrow(2, 0, 10), a.narrow(2, 0, 10)), std::invalid_argument);  // < 11 pixels
}

TEST(Denoise, GivenDctDictionaryRaisesPsnrClearly) {
  const auto clean = deepsc::testing::synthetic_picture(64).to(torch::kFloat);
  const double sigma = 25.0 / 255;
  const auto input = noisy(clean, sigma, 11);
  const auto dict = conv::dct_dictionary(24, 1, 8);
  const auto r = conv::csc_denoise(input, dict, conv::DenoiseOptions(sigma));
  ASSERT_EQ(r.image.sizes(), clean.sizes());
  EXPECT_EQ(r.image.scalar_type(), torch::kFloat);
  EXPECT_GE(r.image.min().item<double>(), 0.0);
  EXPECT_LE(r.image.max().item<double>(), 1.0);
  EXPECT_FALSE(r.learned);
  EXPECT_NEAR(r.lambda, conv::DenoiseOptions(sigma).lambda_per_sigma() * sigma, 1e-12);
  const double before = psnr(input, clean), after = psnr(r.image, clean);
  EXPECT_GT(after, before + 5.0) << "noisy " << before << " dB, denoised " << after << " dB";
  EXPECT_GT(conv::ssim(r.image, clean).item<double>(), conv::ssim(input, clean).item<double>() + 0.2);
}

TEST(Denoise, DictionaryLearnedFromTheNoisyImage) {
  const auto clean = deepsc::testing::synthetic_picture(64).to(torch::kFloat);
  const double sigma = 25.0 / 255;
  const auto input = noisy(clean, sigma, 12);
  const auto learning = conv::SelfLearningOptions().atoms(12).kernel_size(6).crops(4).crop_size(32).epochs(3);
  const auto r = conv::csc_denoise(input, torch::Tensor(), conv::DenoiseOptions(sigma).learning(learning));
  EXPECT_TRUE(r.learned);
  EXPECT_EQ(r.weights.sizes(), (std::vector<int64_t>{12, 1, 6, 6}));
  EXPECT_GT(psnr(r.image, clean), psnr(input, clean) + 5.0);
}

TEST(Denoise, RejectsBadArgumentsNamingThem) {
  const auto image = deepsc::testing::synthetic_picture(32).to(torch::kFloat);
  const auto dict = conv::dct_dictionary(8, 1, 5);
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  EXPECT_NE(message([&] { conv::csc_denoise(image, dict, conv::DenoiseOptions(-0.1)); }).find("sigma"), std::string::npos);
  EXPECT_NE(message([&] { conv::csc_denoise(image, conv::dct_dictionary(8, 3, 5), 0.1); }).find("dictionary"), std::string::npos);
  EXPECT_NE(message([&] { conv::csc_denoise(image.squeeze(0), dict, 0.1); }).find("images"), std::string::npos);
  EXPECT_NE(message([&] { conv::csc_denoise(image * NAN, dict, 0.1); }).find("NaN"), std::string::npos);
  EXPECT_NE(message([&] { conv::csc_inpaint(image, torch::zeros({1, 1, 32, 32}), dict, {}); }).find("known"),
            std::string::npos);
  EXPECT_NE(message([&] { conv::csc_inpaint(image, torch::ones({1, 1, 31, 32}), dict, {}); }).find("mask"),
            std::string::npos);
}

TEST(Inpaint, HalfMissingBeatsTheMaskedLowpassBaseline) {
  const auto clean = deepsc::testing::synthetic_picture(64).to(torch::kFloat);
  const auto mask = bernoulli_mask({1, 1, 64, 64}, 0.5, 13).to(torch::kFloat);
  const auto corrupted = clean * mask;
  const auto r = conv::csc_inpaint(corrupted, mask, conv::dct_dictionary(24, 1, 8), conv::InpaintOptions());
  ASSERT_EQ(r.image.sizes(), clean.sizes());
  // Known pixels are kept.
  EXPECT_TRUE(torch::allclose(r.image * mask, clean * mask, 1e-6, 1e-6));
  double best_baseline = -1;
  for (double fill : {0.5, 0.7, 1.0, 1.5, 2.0})
    best_baseline = std::max(best_baseline, psnr(conv::inpaint_baseline(corrupted, mask, fill), clean));
  const double result = psnr(r.image, clean);
  EXPECT_GT(result, best_baseline + 0.5) << "baseline " << best_baseline << " dB, CSC " << result << " dB";
}
