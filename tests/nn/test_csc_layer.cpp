#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/nn/csc_layer.h"
#include "deepsc/sparse/proximal_gradient.h"

#include "support/tensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

using deepsc::nn::CscLayer;
using deepsc::nn::CscLayerOptions;
using deepsc::nn::CscSolver;

namespace {

const auto f64 = torch::TensorOptions().dtype(torch::kDouble);

struct Geometry {
  int64_t stride, padding, size;
};

/// The output padding that makes conv_transpose2d give back `size` (kernel 3, dilation 1).
int64_t out_pad(const Geometry& g) {
  const int64_t code = (g.size + 2 * g.padding - 3) / g.stride + 1;
  return g.size - ((code - 1) * g.stride - 2 * g.padding + 3);
}

torch::Tensor synth(const torch::Tensor& c, const torch::Tensor& w, const Geometry& g) {
  return torch::conv_transpose2d(c, w, {}, g.stride, g.padding, out_pad(g));
}
torch::Tensor analysis(const torch::Tensor& x, const torch::Tensor& w, const Geometry& g) {
  return torch::conv2d(x, w, {}, g.stride, g.padding);
}

/// σ_max(D)² from the explicit matrix of D (synthesis applied to every basis code map).
double dense_lipschitz(const torch::Tensor& w, const Geometry& g) {
  const int64_t m = w.size(0), c = w.size(1);
  const int64_t code = (g.size + 2 * g.padding - 3) / g.stride + 1, n = m * code * code;
  auto basis = torch::eye(n, f64).view({n, m, code, code});
  auto columns = synth(basis, w, g).reshape({n, c * g.size * g.size});  // row j = D e_j
  return std::pow(torch::linalg_svdvals(columns).max().item<double>(), 2);
}

/// The unrolled iteration written out from its formulas, with a given step η.
torch::Tensor explicit_codes(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& lambda, double eta,
                             const Geometry& g, CscSolver solver, int64_t iterations) {
  auto shrink = [&](const torch::Tensor& z) { return torch::relu(z - lambda * eta); };
  auto c = shrink(eta * analysis(x, w, g));
  auto previous = torch::zeros_like(c);
  double t = 1;
  for (int64_t l = 1; l < iterations; ++l) {
    const double t_next = (1 + std::sqrt(1 + 4 * t * t)) / 2;
    const auto z = c + ((t - 1) / t_next) * (c - previous);
    torch::Tensor next;
    switch (solver) {
      case CscSolver::Ista: next = shrink(c + eta * analysis(x - synth(c, w, g), w, g)); break;
      case CscSolver::Fista: next = shrink(z + eta * analysis(x - synth(z, w, g), w, g)); break;
      case CscSolver::Published: next = shrink(z + eta * analysis(x - synth(c, w, g), w, g)); break;
    }
    previous = c;
    c = next;
    t = t_next;
  }
  return c;
}

/// A float64 layer whose power iteration runs to machine precision.
CscLayer exact_layer(int64_t c, int64_t m, const Geometry& g, CscSolver solver, int64_t iterations,
                     double lambda = 0.1) {
  return CscLayer(CscLayerOptions(c, m, 3)
                      .lambda(lambda)
                      .stride(g.stride)
                      .padding(g.padding)
                      .solver(solver)
                      .iterations(iterations)
                      .power_iterations(20000)
                      .power_tol(1e-26));
}

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

}  // namespace

TEST(CscLayer, TwoStepsMatchThePublishedFormulaForEverySolver) {
  torch::manual_seed(0);
  for (const Geometry& g : {Geometry{1, 0, 6}, Geometry{2, 1, 8}, Geometry{2, 1, 7}, Geometry{1, 1, 5}}) {
    auto x = torch::randn({3, 2, g.size, g.size}, f64);
    auto w = deepsc::testing::unit_norm_atoms(torch::randn({4, 2, 3, 3}, f64));
    const double lip = dense_lipschitz(w, g), eta = 0.9 / lip;
    auto c1 = torch::relu(eta * analysis(x, w, g) - 0.1 * eta);
    auto c2 = torch::relu(c1 + eta * analysis(x - synth(c1, w, g), w, g) - 0.1 * eta);
    for (auto solver : {CscSolver::Published, CscSolver::Ista, CscSolver::Fista}) {
      auto layer = exact_layer(2, 4, g, solver, 2);
      layer->to(torch::kDouble);
      {
        torch::NoGradGuard no_grad;
        layer->weight.copy_(w);
      }
      auto codes = layer->forward(x);
      EXPECT_NEAR(layer->last_lipschitz(), lip, 1e-11 * lip) << "stride " << g.stride << " size " << g.size;
      ASSERT_EQ(codes.sizes(), c2.sizes());
      EXPECT_LT(max_abs(codes - c2), 1e-10) << "stride " << g.stride << " size " << g.size;
      EXPECT_GT(c2.count_nonzero().item<int64_t>(), 0);
    }
  }
}

