// Tests for ZCA whitening of patches and Olshausen–Field whitening of images (deepsc/data/whitening.h).

#include "support/expect_rejected.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>

#include "deepsc/data/whitening.h"

using deepsc::data::ImageWhiteningOptions;
using deepsc::data::unwhiten_images;
using deepsc::data::whiten_images;
using deepsc::data::whitening_band;
using deepsc::data::whitening_filter;
using deepsc::data::ZcaOptions;
using deepsc::data::ZcaWhitening;

namespace {

using deepsc::testing::expect_rejected;

// Correlated rows [N, d]: white noise through a random mixing matrix (well conditioned: A + 2I),
// plus an offset so that the mean matters.
torch::Tensor correlated_rows(int64_t N, int64_t d, torch::Dtype dtype, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  const auto mixing = torch::randn({d, d}, gen, opts) + 2 * torch::eye(d, opts);
  const auto offset = torch::randn({1, d}, gen, opts) * 3;
  return (torch::randn({N, d}, gen, opts).mm(mixing) + offset).to(dtype);
}

torch::Tensor population_covariance(const torch::Tensor& rows) {
  const auto c = rows - rows.mean(0);
  return c.t().mm(c) / static_cast<double>(rows.size(0));
}

// |f| in cycles per pixel on the full DFT grid of an H × W image.
torch::Tensor radial(int64_t H, int64_t W) {
  const auto fr = torch::fft::fftfreq(H, torch::kDouble).view({H, 1});
  const auto fc = torch::fft::fftfreq(W, torch::kDouble).view({1, W});
  return (fr.square() + fc.square()).sqrt();
}

// Mean power |F[x]|² over the DFT bins with lo ≤ |f| < hi, averaged over the leading dimensions.
double ring_power(const torch::Tensor& images, double lo, double hi) {
  const int64_t H = images.size(-2), W = images.size(-1);
  const auto power = torch::fft::fft2(images.to(torch::kDouble)).abs().square().reshape({-1, H, W}).mean(0);
  const auto f = radial(H, W);
  const auto ring = (f >= lo).logical_and(f < hi);
  return power.masked_select(ring).mean().item<double>();
}

// Images [N, 1, H, W] with amplitude spectrum 1/|f| and random phases (power 1/f², as natural images).
torch::Tensor one_over_f_images(int64_t N, int64_t H, int64_t W, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto noise = torch::randn({N, 1, H, W}, gen, torch::TensorOptions().dtype(torch::kDouble));
  auto amplitude = radial(H, W).reciprocal();
  amplitude.index_put_({0, 0}, 0.0);  // no DC
  return torch::real(torch::fft::ifft2(torch::fft::fft2(noise) * amplitude));
}

// The part of x inside the band of the default options (everything else removed).
torch::Tensor band_limited(const torch::Tensor& x, const ImageWhiteningOptions& options) {
  const auto band = whitening_band(x.size(-2), x.size(-1), options).to(torch::kDouble);
  return torch::real(torch::fft::ifft2(torch::fft::fft2(x) * band));
}

}  // namespace

TEST(WhiteningZca, WhitenThenUnwhitenIsIdentity) {
  const auto y = correlated_rows(400, 12, torch::kDouble, 1);
  const auto zca = ZcaWhitening::fit(y);  // default ε: 1 % of the mean variance
  EXPECT_GT(zca.epsilon, 0);
  const auto other = correlated_rows(50, 12, torch::kDouble, 2);  // not the fitted rows
  EXPECT_TRUE(torch::allclose(zca.unwhiten(zca.whiten(other)), other, 0, 1e-11));
  EXPECT_TRUE(torch::allclose(zca.whitening.mm(zca.dewhitening), torch::eye(12, torch::kDouble), 0, 1e-11));
  EXPECT_TRUE(torch::allclose(zca.whitening, zca.whitening.t(), 0, 1e-12));  // zero-phase: symmetric
}

TEST(WhiteningZca, WhitenedCovarianceIsIdentityWithoutEpsilon) {
  const auto y = correlated_rows(2000, 10, torch::kDouble, 3);
  const auto zca = ZcaWhitening::fit(y, ZcaOptions().epsilon(0).relative(false));
  EXPECT_EQ(zca.epsilon, 0);
  const auto z = zca.whiten(y);
  EXPECT_TRUE(torch::allclose(z.mean(0), torch::zeros({10}, torch::kDouble), 0, 1e-10));
  EXPECT_TRUE(torch::allclose(population_covariance(z), torch::eye(10, torch::kDouble), 0, 1e-9));
  // The raw covariance was far from the identity, so this is not vacuous.
  EXPECT_GT((population_covariance(y) - torch::eye(10, torch::kDouble)).abs().max().item<double>(), 1.0);
}

