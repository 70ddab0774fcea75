#include "deepsc/sparse/shrinkage.h"

#include <gtest/gtest.h>

using namespace deepsc::sparse;

namespace {
torch::Tensor d(std::initializer_list<double> v) { return torch::tensor(std::vector<double>(v), torch::kDouble); }
}  // namespace

TEST(Shrinkage, ValuesMatchDefinitions) {
  auto x = d({-3, -2, -1, 0, 1, 2, 3});
  EXPECT_TRUE(torch::equal(soft_threshold(x, 2.0), d({-1, 0, 0, 0, 0, 0, 1})));
  EXPECT_TRUE(torch::equal(hard_threshold(x, 2.0), d({-3, 0, 0, 0, 0, 0, 3})));
  EXPECT_TRUE(torch::equal(nonneg_soft_threshold(x, 2.0), d({0, 0, 0, 0, 0, 0, 1})));
}

TEST(Shrinkage, SoftIsTheProximalMapOfTheL1Norm) {
  // x = S_β(v) iff v − x ∈ β ∂|x|: v − x = β sign(x) on x ≠ 0, |v| ≤ β where x = 0.
  auto v = torch::randn({1000}, torch::kDouble) * 3;
  const double beta = 0.7;
  auto x = soft_threshold(v, beta);
  auto nz = x != 0;
  EXPECT_LT(((v - x).masked_select(nz) - beta * x.sign().masked_select(nz)).abs().max().item<double>(), 1e-12);
  EXPECT_TRUE((v.masked_select(~nz).abs() <= beta).all().item<bool>());
  // S⁺: v − x = β on x > 0, v ≤ β where x = 0.
  auto xp = nonneg_soft_threshold(v, beta);
  auto pos = xp > 0;
  EXPECT_LT(((v - xp).masked_select(pos) - beta).abs().max().item<double>(), 1e-12);
  EXPECT_TRUE((v.masked_select(~pos) <= beta).all().item<bool>());
}

TEST(Shrinkage, PerChannelThresholdBroadcastsOverBatchAndSpace) {
  auto x = torch::randn({2, 3, 4, 5}, torch::kDouble);
  auto beta = d({0.1, 0.5, 2.0});
  auto y = soft_threshold(x, beta);
  for (int c = 0; c < 3; ++c) {
    auto expected = soft_threshold(x.select(1, c), beta[c].item<double>());
    EXPECT_TRUE(torch::allclose(y.select(1, c), expected));
  }
  // Per sample [N, 1] on a dense batch.
  auto codes = torch::randn({4, 6}, torch::kDouble);
  auto per_sample = d({0, 0.5, 1, 10}).unsqueeze(1);
  auto z = nonneg_soft_threshold(codes, per_sample);
  EXPECT_TRUE(torch::equal(z[3], torch::zeros({6}, torch::kDouble)));
  EXPECT_TRUE(torch::equal(z[0], codes[0].clamp_min(0)));
}

TEST(Shrinkage, GradientsMatchFiniteDifferences) {
  auto x = (torch::randn({20}, torch::kDouble) * 2).requires_grad_(true);
  auto beta = torch::full({20}, 0.3, torch::kDouble).requires_grad_(true);
  for (auto kind : {Shrinkage::Soft, Shrinkage::NonNegSoft}) {
    auto out = shrink(x, beta, kind).square().sum();
    auto grads = torch::autograd::grad({out}, {x, beta});
    const double h = 1e-6;
    for (int64_t i = 0; i < 20; ++i) {
      // Skip points within h of a kink, where the derivative is undefined.
      if ((x[i].abs() - beta[i]).abs().item<double>() < 1e-3) continue;
      for (int which = 0; which < 2; ++which) {
        auto xp = x.detach().clone(), bp = beta.detach().clone();
        auto xm = x.detach().clone(), bm = beta.detach().clone();
        if (which == 0) { xp[i] += h; xm[i] -= h; } else { bp[i] += h; bm[i] -= h; }
        double numeric = (shrink(xp, bp, kind).square().sum() - shrink(xm, bm, kind).square().sum()).item<double>() / (2 * h);
        EXPECT_NEAR(grads[which][i].item<double>(), numeric, 1e-6) << "kind " << shrinkage_name(kind) << " i " << i;
      }
    }
  }
}

TEST(Shrinkage, BadThresholdsAreRejected) {
  auto x = torch::randn({2, 3});
  EXPECT_THROW(soft_threshold(x, -1.0), std::invalid_argument);
  EXPECT_THROW(soft_threshold(x, torch::ones({4})), std::invalid_argument);
  EXPECT_THROW(parse_shrinkage("medium"), std::invalid_argument);
  EXPECT_EQ(parse_shrinkage("nonneg"), Shrinkage::NonNegSoft);
}