TEST(CscLayer, FiveStepsMatchExplicitFistaIstaAndPublishedLoops) {
  torch::manual_seed(1);
  const Geometry g{2, 1, 8};
  auto x = torch::randn({2, 3, 8, 8}, f64);
  auto w = deepsc::testing::unit_norm_atoms(torch::randn({5, 3, 3, 3}, f64));
  const double eta = 0.9 / dense_lipschitz(w, g);
  const auto lambda = torch::scalar_tensor(0.05, f64);
  std::vector<torch::Tensor> outputs;
  for (auto solver : {CscSolver::Fista, CscSolver::Ista, CscSolver::Published}) {
    auto layer = exact_layer(3, 5, g, solver, 5, 0.05);
    layer->to(torch::kDouble);
    {
      torch::NoGradGuard no_grad;
      layer->weight.copy_(w);
    }
    auto codes = layer->forward(x);
    EXPECT_LT(max_abs(codes - explicit_codes(x, w, lambda, eta, g, solver, 5)), 1e-10) << static_cast<int>(solver);
    outputs.push_back(codes.detach());
  }
  // The three iterations really differ after 5 steps (so the comparisons above discriminate).
  EXPECT_GT(max_abs(outputs[0] - outputs[1]), 1e-6);
  EXPECT_GT(max_abs(outputs[0] - outputs[2]), 1e-6);
  EXPECT_GT(max_abs(outputs[1] - outputs[2]), 1e-6);
}

TEST(CscLayer, StrideTwoCodesAnInputWithOneOddAndOneEvenSide) {
  torch::manual_seed(7);
  auto x = torch::randn({2, 2, 7, 10}, f64);
  auto w = deepsc::testing::unit_norm_atoms(torch::randn({4, 2, 3, 3}, f64));
  auto layer = exact_layer(2, 4, Geometry{2, 1, 7}, CscSolver::Published, 2);
  layer->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    layer->weight.copy_(w);
  }
  layer->set_record_residual(true);
  auto codes = layer->forward(x);
  ASSERT_EQ(codes.sizes(), (std::vector<int64_t>{2, 4, 4, 5}));
  // D·c has the input's size: output padding 0 rows (7 = 2·3 − 2 + 3) and 1 column (10).
  auto synth_hw = [&](const torch::Tensor& c) { return torch::conv_transpose2d(c, w, {}, 2, 1, {0, 1}); };
  const double eta = 0.9 / layer->last_lipschitz();
  auto c1 = torch::relu(eta * torch::conv2d(x, w, {}, 2, 1) - 0.1 * eta);
  auto c2 = torch::relu(c1 + eta * torch::conv2d(x - synth_hw(c1), w, {}, 2, 1) - 0.1 * eta);
  EXPECT_LT(max_abs(codes - c2), 1e-10);
  auto residual = layer->last_residual();
  EXPECT_LT(max_abs(residual - (x - synth_hw(codes)).pow(2).sum({1, 2, 3})), 1e-10);
}