TEST(WhiteningZca, EpsilonShrinksEachDirectionAsDocumented) {
  const auto y = correlated_rows(1000, 8, torch::kDouble, 4);
  const double rel = 0.05;
  const auto zca = ZcaWhitening::fit(y, ZcaOptions().epsilon(rel));
  const auto cov = population_covariance(y);
  EXPECT_NEAR(zca.epsilon, rel * cov.trace().item<double>() / 8, 1e-12);
  // Whitened covariance = U diag(S / (S + ε)) Uᵀ.
  const auto& u = zca.eigenvectors;
  const auto expected = (u * (zca.eigenvalues / (zca.eigenvalues + zca.epsilon))).mm(u.t());
  EXPECT_TRUE(torch::allclose(population_covariance(zca.whiten(y)), expected, 0, 1e-10));
  EXPECT_TRUE(torch::allclose((u * zca.eigenvalues).mm(u.t()), cov, 0, 1e-10));
}

TEST(WhiteningZca, Float32KeepsDtype) {
  const auto y = correlated_rows(300, 6, torch::kFloat, 5);
  const auto zca = ZcaWhitening::fit(y);
  EXPECT_EQ(zca.whitening.scalar_type(), torch::kFloat);
  const auto z = zca.whiten(y);
  EXPECT_EQ(z.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(zca.unwhiten(z), y, 1e-4, 1e-4));
}

TEST(WhiteningZca, RejectsBadInput) {
  const auto y = correlated_rows(20, 4, torch::kDouble, 6);
  expect_rejected([&] { ZcaWhitening::fit(y.view({-1})); }, "patches");
  expect_rejected([&] { ZcaWhitening::fit(y.to(torch::kLong)); }, "floating");
  expect_rejected([&] { ZcaWhitening::fit(y.narrow(0, 0, 1)); }, "2 rows");
  expect_rejected([&] { ZcaWhitening::fit(y, ZcaOptions().epsilon(-1)); }, "epsilon");
  auto bad = y.clone();
  bad.index_put_({3, 1}, std::nan(""));
  expect_rejected([&] { ZcaWhitening::fit(bad); }, "finite");
  // Rows confined to a 2-D subspace of R⁴: singular covariance, no inverse without ε.
  const auto flat = torch::randn({50, 2}, torch::kDouble).mm(torch::randn({2, 4}, torch::kDouble));
  expect_rejected([&] { ZcaWhitening::fit(flat, ZcaOptions().epsilon(0).relative(false)); }, "singular");
  const auto zca = ZcaWhitening::fit(y);
  expect_rejected([&] { zca.whiten(torch::zeros({3, 5}, torch::kDouble)); }, "4 columns");
  expect_rejected([&] { zca.unwhiten(torch::zeros({3, 5}, torch::kDouble)); }, "4 columns");
  expect_rejected([&] { ZcaWhitening{}.whiten(y); }, "not fitted");
}

TEST(WhiteningImages, FilterMatchesFormulaAndBand) {
  const ImageWhiteningOptions o;  // f₀ = 0.4 cycles/pixel, floor 1e-3
  const auto r = whitening_filter(64, 48, o);
  ASSERT_EQ(r.sizes(), (std::vector<int64_t>{64, 48}));
  EXPECT_EQ(r[0][0].item<double>(), 0.0);
  const double f = std::hypot(5.0 / 64, 7.0 / 48);  // row 5, column 7
  EXPECT_NEAR(r[5][7].item<double>(), f * std::exp(-std::pow(f / 0.4, 4)), 1e-15);
  EXPECT_NEAR(r[64 - 5][48 - 7].item<double>(), r[5][7].item<double>(), 1e-15);  // even: zero-phase
  const auto band = whitening_band(64, 48, o);
  EXPECT_FALSE(band[0][0].item<bool>());                                                            // DC
  EXPECT_TRUE(band.masked_select(radial(64, 48) <= 0.6).logical_not().sum().item<int64_t>() == 1);  // only DC
  EXPECT_FALSE(band[32][24].item<bool>());  // the corner, |f| = 0.707
}

