#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/lasso.h"
#include "deepsc/sparse/proximal_gradient.h"

#include "support/lasso_checks.h"
#include "support/random_problems.h"

#include <gtest/gtest.h>

using namespace deepsc::sparse;
using deepsc::testing::lasso_problem;
using deepsc::testing::kkt_violation;

class LassoKkt : public ::testing::TestWithParam<std::tuple<torch::Dtype, bool>> {};

TEST_P(LassoKkt, FistaSolutionSatisfiesKkt) {
  auto [dtype, nonneg] = GetParam();
  torch::manual_seed(10);
  auto p = lasso_problem(32, 96, 40, dtype);
  DenseDictionary dict(p.d);
  const double lambda = 0.2;
  const double tol = dtype == torch::kDouble ? 1e-12 : 1e-6;
  auto res = fista(dict, p.y, ProximalGradientOptions(lambda).tol(tol).max_iter(20000).nonneg(nonneg));
  EXPECT_TRUE(res.converged);
  if (nonneg) {
    EXPECT_TRUE((res.codes >= 0).all().item<bool>());
  }
  // float32 cannot resolve the support boundary to better than its rounding: allow 1e-3·λ there.
  EXPECT_LT(kkt_violation(p.d, p.y, res.codes, lambda, nonneg), dtype == torch::kDouble ? 1e-8 : 1e-3);
  // The duality gap certifies optimality too.
  auto terms = lasso_terms(dict, p.y, res.codes, lambda, nonneg);
  EXPECT_LT((terms.gap / terms.objective).max().item<double>(), dtype == torch::kDouble ? 1e-10 : 1e-4);
}

INSTANTIATE_TEST_SUITE_P(DtypesAndSigns, LassoKkt,
                         ::testing::Combine(::testing::Values(torch::kFloat, torch::kDouble), ::testing::Bool()));

TEST(Ista, ObjectiveIsMonotone) {
  torch::manual_seed(11);
  auto p = lasso_problem(20, 60, 10, torch::kDouble);
  DenseDictionary dict(p.d);
  auto res = ista(dict, p.y, ProximalGradientOptions(0.1).max_iter(300).tol(0).record_history(true));
  ASSERT_EQ(res.history.size(), 300u);
  for (size_t i = 1; i < res.history.size(); ++i) EXPECT_LE(res.history[i], res.history[i - 1] * (1 + 1e-14)) << i;
  EXPECT_LT(res.history.back(), res.history.front());
}

TEST(ProximalGradient, IstaAndFistaAgreeAcrossALambdaPath) {
  torch::manual_seed(12);
  auto p = lasso_problem(24, 64, 16, torch::kDouble);
  DenseDictionary dict(p.d);
  const double lambda_max = lasso_lambda_max(dict, p.y, false).max().item<double>();
  for (double frac : {0.9, 0.5, 0.2, 0.05, 0.01}) {
    const double lambda = frac * lambda_max;
    auto opts = ProximalGradientOptions(lambda).tol(1e-11).max_iter(200000).stop_rule(StopRule::DualityGap);
    auto a = ista(dict, p.y, opts), b = fista(dict, p.y, opts);
    EXPECT_TRUE(a.converged && b.converged) << frac;
    EXPECT_NEAR(a.objective, b.objective, 1e-9 * a.objective) << frac;
    EXPECT_LT((a.codes - b.codes).abs().max().item<double>(), 1e-4) << frac;
    EXPECT_LT(b.iterations, a.iterations) << "FISTA should need fewer iterations at λ/λmax = " << frac;
  }
  // Above λ_max the solution is exactly zero.
  auto zero = fista(dict, p.y, ProximalGradientOptions(1.01 * lambda_max));
  EXPECT_EQ(zero.codes.abs().max().item<double>(), 0.0);
}

