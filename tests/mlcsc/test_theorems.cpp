// The ML-CSC recovery theorems as checks (mlcsc/theorems.h): the formulas against hand computation
// on tiny instances, then property tests on batches of random instances — wherever a theorem's
// hypotheses hold for layers 1..i, the pursuit it speaks of meets its predictions at layer i — with
// the hypotheses holding on a real share of the instances, and instances outside them where the
// predictions fail.
#include "deepsc/mlcsc/pursuits.h"
#include "deepsc/mlcsc/theorems.h"

#include "deepsc/sparse/analytic_dictionaries.h"
#include "support/tensors.h"

#include <gtest/gtest.h>

#include <cmath>

namespace deepsc::mlcsc::theorems_tests {

using deepsc::testing::doubles;
using deepsc::testing::f64;
using deepsc::testing::message_of;

double at(const torch::Tensor& t, int64_t i) { return t[i].item<double>(); }
bool flag(const torch::Tensor& t, int64_t i) { return t[i].item<bool>(); }
int64_t count(const torch::Tensor& b) { return b.sum().item<int64_t>(); }

/// SignalBatch of a model from its deepest codes.
SignalBatch batch_from(const MlcscModel& model, const torch::Tensor& deepest) { return SignalBatch{model.synthesize(deepest)}; }

/// Concatenates batches of one model along the samples.
SignalBatch concat(const std::vector<SignalBatch>& parts) {
  SignalBatch out;
  for (size_t i = 0; i < parts.front().codes.size(); ++i) {
    std::vector<torch::Tensor> level;
    for (const auto& p : parts) level.push_back(p.codes[i]);
    out.codes.push_back(torch::cat(level));
  }
  return out;
}

/// The Barker-13 atom, unit norm: aperiodic autocorrelation side lobes of 1/13, so μ = 1/13.
torch::Tensor barker13() { return doubles({1, 1, 1, 1, 1, -1, -1, 1, 1, -1, 1, -1, 1}).view({1, 1, 13}) / std::sqrt(13.0); }

/// A 1-D two-layer convolutional model: D₁ the Barker atom, D₂ three atoms of 6 taps with two
/// entries 1/√2 each (μ₂ = 1/2), and the options that sample it (signals of 120 samples).
std::pair<MlcscModel, GeneratorOptions> barker_model(uint64_t seed) {
  const auto options = GeneratorOptions()
                           .convolutional(true)
                           .channels({1, 1, 3})
                           .kernel_sizes({13, 6})
                           .atom_nonzeros({2})
                           .signal_length(120)
                           .seed(seed);
  return {conv_model({barker13(), random_model(options).conv_layer(1)->weights()}), options};
}

TEST(MlcscTheoremChecks, Theorem7FormulasByHand) {
  // One layer D = [I, H/4] (n = 16, μ = 1/4); x has entries 1 and −0.9; ε₀ = 0.01, β = 0.6.
  const auto model = dense_model({sparse::identity_hadamard_dictionary(16)});
  auto x = torch::zeros({1, 32}, f64);
  x[0][3] = 1, x[0][20] = -0.9;
  const auto batch = batch_from(model, x);
  const auto g = check_layered_thresholding(model, batch, doubles({0.01}), {0.6});
  ASSERT_EQ(g.layers.size(), 1u);
  const auto& l = g.layers[0];
  EXPECT_NEAR(l.coherence, 0.25, 1e-15);
  EXPECT_NEAR(at(l.beta_low, 0), 2 * 0.25 * 1 + 0.01, 1e-8);        // kμ|x_max| + ε₀ = 0.51
  EXPECT_NEAR(at(l.beta_high, 0), 0.9 - 1 * 0.25 * 1 - 0.01, 1e-8);  // |x_min| − (k−1)μ|x_max| − ε₀ = 0.64
  // (a) as the lecture writes it: 2 < ½(1 + 4·0.9) − 4·0.01 = 2.26.
  EXPECT_TRUE(flag(l.sparsity, 0));
  EXPECT_TRUE(flag(l.condition, 0));
  EXPECT_NEAR(at(l.entry_bound, 0), 0.01 + 0.25 * 1 * 1 + 0.6, 1e-8);
  EXPECT_NEAR(at(l.error_bound, 0), std::sqrt(2.0) * 0.86, 1e-8);
  // β outside (0.51, 0.64) breaks (b) only; ε₀ = 0.08 empties the interval: (a) fails, 2 > 2.26 − 0.28.
  EXPECT_FALSE(flag(check_layered_thresholding(model, batch, doubles({0.01}), {0.5}).layers[0].condition, 0));
  EXPECT_TRUE(flag(check_layered_thresholding(model, batch, doubles({0.01}), {0.5}).layers[0].sparsity, 0));
  EXPECT_FALSE(flag(check_layered_thresholding(model, batch, doubles({0.08}), {0.6}).layers[0].sparsity, 0));
}

TEST(MlcscTheoremChecks, ChainsCarryTheBoundOfTheLayerBelow) {
  // D₁ = [I, H/2] (n = 4, μ = 1/2); D₂ [8, 3] with two entries 1/√2 per column, columns 0 and 1
  // sharing row 1 (μ₂ = 1/2). X₂ = (1, 0, 0.5): X₁ = (1, 1, 0, 0, 0, 0, 0.5, 0.5)/√2.
  const double r = 1 / std::sqrt(2.0);
  auto d2 = torch::zeros({8, 3}, f64);
  d2[0][0] = d2[1][0] = d2[1][1] = d2[2][1] = d2[6][2] = d2[7][2] = r;
  const auto model = dense_model({sparse::identity_hadamard_dictionary(4), d2});
  const auto batch = batch_from(model, doubles({1, 0, 0.5}).view({1, 3}));
  const auto g = check_layered_thresholding(model, batch, doubles({0.01}), {0.3, 0.2});
  const auto& l1 = g.layers[0];
  const auto& l2 = g.layers[1];
  EXPECT_EQ(l1.truth.l0_inf.item<int64_t>(), 4);
  const double entry1 = 0.01 + 0.5 * 3 * r + 0.3;
  EXPECT_NEAR(at(l1.error_bound, 0), 2 * entry1, 1e-8);  // √4 · bracket
  EXPECT_NEAR(at(l2.input_error, 0), 2 * entry1, 1e-8);
  EXPECT_NEAR(at(l2.beta_low, 0), 2 * 0.5 * 1 + 2 * entry1, 1e-8);
  EXPECT_NEAR(at(l2.error_bound, 0), std::sqrt(2.0) * (2 * entry1 + 0.5 * 1 * 1 + 0.2), 1e-8);
  EXPECT_FALSE(flag(l1.condition, 0));  // 4 non-zeros against μ = 1/2
  EXPECT_FALSE(flag(l2.guaranteed, 0));

  // Theorem 8: k₁ = 4 ≥ ½(1 + 2) fails, k₂ = 2 ≥ 1.5 fails; noisy BP: ⅓(1 + 2) = 1.
  const auto bp = check_layered_basis_pursuit(model, batch);
  EXPECT_FALSE(flag(bp.layers[0].condition, 0));
  EXPECT_EQ(at(bp.layers[1].error_bound, 0), 0);
  const auto lambdas = prescribed_lambdas(model, batch, doubles({0.01}));
  ASSERT_EQ(lambdas.size(), 2u);
  EXPECT_NEAR(lambdas[0], 0.04, 1e-15);
  EXPECT_NEAR(lambdas[1], 7.5 * 0.04 * 2, 1e-15);  // 4ε₁, ε₁ = 7.5ε₀√(k^P₁) with k^P₁ = 4 (no sample meets layer 1: all count)
  const auto stable = check_stable_layered_basis_pursuit(model, batch, doubles({0.01}), lambdas);
  EXPECT_NEAR(at(stable.layers[0].entry_bound, 0), 7.5 * 0.01, 1e-15);
  EXPECT_NEAR(at(stable.layers[1].error_bound, 0), 7.5 * 7.5 * 0.01 * 2 * std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(at(stable.layers[1].input_error, 0), 7.5 * 0.01 * 2, 1e-15);
}

TEST(MlcscTheoremChecks, BoundaryCasesAreConservative) {
  // Barker-13: μ = 1/13 rounds, and ½(1 + 13) = 7 exactly: seven non-zeros in a stripe must fail.
  const auto model = conv_model({barker13()});
  auto x = torch::zeros({2, 1, 40}, f64);
  for (int64_t j = 0; j < 7; ++j) x[0][0][5 + 3 * j] = 1;  // 7 in positions 5..23: one stripe of 25
  for (int64_t j = 0; j < 6; ++j) x[1][0][5 + 3 * j] = 1;
  const auto g = check_layered_basis_pursuit(model, batch_from(model, x));
  EXPECT_EQ(g.layers[0].truth.l0_inf[0].item<int64_t>(), 7);
  EXPECT_FALSE(flag(g.layers[0].condition, 0));
  EXPECT_TRUE(flag(g.layers[0].condition, 1));
}

TEST(MlcscTheoremChecks, BadArgumentsAreRefused) {
  const auto model = dense_model({sparse::identity_hadamard_dictionary(4)});
  const auto batch = batch_from(model, torch::zeros({3, 8}, f64));
  EXPECT_NE(message_of([&] { check_layered_thresholding(model, batch, doubles({0.1, 0.2}), {0.1}); }).find("noise level"),
            std::string::npos);
  EXPECT_NE(message_of([&] { check_layered_thresholding(model, batch, doubles({-1}), {0.1}); }).find(">= 0"), std::string::npos);
  EXPECT_NE(message_of([&] { check_layered_thresholding(model, batch, doubles({0}), {0.1, 0.2}); }).find("betas has 2 values"),
            std::string::npos);
  EXPECT_NE(message_of([&] { admissible_thresholds(model, batch, doubles({0}), 1.0); }).find("position"), std::string::npos);
  const auto unnormalised = dense_model({torch::eye(4, f64) * 2});
  EXPECT_NE(message_of([&] { check_layered_basis_pursuit(unnormalised, batch_from(unnormalised, torch::zeros({1, 4}, f64))); })
                .find("unit-norm atoms"),
            std::string::npos);
  EXPECT_NE(message_of([&] { evaluate_predictions(model, check_layered_basis_pursuit(model, batch), batch, {}); }).find("needs 1 estimates"),
            std::string::npos);
}


/// A theorem's check and what the pursuit did, on one batch.
struct Trial {
  Guarantee guarantee;
  std::vector<LayerOutcome> outcomes;
  std::vector<LayerRates> rates;
};

/// Samples whose hypotheses failed up to layer i and whose predictions failed too.
int64_t failed_outside(const Trial& t, size_t i) {
  return count(t.guarantee.layers[i].guaranteed.logical_not() & t.outcomes[i].met.logical_not());
}

/// Layered soft thresholding on clean + noise of patch norm eps0, β from admissible_thresholds.
Trial run_thresholding(const MlcscModel& model, const SignalBatch& batch, double eps0, double position, uint64_t seed) {
  const auto noise = noise_with_patch_norm(model, batch.codes[0], eps0, seed);
  const auto level = torch::full({}, eps0, f64);
  const auto betas = admissible_thresholds(model, batch, level, position);
  const auto estimate = layered_thresholding(model, batch.codes[0] + noise, betas);
  Trial t{check_layered_thresholding(model, batch, level, betas), {}, {}};
  t.outcomes = evaluate_predictions(model, t.guarantee, batch, estimate.codes);
  t.rates = tabulate(t.guarantee, t.outcomes);
  return t;
}

TEST(MlcscTheorem7, LayeredThresholdingMeetsItsPredictionsWheneverTheConditionsHold) {
  // D₁ = [I, H/16] (μ = 1/16), D₂ [512, 640] with two entries per atom (μ = 1/2). Deep codes with
  // 1–3 non-zeros, dynamic ranges 1 and 0.6, noise 0 and 0.005: 12 batches of 40, each with its own
  // β's. Layer 2 needs ε₁ < |X₂|/4, so β₁ sits low in its interval (position 0.05).
  const auto options = GeneratorOptions().dims({256, 512, 640}).atom_nonzeros({2}).seed(31);
  const auto model = random_model(options);
  int64_t guaranteed[2] = {0, 0}, total = 0;
  uint64_t seed = 100;
  for (int64_t k : {1, 2, 3}) {
    for (double ratio : {1.0, 0.6}) {
      for (double eps0 : {0.0, 0.005}) {
        auto o = options;
        const auto batch = sample_signals(model, o.deepest_nonzeros(k).min_max_ratio(ratio), 40, ++seed);
        const auto t = run_thresholding(model, batch, eps0, 0.05, ++seed);
        for (size_t i = 0; i < 2; ++i) {
          EXPECT_EQ(t.rates[i].violations, 0) << "layer " << i + 1 << ", k = " << k << ", r = " << ratio << ", eps0 = " << eps0;
          guaranteed[i] += count(t.guarantee.layers[i].guaranteed);
        }
        total += 40;
      }
    }
  }
  // The hypotheses hold on a real share: layer 1 for k₂ ≤ 2 (and k₂ = 3 at r = 1), layer 2 for k₂ = 1.
  EXPECT_GE(guaranteed[0], total / 2);
  EXPECT_GE(guaranteed[1], total / 5);

  // Convolutional: the Barker layer (μ = 1/13) under a sparse one; layer 1 holds for one
  // non-zero per stripe of D₂, layer 2 is out of reach (ε₁ > |X₂|/4).
  const auto [conv, conv_options] = barker_model(32);
  auto o = conv_options;
  const auto batch = sample_signals(conv, o.deepest_nonzeros(1), 40, ++seed);
  const auto t = run_thresholding(conv, batch, 0.01, 0.5, ++seed);
  EXPECT_EQ(t.rates[0].violations, 0);
  EXPECT_EQ(t.rates[0].guaranteed, 1.0);
}

TEST(MlcscTheorem7, TheForwardPassIsNeverExactEvenWithoutNoise) {
  // D = I (μ = 0): the interval of (b) is (0, |x_min|), so β > 0, and every kept entry moves by
  // exactly β: ‖X̂ − X‖^P_{2,∞} = √k·β, the bound ε₁ itself.
  torch::manual_seed(41);
  const auto identity = dense_model({torch::eye(24, f64)});
  const auto x = torch::randn({30, 24}, f64) * (torch::rand({30, 24}, f64) < 0.3).to(torch::kDouble);
  const auto batch = batch_from(identity, x);
  const auto zero = torch::zeros({}, f64);
  const auto betas = admissible_thresholds(identity, batch, zero);
  EXPECT_GT(betas[0], 0);
  const auto g = check_layered_thresholding(identity, batch, zero, betas);
  const auto estimate = layered_thresholding(identity, batch.codes[0], betas);
  const auto outcome = evaluate_predictions(identity, g, batch, estimate.codes);
  const auto& guaranteed = g.layers[0].guaranteed;
  EXPECT_GT(count(guaranteed), 15);
  EXPECT_LT((outcome[0].error - g.layers[0].error_bound).abs().masked_select(guaranteed).max().item<double>(), 1e-12);
  EXPECT_LT((outcome[0].entry_error.masked_select(guaranteed) - betas[0]).abs().max().item<double>(), 1e-15);

  // The two-layer model of the property test, E = 0: under (b) every kept entry is off by more than
  // β_i − (k_i − 1)μ_i|X_i^max| − ε_{i−1} > μ_i|X_i^max| > 0, at every layer.
  const auto options = GeneratorOptions().dims({256, 512, 640}).atom_nonzeros({2}).seed(31);
  const auto model = random_model(options);
  auto o = options;
  const auto clean = sample_signals(model, o.deepest_nonzeros(1), 40, 42);
  const auto t = run_thresholding(model, clean, 0.0, 0.05, 43);
  for (size_t i = 0; i < 2; ++i) {
    const auto& l = t.guarantee.layers[i];
    ASSERT_EQ(count(l.guaranteed), 40) << "layer " << i + 1;
    const auto floor = l.coherence * l.truth.max_abs.to(torch::kDouble);
    EXPECT_TRUE((t.outcomes[i].entry_error > floor).all().item<bool>()) << "layer " << i + 1;
    EXPECT_GT(floor.min().item<double>(), 0);
  }
}

TEST(MlcscTheorem7, ThresholdingFailsForEveryBetaOutsideTheCondition) {
  // D = [I, H/4] (μ = 1/4), x = e₀ + … + e₄: the all-ones Hadamard atom answers 5/4, more than the
  // true atoms' 1, so no β gives the support; k = 5 is far from ½(1 + 4) = 2.5.
  const auto model = dense_model({sparse::identity_hadamard_dictionary(16)});
  auto x = torch::zeros({1, 32}, f64);
  x[0].narrow(0, 0, 5).fill_(1);
  const auto batch = batch_from(model, x);
  const auto zero = torch::zeros({}, f64);
  for (double beta : {0.1, 0.5, 0.99, 1.1, admissible_thresholds(model, batch, zero)[0]}) {
    const auto g = check_layered_thresholding(model, batch, zero, {beta});
    EXPECT_FALSE(flag(g.layers[0].sparsity, 0));
    const auto outcome = evaluate_predictions(model, g, batch, layered_thresholding(model, batch.codes[0], {beta}).codes);
    EXPECT_FALSE(flag(outcome[0].support_equal, 0)) << "beta " << beta;
  }
}

/// Noiseless layered BP proper (continuation down to 1e-8·λ_max, so the lasso's bias is ~1e-8),
/// checked against Theorem 8 with that accuracy.
Trial run_basis_pursuit(const MlcscModel& model, const SignalBatch& batch) {
  const auto continuation = BasisPursuitContinuation().final_ratio(1e-8).decay(0.1).solver(LayeredBasisPursuitOptions().tol(1e-6));
  const auto estimate = layered_basis_pursuit_exact(model, batch.codes[0], continuation);
  Trial t{check_layered_basis_pursuit(model, batch), {}, {}};
  t.outcomes = evaluate_predictions(model, t.guarantee, batch, estimate.codes, PredictionTolerance().zero_tol(1e-6).error_tol(1e-6));
  t.rates = tabulate(t.guarantee, t.outcomes);
  return t;
}

TEST(MlcscTheorem8, LayeredBasisPursuitRecoversEveryLayerUnderTheCondition) {
  // D₁ = [I, H/8] (μ = 1/8, k₁ < 4.5), D₂ [128, 160] with two entries per atom (μ = 1/2, k₂ < 1.5):
  // k₂ = 1 meets both, k₂ = 2 only layer 1 (k₁ ≤ 4), k₂ = 3 neither (k₁ up to 6). (Here BP recovers
  // even the k₂ = 3 codes: the coherence bound is a worst case.)
  const auto options = GeneratorOptions().dims({64, 128, 160}).atom_nonzeros({2}).min_max_ratio(0.5).seed(51);
  const auto model = random_model(options);
  std::vector<SignalBatch> parts;
  for (int64_t k : {1, 2, 3}) {
    auto o = options;
    parts.push_back(sample_signals(model, o.deepest_nonzeros(k), 30, 52 + k));
  }
  const auto t = run_basis_pursuit(model, concat(parts));
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(t.rates[i].violations, 0) << "layer " << i + 1;
    EXPECT_GE(t.rates[i].guaranteed, 0.3) << "layer " << i + 1;
    EXPECT_LT(t.outcomes[i].entry_error.masked_select(t.guarantee.layers[i].guaranteed).max().item<double>(), 1e-6);
  }
}

TEST(MlcscTheorem8, ConvolutionalLayeredBasisPursuitRecoversEveryLayerUnderTheCondition) {
  // One non-zero per stripe of D₂ (μ₂ = 1/2) gives at most 4 per Barker stripe (< 7). Two or three
  // per stripe of D₂ break layer 2's condition, and there BP fails on most instances.
  const auto [model, options] = barker_model(56);
  std::vector<SignalBatch> parts;
  for (int64_t k : {1, 2, 3}) {
    auto o = options;
    parts.push_back(sample_signals(model, o.deepest_nonzeros(k).min_max_ratio(0.5), 10, 57 + k));
  }
  const auto t = run_basis_pursuit(model, concat(parts));
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(t.rates[i].violations, 0) << "layer " << i + 1;
  EXPECT_GE(t.rates[1].guaranteed, 0.3);
  EXPECT_GE(failed_outside(t, 1), 10);
}

/// The layered lasso with the prescribed λ on clean + noise of patch norm eps0.
Trial run_stable_basis_pursuit(const MlcscModel& model, const SignalBatch& batch, double eps0, uint64_t seed) {
  const auto noise = noise_with_patch_norm(model, batch.codes[0], eps0, seed);
  const auto level = patch_l2_inf(model, 0, noise);
  const auto lambdas = prescribed_lambdas(model, batch, level);
  const auto estimate = layered_basis_pursuit(model, batch.codes[0] + noise, lambdas, LayeredBasisPursuitOptions().tol(1e-10));
  Trial t{check_stable_layered_basis_pursuit(model, batch, level, lambdas), {}, {}};
  t.outcomes = evaluate_predictions(model, t.guarantee, batch, estimate.codes, PredictionTolerance().error_tol(1e-7));
  t.rates = tabulate(t.guarantee, t.outcomes);
  return t;
}

TEST(MlcscStableLayeredBasisPursuit, NoisyLayeredLassoMeetsItsPredictionsWheneverTheConditionsHold) {
  // D₁ = [I, H/√128] (μ ≈ 0.088, k₁ < 4.1), D₂ [256, 320] with three entries per atom (μ = 1/3,
  // k₂ < 4/3): k₂ = 1 meets both layers (k₁ = 3), k₂ = 2 neither. With ε₀ = 0.01 the second
  // layer's bound, 7.5²·ε₀·√3 ≈ 0.97, is below |X₂^max| = 1: those entries must be found.
  const auto options = GeneratorOptions().dims({128, 256, 320}).atom_nonzeros({3}).seed(61);
  const auto model = random_model(options);
  for (double eps0 : {0.01, 0.03}) {
    std::vector<SignalBatch> parts;
    for (int64_t k : {1, 2}) {
      auto o = options;
      parts.push_back(sample_signals(model, o.deepest_nonzeros(k).min_max_ratio(0.5), 40, 62 + k));
    }
    const auto t = run_stable_basis_pursuit(model, concat(parts), eps0, 64);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(t.rates[i].violations, 0) << "layer " << i + 1 << ", eps0 = " << eps0;
      EXPECT_EQ(t.rates[i].guaranteed, 0.5) << "layer " << i + 1 << ", eps0 = " << eps0;
    }
    EXPECT_NEAR(t.guarantee.layers[0].parameter, 4 * eps0, 1e-12);
    if (eps0 == 0.01) {
      EXPECT_LT(t.guarantee.layers[1].entry_bound.max().item<double>(), 1.0);
    }
  }
}

}  // namespace deepsc::mlcsc::theorems_tests
