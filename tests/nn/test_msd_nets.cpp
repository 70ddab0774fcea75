// MSDNet and MSD-CSC (nn/msd_nets.h) and their dictionary D = [I  Fᵀ]
// (conv/identity_augmented_dictionary.h): the operator is a true adjoint pair with L = 1 + ‖F‖²;
// an MSD-CSC layer is the hand-written ISTA update and converges to its lasso; Proposition 1 of
// Zhang & Zhang (2021) (thresholding MSD-CSC = MSDNet) and Theorem 1 (the MSD-CSC lasso optimum is
// never above ML-CSC's with the same F), numerically; gradients, options, checkpoints, float32.
#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/conv/identity_augmented_dictionary.h"
#include "deepsc/nn/msd_nets.h"
#include "deepsc/nn/registry.h"
#include "deepsc/sparse/lasso.h"
#include "deepsc/sparse/proximal_gradient.h"

#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <utility>

namespace msd_nets_test {

namespace conv = deepsc::conv;
namespace sparse = deepsc::sparse;
using deepsc::nn::MsdNetImpl;
using deepsc::nn::MsdNetOptions;
using deepsc::nn::ModelOptions;

const auto kF64 = torch::TensorOptions().dtype(torch::kDouble);

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no std::invalid_argument)";
}

/// The tests' network: blocks 2, depth 3, growth 2, dilations 1, 2, 1, 12×12 images of 2 channels.
MsdNetOptions tiny(bool csc, int64_t unfoldings = 1) {
  return MsdNetOptions().in_channels(2).num_classes(3).stem_channels(3).blocks(2).depth(3).growth(2).max_dilation(2)
      .csc(csc).unfoldings(unfoldings);
}

std::shared_ptr<MsdNetImpl> tiny_net(bool csc, int64_t unfoldings = 1) {
  auto net = std::make_shared<MsdNetImpl>(tiny(csc, unfoldings));
  net->to(torch::kDouble);
  return net;
}

/// Every bias of the net set to U(−0.2, 0.2) and every MSD-CSC step c to U(0.5, 1)/L: away from
/// the initial zeros (where a ReLU sits on its kink) and from the initial c.
void randomize_biases(MsdNetImpl& net) {
  torch::NoGradGuard no_grad;
  for (auto& p : net.named_parameters()) {
    if (p.key().find("bias") != std::string::npos) p.value().uniform_(-0.2, 0.2);
    if (p.key().find("step") != std::string::npos) p.value().mul_(torch::rand({}, kF64) * 0.5 + 0.5);
  }
}

/// ⟨∇f(p), v⟩ (autograd) against (f(p + εv) − f(p − εv)) / 2ε for a random direction v.
void expect_directional_derivative(const std::function<torch::Tensor()>& f, torch::Tensor p, const std::string& what) {
  if (p.grad().defined()) p.grad().zero_();
  f().backward();
  ASSERT_TRUE(p.grad().defined()) << what;
  const auto v = torch::randn_like(p);
  const double analytic = (p.grad() * v).sum().item<double>();
  const double eps = 1e-6;
  torch::NoGradGuard no_grad;
  p.add_(v, eps);
  const double plus = f().item<double>();
  p.add_(v, -2 * eps);
  const double minus = f().item<double>();
  p.add_(v, eps);
  const double numeric = (plus - minus) / (2 * eps);
  EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << what;
}

/// The hand-written MSD-CSC layer (the reference, independent of sparse::unrolled_pursuit).
torch::Tensor hand_written_layer(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, double c,
                                 int64_t s, int64_t steps) {
  const int64_t ch = x.size(1), g = w.size(0);
  const auto b_a = b.narrow(0, 0, ch).view({1, ch, 1, 1});
  const auto b_g = b.narrow(0, ch, g);
  auto a = torch::relu(x + b_a);
  auto gamma = torch::relu(torch::conv2d(x, w, b_g, 1, s, s));
  for (int64_t t = 0; t < steps; ++t) {
    const auto r = x - a - torch::conv_transpose2d(gamma, w, {}, 1, s, 0, 1, s);
    a = torch::relu(a + c * r + b_a);
    gamma = torch::relu(gamma + torch::conv2d(c * r, w, b_g, 1, s, s));
  }
  return torch::cat({a, gamma}, 1);
}


