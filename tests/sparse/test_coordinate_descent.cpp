#include "deepsc/sparse/coordinate_descent.h"
#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/lasso.h"
#include "deepsc/sparse/proximal_gradient.h"

#include "support/lasso_checks.h"
#include "support/random_problems.h"

#include <gtest/gtest.h>

using namespace deepsc::sparse;
using deepsc::testing::kkt_violation;
using deepsc::testing::lasso_problem;

class CoordinateDescentKkt : public ::testing::TestWithParam<std::tuple<torch::Dtype, bool, StopRule>> {};

TEST_P(CoordinateDescentKkt, SolutionSatisfiesKkt) {
  auto [dtype, nonneg, rule] = GetParam();
  torch::manual_seed(40);
  auto p = lasso_problem(32, 96, 300, dtype);  // enough rows for every thread to get a share
  DenseDictionary dict(p.d);
  const double lambda = 0.2;
  // In float32 the gap itself is known to ~1e-6 (it scales the dual point by ‖g‖∞, g in float32).
  const double tol = dtype == torch::kDouble ? 1e-12 : 1e-5;
  auto res = coordinate_descent(dict, p.y, CoordinateDescentOptions(lambda).tol(tol).max_iter(100000).nonneg(nonneg).stop_rule(rule));
  EXPECT_TRUE(res.converged);
  if (nonneg) {
    EXPECT_TRUE((res.codes >= 0).all().item<bool>());
  }
  // float32 resolves the support boundary only to its rounding: 1e-3·λ, as for FISTA.
  EXPECT_LT(kkt_violation(p.d, p.y, res.codes, lambda, nonneg), dtype == torch::kDouble ? 1e-8 : 1e-3);
  auto terms = lasso_terms(dict, p.y, res.codes, lambda, nonneg);
  EXPECT_LT((terms.gap / terms.objective).max().item<double>(), dtype == torch::kDouble ? 1e-10 : 1e-4);
  // The objective the kernel reports is the mean of F over the batch.
  EXPECT_NEAR(res.objective, terms.objective.mean().item<double>(), 1e-5 * res.objective);
}

INSTANTIATE_TEST_SUITE_P(DtypesSignsAndRules, CoordinateDescentKkt,
                         ::testing::Combine(::testing::Values(torch::kFloat, torch::kDouble), ::testing::Bool(),
                                            ::testing::Values(StopRule::DualityGap, StopRule::RelativeChange)));

TEST(CoordinateDescent, AgreesWithFistaAcrossALambdaPath) {
  torch::manual_seed(41);
  auto p = lasso_problem(24, 64, 16, torch::kDouble);
  DenseDictionary dict(p.d);
  const double lambda_max = lasso_lambda_max(dict, p.y, false).max().item<double>();
  for (double frac : {0.9, 0.5, 0.2, 0.05, 0.01}) {
    const double lambda = frac * lambda_max;
    auto cd = coordinate_descent(dict, p.y, CoordinateDescentOptions(lambda).tol(1e-12).max_iter(100000));
    auto fi = fista(dict, p.y, ProximalGradientOptions(lambda).tol(1e-12).max_iter(200000).stop_rule(StopRule::DualityGap));
    EXPECT_TRUE(cd.converged && fi.converged) << frac;
    EXPECT_NEAR(cd.objective, fi.objective, 1e-10 * fi.objective) << frac;
    EXPECT_LT((cd.codes - fi.codes).abs().max().item<double>(), 1e-4) << frac;
  }
  // Above λ_max the solution is exactly zero, found in one sweep.
  auto zero = coordinate_descent(dict, p.y, CoordinateDescentOptions(1.01 * lambda_max));
  EXPECT_EQ(zero.codes.abs().max().item<double>(), 0.0);
  EXPECT_EQ(zero.iterations, 1);
}

TEST(CoordinateDescent, WarmStartFromTheSolutionStopsAtOnce) {
  torch::manual_seed(42);
  auto p = lasso_problem(16, 48, 8, torch::kDouble);
  DenseDictionary dict(p.d);
  auto opts = CoordinateDescentOptions(0.1).tol(1e-11).max_iter(10000);
  auto cold = coordinate_descent(dict, p.y, opts);
  auto warm = coordinate_descent(dict, p.y, CoordinateDescentOptions(opts).warm_start(cold.codes));
  EXPECT_TRUE(warm.converged);
  EXPECT_EQ(warm.iterations, 1);
  EXPECT_NEAR(warm.objective, cold.objective, 1e-12 * cold.objective);
  // A warm start far from the solution still ends at it.
  auto far = coordinate_descent(dict, p.y, CoordinateDescentOptions(opts).warm_start(torch::randn({8, 48}, torch::kDouble)));
  EXPECT_NEAR(far.objective, cold.objective, 1e-9 * cold.objective);
  EXPECT_THROW(coordinate_descent(dict, p.y, CoordinateDescentOptions(opts).warm_start(torch::zeros({8, 47}, torch::kDouble))),
               std::invalid_argument);
}

TEST(CoordinateDescent, EachSignalIsItsOwnProblem) {
  torch::manual_seed(43);
  auto p = lasso_problem(16, 40, 64, torch::kDouble);
  DenseDictionary dict(p.d);
  auto opts = CoordinateDescentOptions(0.1).tol(1e-12);
  auto batch = coordinate_descent(dict, p.y, opts);
  for (int64_t i : {0, 17, 63}) {
    auto single = coordinate_descent(dict, p.y.narrow(0, i, 1), opts);
    // Same arithmetic in the same order, whichever thread ran the row.
    EXPECT_TRUE(torch::equal(single.codes[0], batch.codes[i])) << i;
  }
}

