// Mutual coherence and the recovery bounds of the lecture's section 1 (Zhang 2024).
#include "deepsc/sparse/coherence.h"

#include "support/random_problems.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <string>

namespace {

using deepsc::sparse::check_recovery;
using deepsc::sparse::mutual_coherence;
using deepsc::sparse::recovery_bound;

using deepsc::testing::identity_hadamard;

/// max_{i<j} |d_iᵀ d_j| / (‖d_i‖ ‖d_j‖), the definition spelled out pair by pair.
double brute_force_coherence(const torch::Tensor& d) {
  const auto a = d.to(torch::kDouble).contiguous();
  const auto acc = a.accessor<double, 2>();
  const int64_t n = a.size(0), m = a.size(1);
  std::vector<double> norms(static_cast<size_t>(m));
  for (int64_t j = 0; j < m; ++j) {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += acc[i][j] * acc[i][j];
    norms[static_cast<size_t>(j)] = std::sqrt(s);
  }
  double mu = 0;
  for (int64_t p = 0; p < m; ++p) {
    for (int64_t q = p + 1; q < m; ++q) {
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += acc[i][p] * acc[i][q];
      mu = std::max(mu, std::abs(s) / (norms[static_cast<size_t>(p)] * norms[static_cast<size_t>(q)]));
    }
  }
  return mu;
}

/// Runs `fn`, expecting std::invalid_argument whose message contains `needle`.
template <class Fn>
void expect_invalid(Fn fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected std::invalid_argument mentioning '" << needle << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what();
  }
}

TEST(Coherence, IdentityHadamardIsOneOverSqrtN) {
  for (int64_t n : {2, 4, 16, 64}) {
    const auto d = identity_hadamard(n);
    const double expected = 1 / std::sqrt(static_cast<double>(n));
    EXPECT_NEAR(mutual_coherence(d), expected, 1e-12) << "n = " << n;
    // float32 input is accumulated in float64, so only the input rounding remains.
    EXPECT_NEAR(mutual_coherence(d.to(torch::kFloat)), expected, 1e-6) << "n = " << n;
  }
}

TEST(Coherence, OrthonormalBasisIsZeroAndNegatedDuplicateIsOne) {
  torch::manual_seed(1);
  const auto q = std::get<0>(torch::linalg_qr(torch::randn({8, 8}, torch::kDouble)));
  EXPECT_LT(mutual_coherence(q), 1e-12);
  // −d₃ is a different atom but spans the same line as d₃: maximal coherence.
  const auto with_duplicate = torch::cat({q, -q.narrow(1, 3, 1)}, 1);
  EXPECT_NEAR(mutual_coherence(with_duplicate), 1.0, 1e-12);
  EXPECT_LE(mutual_coherence(with_duplicate), 1.0);
}

TEST(Coherence, MatchesBruteForceOnRandomDictionary) {
  torch::manual_seed(2);
  // Uneven column norms: μ must not depend on them.
  const auto d = torch::randn({12, 200}, torch::kDouble) * (torch::rand({1, 200}, torch::kDouble) * 5 + 0.1);
  const double expected = brute_force_coherence(d);
  EXPECT_NEAR(mutual_coherence(d), expected, 1e-12);
  EXPECT_NEAR(mutual_coherence(d.to(torch::kFloat)), expected, 1e-5);
  EXPECT_NEAR(mutual_coherence(d * torch::randn({1, 200}, torch::kDouble)), expected, 1e-12);
}

TEST(Coherence, MatchesBruteForceAcrossGramBlocks) {
  torch::manual_seed(3);
  // m = 2600 makes the Gram matrix split into more than one block of columns.
  auto d = torch::randn({5, 2600}, torch::kDouble);
  // Plant the most coherent pair in different blocks: atom 2500 almost parallel to atom 7.
  d.select(1, 2500).copy_(-3 * d.select(1, 7) + 1e-3 * torch::randn({5}, torch::kDouble));
  const double expected = brute_force_coherence(d);
  EXPECT_GT(expected, 0.999);
  EXPECT_NEAR(mutual_coherence(d), expected, 1e-12);
}

TEST(Coherence, RecoveryBound) {
  EXPECT_DOUBLE_EQ(recovery_bound(1.0 / 8), 4.5);
  EXPECT_DOUBLE_EQ(recovery_bound(1.0), 1.0);  // μ = 1: not even 1-sparse codes are guaranteed
  EXPECT_DOUBLE_EQ(recovery_bound(0.5), 1.5);
  EXPECT_TRUE(std::isinf(recovery_bound(0.0)));
  expect_invalid([] { recovery_bound(-0.1); }, "[0, 1]");
  expect_invalid([] { recovery_bound(1.5); }, "[0, 1]");
  expect_invalid([] { recovery_bound(std::nan("")); }, "[0, 1]");
}

TEST(Coherence, GuaranteedSupportSizeIsTheLargestSizeStrictlyBelowTheBound) {
  using deepsc::sparse::guaranteed_support_size;
  EXPECT_EQ(guaranteed_support_size(1.0 / 8, 64), 4);  // bound 4.5
  EXPECT_EQ(guaranteed_support_size(1.0 / 7, 64), 3);  // bound exactly 4: 4 is not below it
  EXPECT_EQ(guaranteed_support_size(1.0, 64), 0);      // bound 1
  EXPECT_EQ(guaranteed_support_size(0.0, 64), 64);     // orthonormal atoms: every support
  EXPECT_EQ(guaranteed_support_size(1e-6, 10), 10);    // never more than the atom count
  expect_invalid([] { guaranteed_support_size(0.5, -1); }, "atoms");
}

