// Layered pursuits of ML-CSC (mlcsc/pursuits.h): non-negative layered thresholding is a CNN's
// forward pass (conv + bias + ReLU), soft/hard are shrinkage of D_iᵀ; the first sweep of coupled
// layered ISTA is layered thresholding rescaled and many sweeps reach the layered lasso; layered BP
// meets each layer's optimality conditions, its unrolled path agrees with it, and with λ = 0 it
// recovers a sparse deep code exactly where the coherence theorem says so; gradients flow. The
// registry (mlcsc/pursuit_registry.h) runs exactly these functions by name.
#include "deepsc/mlcsc/pursuit_registry.h"
#include "deepsc/mlcsc/pursuits.h"
#include "deepsc/sparse/coherence.h"
#include "deepsc/sparse/lasso.h"
#include "deepsc/sparse/proximal_gradient.h"

#include "support/random_problems.h"
#include "support/tensors.h"

#include <gtest/gtest.h>

#include <functional>

// A named namespace per test file: the tests compile as one unity translation unit.
namespace deepsc::mlcsc::pursuits_tests {

using deepsc::testing::f64;
using deepsc::testing::message_of;
using sparse::Shrinkage;
using Layer = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& bias)>;

double largest_abs(const torch::Tensor& t) { return t.numel() ? t.abs().max().item<double>() : 0.0; }

/// A two-layer model with normalised atoms, signals for it, and each layer written as a CNN layer
/// computes it: D_iᵀx + b by torch::conv2d / conv1d / a matrix product.
struct Net {
  std::string name;
  MlcscModel model;
  torch::Tensor signals;
  std::vector<Layer> cnn;
};

Net conv_net(const std::string& name, const std::vector<torch::Tensor>& w, const conv::ConvOptions& o,
             std::vector<int64_t> signal) {
  Net net{name, conv_model(w, {o, o}, /*normalize=*/true), torch::randn(signal, f64), {}};
  for (int64_t i = 0; i < net.model.depth(); ++i) {
    const auto weights = net.model.conv_layer(i)->weights();
    net.cnn.push_back([weights, o](const torch::Tensor& x, const torch::Tensor& b) {
      return weights.dim() == 4 ? torch::conv2d(x, weights, b, o.stride(), o.padding(), o.dilation())
                                : torch::conv1d(x, weights, b, o.stride(), o.padding(), o.dilation());
    });
  }
  return net;
}

Net dense_net() {
  Net net{"dense", dense_model({torch::randn({8, 12}, f64), torch::randn({12, 16}, f64)}, /*normalize=*/true),
          torch::randn({3, 8}, f64), {}};
  for (int64_t i = 0; i < net.model.depth(); ++i) {
    const auto d = net.model.dense_layer(i)->matrix();
    net.cnn.push_back([d](const torch::Tensor& x, const torch::Tensor& b) { return b.defined() ? x.mm(d) + b : x.mm(d); });
  }
  return net;
}

/// Dense, 2-D stride 1 (padding 1), 2-D stride 2 (padding 1), 2-D dilation 2, 1-D.
std::vector<Net> nets() {
  torch::manual_seed(21);
  auto w2d = [] { return std::vector<torch::Tensor>{torch::randn({4, 2, 3, 3}, f64), torch::randn({6, 4, 3, 3}, f64)}; };
  return {dense_net(),
          conv_net("2-D stride 1", w2d(), conv::ConvOptions().padding(1), {2, 2, 7, 7}),
          conv_net("2-D stride 2", w2d(), conv::ConvOptions().stride(2).padding(1), {2, 2, 9, 9}),
          conv_net("2-D dilation 2", w2d(), conv::ConvOptions().dilation(2), {2, 2, 13, 13}),
          conv_net("1-D", {torch::randn({4, 2, 5}, f64), torch::randn({6, 4, 3}, f64)}, conv::ConvOptions(), {2, 2, 20})};
}