TEST(IdentityAugmentedDictionary, IsAnAdjointPairOfIdentityAndDilatedConvolution) {
  torch::manual_seed(3);
  for (int64_t k : {3, 5}) {
    for (int64_t s : {1, 2, 3}) {
      const auto w = torch::randn({3, 4, k, k}, kF64);
      const conv::IdentityAugmentedDictionary d(w, s);
      const auto x = torch::randn({2, 7, 9, 10}, kF64), y = torch::randn({2, 4, 9, 10}, kF64);
      ASSERT_EQ(d.code_shape(y.sizes()), std::vector<int64_t>({2, 7, 9, 10}));
      const auto dx = d.apply(x), dty = d.adjoint(y);
      const double lhs = (dx * y).sum().item<double>(), rhs = (x * dty).sum().item<double>();
      EXPECT_NEAR(lhs, rhs, 1e-12 * std::max(1.0, std::abs(lhs))) << "k " << k << " s " << s;
      // D[A; Γ] = A + Fᵀ Γ and Dᵀr = [r; F r] with F the same-size dilated convolution.
      const int64_t p = s * (k - 1) / 2;
      EXPECT_LT(max_abs_diff(dx, x.narrow(1, 0, 4) + torch::conv_transpose2d(x.narrow(1, 4, 3), w, {}, 1, p, 0, 1, s)), 1e-12);
      EXPECT_LT(max_abs_diff(dty, torch::cat({y, torch::conv2d(y, w, {}, 1, p, s)}, 1)), 1e-12);
      // The fused scaled adjoint: s·Dᵀr + b.
      const auto b = torch::randn({7}, kF64);
      EXPECT_LT(max_abs_diff(d.scaled_adjoint(y, 0.3, b), 0.3 * dty + b.view({1, 7, 1, 1})), 1e-12);
      EXPECT_LT(max_abs_diff(d.scaled_adjoint(y, 0.3), 0.3 * dty), 1e-12);
    }
  }
}

TEST(IdentityAugmentedDictionary, LipschitzIsOnePlusTheConvolutions) {
  torch::manual_seed(4);
  const auto w = torch::randn({2, 3, 3, 3}, kF64);
  const std::vector<int64_t> shape{1, 3, 5, 6};
  for (int64_t s : {1, 2}) {
    const conv::IdentityAugmentedDictionary d(w, s);
    const conv::ConvDictionary f(w, conv::ConvOptions().padding(s).dilation(s));
    const double l_f = f.lipschitz(shape);
    EXPECT_NEAR(d.lipschitz(shape), 1 + l_f, 1e-12 * l_f);
    // The explicit matrix of D (columns D e_j) has σ_max² = 1 + ‖F‖², and the generic power
    // iteration on D itself finds it too.
    const auto codes = d.code_shape(shape);
    const int64_t m = codes[1] * codes[2] * codes[3];
    const auto columns = d.apply(torch::eye(m, kF64).view({m, codes[1], codes[2], codes[3]})).reshape({m, -1});
    const double exact = std::pow(torch::linalg_svdvals(columns).max().item<double>(), 2);
    EXPECT_NEAR(d.lipschitz(shape), exact, 1e-5 * exact) << "s " << s;
    auto v = d.power_start(shape);
    EXPECT_NEAR(d.power_iteration(v, sparse::LipschitzOptions().tol(1e-13).max_iter(20000)), exact, 1e-6 * exact);
  }
}