TEST(CscLayer, LearnableLambdaBelowZeroActsAsZero) {
  torch::manual_seed(8);
  auto x = torch::randn({2, 3, 8, 8}, f64);
  auto layer = CscLayer(CscLayerOptions(3, 6, 3).padding(1).learnable_lambda(true).lambda(0.3));
  layer->to(torch::kDouble);
  torch::NoGradGuard no_grad;
  auto run = [&] {
    layer->restart_power_iteration();
    return layer->forward(x);
  };
  layer->lambda.fill_(0.3);
  auto positive = run();
  layer->lambda[2] = 0.0;
  auto at_zero = run();
  layer->lambda[2] = -0.5;  // as a gradient step could leave it
  auto negative = run();
  EXPECT_LT(max_abs(negative - at_zero), 1e-12);
  EXPECT_GT(max_abs(positive.select(1, 2) - at_zero.select(1, 2)), 1e-3);  // λ matters for that atom
  EXPECT_GE(negative.min().item<double>(), 0.0);
}

TEST(CscLayer, CodesApproachTheLassoSolutionAsIterationsGrow) {
  torch::manual_seed(2);
  const double lambda = 0.1;
  auto w = deepsc::testing::unit_norm_atoms(torch::randn({6, 1, 3, 3}, f64));
  auto x = torch::randn({2, 1, 10, 10}, f64);
  deepsc::conv::ConvDictionary dict(w, deepsc::conv::ConvOptions().padding(1));
  auto objective = [&](const torch::Tensor& c) {
    return (0.5 * (x - dict.apply(c)).pow(2).sum() + lambda * c.abs().sum()).item<double>() / 2;
  };
  auto reference = deepsc::sparse::fista(
      dict, x, deepsc::sparse::ProximalGradientOptions(lambda).nonneg(true).tol(1e-12).max_iter(100000));
  const double best = objective(reference.codes);
  for (auto solver : {CscSolver::Ista, CscSolver::Fista, CscSolver::Published}) {
    double previous = INFINITY, after_two = 0;
    torch::Tensor codes;
    for (int64_t iterations : {1, 2, 5, 20, 100, 1000}) {
      auto layer = CscLayer(CscLayerOptions(1, 6, 3).padding(1).lambda(lambda).iterations(iterations).solver(solver)
                                .step_scale(1.0).power_tol(1e-20).power_iterations(5000));
      layer->to(torch::kDouble);
      torch::NoGradGuard no_grad;
      layer->weight.copy_(w);
      codes = layer->forward(x);
      const double f = objective(codes);
      EXPECT_GE(f, best - 1e-9);
      if (solver == CscSolver::Ista) {
        EXPECT_LT(f, previous) << iterations;  // ISTA with η ≤ 1/L is monotone
      }
      if (iterations == 2) after_two = f - best;
      previous = f;
    }
    const auto name = deepsc::nn::csc_solver_name(solver);
    EXPECT_LT(previous - best, 1e-3 * after_two) << name;
    if (solver == CscSolver::Ista) continue;  // O(1/k): slow, and its codes are still far after 1000 steps
    EXPECT_LT(previous - best, 1e-5 * best) << name;
    EXPECT_LT((codes - reference.codes).norm().item<double>(), 1e-2 * reference.codes.norm().item<double>()) << name;
  }
}