TEST(WhiteningImages, BandLimitedImageRoundTripIsIdentity) {
  const ImageWhiteningOptions o;
  const auto raw = torch::randn({2, 3, 40, 36}, torch::kDouble) + 0.5;
  const auto x = band_limited(raw, o);
  // Not a trivial projection: the raw image had a mean and corner frequencies.
  ASSERT_GT((x - raw).abs().max().item<double>(), 0.1);
  const auto w = whiten_images(x, o);
  EXPECT_EQ(w.sizes(), x.sizes());
  EXPECT_GT((w - x).abs().max().item<double>(), 0.1);  // whitening changed it
  EXPECT_TRUE(torch::allclose(unwhiten_images(w, o), x, 0, 1e-9));
  // Whatever goes in, the round trip is the projection onto the band: the mean is lost.
  EXPECT_TRUE(torch::allclose(unwhiten_images(whiten_images(raw, o), o), x, 0, 1e-9));
  // A different f₀ has its own exact inverse.
  const auto o2 = ImageWhiteningOptions().cutoff(0.2).floor(1e-2);
  const auto x2 = band_limited(raw, o2);
  EXPECT_TRUE(torch::allclose(unwhiten_images(whiten_images(x2, o2), o2), x2, 0, 1e-9));
}

TEST(WhiteningImages, ThreeDimensionalAndIntegerImages) {
  const auto x = torch::randn({2, 16, 20}, torch::kDouble);
  const auto w = whiten_images(x);
  ASSERT_EQ(w.sizes(), x.sizes());
  EXPECT_TRUE(torch::allclose(w, whiten_images(x.unsqueeze(1)).squeeze(1), 0, 1e-14));
  EXPECT_NEAR(w.mean().item<double>(), 0.0, 1e-12);
  const auto bytes = torch::randint(0, 256, {1, 1, 8, 8}, torch::kLong).to(torch::kByte);
  EXPECT_EQ(whiten_images(bytes).scalar_type(), torch::kFloat);
  EXPECT_EQ(whiten_images(x.to(torch::kFloat)).scalar_type(), torch::kFloat);
}

TEST(WhiteningImages, FlattensAOneOverFSpectrum) {
  const auto x = one_over_f_images(4, 128, 128, 7);
  // Power at |f| ≈ 0.045 vs |f| ≈ 0.2: (0.2 / 0.045)² ≈ 20 for a 1/f² spectrum.
  const double before = ring_power(x, 0.03, 0.06) / ring_power(x, 0.17, 0.23);
  EXPECT_GT(before, 10.0);
  const auto w = whiten_images(x);
  // After: |f|² exp(−2(|f|/f₀)⁴) / |f|², flat up to the roll-off (exp(−0.125) at 0.2).
  const double after = ring_power(w, 0.03, 0.06) / ring_power(w, 0.17, 0.23);
  EXPECT_GT(after, 0.7);
  EXPECT_LT(after, 1.6);
  // And flat across the whole mid band, ring by ring.
  const double ref = ring_power(w, 0.08, 0.12);
  for (double lo : {0.02, 0.05, 0.12, 0.18, 0.24}) {
    const double ratio = ring_power(w, lo, lo + 0.04) / ref;
    EXPECT_GT(ratio, 0.6) << "ring at " << lo;
    EXPECT_LT(ratio, 1.5) << "ring at " << lo;
  }
}

TEST(WhiteningImages, RejectsBadInput) {
  const auto x = torch::randn({1, 8, 8});
  expect_rejected([&] { whiten_images(x[0]); }, "[N, C, H, W]");
  expect_rejected([&] { whiten_images(torch::randn({1, 1, 1, 8, 8})); }, "[N, C, H, W]");
  expect_rejected([&] { whiten_images(torch::randn({1, 4, 4}, torch::kComplexFloat)); }, "real");
  expect_rejected([&] { whiten_images(x, ImageWhiteningOptions().cutoff(0)); }, "cutoff");
  expect_rejected([&] { unwhiten_images(x, ImageWhiteningOptions().floor(0)); }, "floor");
  expect_rejected([&] { unwhiten_images(x, ImageWhiteningOptions().floor(1)); }, "floor");
  expect_rejected([&] { whitening_filter(0, 4); }, "height");
  expect_rejected([&] { unwhiten_images(torch::Tensor()); }, "undefined");
}