TEST(ProximalGradient, FusedKernelEqualsGenericPath) {
  torch::manual_seed(13);
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    for (bool nonneg : {false, true}) {
      auto p = lasso_problem(16, 48, 12, dtype);
      DenseDictionary dict(p.d);
      auto opts = ProximalGradientOptions(0.1).max_iter(50).tol(0).nonneg(nonneg);
      auto fused = fista(dict, p.y, opts);
      auto generic = fista(dict, p.y, ProximalGradientOptions(opts).fused(false));
      EXPECT_EQ(fused.iterations, generic.iterations);
      const double tol = dtype == torch::kDouble ? 1e-12 : 1e-5;
      EXPECT_TRUE(torch::allclose(fused.codes, generic.codes, tol, tol));
      auto ifused = ista(dict, p.y, opts), igeneric = ista(dict, p.y, ProximalGradientOptions(opts).fused(false));
      EXPECT_TRUE(torch::allclose(ifused.codes, igeneric.codes, tol, tol));
    }
  }
}

TEST(ProximalGradient, WarmStartFromTheSolutionStopsAtOnce) {
  torch::manual_seed(14);
  auto p = lasso_problem(16, 48, 8, torch::kDouble);
  DenseDictionary dict(p.d);
  auto opts = ProximalGradientOptions(0.1).tol(1e-10).max_iter(50000);
  auto cold = fista(dict, p.y, opts);
  auto warm = fista(dict, p.y, ProximalGradientOptions(opts).warm_start(cold.codes));
  EXPECT_TRUE(warm.converged);
  EXPECT_LE(warm.iterations, 3);
  EXPECT_NEAR(warm.objective, cold.objective, 1e-10 * cold.objective);
  EXPECT_THROW(fista(dict, p.y, ProximalGradientOptions(opts).warm_start(torch::zeros({8, 47}, torch::kDouble))),
               std::invalid_argument);
}

TEST(ProximalGradient, RestartAndPlainFistaReachTheSameMinimum) {
  torch::manual_seed(15);
  auto p = lasso_problem(24, 72, 10, torch::kDouble);
  DenseDictionary dict(p.d);
  auto opts = ProximalGradientOptions(0.05).tol(1e-12).max_iter(100000).stop_rule(StopRule::DualityGap);
  auto with = fista(dict, p.y, opts);
  auto without = fista(dict, p.y, ProximalGradientOptions(opts).adaptive_restart(false));
  EXPECT_NEAR(with.objective, without.objective, 1e-10 * with.objective);
}

TEST(ProximalGradient, EachSignalIsItsOwnProblem) {
  torch::manual_seed(16);
  auto p = lasso_problem(16, 40, 6, torch::kDouble);
  DenseDictionary dict(p.d);
  auto opts = ProximalGradientOptions(0.1).tol(1e-12).max_iter(100000).stop_rule(StopRule::DualityGap);
  auto batch = fista(dict, p.y, opts);
  for (int64_t i = 0; i < 6; ++i) {
    auto single = fista(dict, p.y.narrow(0, i, 1), opts);
    EXPECT_LT((single.codes[0] - batch.codes[i]).abs().max().item<double>(), 1e-6) << i;
  }
}

TEST(ProximalGradient, BadOptionsAreRejected) {
  DenseDictionary dict(torch::randn({4, 8}));
  auto y = torch::randn({2, 4});
  EXPECT_THROW(fista(dict, y, ProximalGradientOptions(-1)), std::invalid_argument);
  EXPECT_THROW(fista(dict, y, ProximalGradientOptions(0.1).max_iter(0)), std::invalid_argument);
  EXPECT_THROW(fista(dict, y, ProximalGradientOptions(0.1).step_scale(2.5)), std::invalid_argument);
  EXPECT_THROW(fista(dict, y.to(torch::kDouble), ProximalGradientOptions(0.1)), std::invalid_argument);
  EXPECT_THROW(ista(dict, torch::randn({2, 5}), ProximalGradientOptions(0.1)), std::invalid_argument);
  EXPECT_THROW(parse_stop_rule("never"), std::invalid_argument);
}

TEST(ProximalGradient, EmptyBatchAndZeroDictionary) {
  DenseDictionary dict(torch::randn({4, 8}));
  auto empty = fista(dict, torch::zeros({0, 4}), ProximalGradientOptions(0.1));
  EXPECT_EQ(empty.codes.sizes(), (std::vector<int64_t>{0, 8}));
  DenseDictionary zero(torch::zeros({4, 8}));
  auto res = ista(zero, torch::ones({3, 4}), ProximalGradientOptions(0.1));
  EXPECT_EQ(res.codes.abs().sum().item<double>(), 0.0);
  EXPECT_NEAR(res.objective, 2.0, 1e-6);
}