TEST(CscLayer, GradientsMatchCentralDifferences) {
  torch::manual_seed(3);
  const Geometry g{2, 1, 8};
  auto layer = CscLayer(CscLayerOptions(2, 3, 3).stride(2).padding(1).iterations(3).learnable_lambda(true)
                            .power_tol(1e-26).power_iterations(20000));
  layer->to(torch::kDouble);
  layer->project_atoms();  // unit norm in float64, as the trainer keeps W after every step
  {
    torch::NoGradGuard no_grad;
    layer->lambda.copy_(torch::tensor({0.05, 0.1, 0.2}, f64));
  }
  auto x = torch::randn({2, 2, 8, 8}, f64).requires_grad_();
  auto probe = torch::randn({2, 3, 4, 4}, f64);
  auto loss = (layer->forward(x) * probe).sum();
  loss.backward();
  const double eta = layer->last_step();
  const auto w = layer->weight.detach().clone(), lam = layer->lambda.detach().clone().view({1, -1, 1, 1});
  const double h = 1e-6;

  // Input: through the layer itself (η does not depend on x).
  auto fx = [&](const torch::Tensor& xi) {
    torch::NoGradGuard no_grad;
    return (layer->forward(xi) * probe).sum().item<double>();
  };
  auto numeric = torch::zeros_like(x);
  auto xd = x.detach().clone();
  for (int64_t i = 0; i < x.numel(); ++i) {
    auto e = torch::zeros_like(xd).view(-1).index_put_({i}, h).view_as(xd);
    numeric.view(-1)[i] = (fx(xd + e) - fx(xd - e)) / (2 * h);
  }
  EXPECT_LT((numeric - x.grad()).norm().item<double>(), 1e-6 * x.grad().norm().item<double>());

  // Weights: η is a constant for autograd, so differences hold it fixed (the explicit loop equals
  // the layer, as the tests above show).
  // On unit-norm W the projection W[j]/‖W[j]‖ (no gradient through the norms, as published) is
  // the identity, so W's gradient is the dictionary's.
  auto fw = [&](const torch::Tensor& wi) {
    return (explicit_codes(xd, wi, lam, eta, g, CscSolver::Published, 3) * probe).sum().item<double>();
  };
  EXPECT_LT(std::abs(fw(w) - loss.item<double>()), 1e-10);
  auto numeric_w = torch::zeros_like(w);
  for (int64_t i = 0; i < w.numel(); ++i) {
    auto e = torch::zeros_like(w).view(-1).index_put_({i}, h).view_as(w);
    numeric_w.view(-1)[i] = (fw(w + e) - fw(w - e)) / (2 * h);
  }
  const auto grad_w = layer->weight.grad();
  EXPECT_LT((numeric_w - grad_w).norm().item<double>(), 1e-6 * grad_w.norm().item<double>());

  // Per-atom λ: through the layer.
  auto numeric_l = torch::zeros({3}, f64);
  for (int64_t j = 0; j < 3; ++j) {
    double value[2];
    for (int sign = 0; sign < 2; ++sign) {
      torch::NoGradGuard no_grad;
      layer->lambda.copy_(lam.view(-1));
      layer->lambda[j] += sign == 0 ? h : -h;
      value[sign] = fx(xd);
    }
    numeric_l[j] = (value[0] - value[1]) / (2 * h);
  }
  const auto grad_l = layer->lambda.grad();
  EXPECT_GT(grad_l.abs().min().item<double>(), 0);
  EXPECT_LT((numeric_l - grad_l).norm().item<double>(), 1e-6 * grad_l.norm().item<double>());
}

TEST(CscLayer, SetLambdaScalarAndPerSample) {
  torch::manual_seed(4);
  auto layer = CscLayer(CscLayerOptions(3, 8, 3).padding(1));
  layer->to(torch::kDouble);
  auto x = torch::randn({3, 3, 10, 10}, f64);
  torch::NoGradGuard no_grad;
  // L is re-estimated by every forward from a warm start; restarting makes it bit-identical.
  auto run = [&](const torch::Tensor& input) {
    layer->restart_power_iteration();
    return layer->forward(input);
  };
  std::vector<torch::Tensor> by_lambda;
  int64_t previous_nonzeros = INT64_MAX;
  for (double lambda : {0.0, 0.05, 0.2, 0.8}) {
    layer->set_lambda(lambda);
    by_lambda.push_back(run(x));
    const int64_t nonzeros = by_lambda.back().count_nonzero().item<int64_t>();
    EXPECT_LT(nonzeros, previous_nonzeros) << lambda;  // larger λ → sparser codes
    previous_nonzeros = nonzeros;
  }
  // A per-sample λ equal to the scalar reproduces the scalar output exactly.
  layer->set_lambda(0.2);
  auto scalar = run(x);
  layer->set_lambda(torch::full({3}, 0.2, f64));
  EXPECT_LT(max_abs(run(x) - scalar), 1e-12);  // the scalar path folds λη into the convolution's bias
  // Each sample is coded with its own λ.
  layer->set_lambda(torch::tensor({0.0, 0.8, 0.05}, f64));
  auto mixed = run(x);
  EXPECT_LT(max_abs(mixed[0] - by_lambda[0][0]), 1e-12);
  EXPECT_LT(max_abs(mixed[1] - by_lambda[3][1]), 1e-12);
  EXPECT_LT(max_abs(mixed[2] - by_lambda[1][2]), 1e-12);
  // The override stays until cleared; a batch of another size is refused with a clear message.
  try {
    run(x.slice(0, 0, 2));
    FAIL() << "expected a batch-size error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("per-sample lambda has 3 entries but the batch has 2"), std::string::npos)
        << e.what();
  }
  layer->clear_lambda_override();
  EXPECT_TRUE(torch::equal(run(x), scalar));
  EXPECT_THROW(layer->set_lambda(-1.0), std::invalid_argument);
  EXPECT_THROW(layer->set_lambda(torch::ones({2, 2}, f64)), std::invalid_argument);
  EXPECT_THROW(layer->set_lambda(torch::tensor({0.1, -0.1}, f64)), std::invalid_argument);

  // With a learnable λ, set_lambda(double) sets every atom's λ.
  auto learnable = CscLayer(CscLayerOptions(3, 8, 3).learnable_lambda(true));
  learnable->set_lambda(0.3);
  EXPECT_TRUE(torch::allclose(learnable->lambda, torch::full({8}, 0.3)));
  EXPECT_EQ(learnable->parameters().size(), 2u);
}

