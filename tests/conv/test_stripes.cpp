// Stripes, the ℓ0,∞ pseudo-norm and the convolutional coherence (Papyan, Sulam & Elad 2017; Zhang 2024,
// Definition 3 and Theorem 4), checked against brute force and the explicit global dictionary.
#include "deepsc/conv/conv_matrix.h"
#include "deepsc/conv/stripes.h"
#include "deepsc/sparse/coherence.h"
#include "deepsc/sparse/omp.h"

#include "support/tensors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

using deepsc::conv::ConvDictionary;
using deepsc::conv::ConvOptions;
using deepsc::conv::dense_matrix;
namespace conv = deepsc::conv;
namespace sparse = deepsc::sparse;

namespace {

using deepsc::testing::doubles;
using deepsc::testing::f64;
using deepsc::testing::message_of;

/// Codes [N, M, …] with each entry non-zero with probability `density`, magnitudes in [1, 2].
torch::Tensor random_codes(std::vector<int64_t> shape, double density) {
  auto values = (1 + torch::rand(shape, f64)) * (torch::randint(0, 2, shape, f64) * 2 - 1);
  return values * (torch::rand(shape, f64) < density).to(torch::kDouble);
}

/// ‖γ_i‖₀ by definition: for the patch at signal position (i, j), count the non-zeros of every
/// atom at every code position whose (dilated) atom overlaps the patch. codes [N, M, H', W'].
int64_t brute_force_stripe_count(const torch::Tensor& codes, int64_t n, int64_t i, int64_t j, int64_t span_h,
                                 int64_t span_w, int64_t padding) {
  const auto a = codes.accessor<double, 4>();
  int64_t count = 0;
  for (int64_t m = 0; m < codes.size(1); ++m)
    for (int64_t ch = 0; ch < codes.size(2); ++ch)
      for (int64_t cw = 0; cw < codes.size(3); ++cw) {
        // Code position c covers signal entries c − p … c − p + span − 1.
        const bool overlaps_h = ch - padding <= i + span_h - 1 && ch - padding + span_h - 1 >= i;
        const bool overlaps_w = cw - padding <= j + span_w - 1 && cw - padding + span_w - 1 >= j;
        if (overlaps_h && overlaps_w && a[n][m][ch][cw] != 0) ++count;
      }
  return count;
}

/// Barker code of length 13: aperiodic autocorrelation side lobes of magnitude ≤ 1, so one unit-norm
/// atom has μ = 1/13 against its own shifts and Theorem 4 allows ‖X‖_{0,∞} ≤ 6.
torch::Tensor barker13() {
  return doubles({1, 1, 1, 1, 1, -1, -1, 1, 1, -1, 1, -1, 1}).view({1, 1, 13});
}

}  // namespace

TEST(Stripes, L0InfMatchesBruteForce2d) {
  torch::manual_seed(0);
  int checked = 0;
  for (int64_t dilation : {1, 2})
    for (int64_t padding : {0, 1, 3}) {
      // A non-square kernel: spans differ per dimension.
      ConvDictionary dict(torch::randn({3, 1, 3, 2}, f64), ConvOptions().dilation(dilation).padding(padding));
      const int64_t span_h = dilation * 2 + 1, span_w = dilation + 1;
      const auto codes = random_codes({3, 3, 9, 11}, 0.08);
      const auto map = conv::stripe_nonzeros(codes, dict);
      ASSERT_EQ(map.sizes(), (std::vector<int64_t>{3, 9 - 2 * padding, 11 - 2 * padding}));
      const auto l0_inf = conv::l0_inf_norm(codes, dict);
      for (int64_t n = 0; n < 3; ++n) {
        int64_t worst = 0;
        for (int64_t i = 0; i < map.size(1); ++i)
          for (int64_t j = 0; j < map.size(2); ++j) {
            const int64_t expected = brute_force_stripe_count(codes, n, i, j, span_h, span_w, padding);
            ASSERT_EQ(map[n][i][j].item<int64_t>(), expected) << "d" << dilation << " p" << padding << " at " << i << "," << j;
            worst = std::max(worst, expected);
            ++checked;
          }
        EXPECT_EQ(l0_inf[n].item<int64_t>(), worst);
      }
      // γ_i itself: (2n_h − 1)(2n_w − 1)·M entries, holding exactly the counted non-zeros.
      for (std::vector<int64_t> at : {std::vector<int64_t>{0, 0}, {map.size(1) - 1, map.size(2) - 1}, {map.size(1) / 2, 1}}) {
        const auto gamma = conv::stripe(codes, dict, at);
        ASSERT_EQ(gamma.sizes(), (std::vector<int64_t>{3, 3, 2 * span_h - 1, 2 * span_w - 1}));
        EXPECT_TRUE(torch::equal((gamma != 0).flatten(1).sum(1), map.select(1, at[0]).select(1, at[1])));
      }
    }
  EXPECT_GT(checked, 500);
}