/// Both zero and non-zero entries: the comparison is not between two all-zero tensors.
void expect_some_zeros_and_nonzeros(const torch::Tensor& codes, const std::string& what) {
  const auto nonzero = codes.count_nonzero().item<int64_t>();
  EXPECT_GT(nonzero, 0) << what;
  EXPECT_LT(nonzero, codes.numel()) << what;
}

/// Largest violation of the lasso optimality conditions of `codes` for input x, in units of λ:
/// g = Dᵀ(x − D c) = λ·sign(c) on the support, |g| ≤ λ (g ≤ λ when c ≥ 0) off it.
double kkt_violation(const sparse::LinearOperator& op, const torch::Tensor& x, const torch::Tensor& codes, double lambda,
                     bool nonneg) {
  const auto g = op.adjoint(x - op.apply(codes));
  const auto active = codes != 0;
  const auto on = (g - lambda * codes.sign()).masked_select(active);
  const auto off = (nonneg ? g - lambda : g.abs() - lambda).clamp_min(0).masked_select(active.logical_not());
  return std::max(largest_abs(on), largest_abs(off)) / lambda;
}

TEST(LayeredThresholding, NonNegativeIsAConvNetsForwardPass) {
  const std::vector<double> betas{0.5, 0.3};
  for (const auto& net : nets()) {
    const auto codes = layered_thresholding(net.model, net.signals, betas, Shrinkage::NonNegSoft);
    ASSERT_EQ(codes.codes.size(), 2u);
    EXPECT_EQ(codes.iterations, (std::vector<int64_t>{1, 1}));
    auto x = net.signals;
    for (size_t i = 0; i < 2; ++i) {
      // X_i = ReLU(W_i ∗ X_{i−1} + b_i), b_i = −β_i on every channel.
      x = torch::relu(net.cnn[i](x, torch::full({codes.codes[i].size(1)}, -betas[i], f64)));
      EXPECT_LT(largest_abs(codes.codes[i] - x), 1e-12) << net.name << " layer " << i + 1;
      expect_some_zeros_and_nonzeros(x, net.name);
    }
  }
}

TEST(LayeredThresholding, SoftAndHardAreShrinkageOfTheAdjoint) {
  const std::vector<double> betas{0.5, 0.3};
  for (const auto& net : nets()) {
    for (auto kind : {Shrinkage::Soft, Shrinkage::Hard}) {
      const auto codes = layered_thresholding(net.model, net.signals, betas, kind).codes;
      auto x = net.signals;
      for (size_t i = 0; i < 2; ++i) {
        const auto z = net.cnn[i](x, {});
        x = kind == Shrinkage::Soft ? z.sign() * (z.abs() - betas[i]).clamp_min(0) : z * (z.abs() > betas[i]);
        EXPECT_LT(largest_abs(codes[i] - x), 1e-12) << net.name << " " << sparse::shrinkage_name(kind) << " layer " << i + 1;
        expect_some_zeros_and_nonzeros(x, net.name);
        EXPECT_LT(x.min().item<double>(), 0) << net.name;  // signed codes
      }
    }
  }
}

TEST(CoupledLayeredIsta, FirstSweepIsRescaledLayeredThresholding) {
  // X_i¹ = S_{λ_iη_i}(η_i D_iᵀ X_{i−1}¹) and S_{cβ}(cx) = c·S_β(x) for c > 0, so X_i¹ = c_i·T_i with
  // T_i layered thresholding at β_i = λ_i/c_{i−1}, c₀ = 1, c_i = η_i·c_{i−1}.
  const std::vector<double> lambdas{0.2, 0.1};
  const double step_scale = 0.9;
  for (const auto& net : nets()) {
    const auto lipschitz = net.model.lipschitz(net.signals.sizes());
    std::vector<double> betas, scales;
    double scale = 1;
    for (size_t i = 0; i < 2; ++i) {
      betas.push_back(lambdas[i] / scale);
      scale *= step_scale / lipschitz[i];
      scales.push_back(scale);
    }
    for (bool nonneg : {false, true}) {
      const auto sweep = coupled_layered_ista(net.model, net.signals, lambdas,
                                              CoupledIstaOptions().sweeps(1).step_scale(step_scale).nonneg(nonneg));
      EXPECT_EQ(sweep.iterations, std::vector<int64_t>{1});
      const auto thresholded =
          layered_thresholding(net.model, net.signals, betas, nonneg ? Shrinkage::NonNegSoft : Shrinkage::Soft).codes;
      for (size_t i = 0; i < 2; ++i) {
        EXPECT_LT(largest_abs(sweep.codes[i] - scales[i] * thresholded[i]), 1e-12) << net.name << " layer " << i + 1;
        expect_some_zeros_and_nonzeros(thresholded[i], net.name);
      }
    }
  }
}

