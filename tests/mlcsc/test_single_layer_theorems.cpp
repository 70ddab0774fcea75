// The single-layer results the lecture (Zhang 2024) states, run as one-layer ML-CSC models: BP
// recovers every code below the coherence bound (Theorem 2); one-step thresholding succeeds
// wherever its condition holds and never more often than BP; and the stability of the lasso on a
// convolutional layer that SDNet's robustness rests on (Papyan, Sulam & Elad 2017): λ = 4‖E‖^P_{2,∞}
// keeps the support inside the true one with ‖X̂ − X‖_∞ ≤ 7.5‖E‖^P_{2,∞}, an error linear in the noise.
#include "deepsc/mlcsc/pursuits.h"
#include "deepsc/mlcsc/theorems.h"

#include "deepsc/sparse/coherence.h"
#include "deepsc/sparse/thresholding.h"
#include "support/tensors.h"

#include <gtest/gtest.h>

#include <cmath>

namespace deepsc::mlcsc::single_layer_tests {

using deepsc::testing::doubles;
using deepsc::testing::f64;

BasisPursuitContinuation accurate_bp() {
  return BasisPursuitContinuation().final_ratio(1e-8).decay(0.1).solver(LayeredBasisPursuitOptions().tol(1e-6));
}

TEST(MlcscSingleLayer, Theorem2BasisPursuitRecoversEveryCodeBelowTheCoherenceBound) {
  // [I, H/8]: μ = 1/8, ½(1 + 1/μ) = 4.5, so every code with up to 4 non-zeros.
  const auto options = GeneratorOptions().dims({64, 128}).min_max_ratio(0.2);
  const auto model = random_model(options);
  std::vector<torch::Tensor> deepest;
  for (int64_t k = 1; k <= 4; ++k) {
    auto o = options;
    deepest.push_back(sample_signals(model, o.deepest_nonzeros(k), 25, 70 + k).codes[1]);
  }
  const SignalBatch batch{model.synthesize(torch::cat(deepest))};
  const auto g = check_layered_basis_pursuit(model, batch);
  EXPECT_TRUE(g.layers[0].guaranteed.all().item<bool>());
  const auto estimate = layered_basis_pursuit_exact(model, batch.codes[0], accurate_bp());
  const auto outcome = evaluate_predictions(model, g, batch, estimate.codes, PredictionTolerance().zero_tol(1e-6).error_tol(1e-6));
  EXPECT_TRUE(outcome[0].met.all().item<bool>());
  EXPECT_LT(outcome[0].entry_error.max().item<double>(), 1e-6);
}

TEST(MlcscSingleLayer, ThresholdingSucceedsUnderItsConditionAndNeverBeatsBasisPursuit) {
  // [I, H/8], magnitudes in [0.5, 1]: thresholding's condition ‖x‖₀ < ½(1 + (1/μ)|x_min|/|x_max|)
  // holds for every code with ≤ 2 non-zeros, for some with 3, never beyond.
  const auto options = GeneratorOptions().dims({64, 128}).min_max_ratio(0.5);
  const auto model = random_model(options);
  const double mu = layer_coherence(model, 0);
  int64_t held = 0, thresholding_failures = 0;
  for (int64_t k = 1; k <= 12; ++k) {
    auto o = options;
    const auto batch = sample_signals(model, o.deepest_nonzeros(k), 40, 80 + k);
    const auto& x = batch.codes[1];
    // The classical one-step thresholding: keep the k largest |Dᵀy|.
    const auto t = sparse::threshold(model.layer(0), batch.codes[0], sparse::ThresholdingOptions(0).sparsity(k));
    const auto thresholding_ok = same_support(t.codes, x);
    const auto bp = layered_basis_pursuit_exact(model, batch.codes[0], accurate_bp());
    const auto bp_ok = (bp.codes[0] - x).abs().amax(1) < 1e-6;
    const auto checks = sparse::check_recovery(x, mu);
    for (int64_t j = 0; j < x.size(0); ++j) {
      if (checks[static_cast<size_t>(j)].threshold_guaranteed) {
        ++held;
        EXPECT_TRUE(thresholding_ok[j].item<bool>()) << "k = " << k << ", sample " << j;
      }
    }
    const auto t_rate = thresholding_ok.to(torch::kDouble).mean().item<double>();
    const auto bp_rate = bp_ok.to(torch::kDouble).mean().item<double>();
    EXPECT_GE(bp_rate, t_rate) << "k = " << k;
    thresholding_failures += (thresholding_ok.logical_not()).sum().item<int64_t>();
  }
  EXPECT_GE(held, 80);                   // the condition is not vacuous: all of k = 1, 2
  EXPECT_GE(thresholding_failures, 100);  // and thresholding fails often beyond it (BP never here)
}

/// The Barker-13 atom, unit norm (μ = 1/13: ⅓(1 + 1/μ) = 14/3, so up to 4 non-zeros per stripe).
torch::Tensor barker_atom() { return doubles({1, 1, 1, 1, 1, -1, -1, 1, 1, -1, 1, -1, 1}).view({1, 1, 13}) / std::sqrt(13.0); }

TEST(MlcscSingleLayer, ConvolutionalLassoIsStableUnderTheStripeCondition) {
  const auto model = conv_model({barker_atom()});
  EXPECT_NEAR(layer_coherence(model, 0), 1.0 / 13, 1e-15);
  const auto options = GeneratorOptions().convolutional(true).signal_length(200).min_max_ratio(0.5);
  std::vector<SignalBatch> parts;
  for (int64_t k = 1; k <= 4; ++k) {
    auto o = options;
    parts.push_back(sample_signals(model, o.deepest_nonzeros(k), 15, 90 + k));
  }
  SignalBatch batch{{torch::cat({parts[0].codes[0], parts[1].codes[0], parts[2].codes[0], parts[3].codes[0]}),
                     torch::cat({parts[0].codes[1], parts[1].codes[1], parts[2].codes[1], parts[3].codes[1]})}};
  // The same noise direction at two levels: E(ε/2) = E(ε)/2 exactly.
  std::vector<torch::Tensor> errors;
  for (double eps : {0.02, 0.01}) {
    const auto noise = noise_with_patch_norm(model, batch.codes[0], eps, 99);
    const auto level = torch::full({}, eps, f64);
    const std::vector<double> lambda{4 * eps};
    const auto g = check_stable_layered_basis_pursuit(model, batch, level, lambda);
    EXPECT_TRUE(g.layers[0].guaranteed.all().item<bool>());
    const auto estimate = layered_basis_pursuit(model, batch.codes[0] + noise, lambda, LayeredBasisPursuitOptions().tol(1e-10));
    const auto outcome = evaluate_predictions(model, g, batch, estimate.codes, PredictionTolerance().error_tol(1e-8));
    EXPECT_TRUE(outcome[0].support_contained.all().item<bool>()) << "eps " << eps;
    EXPECT_TRUE(outcome[0].entry_within.all().item<bool>()) << "eps " << eps;
    EXPECT_TRUE(outcome[0].met.all().item<bool>()) << "eps " << eps;
    // Every true entry is ≥ 0.5 > 7.5ε: the support is found whole.
    EXPECT_TRUE(outcome[0].support_equal.all().item<bool>()) << "eps " << eps;
    errors.push_back((estimate.codes[0] - batch.codes[1]).flatten(1).norm(2, {1}));
  }
  // On a fixed support with fixed signs the lasso solution is X̂ = X + G_S⁻¹(D_SᵀE − λ sign): the
  // error is linear in (E, λ), so halving both halves it (to the solver's accuracy).
  const auto ratio = errors[1] / errors[0];
  EXPECT_LT((ratio - 0.5).abs().max().item<double>(), 1e-6);
}

TEST(MlcscSingleLayer, LassoLosesItsSupportFarOutsideTheStabilityCondition) {
  // [I, H/8] allows k < ⅓(1 + 8) = 3; with 24 non-zeros the lasso at λ = 4‖E‖^P_{2,∞} picks atoms
  // outside the true support on almost every instance: the condition is not a formality.
  const auto options = GeneratorOptions().dims({64, 128}).min_max_ratio(0.5).deepest_nonzeros(24);
  const auto model = random_model(options);
  const auto batch = sample_signals(model, options, 30, 5);
  const double eps = 0.02;
  const auto noise = noise_with_patch_norm(model, batch.codes[0], eps, 99);
  const std::vector<double> lambda{4 * eps};
  const auto g = check_stable_layered_basis_pursuit(model, batch, torch::full({}, eps, f64), lambda);
  EXPECT_FALSE(g.layers[0].condition.any().item<bool>());
  const auto estimate = layered_basis_pursuit(model, batch.codes[0] + noise, lambda, LayeredBasisPursuitOptions().tol(1e-10));
  const auto outcome = evaluate_predictions(model, g, batch, estimate.codes, PredictionTolerance().error_tol(1e-8));
  EXPECT_GE(outcome[0].support_contained.logical_not().sum().item<int64_t>(), 20);
  EXPECT_GE(outcome[0].met.logical_not().sum().item<int64_t>(), 20);
}

}  // namespace deepsc::mlcsc::single_layer_tests