TEST(IdentityAugmentedDictionary, ShapeErrorsAreNamed) {
  const auto w = torch::randn({2, 3, 3, 3}, kF64);
  const conv::IdentityAugmentedDictionary d(w, 2);
  EXPECT_NE(error_of([&] { d.code_shape({1, 4, 8, 8}); }).find("channels"), std::string::npos);
  EXPECT_NE(error_of([&] { d.code_shape({4, 8, 8}); }).find("[N, C, H, W]"), std::string::npos);
  EXPECT_NE(error_of([&] { d.apply(torch::zeros({1, 4, 8, 8}, kF64)); }).find("[N, 5, H, W]"), std::string::npos);
  EXPECT_NE(error_of([&] { d.scaled_adjoint(torch::zeros({1, 3, 8, 8}, kF64), 1.0, torch::zeros({2}, kF64)); })
                .find("bias must be [5]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { d.check_signals(torch::zeros({1, 3, 8, 8})); }).find("dtype"), std::string::npos);
  EXPECT_NE(error_of([] { conv::IdentityAugmentedDictionary(torch::zeros({2, 3, 2, 2}), 1); }).find("odd"),
            std::string::npos);
  EXPECT_NE(error_of([] { conv::IdentityAugmentedDictionary(torch::zeros({2, 3, 3, 3}), 0); }).find("dilation"),
            std::string::npos);
}

TEST(MsdNets, ArchitectureFollowsTheOptions) {
  EXPECT_EQ(deepsc::nn::msd_dilation(1, 4), 1);
  EXPECT_EQ(deepsc::nn::msd_dilation(4, 4), 4);
  EXPECT_EQ(deepsc::nn::msd_dilation(5, 4), 1);
  EXPECT_EQ(deepsc::nn::msd_dilation(7, 4), 3);
  for (bool csc : {false, true}) {
    auto net = tiny_net(csc);
    // Block 1: 3 → 5 → 7 → 9 channels; transition to 4; block 2: 4 → 10; head 10 → 3.
    EXPECT_EQ(net->block_in_channels(0), 3);
    EXPECT_EQ(net->block_in_channels(1), 4);
    EXPECT_EQ(net->transitions.at(0)->weight.sizes(), c10::IntArrayRef({4, 9, 1, 1}));
    EXPECT_EQ(net->fc->weight.sizes(), c10::IntArrayRef({3, 10}));
    const auto stacks = net->stacks(torch::rand({2, 2, 12, 12}, kF64));
    ASSERT_EQ(stacks.size(), 6u);
    EXPECT_EQ(stacks[2].sizes(), c10::IntArrayRef({2, 9, 12, 12}));
    EXPECT_EQ(stacks[5].sizes(), c10::IntArrayRef({2, 10, 6, 6}));
    for (const auto& s : stacks) EXPECT_GE(s.min().item<double>(), 0);  // non-negative codes throughout
    const std::vector<int64_t> dilations{1, 2, 1};
    for (size_t i = 0; i < 3; ++i) {
      if (csc) {
        EXPECT_EQ(net->msd_csc_layers[1][i]->options.dilation(), dilations[i]);
        EXPECT_EQ(net->msd_csc_layers[1][i]->weight.sizes(), c10::IntArrayRef({2, 4 + 2 * static_cast<int64_t>(i), 3, 3}));
      } else {
        EXPECT_EQ(net->msd_layers[1][i]->options.dilation()->at(0), dilations[i]);
        EXPECT_EQ(c10::get<torch::ExpandingArray<2>>(net->msd_layers[1][i]->options.padding())->at(1), dilations[i]);
      }
    }
  }
}

TEST(MsdNets, Proposition1ThresholdingMsdCscIsMsdNet) {
  torch::manual_seed(5);
  auto msdnet = tiny_net(false);
  randomize_biases(*msdnet);
  auto msd_csc = tiny_net(true, /*unfoldings=*/0);
  deepsc::nn::copy_msd_net_weights(*msdnet, *msd_csc);
  const auto images = torch::randn({3, 2, 12, 12}, kF64);
  const auto a = msdnet->stacks(images), b = msd_csc->stacks(images);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_LT(max_abs_diff(a[i], b[i]), 1e-12) << "stack " << i;
  EXPECT_LT(max_abs_diff(msdnet->forward(images), msd_csc->forward(images)), 1e-12);
  // The equivalence needs both of its conditions: b_A = 0 and no ISTA step after the thresholding.
  {
    torch::NoGradGuard no_grad;
    msd_csc->msd_csc_layers[0][0]->bias.narrow(0, 0, 3).fill_(-0.1);
  }
  EXPECT_GT(max_abs_diff(msdnet->forward(images), msd_csc->forward(images)), 1e-6);
  auto unfolded = tiny_net(true, 1);
  deepsc::nn::copy_msd_net_weights(*msdnet, *unfolded);
  EXPECT_GT(max_abs_diff(msdnet->forward(images), unfolded->forward(images)), 1e-6);
}

TEST(MsdNets, MsdCscLayerIsTheHandWrittenIstaUpdate) {
  torch::manual_seed(6);
  const auto x = torch::relu(torch::randn({2, 4, 12, 12}, kF64));
  for (int64_t steps : {1, 2, 3}) {
    for (int64_t s : {1, 2, 3}) {
      deepsc::nn::MsdCscLayer layer(deepsc::nn::MsdCscLayerOptions(4, 2, s).unfoldings(steps));
      layer->to(torch::kDouble);
      {
        torch::NoGradGuard no_grad;
        layer->bias.uniform_(-0.2, 0.2);
        layer->step.fill_(0.37);
      }
      const auto expected = hand_written_layer(x, layer->weight, layer->bias, 0.37, s, steps);
      EXPECT_LT(max_abs_diff(layer->forward(x), expected), 1e-12) << "T " << steps << " s " << s;
    }
  }
}

TEST(MsdNets, ManyStepsReachTheMsdCscLasso) {
  torch::manual_seed(7);
  const double beta = 0.05;
  const auto x = torch::relu(torch::randn({2, 3, 8, 8}, kF64));
  deepsc::nn::MsdCscLayer layer(deepsc::nn::MsdCscLayerOptions(3, 2, 2).unfoldings(3000));
  layer->to(torch::kDouble);
  const auto d = layer->dictionary();
  const double l = d.lipschitz(x.sizes());
  // The step set at reset, 1/L on a 16×16 map (to a 1e-5 relative change), is at most about 1/L on
  // the smaller map.
  EXPECT_LE(layer->step.item<double>(), 1 / l * (1 + 1e-3));
  {
    torch::NoGradGuard no_grad;
    layer->step.fill_(1 / l);
    layer->bias.fill_(-beta / l);  // threshold βc: the lasso weight is β
  }
  torch::NoGradGuard no_grad;
  const auto codes = layer->forward(x);
  const auto reference = sparse::fista(
      d, x, sparse::ProximalGradientOptions(beta).nonneg(true).stop_rule(sparse::StopRule::DualityGap).tol(1e-13).max_iter(50000));
  ASSERT_TRUE(reference.converged);
  const auto terms = sparse::lasso_terms(d, x, codes, beta, /*nonneg=*/true);
  EXPECT_LT(terms.gap.max().item<double>(), 1e-9 * terms.objective.min().item<double>());
  EXPECT_LT(max_abs_diff(codes, reference.codes), 1e-5);
  // KKT of the non-negative lasso: g = Dᵀ(D c − x); g + β = 0 where c > 0, g + β ≥ 0 where c = 0.
  const auto g = d.adjoint(d.apply(codes) - x) + beta;
  EXPECT_LT(g.masked_select(codes > 0).abs().max().item<double>(), 1e-6);
  EXPECT_GT(g.masked_select(codes == 0).min().item<double>(), -1e-6);
}

TEST(MsdNets, Theorem1MsdCscLassoNeverAboveMlCsc) {
  // min_{A,Γ} ½‖Γ̃ − A − FᵀΓ‖² + β‖[A; Γ]‖₁ ≤ min_Γ ½‖Γ̃ − FᵀΓ‖² + β‖Γ‖₁ since A = 0 is feasible; more
  // precisely, keeping ML-CSC's Γ and taking A = S_β(r) (r its residual) lowers the objective by
  // ½‖(|r| − β)₊‖², so the MSD-CSC optimum is strictly below whenever ‖r‖∞ > β.
  torch::manual_seed(8);
  const auto solve = [](const sparse::LinearOperator& op, const torch::Tensor& y, double beta) {
    auto result = sparse::fista(op, y, sparse::ProximalGradientOptions(beta).stop_rule(sparse::StopRule::DualityGap)
                                           .tol(1e-11).max_iter(50000).check_every(5));
    EXPECT_TRUE(result.converged);
    return std::make_pair(result.codes, sparse::lasso_terms(op, y, result.codes, beta, false));
  };
  int64_t instances = 0, strictly_below = 0;
  for (int64_t trial = 0; trial < 5; ++trial) {
    const int64_t s = 1 + trial % 2;
    const auto w = torch::randn({2, 4, 3, 3}, kF64) / 3;
    const conv::IdentityAugmentedDictionary msd(w, s);
    const auto& ml = msd.convolution();  // D = Fᵀ alone
    const auto y = torch::relu(torch::randn({4, 4, 8, 8}, kF64));
    for (double beta : {0.05, 0.3, 1.0, 5.0}) {
      const auto [ml_codes, ml_terms] = solve(ml, y, beta);
      const auto msd_terms = solve(msd, y, beta).second;
      // ML-CSC's residual at its solution, and the decrease A = S_β(r) certainly achieves.
      const auto r = y - ml.apply(ml_codes);
      const auto decrease = 0.5 * (r.abs() - beta).clamp_min(0).square().sum({1, 2, 3});
      const auto r_max = r.abs().amax({1, 2, 3});
      for (int64_t n = 0; n < y.size(0); ++n, ++instances) {
        const double f_ml = ml_terms.objective[n].item<double>(), f_msd = msd_terms.objective[n].item<double>();
        const double gap_ml = ml_terms.gap[n].item<double>(), gap_msd = msd_terms.gap[n].item<double>();
        const double slack = 1e-12 * std::max(1.0, f_ml);
        // The certified lower bound of the MSD-CSC optimum is below ML-CSC's attained objective
        // minus the decrease.
        EXPECT_LE(f_msd - gap_msd, f_ml - decrease[n].item<double>() + slack) << "trial " << trial << " β " << beta;
        if (f_msd + gap_msd + slack < f_ml - gap_ml) ++strictly_below;  // certified strict
        if (r_max[n].item<double>() < 0.99 * beta) {  // A = 0 is optimal: the two optima agree
          EXPECT_NEAR(f_msd, f_ml, 1e-8 * std::max(1.0, f_ml));
        }
      }
    }
  }
  EXPECT_GE(instances, 20);
  EXPECT_GT(strictly_below, instances / 2) << strictly_below << " of " << instances;
}

TEST(MsdNets, GradientsMatchFiniteDifferences) {
  torch::manual_seed(9);
  for (bool csc : {false, true}) {
    auto net = tiny_net(csc, 2);
    randomize_biases(*net);
    auto images = torch::randn({2, 2, 12, 12}, kF64).requires_grad_(true);
    const auto weights = torch::randn({2, 3}, kF64);
    const auto f = [&] { return (net->forward(images) * weights).sum(); };
    const std::string name = csc ? "msd-csc " : "msdnet ";
    expect_directional_derivative(f, images, name + "images");
    expect_directional_derivative(f, net->stem->weight, name + "stem");
    if (csc) {
      auto& layer = net->msd_csc_layers[1][2];
      expect_directional_derivative(f, layer->weight, name + "F");
      expect_directional_derivative(f, layer->bias, name + "b");
      expect_directional_derivative(f, layer->step, name + "c");
      expect_directional_derivative(f, net->msd_csc_layers[0][1]->step, name + "c (block 1)");
    } else {
      expect_directional_derivative(f, net->msd_layers[1][2]->weight, name + "F");
      expect_directional_derivative(f, net->msd_layers[0][1]->bias, name + "bias");
    }
  }
}

TEST(MsdNets, OptionsAreValidatedAndNamed) {
  using deepsc::nn::make_model;
  const auto o = ModelOptions().in_channels(1).num_classes(4);
  EXPECT_NE(error_of([&] { make_model("msdnet", ModelOptions(o).unfoldings(2)); }).find("does not use the option unfoldings"),
            std::string::npos);
  EXPECT_NE(error_of([&] { make_model("msd-csc", ModelOptions(o).layout("cifar")); }).find("layout"), std::string::npos);
  EXPECT_NE(error_of([&] { make_model("msdnet", ModelOptions(o).channels({4, 5})); }).find("channels must have one value"),
            std::string::npos);
  EXPECT_NE(error_of([&] { make_model("msd-csc", ModelOptions(o).depth(-1)); }).find("depth"), std::string::npos);
  EXPECT_NE(error_of([] { deepsc::nn::check_msd_net_options(MsdNetOptions().unfoldings(-1)); }).find("unfoldings"),
            std::string::npos);
  EXPECT_NE(error_of([] { deepsc::nn::MsdCscLayer(deepsc::nn::MsdCscLayerOptions(3, 0, 1)); }).find("growth"),
            std::string::npos);
  // Defaults: 16·width stem channels, 3 blocks of 8 layers, growth 8, dilations up to 4, T = 1.
  const auto defaults = deepsc::nn::msd_net_options(ModelOptions(o).width(0.5), true);
  EXPECT_EQ(defaults.stem_channels(), 8);
  EXPECT_EQ(defaults.blocks(), 3);
  EXPECT_EQ(defaults.depth(), 8);
  EXPECT_EQ(defaults.growth(), 8);
  EXPECT_EQ(defaults.max_dilation(), 4);
  EXPECT_EQ(defaults.unfoldings(), 1);
  const auto set = deepsc::nn::msd_net_options(
      ModelOptions(o).channels({5}).blocks(2).depth(3).growth(4).max_dilation(2).unfoldings(0), true);
  EXPECT_EQ(set.stem_channels(), 5);
  EXPECT_EQ(set.unfoldings(), 0);
  auto model = make_model("msd-csc", ModelOptions(o).blocks(2).depth(2).growth(2).channels({3}).unfoldings(0));
  EXPECT_EQ(model->forward(torch::rand({2, 1, 8, 8})).sizes(), c10::IntArrayRef({2, 4}));
  EXPECT_TRUE(model->csc_layers().empty());
  EXPECT_NE(error_of([&] { model->forward(torch::rand({2, 1, 1, 1})); }).find("H, W >= 2"), std::string::npos);
  EXPECT_NE(error_of([&] { model->forward(torch::rand({2, 3, 8, 8})); }).find("[N, 1, H, W]"), std::string::npos);
}

TEST(MsdNets, SaveLoadAndCloneReproduceOutputs) {
  for (const std::string name : {"msdnet", "msd-csc"}) {
    const auto o = ModelOptions().in_channels(2).num_classes(3).blocks(2).depth(3).growth(2).channels({3});
    torch::manual_seed(10);
    auto model = deepsc::nn::make_model(name, o);
    auto* net = dynamic_cast<MsdNetImpl*>(model.get());
    ASSERT_NE(net, nullptr);
    randomize_biases(*net);
    const auto images = torch::randn({2, 2, 12, 12});
    torch::NoGradGuard no_grad;
    const auto expected = model->forward(images);
    std::stringstream stream;
    torch::save(model, stream);
    torch::manual_seed(11);
    auto loaded = deepsc::nn::make_model(name, o);
    EXPECT_FALSE(torch::equal(loaded->forward(images), expected)) << name;
    torch::load(loaded, stream);
    EXPECT_TRUE(torch::equal(loaded->forward(images), expected)) << name;
    auto copy = std::dynamic_pointer_cast<MsdNetImpl>(net->clone());
    ASSERT_TRUE(copy) << name;
    EXPECT_TRUE(torch::equal(copy->forward(images), expected)) << name;
  }
}

TEST(MsdNets, Float32ForwardMatchesFloat64) {
  torch::manual_seed(12);
  for (bool csc : {false, true}) {
    auto net = std::make_shared<MsdNetImpl>(tiny(csc, 2));  // float32 as built
    const auto images = torch::randn({2, 2, 12, 12});
    torch::NoGradGuard no_grad;
    const auto single = net->forward(images);
    ASSERT_EQ(single.scalar_type(), torch::kFloat);
    auto wide = std::dynamic_pointer_cast<MsdNetImpl>(net->clone());
    wide->to(torch::kDouble);
    const auto reference = wide->forward(images.to(torch::kDouble));
    EXPECT_LT(max_abs_diff(single.to(torch::kDouble), reference), 1e-4 * std::max(1.0, reference.abs().max().item<double>()))
        << (csc ? "msd-csc" : "msdnet");
  }
}

}  // namespace msd_nets_test