TEST(CoupledLayeredIsta, ManySweepsReachTheLayeredLasso) {
  // Its fixed point is every layer's lasso on the layer below: layered BP's codes. (ISTA's linear
  // rate is slow on the stride-1 and 1-D models, 14,000–16,000 sweeps; these take 700–6,000.)
  torch::NoGradGuard no_grad;
  const std::vector<double> lambdas{0.2, 0.1};
  for (const auto& net : nets()) {
    if (net.name == "2-D stride 1" || net.name == "1-D") continue;
    for (bool nonneg : {false, true}) {
      const auto bp = layered_basis_pursuit(net.model, net.signals, lambdas,
                                            LayeredBasisPursuitOptions().tol(1e-13).max_iter(100000).nonneg(nonneg));
      ASSERT_TRUE(bp.converged) << net.name;
      const auto ista = coupled_layered_ista(net.model, net.signals, lambdas,
                                             CoupledIstaOptions().sweeps(20000).tol(1e-13).nonneg(nonneg));
      EXPECT_TRUE(ista.converged) << net.name << " sweeps " << ista.iterations[0];
      for (size_t i = 0; i < 2; ++i) {
        EXPECT_LT(largest_abs(ista.codes[i] - bp.codes[i]), 1e-8) << net.name << " nonneg " << nonneg << " layer " << i + 1;
        expect_some_zeros_and_nonzeros(bp.codes[i], net.name);
      }
    }
  }
}

TEST(LayeredBasisPursuit, EveryLayerMeetsTheLassoOptimalityConditions) {
  const std::vector<double> lambdas{0.2, 0.1};
  const double tol = 1e-12;
  for (const auto& net : nets()) {
    for (bool nonneg : {false, true}) {
      const auto bp = layered_basis_pursuit(net.model, net.signals, lambdas,
                                            LayeredBasisPursuitOptions().tol(tol).max_iter(100000).nonneg(nonneg));
      EXPECT_TRUE(bp.converged) << net.name;
      ASSERT_EQ(bp.iterations.size(), 2u);
      auto x = net.signals;
      for (size_t i = 0; i < 2; ++i) {
        const auto& layer = net.model.layer(static_cast<int64_t>(i));
        const auto& codes = bp.codes[i];
        const auto terms = sparse::lasso_terms(layer, x, codes, lambdas[i], nonneg);
        EXPECT_TRUE((terms.gap <= tol * terms.objective).all().item<bool>()) << net.name << " layer " << i + 1;
        EXPECT_LT(kkt_violation(layer, x, codes, lambdas[i], nonneg), 1e-6) << net.name << " layer " << i + 1;
        expect_some_zeros_and_nonzeros(codes, net.name);
        if (nonneg) {
          EXPECT_GE(codes.min().item<double>(), 0);
        }
        x = codes;
      }
    }
  }
}

