// Tests for the "localized, oriented, band-pass" statistics of dictionary atoms
// (deepsc/dictlearn/atom_statistics.h).

#include "support/expect_rejected.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "deepsc/dictlearn/atom_statistics.h"

using deepsc::dictlearn::atom_statistics;
using deepsc::dictlearn::AtomStatisticsOptions;
using deepsc::dictlearn::random_dictionary_summary;
using deepsc::dictlearn::summarize;
using deepsc::dictlearn::summarize_atoms;

namespace {


using deepsc::testing::expect_rejected;

// A p × p Gabor atom (flattened row-major, one column): Gaussian envelope of width `width` pixels
// centred at (cu, cv) times cos(2π f ((v − cv) cos θ + (u − cu) sin θ) + phase), i.e. a wave
// vector of length f at angle θ from the column axis towards the row axis.
torch::Tensor gabor(int64_t p, double theta_deg, double f, double width, double cu, double cv, double phase = 0) {
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  const auto u = torch::arange(p, opts).view({p, 1}) - cu, v = torch::arange(p, opts).view({1, p}) - cv;
  const double t = theta_deg * M_PI / 180.0;
  const auto envelope = torch::exp(-(u.square() + v.square()) / (2 * width * width));
  const auto atom = envelope * torch::cos(2 * M_PI * f * (v * std::cos(t) + u * std::sin(t)) + phase);
  return (atom / atom.norm()).reshape({p * p, 1});
}

// Smallest distance between two orientations in degrees, modulo 180°.
double axial_distance(double a, double b) {
  const double d = std::fmod(std::abs(a - b), 180.0);
  return std::min(d, 180.0 - d);
}

}  // namespace

TEST(AtomStatistics, GaborAtomHasItsOrientationAndFrequency) {
  const int64_t p = 12, P = 4 * p;
  for (const double theta : {0.0, 30.0, 75.0, 90.0, 135.0}) {
    for (const double f : {0.2, 0.3}) {
      for (const double phase : {0.0, M_PI / 2}) {
        const auto st = atom_statistics(gabor(p, theta, f, 2.5, 5.5, 5.5, phase));
        const double angle_bin = std::atan(1.0 / (P * f)) * 180.0 / M_PI;  // one grid step at radius f
        SCOPED_TRACE("theta " + std::to_string(theta) + " f " + std::to_string(f) + " phase " + std::to_string(phase));
        EXPECT_LE(axial_distance(st.orientation.item<double>(), theta), angle_bin);
        EXPECT_LE(std::abs(st.frequency.item<double>() - f), std::sqrt(2.0) / P);
        EXPECT_GT(st.orientation_concentration.item<double>(), 0.55);
        EXPECT_GT(st.frequency_concentration.item<double>(), 0.6);
        EXPECT_LT(st.low_frequency_fraction.item<double>(), 0.05);
        EXPECT_LT(st.spatial_spread.item<double>(), 0.35);
        EXPECT_TRUE(st.oriented.item<bool>());
        EXPECT_TRUE(st.band_pass.item<bool>());
        EXPECT_TRUE(st.localized.item<bool>());
      }
    }
  }
}

TEST(AtomStatistics, OrientationConvention) {
  const int64_t p = 8;
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  const auto v = torch::arange(p, opts).view({1, p}).expand({p, p});
  // Varies along the columns (vertical stripes): wave vector along the column axis, 0°.
  const auto vertical = torch::cos(2 * M_PI * 0.25 * v).reshape({p * p, 1});
  // Varies along the rows (horizontal stripes): 90°.
  const auto horizontal = torch::cos(2 * M_PI * 0.25 * v.t()).reshape({p * p, 1});
  const auto st = atom_statistics(torch::cat({vertical, horizontal}, 1));
  EXPECT_LE(axial_distance(st.orientation[0].item<double>(), 0.0), 1e-9);
  EXPECT_LE(axial_distance(st.orientation[1].item<double>(), 90.0), 1e-9);
  EXPECT_NEAR(st.frequency[0].item<double>(), 0.25, 1e-12);
  EXPECT_GE(st.orientation.min().item<double>(), 0.0);
  EXPECT_LT(st.orientation.max().item<double>(), 180.0);
  // Full-patch gratings are oriented and band-pass but not localized.
  EXPECT_TRUE(st.oriented.all().item<bool>());
  EXPECT_TRUE(st.band_pass.all().item<bool>());
  EXPECT_FALSE(st.localized.any().item<bool>());
  EXPECT_NEAR(st.spatial_spread[0].item<double>(), 1.0, 0.05);
}