TEST(CscLayer, AtomsAreUnitNormAndResidualIsMeasuredOnTheInput) {
  torch::manual_seed(5);
  for (int64_t stride : {1, 2}) {
    auto layer = CscLayer(CscLayerOptions(3, 6, 3).stride(stride).padding(1).iterations(3).nonneg(false));
    {
      torch::NoGradGuard no_grad;
      layer->weight.mul_(5);
    }
    const auto before = layer->weight.detach().clone();
    layer->set_record_residual(true);
    auto x = torch::randn({4, 3, 12, 12});
    auto codes = layer->forward(x);
    // The effective dictionary has unit-norm atoms; W itself is left as it was.
    auto norms = layer->dictionary().detach().reshape({6, -1}).norm(2, {1});
    EXPECT_LT(max_abs(norms - 1), 1e-6);
    EXPECT_TRUE(torch::equal(layer->weight, before));
    EXPECT_LT(codes.min().item<double>(), 0);  // signed codes with nonneg(false)
    const Geometry g{stride, 1, 12};
    auto expected = (x - synth(codes.detach(), layer->dictionary().detach(), g)).pow(2).sum({1, 2, 3});
    auto residual = layer->last_residual();
    ASSERT_EQ(residual.sizes(), c10::IntArrayRef({4}));
    EXPECT_FALSE(residual.requires_grad());
    EXPECT_TRUE(torch::allclose(residual, expected, 1e-4, 1e-4));
    EXPECT_LT((residual / x.pow(2).sum({1, 2, 3})).max().item<double>(), 1.0);  // codes explain part of x
  }
  auto fresh = CscLayer(3, 6, 3);
  EXPECT_THROW(fresh->last_residual(), std::logic_error);
}

TEST(CscLayer, CloneAndSaveLoadReproduceOutputsExactly) {
  torch::manual_seed(6);
  auto layer = CscLayer(CscLayerOptions(3, 8, 3).stride(2).padding(1).learnable_lambda(true).iterations(4));
  auto x = torch::randn({2, 3, 16, 16});
  {
    torch::NoGradGuard no_grad;
    layer->lambda.uniform_(0.05, 0.2);
  }
  (void)layer->forward(x);  // warm power iteration, normalised atoms
  auto copy = std::dynamic_pointer_cast<deepsc::nn::CscLayerImpl>(layer->clone());
  ASSERT_TRUE(copy);
  EXPECT_NE(copy->weight.data_ptr(), layer->weight.data_ptr());
  EXPECT_TRUE(torch::equal(copy->forward(x), layer->forward(x)));

  std::stringstream stream;
  torch::serialize::OutputArchive out;
  layer->save(out);
  out.save_to(stream);
  auto loaded = CscLayer(CscLayerOptions(3, 8, 3).stride(2).padding(1).learnable_lambda(true).iterations(4));
  torch::serialize::InputArchive in;
  in.load_from(stream);
  loaded->load(in);
  EXPECT_TRUE(torch::equal(loaded->weight, layer->weight));
  EXPECT_TRUE(torch::equal(loaded->lambda, layer->lambda));
  // The power iteration's warm start is a buffer, saved with the weights: the loaded layer goes on
  // from where the saved one stood.
  EXPECT_TRUE(torch::equal(loaded->named_buffers()["power_vector"], layer->named_buffers()["power_vector"]));
  EXPECT_TRUE(torch::equal(loaded->forward(x), layer->forward(x)));
  EXPECT_EQ(loaded->last_lipschitz(), layer->last_lipschitz());
}