TEST(Stripes, SeedStripeHasLength2nMinus1TimesM1d) {
  torch::manual_seed(1);
  const int64_t n = 5, m = 4;
  ConvDictionary dict(torch::randn({m, 2, n}, f64));
  const auto codes = random_codes({2, m, 30}, 0.1);
  const auto map = conv::stripe_nonzeros(codes, dict);
  ASSERT_EQ(map.sizes(), (std::vector<int64_t>{2, 30}));
  for (int64_t i = 0; i < 30; ++i) {
    const auto gamma = conv::stripe(codes, dict, {i}).flatten(1);
    ASSERT_EQ(gamma.size(1), (2 * n - 1) * m);  // γ_i ∈ R^{(2n−1)m}
    // Code positions i − (n − 1) … i + (n − 1), clipped to the code map.
    const int64_t lo = std::max<int64_t>(0, i - n + 1), hi = std::min<int64_t>(29, i + n - 1);
    const auto direct = (codes.narrow(2, lo, hi - lo + 1) != 0).flatten(1).sum(1);
    EXPECT_TRUE(torch::equal(map.select(1, i), direct)) << i;
    EXPECT_TRUE(torch::equal((gamma != 0).sum(1), direct)) << i;
  }
  EXPECT_TRUE(torch::equal(conv::l0_inf_norm(codes, dict), std::get<0>(map.max(1))));
  // Entries at or below zero_tol do not count.
  EXPECT_EQ(conv::l0_inf_norm(codes * 1e-3, dict, /*zero_tol=*/0.01).sum().item<int64_t>(), 0);
}

TEST(ConvCoherence, EqualsTheCoherenceOfTheGlobalDictionary) {
  torch::manual_seed(2);
  struct Case {
    std::vector<int64_t> weights, signal;
    int64_t stride, dilation;
  };
  const std::vector<Case> cases{{{3, 2, 3, 3}, {1, 2, 9, 9}, 1, 1}, {{3, 2, 3, 3}, {1, 2, 11, 11}, 1, 2},
                                {{2, 1, 4, 4}, {1, 1, 12, 12}, 2, 1}, {{3, 1, 3, 2}, {1, 1, 13, 9}, 2, 2},
                                {{4, 2, 5}, {1, 2, 30}, 1, 1},     {{4, 1, 4}, {1, 1, 31}, 3, 2}};
  for (const auto& c : cases) {
    ConvOptions o;
    o.stride(c.stride).dilation(c.dilation);
    // The output padding conv_transpose needs to give back the signal size (the same for H and W here).
    const int64_t span = c.dilation * (c.weights[2] - 1) + 1, size = c.signal[2];
    o.output_padding((size - span) % c.stride);
    ConvDictionary dict(torch::randn(c.weights, f64), o);
    const double fast = conv::mutual_coherence(dict);
    const double dense = sparse::mutual_coherence(dense_matrix(dict, c.signal));
    EXPECT_NEAR(fast, dense, 1e-12) << "weights " << c.weights[0] << " stride " << c.stride << " dilation " << c.dilation;
    EXPECT_GT(fast, 0);
  }
  // An atom that is a shift of another duplicates global columns: μ = 1.
  ConvDictionary shifted(doubles({1, 2, 0, 0, 1, 2}).view({2, 1, 3}));
  EXPECT_DOUBLE_EQ(conv::mutual_coherence(shifted), 1.0);
  ConvDictionary barker(barker13());
  EXPECT_NEAR(conv::mutual_coherence(barker), 1.0 / 13, 1e-15);
  EXPECT_NEAR(sparse::mutual_coherence(dense_matrix(barker, {1, 1, 40})), 1.0 / 13, 1e-15);
  // Atoms that never overlap (stride ≥ span, one atom): orthogonal columns.
  EXPECT_EQ(conv::mutual_coherence(ConvDictionary(torch::randn({1, 1, 3}, f64), ConvOptions().stride(3))), 0.0);
}