TEST(LayeredBasisPursuit, AWarmStartAtTheSolutionStopsAtOnceWithTheSameCodes) {
  const std::vector<double> lambdas{0.2, 0.1};
  const auto options = LayeredBasisPursuitOptions().tol(1e-10).max_iter(100000);
  for (const auto& net : nets()) {
    const auto cold = layered_basis_pursuit(net.model, net.signals, lambdas, options);
    const auto warm = layered_basis_pursuit(net.model, net.signals, lambdas, LayeredBasisPursuitOptions(options).warm_start(cold.codes));
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_LE(warm.iterations[i], 10) << net.name << " layer " << i + 1;  // the first duality-gap check
      EXPECT_LT((warm.codes[i] - cold.codes[i]).abs().max().item<double>(), 1e-8) << net.name;
    }
    EXPECT_NE(message_of([&] {
                layered_basis_pursuit(net.model, net.signals, lambdas, LayeredBasisPursuitOptions(options).warm_start({cold.codes[0]}));
              }).find("warm_start has 1 codes but the model has 2 layers"),
              std::string::npos);
  }
}

TEST(LayeredBasisPursuit, TheUnrolledPathAgreesWithTheFistaPath) {
  torch::NoGradGuard no_grad;
  const std::vector<double> lambdas{0.2, 0.1};
  const int64_t k = 3000;
  for (const auto& net : nets()) {
    if (net.name == "1-D" || net.name == "2-D dilation 2") continue;  // dense, stride 1 and stride 2
    const auto bp = layered_basis_pursuit(net.model, net.signals, lambdas, LayeredBasisPursuitOptions().tol(1e-13));
    const auto unrolled = layered_basis_pursuit_unrolled(net.model, net.signals, lambdas, k);
    EXPECT_EQ(unrolled.iterations, (std::vector<int64_t>{k, k}));
    const auto lipschitz = net.model.lipschitz(net.signals.sizes());
    auto x = net.signals;
    for (size_t i = 0; i < 2; ++i) {
      const auto& layer = net.model.layer(static_cast<int64_t>(i));
      // FISTA's guarantee on the layer's own input: F(X^k) − F* ≤ 2L‖X*‖²/(k+1)² (Beck & Teboulle
      // 2009, Theorem 4.4, from X⁰ = 0), per signal.
      const auto best = sparse::fista(layer, x, sparse::ProximalGradientOptions(lambdas[i]).tol(1e-14).max_iter(100000)).codes;
      const auto excess = sparse::lasso_objective(layer, x, unrolled.codes[i], lambdas[i]) -
                          sparse::lasso_objective(layer, x, best, lambdas[i]);
      const auto bound = 2 * lipschitz[i] * best.flatten(1).square().sum(1) / double((k + 1) * (k + 1));
      EXPECT_TRUE((excess <= bound).all().item<bool>()) << net.name << " layer " << i + 1;
      // The codes: FISTA without restart converges in them at a problem-dependent linear rate once
      // the support is found (after 3,000 steps 1e-12 on the dense and stride-2 models, 8e-6 on
      // the worse-conditioned stride-1 one, 3e-12 there after 30,000); codes are of order 0.1–1.
      EXPECT_LT(largest_abs(unrolled.codes[i] - bp.codes[i]), 1e-4) << net.name << " layer " << i + 1;
      x = unrolled.codes[i];
    }
  }
}

/// D₂ [rows, p²]: column (a, b) has ±½ at rows a, p + b, 2p + (a + b) mod p, 3p + (a + 2b) mod p
/// (p prime): two columns share at most one row (two of the four coordinates fix (a, b)), so
/// μ(D₂) ≤ ¼ whatever the signs.
torch::Tensor sparse_columns(int64_t rows, int64_t p) {
  auto d = torch::zeros({rows, p * p}, f64);
  auto signs = torch::randint(0, 2, {p * p, 4}, f64) * 2 - 1;
  for (int64_t a = 0; a < p; ++a) {
    for (int64_t b = 0; b < p; ++b) {
      const int64_t col = a * p + b;
      const int64_t at[4] = {a, p + b, 2 * p + (a + b) % p, 3 * p + (a + 2 * b) % p};
      for (int64_t j = 0; j < 4; ++j) d[at[j]][col] = 0.5 * signs[col][j].item<double>();
    }
  }
  return d;
}