TEST(Coherence, CheckRecoveryVerdicts) {
  const double mu = 1.0 / 8;  // bound 4.5
  auto codes = torch::zeros({5, 20}, torch::kDouble);
  const auto support = torch::tensor({1, 4, 9, 13}, torch::kLong);
  codes[0].index_put_({support}, torch::tensor({1.0, -1.0, 1.0, 1.0}, torch::kDouble));
  // Same support, dynamic range 1/4: thresholding bound ½(1 + 8·¼) = 1.5.
  codes[1].index_put_({support}, torch::tensor({2.0, -2.0, 2.0, 0.5}, torch::kDouble));
  codes[2].index_put_({torch::tensor({0, 1, 2, 3, 4}, torch::kLong)}, torch::ones({5}, torch::kDouble));  // 5 > 4.5
  // Row 3 stays empty; row 4 has one real entry and two below zero_tol.
  codes[4].index_put_({torch::tensor({0, 5, 6}, torch::kLong)}, torch::tensor({3.0, 1e-9, -1e-9}, torch::kDouble));

  const auto r = check_recovery(codes, mu, /*zero_tol=*/1e-6);
  ASSERT_EQ(r.size(), 5u);
  for (const auto& c : r) EXPECT_DOUBLE_EQ(c.bound, 4.5);

  EXPECT_EQ(r[0].support_size, 4);
  EXPECT_TRUE(r[0].bp_omp_guaranteed);
  EXPECT_DOUBLE_EQ(r[0].threshold_bound, 4.5);
  EXPECT_TRUE(r[0].threshold_guaranteed);

  EXPECT_EQ(r[1].support_size, 4);
  EXPECT_TRUE(r[1].bp_omp_guaranteed);
  EXPECT_DOUBLE_EQ(r[1].threshold_bound, 1.5);
  EXPECT_FALSE(r[1].threshold_guaranteed);

  EXPECT_EQ(r[2].support_size, 5);
  EXPECT_FALSE(r[2].bp_omp_guaranteed);
  EXPECT_FALSE(r[2].threshold_guaranteed);

  EXPECT_EQ(r[3].support_size, 0);
  EXPECT_TRUE(r[3].bp_omp_guaranteed);
  EXPECT_TRUE(r[3].threshold_guaranteed);

  EXPECT_EQ(r[4].support_size, 1);
  EXPECT_DOUBLE_EQ(r[4].threshold_bound, 4.5);
  // With zero_tol = 0 the two tiny entries count and wreck the dynamic range.
  const auto strict = check_recovery(codes[4], mu);
  ASSERT_EQ(strict.size(), 1u);
  EXPECT_EQ(strict[0].support_size, 3);
  EXPECT_TRUE(strict[0].bp_omp_guaranteed);
  EXPECT_FALSE(strict[0].threshold_guaranteed);
}

TEST(Coherence, CheckRecoveryOnCoherenceOfARealDictionary) {
  // k-sparse codes strictly below ½(1 + 1/μ) of [I, H/8] pass; one more atom does not.
  const double mu = mutual_coherence(identity_hadamard(64));
  auto codes = torch::zeros({2, 128}, torch::kFloat);
  codes[0].narrow(0, 0, 4).fill_(1);
  codes[1].narrow(0, 0, 5).fill_(1);
  const auto r = check_recovery(codes, mu);
  EXPECT_TRUE(r[0].bp_omp_guaranteed);
  EXPECT_FALSE(r[1].bp_omp_guaranteed);
}

TEST(Coherence, BadInputsThrow) {
  expect_invalid([] { mutual_coherence(torch::ones({4}, torch::kDouble)); }, "[n, m]");
  expect_invalid([] { mutual_coherence(torch::ones({2, 3, 4}, torch::kDouble)); }, "[2, 3, 4]");
  expect_invalid([] { mutual_coherence(torch::Tensor()); }, "[n, m]");
  expect_invalid([] { mutual_coherence(torch::ones({4, 1}, torch::kDouble)); }, "at least 2 atoms");
  expect_invalid([] { mutual_coherence(torch::ones({4, 3}, torch::kInt)); }, "float");
  expect_invalid(
      [] {
        auto d = torch::randn({4, 6}, torch::kDouble);
        d.select(1, 2).zero_();
        mutual_coherence(d);
      },
      "atom 2");
  expect_invalid(
      [] {
        auto d = torch::randn({4, 6}, torch::kDouble);
        d[1][1] = std::numeric_limits<double>::quiet_NaN();
        mutual_coherence(d);
      },
      "NaN");

  const auto codes = torch::ones({2, 3}, torch::kDouble);
  expect_invalid([&] { check_recovery(codes, 1.5); }, "[0, 1]");
  expect_invalid([&] { check_recovery(codes, 0.5, -1); }, "zero_tol");
  expect_invalid([] { check_recovery(torch::ones({2, 3, 4}), 0.5); }, "[N, m]");
  expect_invalid([] { check_recovery(torch::full({2, 3}, std::nan("")), 0.5); }, "NaN");
}

}  // namespace