TEST(ConvCoherence, OmpRecoversCodesUnderTheL0InfBound) {
  // Theorem 4 on a 1-D dictionary: codes with ‖X‖_{0,∞} < ½(1 + 1/μ) = 7 are recovered exactly by
  // OMP on the global dictionary, even when ‖X‖₀ ≥ 7 exceeds the classical (global) bound.
  torch::manual_seed(3);
  ConvDictionary dict(barker13(), {}, /*normalize=*/true);
  const double bound = sparse::recovery_bound(conv::mutual_coherence(dict));
  EXPECT_NEAR(bound, 7, 1e-12);
  const std::vector<int64_t> signal_shape{1, 1, 100};
  auto codes = random_codes({300, 1, 88}, 0.12);
  const auto ok = conv::satisfies_l0inf_condition(codes, dict);
  EXPECT_TRUE(torch::equal(ok, conv::l0_inf_norm(codes, dict) <= 6));
  codes = codes.index({ok});
  ASSERT_GE(codes.size(0), 20);
  const auto total = (codes != 0).flatten(1).sum(1);
  EXPECT_GT((total >= 7).sum().item<int64_t>(), 10) << "too few codes beyond the global bound to prove anything";

  sparse::DenseDictionary global(dense_matrix(dict, signal_shape));  // [100, 88], unit-norm columns
  const auto x = codes.flatten(1);                                     // [N, 88]
  const auto y = dict.apply(codes).flatten(1);                         // [N, 100]
  EXPECT_TRUE(torch::allclose(y, global.apply(x), 1e-12, 1e-12));
  const auto r = sparse::omp(global, y, sparse::OmpOptions().epsilon(1e-9));
  EXPECT_TRUE(r.converged);
  EXPECT_TRUE(torch::equal(r.codes != 0, x != 0)) << "support not recovered";
  EXPECT_TRUE(torch::allclose(r.codes, x, 1e-9, 1e-9));
}

TEST(ConvCoherence, L0InfConditionFollowsTheBound) {
  torch::manual_seed(4);
  ConvDictionary dict(torch::randn({2, 1, 4}, f64), {}, /*normalize=*/true);
  const double bound = sparse::recovery_bound(conv::mutual_coherence(dict));
  const auto codes = random_codes({50, 2, 20}, 0.1);
  const auto l0_inf = conv::l0_inf_norm(codes, dict);
  EXPECT_TRUE(torch::equal(conv::satisfies_l0inf_condition(codes, dict), l0_inf.to(torch::kDouble) < bound));
  EXPECT_TRUE(conv::satisfies_l0inf_condition(torch::zeros({1, 2, 20}, f64), dict).item<bool>());
}

TEST(Stripes, BadArgumentsGiveClearErrors) {
  ConvDictionary dict(torch::randn({3, 1, 3, 3}, f64));
  const auto codes = torch::zeros({2, 3, 8, 8}, f64);
  EXPECT_NE(message_of([&] { conv::l0_inf_norm(torch::zeros({2, 3, 8}, f64), dict); }).find("[N, M, H', W']"), std::string::npos);
  EXPECT_NE(message_of([&] { conv::l0_inf_norm(torch::zeros({2, 4, 8, 8}, f64), dict); }).find("M = 3"), std::string::npos);
  EXPECT_NE(message_of([&] { conv::l0_inf_norm(torch::zeros({2, 3, 8, 8}, torch::kLong), dict); }).find("float32 or float64"),
            std::string::npos);
  EXPECT_NE(message_of([&] { conv::l0_inf_norm(torch::full({1, 3, 8, 8}, NAN, f64), dict); }).find("NaN"), std::string::npos);
  EXPECT_NE(message_of([&] { conv::l0_inf_norm(codes, dict, -1); }).find("zero_tol"), std::string::npos);
  ConvDictionary strided(torch::randn({3, 1, 3, 3}, f64), ConvOptions().stride(2));
  EXPECT_NE(message_of([&] { conv::l0_inf_norm(codes, strided); }).find("stride 1"), std::string::npos);
  ConvDictionary padded(torch::randn({3, 1, 3, 3}, f64), ConvOptions().padding(4));
  EXPECT_NE(message_of([&] { conv::l0_inf_norm(codes, padded); }).find("no patch"), std::string::npos);
  EXPECT_NE(message_of([&] { conv::mutual_coherence(padded); }).find("padding 0"), std::string::npos);
  EXPECT_NE(message_of([&] { conv::satisfies_l0inf_condition(torch::zeros({1, 3, 10, 10}, f64), padded); }).find("padding 0"),
            std::string::npos);
  EXPECT_NE(message_of([&] { conv::stripe(codes, dict, {8, 0}); }).find("outside"), std::string::npos);
  EXPECT_NE(message_of([&] { conv::stripe(codes, dict, {0}); }).find("2 coordinates"), std::string::npos);
  EXPECT_NE(message_of([&] { conv::mutual_coherence(ConvDictionary(torch::zeros({2, 1, 3}, f64))); }).find("zero atom"),
            std::string::npos);
}