TEST(AtomStatistics, RandomDictionaryIsRarelyOrientedBandPass) {
  const auto random = random_dictionary_summary(8, 256, 1);
  EXPECT_EQ(random.atoms, 256);
  EXPECT_LT(random.oriented_band_pass, 0.1);
  EXPECT_LT(random.oriented, 0.1);
  EXPECT_GT(random.band_pass, 0.5);  // white noise has little energy at DC: band-pass, just not oriented
  EXPECT_LT(random.localized, 0.1);
  EXPECT_NEAR(random.mean_spatial_spread, 1.0, 0.15);
  EXPECT_LT(random.mean_orientation_concentration, 0.3);
  // Seeded: the same numbers again, and about the same for another seed.
  const auto again = random_dictionary_summary(8, 256, 1);
  EXPECT_EQ(again.oriented_band_pass, random.oriented_band_pass);
  EXPECT_EQ(again.mean_spatial_spread, random.mean_spatial_spread);
  const auto other = random_dictionary_summary(8, 256, 2);
  EXPECT_NE(other.mean_spatial_spread, random.mean_spatial_spread);
  EXPECT_LT(other.oriented_band_pass, 0.1);
}

TEST(AtomStatistics, GaborBankScoresFarAboveRandom) {
  // 64 Gabor atoms of 8 × 8 at 8 orientations, two frequencies, two phases, jittered centres.
  std::vector<torch::Tensor> cols;
  for (int k = 0; k < 64; ++k) {
    const double theta = 22.5 * (k % 8), f = (k / 8) % 2 ? 0.3 : 0.2, phase = (k / 16) % 2 ? M_PI / 2 : 0.0;
    const double cu = 3.5 + ((k / 32) ? 0.5 : -0.5), cv = 3.5 + ((k % 3) - 1) * 0.5;
    cols.push_back(gabor(8, theta, f, 2.0, cu, cv, phase));
  }
  const auto bank = torch::cat(cols, 1);
  const auto learned = summarize_atoms(bank);
  const auto random = random_dictionary_summary(8, 64, 3);
  EXPECT_GT(learned.oriented_band_pass, 0.9);
  EXPECT_GT(learned.localized, 0.9);
  EXPECT_LT(learned.mean_spatial_spread, random.mean_spatial_spread - 0.4);
  EXPECT_GT(learned.mean_orientation_concentration, random.mean_orientation_concentration + 0.3);
  // float32 atoms give the same statistics (computed in float64).
  const auto f32 = summarize_atoms(bank.to(torch::kFloat));
  EXPECT_NEAR(f32.mean_orientation_concentration, learned.mean_orientation_concentration, 1e-5);
  EXPECT_EQ(f32.oriented_band_pass, learned.oriented_band_pass);
}

TEST(AtomStatistics, FlatAndLowPassAtomsAreNotBandPass) {
  const int64_t p = 8;
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  const auto flat = torch::full({p * p, 1}, 1.0 / p, opts);
  const auto blob = gabor(p, 0, 0.0, 2.5, 3.5, 3.5);  // f = 0: a Gaussian bump, low-pass
  const auto checker = (torch::arange(p, opts).view({p, 1}) + torch::arange(p, opts).view({1, p}))
                           .remainder(2)
                           .mul(2)
                           .sub(1)
                           .reshape({p * p, 1});  // ±1 checkerboard: all energy at Nyquist
  const auto st = atom_statistics(torch::cat({flat, blob, checker}, 1));
  // Flat: no energy once the mean is removed.
  EXPECT_EQ(st.low_frequency_fraction[0].item<double>(), 1.0);
  EXPECT_EQ(st.frequency[0].item<double>(), 0.0);
  EXPECT_EQ(st.orientation_concentration[0].item<double>(), 0.0);
  EXPECT_NEAR(st.spatial_spread[0].item<double>(), 1.0, 1e-12);
  EXPECT_GT(st.low_frequency_fraction[1].item<double>(), 0.5);
  EXPECT_FALSE(st.band_pass.any().item<bool>());
  EXPECT_FALSE(st.oriented[0].item<bool>());
  EXPECT_FALSE(st.localized[0].item<bool>());
}

TEST(AtomStatistics, DeltaAtomIsLocalizedButNotOriented) {
  const int64_t p = 8;
  std::vector<torch::Tensor> cols;
  for (const int64_t pos : {0, 27, 36, 63}) {
    auto d = torch::zeros({p * p, 1}, torch::kDouble);
    d[pos][0] = 1.0;
    cols.push_back(d);
  }
  const auto st = atom_statistics(torch::cat(cols, 1));
  EXPECT_TRUE(torch::allclose(st.spatial_spread, torch::zeros({4}, torch::kDouble), 0, 1e-12));
  EXPECT_TRUE(st.localized.all().item<bool>());
  EXPECT_FALSE(st.oriented.any().item<bool>());
  EXPECT_LT(st.orientation_concentration.max().item<double>(), 0.3);
}

