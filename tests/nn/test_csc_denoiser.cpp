// The learned strided CSC denoiser (nn/csc_denoiser.h): its unrolled steps against a direct
// evaluation of the formulas, the shift average, the noise-adaptive thresholds, the architecture
// record and the errors.
#include "deepsc/nn/csc_denoiser.h"

#include "deepsc/sparse/shrinkage.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace {

using deepsc::nn::CscDenoiser;
using deepsc::nn::CscDenoiserOptions;

/// A small float64 denoiser with random (not initial) weights and thresholds, so a mistake in any
/// index or shift shows.
CscDenoiser random_denoiser(int64_t stride, int64_t iterations, uint64_t seed) {
  torch::manual_seed(seed);
  CscDenoiser model(CscDenoiserOptions().atoms(5).kernel_size(4).stride(stride).iterations(iterations));
  model->to(torch::kDouble);
  torch::NoGradGuard no_grad;
  for (auto& p : model->parameters()) p.copy_(0.3 * torch::randn_like(p));
  model->threshold_base.abs_();
  return model;
}

/// The network written out with plain convolutions for one shift (dy, dx) of the reflect-padded
/// image: the reference the module must match.
torch::Tensor direct_single_shift(CscDenoiser& m, const torch::Tensor& y, double sigma, int64_t dy, int64_t dx) {
  const auto& o = m->options;
  const int64_t k = o.kernel_size(), s = o.stride(), pad = k - 1 + s, h = y.size(2), w = y.size(3);
  const auto mean = y.mean({2, 3}, true);
  auto padded = torch::nn::functional::pad(y - mean, torch::nn::functional::PadFuncOptions({pad, pad, pad, pad}).mode(torch::kReflect));
  int64_t hc = h + 2 * pad - s, wc = w + 2 * pad - s;
  hc -= (hc - k) % s;
  wc -= (wc - k) % s;
  const auto crop = padded.narrow(2, dy, hc).narrow(3, dx, wc);
  const auto tau = [&](int64_t t) {
    return torch::relu(m->threshold_base[t] + sigma * m->threshold_slope[t]).view({1, -1, 1, 1});
  };
  const auto analysis = [&](const torch::Tensor& r) { return torch::conv2d(r, m->analysis, {}, s); };
  const auto synthesis = [&](const torch::Tensor& z, const torch::Tensor& weight) {
    return torch::conv_transpose2d(z, weight, {}, s);
  };
  auto z = deepsc::sparse::soft_threshold(analysis(crop), tau(0));
  for (int64_t t = 1; t <= o.iterations(); ++t)
    z = deepsc::sparse::soft_threshold(z - analysis(synthesis(z, m->synthesis) - crop), tau(t));
  return synthesis(z, m->decoder).narrow(2, pad - dy, h).narrow(3, pad - dx, w) + mean;
}

TEST(CscDenoiser, SingleShiftMatchesTheUnrolledFormulas) {
  auto model = random_denoiser(/*stride=*/2, /*iterations=*/3, 1);
  const auto y = torch::rand({2, 1, 13, 17}, torch::kDouble);
  for (int64_t dy = 0; dy < 2; ++dy) {
    for (int64_t dx = 0; dx < 2; ++dx) {
      const auto got = model->forward(y, torch::tensor({0.1, 0.1}, torch::kDouble), false, {dy, dx});
      EXPECT_TRUE(torch::allclose(got, direct_single_shift(model, y, 0.1, dy, dx), 1e-12, 1e-12)) << dy << "," << dx;
    }
  }
}

TEST(CscDenoiser, ShiftAverageIsTheMeanOfEveryShift) {
  auto model = random_denoiser(/*stride=*/3, /*iterations=*/2, 2);
  const auto y = torch::rand({1, 1, 15, 14}, torch::kDouble);
  auto sum = torch::zeros_like(y);
  for (int64_t dy = 0; dy < 3; ++dy)
    for (int64_t dx = 0; dx < 3; ++dx) sum += direct_single_shift(model, y, 0.05, dy, dx);
  EXPECT_TRUE(torch::allclose(model->forward(y, torch::tensor(0.05, torch::kDouble)), sum / 9, 1e-12, 1e-12));
}

TEST(CscDenoiser, PerImageNoiseLevelsCodeEachImageWithItsOwnThresholds) {
  auto model = random_denoiser(2, 2, 3);
  const auto y = torch::rand({2, 1, 12, 12}, torch::kDouble);
  const auto both = model->forward(y, torch::tensor({0.02, 0.2}, torch::kDouble));
  EXPECT_TRUE(torch::allclose(both[0], model->forward(y.narrow(0, 0, 1), torch::tensor(0.02, torch::kDouble))[0]));
  EXPECT_TRUE(torch::allclose(both[1], model->forward(y.narrow(0, 1, 1), torch::tensor(0.2, torch::kDouble))[0]));
  EXPECT_FALSE(torch::allclose(both[0], both[1]));
}