TEST(LayeredBasisPursuit, BasisPursuitProperRecoversASparseDeepCode) {
  // D₁ = [I, H/√n] (μ₁ = 1/16), D₂ with μ₂ ≤ ¼; X₂ 2-sparse so X₁ = D₂X₂ has ≤ 8 non-zeros:
  // ‖X_i‖₀ < ½(1 + 1/μ_i) for both layers, where BP recovers each layer exactly (Donoho & Elad 2003).
  torch::manual_seed(22);
  const int64_t n = 256, p = 11;
  const auto d1 = deepsc::testing::identity_hadamard(n);
  const auto d2 = sparse_columns(2 * n, p);
  const double mu1 = sparse::mutual_coherence(d1), mu2 = sparse::mutual_coherence(d2);
  const auto x2 = deepsc::testing::random_sparse_codes(4, p * p, 2);
  const auto x1 = x2.mm(d2.t());
  const auto y = x1.mm(d1.t());
  const int64_t s1 = x1.count_nonzero(std::vector<int64_t>{1}).max().item<int64_t>();
  ASSERT_LT(s1, sparse::recovery_bound(mu1));
  ASSERT_LT(2, sparse::recovery_bound(mu2));

  const auto model = dense_model({d1, d2});
  const auto exact = layered_basis_pursuit_exact(model, y);
  const auto by_zero_lambda = layered_basis_pursuit(model, y, {0.0, 0.0});
  EXPECT_TRUE(exact.converged);
  // On the true support with the true signs the lasso at λ is x* − λG_S⁻¹sign(x*), ‖G_S⁻¹‖∞ ≤
  // 1/(1 − (s − 1)μ): continuation stops at λ = 1e-6·λ_max, so layer 1 is off by at most
  // e₁ = λ₁/(1 − (s₁ − 1)μ₁) and layer 2 (whose columns have ℓ1 norm 2) by (2e₁ + λ₂)/(1 − μ₂); 1e-7
  // covers each solve's duality gap of 1e-8.
  const double ratio = BasisPursuitContinuation().final_ratio();
  const double e1 = ratio * sparse::lasso_lambda_max(model.layer(0), y, false).max().item<double>() / (1 - (s1 - 1) * mu1);
  const double e2 =
      (2 * e1 + ratio * sparse::lasso_lambda_max(model.layer(1), exact.codes[0], false).max().item<double>()) / (1 - mu2);
  EXPECT_LT(largest_abs(exact.codes[0] - x1), e1 + 1e-7);
  EXPECT_LT(largest_abs(exact.codes[1] - x2), e2 + 1e-7);
  EXPECT_TRUE(torch::equal(exact.codes[1].abs() > 1e-3, x2 != 0));
  for (size_t i = 0; i < 2; ++i) EXPECT_TRUE(torch::equal(by_zero_lambda.codes[i], exact.codes[i])) << "layer " << i + 1;
}