TEST(AtomStatistics, ThresholdsAreOptions) {
  const auto atoms = torch::randn({64, 32}, torch::kDouble);
  const auto loose = atom_statistics(atoms, AtomStatisticsOptions().oriented_threshold(0).localized_threshold(10));
  EXPECT_TRUE(loose.oriented.all().item<bool>());
  EXPECT_TRUE(loose.localized.all().item<bool>());
  const auto strict = atom_statistics(atoms, AtomStatisticsOptions().low_frequency_threshold(-1));
  EXPECT_FALSE(strict.band_pass.any().item<bool>());
  // A wider orientation window holds more energy.
  const auto wide = atom_statistics(atoms, AtomStatisticsOptions().orientation_window(45));
  EXPECT_TRUE((wide.orientation_concentration >= loose.orientation_concentration - 1e-12).all().item<bool>());
  // Statistics do not depend on the atoms' norms or signs.
  const auto scaled = atom_statistics(-3 * atoms);
  const auto base = atom_statistics(atoms);
  EXPECT_TRUE(torch::allclose(scaled.orientation_concentration, base.orientation_concentration, 0, 1e-12));
  EXPECT_TRUE(torch::allclose(scaled.spatial_spread, base.spatial_spread, 0, 1e-12));
}

TEST(AtomStatistics, RejectsBadInput) {
  expect_rejected([] { atom_statistics(torch::randn({64}, torch::kDouble)); }, "[p*p, m]");
  expect_rejected([] { atom_statistics(torch::ones({64, 3}, torch::kLong)); }, "floating");
  expect_rejected([] { atom_statistics(torch::randn({50, 3}, torch::kDouble)); }, "p*p rows");
  expect_rejected([] { atom_statistics(torch::randn({1, 3}, torch::kDouble)); }, "p >= 2");
  expect_rejected([] { atom_statistics(torch::randn({64, 0}, torch::kDouble)); }, "one column");
  auto bad = torch::randn({16, 2}, torch::kDouble);
  bad[3][1] = std::nan("");
  expect_rejected([&] { atom_statistics(bad); }, "finite");
  const auto ok = torch::randn({16, 2}, torch::kDouble);
  expect_rejected([&] { atom_statistics(ok, AtomStatisticsOptions().padding(0)); }, "padding");
  expect_rejected([&] { atom_statistics(ok, AtomStatisticsOptions().orientation_window(90)); }, "orientation_window");
  expect_rejected([] { random_dictionary_summary(1, 10); }, "patch");
  expect_rejected([] { random_dictionary_summary(8, 0); }, "atoms");
}

TEST(AtomStatisticsReport, ComparesWithTheRandomDictionaryOfTheSameShapeAndNamesTheNumbers) {
  // Gabor atoms: oriented and band-pass, unlike Gaussian noise.
  std::vector<torch::Tensor> columns;
  for (int i = 0; i < 12; ++i) columns.push_back(gabor(8, 15.0 * i, 0.25, 2.0, 3.5, 3.5));
  const auto atoms = torch::cat(columns, 1);  // [64, 12]
  const auto comparison = deepsc::dictlearn::compare_with_random(atoms, 7);
  const auto learned = summarize_atoms(atoms), random = random_dictionary_summary(8, 12, 7);
  EXPECT_EQ(comparison.learned.oriented_band_pass, learned.oriented_band_pass);
  EXPECT_EQ(comparison.random.mean_spatial_spread, random.mean_spatial_spread);
  EXPECT_EQ(comparison.random.atoms, 12);
  EXPECT_GT(comparison.learned.oriented_band_pass, comparison.random.oriented_band_pass);

  const auto rows = deepsc::dictlearn::summary_rows(learned);
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(rows.front().first, "oriented_band_pass");
  EXPECT_EQ(rows.front().second, learned.oriented_band_pass);
  EXPECT_EQ(rows.back().first, "mean_spatial_spread");
  EXPECT_EQ(rows.back().second, learned.mean_spatial_spread);

  deepsc::dictlearn::AtomStatisticsSummary s;
  s.oriented_band_pass = 0.62, s.oriented = 0.7, s.band_pass = 0.814, s.localized = 0.55;
  EXPECT_EQ(deepsc::dictlearn::describe(s), "62% oriented and band-pass (oriented 70%, band-pass 81%, localized 55%)");
  expect_rejected([] { deepsc::dictlearn::compare_with_random(torch::rand({10, 3}, torch::kDouble)); }, "");
}