TEST(CscDenoiser, ThresholdsGrowWithTheNoiseLevelFromInitialisation) {
  CscDenoiser model(CscDenoiserOptions().atoms(8).kernel_size(5).stride(2).iterations(4));
  const auto tau = model->thresholds(torch::tensor({0.0, 0.1, 0.2}));
  ASSERT_EQ(tau.sizes(), (std::vector<int64_t>{3, 5, 8}));
  EXPECT_EQ(tau[0].abs().max().item<double>(), 0.0);
  EXPECT_TRUE(torch::allclose(tau[2], 2 * tau[1]));
  EXPECT_GT(tau[1].min().item<double>(), 0.0);
}

TEST(CscDenoiser, HugeThresholdsLeaveOnlyTheMean) {
  auto model = random_denoiser(2, 1, 4);
  {
    torch::NoGradGuard no_grad;
    model->threshold_base.fill_(1e6);
  }
  const auto y = torch::rand({1, 1, 12, 10}, torch::kDouble);
  EXPECT_TRUE(torch::allclose(model->forward(y, torch::tensor(0.1, torch::kDouble)), y.mean().expand_as(y)));
}

TEST(CscDenoiser, InitialNetworkIsIstaOnTheDctAtomsAndAlreadyDenoises) {
  // Unit-norm operator at initialisation: ‖Bᵀ B‖₂ ≈ 1 (the atoms were divided by √L).
  CscDenoiser model(CscDenoiserOptions().atoms(16).kernel_size(6).stride(2).iterations(10));
  EXPECT_TRUE(torch::equal(model->analysis, model->synthesis));
  auto v = torch::randn({1, 16, 20, 20});
  for (int i = 0; i < 100; ++i) {
    v = torch::conv2d(torch::conv_transpose2d(v, model->synthesis, {}, 2), model->synthesis, {}, 2);
    v = v / v.norm();
  }
  const auto bv = torch::conv_transpose2d(v, model->synthesis, {}, 2);
  EXPECT_NEAR(bv.square().sum().item<double>(), 1.0, 0.05);
  // A smooth picture with noise comes out closer to the clean one.
  const auto grid = torch::linspace(0, 1, 48);
  const auto clean = (0.5 + 0.3 * torch::sin(6 * grid).view({-1, 1}) * torch::cos(4 * grid).view({1, -1})).view({1, 1, 48, 48});
  torch::manual_seed(5);
  const auto noisy = clean + 0.1 * torch::randn_like(clean);
  torch::NoGradGuard no_grad;
  const auto estimate = model->forward(noisy, torch::tensor(0.1));
  EXPECT_LT((estimate - clean).square().mean().item<double>(), 0.5 * (noisy - clean).square().mean().item<double>());
}

TEST(CscDenoiser, ArchitectureRecordRebuildsTheOptions) {
  CscDenoiser model(CscDenoiserOptions().atoms(9).kernel_size(5).stride(3).iterations(6));
  const auto options = deepsc::nn::options_from_architecture(model->architecture);
  EXPECT_EQ(options.atoms(), 9);
  EXPECT_EQ(options.kernel_size(), 5);
  EXPECT_EQ(options.stride(), 3);
  EXPECT_EQ(options.iterations(), 6);
  EXPECT_EQ(model->parameter_count(), 3 * 9 * 25 + 2 * 7 * 9);
  EXPECT_THROW(deepsc::nn::options_from_architecture(torch::tensor({1, 2, 3})), std::invalid_argument);
  EXPECT_THROW(deepsc::nn::options_from_architecture(torch::tensor({1, 4, 3, 5, 2})), std::invalid_argument);  // s > k
}

TEST(CscDenoiser, BadOptionsAndInputsAreNamed) {
  EXPECT_THROW(CscDenoiser(CscDenoiserOptions().kernel_size(3).stride(4)), std::invalid_argument);
  EXPECT_THROW(CscDenoiser(CscDenoiserOptions().atoms(0)), std::invalid_argument);
  EXPECT_THROW(CscDenoiser(CscDenoiserOptions().iterations(-1)), std::invalid_argument);
  CscDenoiser model(CscDenoiserOptions().atoms(4).kernel_size(4).stride(2).iterations(1));
  const auto y = torch::rand({2, 1, 16, 16});
  EXPECT_THROW(model->forward(torch::rand({2, 16, 16}), torch::tensor(0.1)), std::invalid_argument);
  EXPECT_THROW(model->forward(torch::rand({1, 1, 5, 16}), torch::tensor(0.1)), std::invalid_argument);  // ≤ padding 5
  EXPECT_THROW(model->forward(y, torch::tensor({0.1, 0.1, 0.1})), std::invalid_argument);
  EXPECT_THROW(model->forward(y, torch::tensor(-0.1)), std::invalid_argument);
  EXPECT_THROW(model->forward(y, torch::tensor(0.1), false, {2, 0}), std::invalid_argument);
  try {
    model->forward(torch::rand({1, 3, 16, 16}), torch::tensor(0.1));
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[N, 1, H, W]"), std::string::npos) << e.what();
  }
}

}  // namespace