TEST(CoordinateDescent, ZeroAtomGetsAZeroCode) {
  torch::manual_seed(44);
  auto p = lasso_problem(16, 40, 10, torch::kDouble);
  auto d = p.d.clone();
  d.select(1, 7).zero_();
  DenseDictionary dict(d);
  auto start = torch::ones({10, 40}, torch::kDouble);
  auto res = coordinate_descent(dict, p.y, CoordinateDescentOptions(0.1).tol(1e-12).max_iter(100000).warm_start(start));
  EXPECT_TRUE(res.converged);
  EXPECT_EQ(res.codes.select(1, 7).abs().max().item<double>(), 0.0);
  EXPECT_LT(kkt_violation(d, p.y, res.codes, 0.1, false), 1e-8);
}

TEST(CoordinateDescent, BadInputsAreRejected) {
  DenseDictionary dict(torch::randn({4, 8}));
  auto y = torch::randn({2, 4});
  EXPECT_THROW(coordinate_descent(dict, y, CoordinateDescentOptions(-1)), std::invalid_argument);
  EXPECT_THROW(coordinate_descent(dict, y, CoordinateDescentOptions(0.1).max_iter(0)), std::invalid_argument);
  EXPECT_THROW(coordinate_descent(dict, y, CoordinateDescentOptions(0.1).tol(-1)), std::invalid_argument);
  EXPECT_THROW(coordinate_descent(dict, y.to(torch::kDouble), CoordinateDescentOptions(0.1)), std::invalid_argument);
  EXPECT_THROW(coordinate_descent(dict, torch::randn({2, 5}), CoordinateDescentOptions(0.1)), std::invalid_argument);
  DenseDictionary half(torch::randn({4, 8}).to(torch::kBFloat16));
  EXPECT_THROW(coordinate_descent(half, y.to(torch::kBFloat16), CoordinateDescentOptions(0.1)), std::invalid_argument);
  auto empty = coordinate_descent(dict, torch::zeros({0, 4}), CoordinateDescentOptions(0.1));
  EXPECT_EQ(empty.codes.sizes(), (std::vector<int64_t>{0, 8}));
  EXPECT_TRUE(empty.converged);
}

/// Rows whose codes are dense: Gaussian signals over D [64, 256] at λ = 0.1 have ~60 atoms in 64
/// dimensions, an ill-conditioned G_SS, and supports that coordinate descent alone kept at n + 1
/// atoms for thousands of sweeps (the hard rows of natural-image patches are of this kind). The
/// default options (relative change 1e-6, 1,000 sweeps) must end every row at the lasso solution
/// through the Newton and null-space steps.
class CoordinateDescentDenseCodes : public ::testing::TestWithParam<std::tuple<torch::Dtype, bool, StopRule>> {};

TEST_P(CoordinateDescentDenseCodes, NewtonStepEndsHardRowsAtTheSolution) {
  auto [dtype, nonneg, rule] = GetParam();
  torch::manual_seed(45);
  auto d = deepsc::testing::gaussian_dictionary(64, 256, torch::kDouble);
  auto y = torch::randn({48, 64}, torch::kDouble);
  const double lambda = 0.1;
  DenseDictionary dict(d.to(dtype));
  // In float32 the gap itself is known to ~1e-6 (as in SolutionSatisfiesKkt).
  const double tol = rule == StopRule::DualityGap ? (dtype == torch::kDouble ? 1e-12 : 1e-5) : 1e-6;
  auto cd = coordinate_descent(dict, y.to(dtype), CoordinateDescentOptions(lambda).stop_rule(rule).tol(tol).nonneg(nonneg));
  EXPECT_TRUE(cd.converged);
  EXPECT_LT(cd.iterations, 1000);
  const auto nonzeros = (cd.codes != 0).sum(1).to(torch::kDouble);
  // Dense codes (the non-negative ones hold about half as many atoms), never more than n atoms.
  EXPECT_GT(nonzeros.mean().item<double>(), nonneg ? 25 : 55);
  EXPECT_LE(nonzeros.max().item<double>(), 64);
  if (nonneg) {
    EXPECT_TRUE((cd.codes >= 0).all().item<bool>());
  }
  // KKT in float64 on the codes: exact up to the rounding of G (float32: ~1e-7 relative, times
  // the condition of G_SS).
  EXPECT_LT(kkt_violation(d, y, cd.codes, lambda, nonneg), dtype == torch::kDouble ? 1e-9 : 1e-3);
  // FISTA in float64 to a duality gap of 1e-12 reaches the same objective.
  DenseDictionary dict64(d);
  auto fi = fista(dict64, y, ProximalGradientOptions(lambda).tol(1e-12).max_iter(400000).nonneg(nonneg).stop_rule(StopRule::DualityGap));
  ASSERT_TRUE(fi.converged);
  const double f_cd = lasso_terms(dict64, y, cd.codes.to(torch::kDouble), lambda, nonneg).objective.mean().item<double>();
  EXPECT_NEAR(f_cd, fi.objective, (dtype == torch::kDouble ? 1e-12 : 1e-6) * fi.objective);
  if (dtype == torch::kDouble) {
    EXPECT_LT((cd.codes - fi.codes).abs().max().item<double>(), 1e-4);
  }
}

INSTANTIATE_TEST_SUITE_P(DtypesSignsAndRules, CoordinateDescentDenseCodes,
                         ::testing::Combine(::testing::Values(torch::kFloat, torch::kDouble), ::testing::Bool(),
                                            ::testing::Values(StopRule::DualityGap, StopRule::RelativeChange)));