TEST(LayeredPursuits, GradientsMatchFiniteDifferences) {
  // Every differentiable pursuit (ML-ISTA and ML-FISTA with tol = 0), on a dense and a strided model.
  torch::manual_seed(23);
  const auto dense = dense_model({torch::randn({5, 7}, f64), torch::randn({7, 9}, f64)}, true);
  const auto strided = conv::ConvOptions().stride(2).padding(1);
  const auto conv = conv_model({torch::randn({3, 1, 3, 3}, f64), torch::randn({4, 3, 3, 3}, f64)}, {strided, strided}, true);
  const std::vector<double> values{0.2, 0.1};
  using Pursuit = std::function<std::vector<torch::Tensor>(const MlcscModel&, const torch::Tensor&)>;
  const std::vector<std::pair<std::string, Pursuit>> pursuits{
      {"soft thresholding", [&](const MlcscModel& m, const torch::Tensor& y) { return layered_thresholding(m, y, values).codes; }},
      {"unrolled layered BP",
       [&](const MlcscModel& m, const torch::Tensor& y) { return layered_basis_pursuit_unrolled(m, y, values, 4).codes; }},
      {"coupled layered ISTA",
       [&](const MlcscModel& m, const torch::Tensor& y) {
         return coupled_layered_ista(m, y, values, CoupledIstaOptions().sweeps(3)).codes;
       }},
      {"ML-ISTA",
       [&](const MlcscModel& m, const torch::Tensor& y) {
         return ml_ista(m, y, values, MlIstaOptions().max_iter(4).tol(0)).layers.codes;
       }},
      {"ML-FISTA",
       [&](const MlcscModel& m, const torch::Tensor& y) {
         return ml_ista(m, y, values, MlIstaOptions().max_iter(4).tol(0).fista(true)).layers.codes;
       }},
  };
  for (const auto& [model, signals] : {std::pair{dense, torch::randn({2, 5}, f64)}, std::pair{conv, torch::randn({1, 1, 5, 5}, f64)}}) {
    for (const auto& [name, pursuit] : pursuits) {
      const auto probes = pursuit(model, signals);
      std::vector<torch::Tensor> weights;
      for (const auto& c : probes) weights.push_back(torch::randn_like(c));
      auto f = [&](const torch::Tensor& y) {
        auto codes = pursuit(model, y);
        auto total = torch::zeros({}, f64);
        for (size_t i = 0; i < codes.size(); ++i) total = total + (codes[i] * weights[i]).sum();
        return total;
      };
      auto y = signals.clone().requires_grad_();
      f(y).backward();
      const auto grad = y.grad();
      torch::NoGradGuard no_grad;
      auto numeric = torch::zeros_like(signals);
      const double h = 1e-6;
      for (int64_t j = 0; j < signals.numel(); ++j) {
        auto e = torch::zeros_like(signals).view(-1).index_put_({j}, h).view_as(signals);
        numeric.view(-1)[j] = (f(signals + e).item<double>() - f(signals - e).item<double>()) / (2 * h);
      }
      EXPECT_GT(grad.abs().max().item<double>(), 0) << name;
      EXPECT_LT((numeric - grad).norm().item<double>(), 1e-6 * grad.norm().item<double>()) << name;
    }
  }
}

TEST(LayeredPursuits, RefuseBadValuesAndOptionsNamingThem) {
  const auto net = dense_net();
  const auto& m = net.model;
  const auto& y = net.signals;
  EXPECT_EQ(message_of([&] { layered_thresholding(m, y, {0.1}); }), "beta has 1 value but the model has 2 layers");
  EXPECT_EQ(message_of([&] { layered_basis_pursuit(m, y, {0.1, -1.0}); }).rfind("lambda value 2 must be finite and >= 0", 0), 0u);
  EXPECT_EQ(message_of([&] { coupled_layered_ista(m, y, {0.1, 0.1}, CoupledIstaOptions().sweeps(0)); }),
            "sweeps must be >= 1, got 0");
  EXPECT_EQ(message_of([&] { coupled_layered_ista(m, y, {0.1, 0.1}, CoupledIstaOptions().step_scale(0)); })
                .rfind("step_scale must be finite and > 0", 0),
            0u);
  EXPECT_EQ(message_of([&] { layered_basis_pursuit_unrolled(m, y, {0.1, 0.1}, 0); }), "iterations must be >= 1, got 0");
  EXPECT_EQ(message_of([&] { layered_basis_pursuit(m, y, {0.1, 0.1}, LayeredBasisPursuitOptions().max_iter(0)); }),
            "max_iter must be >= 1, got 0");
  EXPECT_EQ(message_of([&] { layered_basis_pursuit_exact(m, y, BasisPursuitContinuation().decay(1)); })
                .rfind("decay must be in (0, 1)", 0),
            0u);
  EXPECT_NE(message_of([&] { layered_thresholding(m, torch::randn({3, 9}, f64), {0.1, 0.1}); }).find("[N, 8]"),
            std::string::npos);
  EXPECT_NE(message_of([&] { layered_thresholding(m, y.to(torch::kFloat), {0.1, 0.1}); }).find("signals"), std::string::npos);
}