TEST(CscLayer, RejectsBadOptionsAndInputsNamingThem) {
  auto expect_message = [](auto&& make, const std::string& word) {
    try {
      make();
      ADD_FAILURE() << "expected an error naming " << word;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
    }
  };
  expect_message([] { CscLayer(CscLayerOptions(3, 0, 3)); }, "atoms");
  expect_message([] { CscLayer(CscLayerOptions(0, 4, 3)); }, "in_channels");
  expect_message([] { CscLayer(CscLayerOptions(3, 4, 0)); }, "kernel_size");
  expect_message([] { CscLayer(CscLayerOptions(3, 4, 3).iterations(0)); }, "iterations");
  expect_message([] { CscLayer(CscLayerOptions(3, 4, 3).lambda(-0.1)); }, "lambda");
  expect_message([] { CscLayer(CscLayerOptions(3, 4, 3).step_scale(2.0)); }, "step_scale");
  expect_message([] { CscLayer(CscLayerOptions(3, 4, 3).step_scale(0.0)); }, "step_scale");
  expect_message([] { CscLayer(CscLayerOptions(3, 4, 3).stride(0)); }, "stride");
  auto layer = CscLayer(CscLayerOptions(3, 4, 3).stride(2).padding(1));
  expect_message([&] { layer->forward(torch::randn({1, 2, 8, 8})); }, "channels");
  expect_message([&] { layer->forward(torch::randn({3, 8, 8})); }, "[N, C, H, W]");
  auto unpadded = CscLayer(CscLayerOptions(3, 4, 3));
  expect_message([&] { unpadded->forward(torch::randn({1, 3, 2, 5})); }, "smaller than one atom");
  expect_message([&] { layer->forward(torch::randn({1, 3, 8, 8}, f64)); }, "dtype");
  EXPECT_EQ(deepsc::nn::parse_csc_solver("fista"), CscSolver::Fista);
  expect_message([] { deepsc::nn::parse_csc_solver("admm"); }, "published");
  std::ostringstream printed;
  printed << *layer;
  EXPECT_NE(printed.str().find("CscLayer(3, 4, kernel_size=3, stride=2"), std::string::npos) << printed.str();
}

TEST(CscLayer, ReusedAnalysisGivesTheCodesOfAFreshForward) {
  torch::manual_seed(9);
  auto options = CscLayerOptions(2, 6, 3).padding(1).stride(2).iterations(3).power_tol(1e-26).power_iterations(20000);
  auto reusing = CscLayer(options), fresh = CscLayer(options);
  reusing->to(torch::kDouble);
  fresh->to(torch::kDouble);
  torch::NoGradGuard no_grad;
  fresh->weight.copy_(reusing->weight);
  reusing->set_reuse_analysis(true);
  auto x = torch::randn({3, 2, 9, 8}, f64);
  for (double lambda : {0.1, 0.5, 0.0}) {  // the same input object again and again: Dᵀx is kept
    reusing->set_lambda(lambda);
    fresh->set_lambda(lambda);
    EXPECT_LT(max_abs(reusing->forward(x) - fresh->forward(x)), 1e-12) << lambda;
  }
  reusing->set_lambda(torch::tensor({0.0, 0.3, 1.0}, f64));
  fresh->set_lambda(torch::tensor({0.0, 0.3, 1.0}, f64));
  EXPECT_LT(max_abs(reusing->forward(x) - fresh->forward(x)), 1e-12);
  // Changing the input in place, or the atoms, is noticed.
  x.mul_(-2);
  EXPECT_LT(max_abs(reusing->forward(x) - fresh->forward(x)), 1e-12);
  reusing->weight.mul_(-1);
  fresh->weight.mul_(-1);
  EXPECT_LT(max_abs(reusing->forward(x) - fresh->forward(x)), 1e-12);
  EXPECT_GT(reusing->forward(x).abs().sum().item<double>(), 0);
}

