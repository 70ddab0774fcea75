// ML-ISTA / ML-FISTA (Sulam, Aberdam, Beck & Elad 2020; mlcsc/pursuits.h): with one layer they are
// ISTA and FISTA iterate for iterate (the no-grad solver and the unrolled pursuit); the ML-lasso
// objective is its formula; on three layers ML-FISTA reaches the reference objective in fewer
// iterations than ML-ISTA and both decrease it; with λ = 0 they are gradient descent / FISTA on
// D₁D₂D₃ and the deepest code reproduces a consistent signal. (Their gradients are checked with
// the other pursuits' in test_pursuits.cpp.)
#include "deepsc/mlcsc/pursuits.h"
#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/lasso.h"
#include "deepsc/sparse/proximal_gradient.h"

#include "support/random_problems.h"
#include "support/tensors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

// A named namespace per test file: the tests compile as one unity translation unit.
namespace deepsc::mlcsc::ml_ista_tests {

using deepsc::testing::f64;
using deepsc::testing::message_of;
using sparse::UnrolledPursuitOptions;
using sparse::UnrolledSolver;

double largest_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

/// One-layer models (dense, and 2-D convolutional with padding 1) with signals for them.
std::vector<std::pair<MlcscModel, torch::Tensor>> one_layer_models() {
  torch::manual_seed(31);
  return {{dense_model({torch::randn({12, 20}, f64)}, true), torch::randn({4, 12}, f64)},
          {conv_model({torch::randn({5, 2, 3, 3}, f64)}, {conv::ConvOptions().padding(1)}, true),
           torch::randn({2, 2, 8, 8}, f64)}};
}

/// The first iteration (1-based) from which the history stays within rel·|target| of target.
size_t settles_at(const std::vector<double>& history, double target, double rel) {
  size_t last_outside = 0;
  for (size_t k = 0; k < history.size(); ++k) {
    if (std::abs(history[k] - target) > rel * std::abs(target)) last_outside = k + 1;
  }
  return last_outside + 1;
}

TEST(MlIsta, OneLayerIsIstaIterateForIterate) {
  const double lambda = 0.1;
  for (const auto& [model, y] : one_layer_models()) {
    const auto& op = model.layer(0);
    const double eta = 1.0 / op.lipschitz(y.sizes());
    for (bool nonneg : {false, true}) {
      for (int64_t k : {1, 2, 7, 40}) {
        const auto ml = ml_ista(model, y, {lambda}, MlIstaOptions().max_iter(k).tol(0).nonneg(nonneg).record_history(true));
        const auto ista = sparse::ista(
            op, y, sparse::ProximalGradientOptions(lambda).max_iter(k).tol(0).nonneg(nonneg).record_history(true));
        const auto unrolled = sparse::unrolled_pursuit(
            op, y, lambda, UnrolledPursuitOptions(eta).iterations(k).solver(UnrolledSolver::Ista).nonneg(nonneg));
        ASSERT_EQ(ml.layers.codes.size(), 1u);
        EXPECT_EQ(ml.layers.iterations, std::vector<int64_t>{k});
        EXPECT_LT(largest_abs(ml.layers.codes[0] - ista.codes), 1e-12) << "k " << k << " nonneg " << nonneg;
        EXPECT_LT(largest_abs(ml.layers.codes[0] - unrolled), 1e-12) << "k " << k << " nonneg " << nonneg;
        // With one layer the ML-lasso is the lasso: the same objective after every iteration.
        ASSERT_EQ(ml.history.size(), static_cast<size_t>(k));
        ASSERT_EQ(ista.history.size(), static_cast<size_t>(ista.iterations));
        for (size_t j = 0; j < ista.history.size(); ++j) {
          EXPECT_NEAR(ml.history[j], ista.history[j], 1e-12 * ista.history[j]) << "iteration " << j + 1;
        }
      }
    }
  }
}

TEST(MlIsta, OneLayerMlFistaIsTheUnrolledFista) {
  const double lambda = 0.1;
  for (const auto& [model, y] : one_layer_models()) {
    const double eta = 1.0 / model.layer(0).lipschitz(y.sizes());
    for (bool nonneg : {false, true}) {
      for (int64_t k : {1, 2, 3, 10, 60}) {
        const auto ml = ml_ista(model, y, {lambda}, MlIstaOptions().max_iter(k).tol(0).nonneg(nonneg).fista(true));
        const auto unrolled = sparse::unrolled_pursuit(
            model.layer(0), y, lambda, UnrolledPursuitOptions(eta).iterations(k).solver(UnrolledSolver::Fista).nonneg(nonneg));
        EXPECT_LT(largest_abs(ml.layers.codes[0] - unrolled), 1e-12) << "k " << k << " nonneg " << nonneg;
      }
    }
  }
}

TEST(MlIsta, MlLassoObjectiveIsItsFormula) {
  torch::manual_seed(32);
  const auto d1 = torch::randn({6, 8}, f64), d2 = torch::randn({8, 10}, f64), d3 = torch::randn({10, 12}, f64);
  const auto model = dense_model({d1, d2, d3});
  const auto y = torch::randn({3, 6}, f64), gamma = torch::randn({3, 12}, f64);
  const std::vector<double> lambdas{0.3, 0.2, 0.1};
  // ½‖Y − D₁D₂D₃Γ‖² + λ₁‖D₂D₃Γ‖₁ + λ₂‖D₃Γ‖₁ + λ₃‖Γ‖₁, one signal per row.
  const auto by_hand = 0.5 * (y - gamma.mm(d1.mm(d2).mm(d3).t())).square().sum(1) +
                       0.3 * gamma.mm(d2.mm(d3).t()).abs().sum(1) + 0.2 * gamma.mm(d3.t()).abs().sum(1) +
                       0.1 * gamma.abs().sum(1);
  const auto objective = ml_lasso_objective(model, y, gamma, lambdas);
  ASSERT_EQ(objective.sizes(), (c10::IntArrayRef{3}));
  EXPECT_LT(largest_abs(objective - by_hand), 1e-12 * largest_abs(by_hand));
  // One convolutional layer: the lasso objective.
  const auto models = one_layer_models();
  const auto& [single, signals] = models[1];
  const auto codes = torch::randn(single.shapes(signals.sizes()).back(), f64);
  const auto lasso = sparse::lasso_objective(single.layer(0), signals, codes, 0.2);
  EXPECT_LT(largest_abs(ml_lasso_objective(single, signals, codes, {0.2}) - lasso), 1e-12 * largest_abs(lasso));
  EXPECT_EQ(message_of([&] { ml_lasso_objective(model, y, torch::randn({3, 11}, f64), lambdas); }),
            "deepest code must be [3, 12] for signals [3, 6], got [3, 11]");
  EXPECT_EQ(message_of([&] { ml_lasso_objective(model, torch::randn({2, 6}, f64), gamma, lambdas); }),
            "deepest code must be [2, 12] for signals [2, 6], got [3, 12]");
}

TEST(MlIsta, MlFistaReachesTheReferenceObjectiveSoonerAndBothDecreaseIt) {
  torch::manual_seed(33);
  auto model = dense_model({torch::randn({20, 30}, f64), torch::randn({30, 40}, f64), torch::randn({40, 50}, f64)}, true);
  const auto truth = deepsc::testing::random_sparse_codes(4, 50, 3);
  const auto y = model.synthesize(truth).front() + 0.05 * torch::randn({4, 20}, f64);
  const std::vector<double> lambdas{0.05, 0.03, 0.02};
  torch::NoGradGuard no_grad;
  // The reference: a long ML-FISTA run, within 1e-6 of its final value for its last 2,000 iterations.
  const auto reference = ml_ista(model, y, lambdas, MlIstaOptions().fista(true).max_iter(4000).tol(0).record_history(true));
  const double target = reference.history.back();
  ASSERT_LT(settles_at(reference.history, target, 1e-6), 2000u);
  const auto options = MlIstaOptions().max_iter(2500).tol(0).record_history(true);
  const auto ista = ml_ista(model, y, lambdas, options);
  const auto fista = ml_ista(model, y, lambdas, MlIstaOptions(options).max_iter(1000).fista(true));
  const size_t ista_at = settles_at(ista.history, target, 1e-4), fista_at = settles_at(fista.history, target, 1e-4);
  RecordProperty("ml_ista_iterations", static_cast<int>(ista_at));
  RecordProperty("ml_fista_iterations", static_cast<int>(fista_at));
  EXPECT_LE(ista_at, ista.history.size()) << "ML-ISTA never settled within 1e-4 of " << target;
  EXPECT_LT(fista_at, ista_at) << "ML-FISTA " << fista_at << " vs ML-ISTA " << ista_at;
  // Both decrease the objective from Γ = 0, where it is ½‖Y‖².
  const double start = (0.5 * y.square().sum(1)).mean().item<double>();
  EXPECT_LT(ista.history.back(), 0.5 * start);
  EXPECT_LT(fista.history.back(), 0.5 * start);
  EXPECT_LT(*std::max_element(ista.history.begin(), ista.history.end()), start);
  // The returned codes are the final deepest code and its projections.
  const auto levels = model.synthesize(fista.layers.codes.back());
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(torch::equal(fista.layers.codes[i], levels[i + 1]));
}

TEST(MlIsta, WithZeroLambdaItIsGradientDescentAndReproducesAConsistentSignal) {
  // λ = 0: one iteration telescopes to Γ ← Γ + ρDᵀ(Y − DΓ), D = D₁D₂D₃, ρ = ρ₁ρ₂ρ₃ ≤ 1/‖D‖²
  // (ML-FISTA: FISTA on D). For Y = DΓ* with D of full row rank the residual contracts,
  // Y − DΓ^k = (I − ρDDᵀ)^k Y, so ‖Y − DΓ^k‖ ≤ (1 − ρσ_min(D)²)^k ‖Y‖.
  torch::manual_seed(34);
  auto model = dense_model({torch::randn({10, 20}, f64), torch::randn({20, 40}, f64), torch::randn({40, 80}, f64)}, true);
  const auto y = model.synthesize(torch::randn({3, 80}, f64)).front();
  const auto lipschitz = model.lipschitz(y.sizes());
  const double rho = 1 / (lipschitz[0] * lipschitz[1] * lipschitz[2]);
  const auto product = sparse::DenseDictionary(
      model.dense_layer(0)->matrix().mm(model.dense_layer(1)->matrix()).mm(model.dense_layer(2)->matrix()));
  torch::NoGradGuard no_grad;
  for (bool fista : {false, true}) {
    for (int64_t k : {1, 5, 30}) {
      const auto ml = ml_ista(model, y, {0, 0, 0}, MlIstaOptions().fista(fista).max_iter(k).tol(0));
      const auto direct = sparse::unrolled_pursuit(
          product, y, 0.0,
          UnrolledPursuitOptions(rho).iterations(k).solver(fista ? UnrolledSolver::Fista : UnrolledSolver::Ista).nonneg(false));
      EXPECT_LT(largest_abs(ml.layers.codes.back() - direct), 1e-12 * largest_abs(direct)) << "fista " << fista << " k " << k;
    }
  }
  const auto sigma_min = torch::linalg_svdvals(product.matrix()).min().item<double>();
  // Enough iterations for the bound to fall below 1e-9.
  const auto k = static_cast<int64_t>(std::ceil(std::log(1e-9) / std::log(1 - rho * sigma_min * sigma_min)));
  ASSERT_LT(k, 20000);
  const double contraction = std::pow(1 - rho * sigma_min * sigma_min, double(k));
  const auto ista = ml_ista(model, y, {0, 0, 0}, MlIstaOptions().max_iter(k).tol(0).record_history(true));
  const auto reproduced = model.synthesize(ista.layers.codes.back()).front();
  EXPECT_LE((reproduced - y).norm().item<double>(), contraction * y.norm().item<double>() + 1e-12);
  // And its objective ½‖Y − DΓ‖² never increases (a gradient step of size ≤ 1/‖D‖²).
  for (size_t j = 1; j < ista.history.size(); ++j) EXPECT_LE(ista.history[j], ista.history[j - 1] * (1 + 1e-12)) << j;
}

TEST(MlIsta, StopsOnTheRelativeChangeAndRefusesBadOptions) {
  const auto models = one_layer_models();
  const auto& [model, y] = models[0];
  const auto stopped = ml_ista(model, y, {0.1}, MlIstaOptions().tol(1e-6).max_iter(100000));
  EXPECT_TRUE(stopped.layers.converged);
  EXPECT_LT(stopped.layers.iterations[0], 100000);
  const auto capped = ml_ista(model, y, {0.1}, MlIstaOptions().tol(1e-14).max_iter(3));
  EXPECT_FALSE(capped.layers.converged);
  EXPECT_EQ(message_of([&] { ml_ista(model, y, {0.1}, MlIstaOptions().max_iter(0)); }), "max_iter must be >= 1, got 0");
  EXPECT_EQ(message_of([&] { ml_ista(model, y, {0.1}, MlIstaOptions().tol(-1)); }).rfind("tol must be >= 0", 0), 0u);
  EXPECT_EQ(message_of([&] { ml_ista(model, y, {0.1}, MlIstaOptions().step_scale(0)); }).rfind("step_scale must be", 0), 0u);
  EXPECT_EQ(message_of([&] { ml_ista(model, y, {0.1, 0.1}); }), "lambda has 2 values but the model has 1 layer");
}

}  // namespace deepsc::mlcsc::ml_ista_tests