TEST(PursuitRegistry, NamesRoundTripAndAnUnknownOneListsThem) {
  EXPECT_EQ(pursuit_names(), (std::vector<std::string>{"thresholding", "layered-bp", "layered-ista", "ml-ista", "ml-fista"}));
  ASSERT_EQ(all_pursuits().size(), pursuit_names().size());
  for (auto p : all_pursuits()) {
    EXPECT_EQ(parse_pursuit(pursuit_name(p)), p) << pursuit_name(p);
    EXPECT_EQ(takes_thresholds(p), p == Pursuit::Thresholding) << pursuit_name(p);
  }
  EXPECT_EQ(message_of([] { parse_pursuit("ml-lista"); }),
            "unknown pursuit 'ml-lista' (use thresholding, layered-bp, layered-ista, ml-ista or ml-fista)");
}

TEST(PursuitRegistry, RunsExactlyTheDirectCall) {
  const auto net = dense_net();
  const std::vector<double> values{0.2, 0.1};
  for (auto shrinkage : {Shrinkage::Soft, Shrinkage::NonNegSoft, Shrinkage::Hard}) {
    const bool nonneg = shrinkage == Shrinkage::NonNegSoft;
    const auto request = PursuitRequest(values).shrinkage(shrinkage).max_iter(40).tol(1e-5);
    for (auto p : all_pursuits()) {
      if (shrinkage == Shrinkage::Hard && p != Pursuit::Thresholding) continue;
      LayeredCodes direct;
      switch (p) {
        case Pursuit::Thresholding: direct = layered_thresholding(net.model, net.signals, values, shrinkage); break;
        case Pursuit::LayeredBp:
          direct = layered_basis_pursuit(net.model, net.signals, values,
                                         LayeredBasisPursuitOptions().max_iter(40).tol(1e-5).nonneg(nonneg));
          break;
        case Pursuit::LayeredIsta:
          direct = coupled_layered_ista(net.model, net.signals, values, CoupledIstaOptions().sweeps(40).tol(1e-5).nonneg(nonneg));
          break;
        case Pursuit::MlIsta:
        case Pursuit::MlFista:
          direct = ml_ista(net.model, net.signals, values,
                           MlIstaOptions().max_iter(40).tol(1e-5).nonneg(nonneg).fista(p == Pursuit::MlFista))
                       .layers;
          break;
      }
      const auto run = run_pursuit(p, net.model, net.signals, request);
      const auto what = std::string(pursuit_name(p)) + " " + sparse::shrinkage_name(shrinkage);
      ASSERT_EQ(run.codes.size(), 2u) << what;
      for (size_t i = 0; i < 2; ++i) EXPECT_TRUE(torch::equal(run.codes[i], direct.codes[i])) << what;
      EXPECT_EQ(run.iterations, direct.iterations) << what;
      EXPECT_EQ(run.converged, direct.converged) << what;
      if (nonneg) {
        EXPECT_GE(run.codes[1].min().item<double>(), 0) << what;
      }
    }
  }
}

TEST(PursuitRegistry, RefusesHardShrinkageOutsideThresholdingAndWrongValueCounts) {
  const auto net = dense_net();
  for (auto p : all_pursuits()) {
    const auto hard = message_of([&] {
      run_pursuit(p, net.model, net.signals, PursuitRequest({0.1, 0.1}).shrinkage(Shrinkage::Hard));
    });
    if (p == Pursuit::Thresholding) {
      EXPECT_EQ(hard, "no std::invalid_argument");
    } else {
      EXPECT_EQ(hard, std::string("hard shrinkage is for thresholding only; ") + pursuit_name(p) + " takes soft or nonneg");
    }
    EXPECT_EQ(message_of([&] { run_pursuit(p, net.model, net.signals, PursuitRequest({0.1, 0.1, 0.1})); }),
              std::string(takes_thresholds(p) ? "beta" : "lambda") + " has 3 values but the model has 2 layers")
        << pursuit_name(p);
  }
}

}  // namespace deepsc::mlcsc::pursuits_tests
