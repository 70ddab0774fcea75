// The CSC layer as a function of its inputs: the forward never rewrites W (it codes over W[j]/‖W[j]‖
// with the norms constant for autograd, the published projection), evaluation keeps L exactly while W is unchanged (tensor version,
// not a fingerprint), residuals are kept only when asked, and checkpoints of earlier versions load.
#include "deepsc/nn/csc_layer.h"

#include "support/tensors.h"

#include <gtest/gtest.h>

#include <sstream>

using deepsc::nn::CscLayer;
using deepsc::nn::CscLayerOptions;

namespace {

const auto kF64 = torch::TensorOptions().dtype(torch::kDouble);

double abs_max(const torch::Tensor& t) { return t.abs().max().item<double>(); }

}  // namespace

TEST(CscLayer, ForwardNeverRewritesWeightsAndPassesNoGradientThroughTheNorms) {
  torch::manual_seed(10);
  auto layer = CscLayer(CscLayerOptions(2, 4, 3).padding(1).iterations(3));
  layer->to(torch::kDouble);
  // reset() starts on the sphere.
  EXPECT_LT(abs_max(layer->weight.detach().reshape({4, -1}).norm(2, {1}) - 1), 1e-6);
  {
    torch::NoGradGuard no_grad;
    layer->weight.mul_(torch::tensor({2.0, 0.5, 3.0, 1.0}, kF64).view({-1, 1, 1, 1}));
  }
  const auto before = layer->weight.detach().clone();
  const auto version = layer->weight._version();
  auto x = torch::randn({3, 2, 8, 8}, kF64);
  auto probe = torch::randn({3, 4, 8, 8}, kF64);
  for (bool training : {true, false}) {
    layer->train(training);
    layer->weight.mutable_grad() = torch::Tensor();
    (layer->forward(x) * probe).sum().backward();
    EXPECT_EQ(layer->weight._version(), version) << training;
    EXPECT_TRUE(torch::equal(layer->weight, before)) << training;
    // The projection W[j]/‖W[j]‖ passes no gradient through the norms (Dai et al. 2022): the
    // gradient of each atom is the unit-norm dictionary's, divided by ‖W[j]‖.
    auto unit = CscLayer(CscLayerOptions(2, 4, 3).padding(1).iterations(3));
    unit->to(torch::kDouble);
    unit->train(training);
    {
      torch::NoGradGuard no_grad;
      unit->weight.copy_(deepsc::testing::unit_norm_atoms(before));
    }
    // The same start of the power iteration, so both compute the same L.
    layer->restart_power_iteration();
    layer->weight.mutable_grad() = torch::Tensor();
    (layer->forward(x) * probe).sum().backward();
    (unit->forward(x) * probe).sum().backward();
    const auto norms = before.reshape({4, -1}).norm(2, {1}).view({-1, 1, 1, 1});
    EXPECT_LT(abs_max(layer->weight.grad() * norms - unit->weight.grad()), 1e-10 * unit->weight.grad().norm().item<double>())
        << training;
    EXPECT_GT(unit->weight.grad().norm().item<double>(), 0);
  }
  // Rescaling an atom changes nothing.
  auto scaled = CscLayer(CscLayerOptions(2, 4, 3).padding(1).iterations(3));
  scaled->to(torch::kDouble);
  torch::NoGradGuard no_grad;
  scaled->weight.copy_(before * 7);
  layer->restart_power_iteration();
  scaled->restart_power_iteration();
  EXPECT_LT(abs_max(scaled->forward(x) - layer->forward(x)), 1e-12);
}

TEST(CscLayer, EvaluationKeepsLUntilTheWeightsChangeAtAll) {
  torch::manual_seed(13);
  auto options = CscLayerOptions(1, 3, 3).padding(1).power_tol(1e-26).power_iterations(20000);
  auto layer = CscLayer(options);
  layer->to(torch::kDouble);
  layer->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 1, 8, 8}, kF64);
  auto fresh_lipschitz = [&] {
    auto other = CscLayer(options);
    other->to(torch::kDouble);
    other->eval();
    other->weight.copy_(layer->weight);
    other->forward(x);
    return other->last_lipschitz();
  };
  layer->forward(x);
  const double first = layer->last_lipschitz();
  EXPECT_NEAR(first, fresh_lipschitz(), 1e-12 * first);
  const auto vector = layer->named_buffers()["power_vector"].clone();
  // Swapping two entries of one atom keeps Σw and Σw² (and the atom's norm) but changes DᵀD.
  auto flat = layer->weight.view(-1);
  const auto a = flat[0].item<double>(), b = flat[4].item<double>();
  ASSERT_GT(std::abs(a - b), 1e-3);
  flat[0] = b;
  flat[4] = a;
  layer->forward(x);
  const double second = layer->last_lipschitz();
  EXPECT_GT(std::abs(second - first), 1e-9 * first) << "the edit must change L for the test to mean anything";
  EXPECT_NEAR(second, fresh_lipschitz(), 1e-12 * second);
  // Evaluation leaves the warm start alone, and an unchanged W reuses L.
  EXPECT_TRUE(torch::equal(layer->named_buffers()["power_vector"], vector));
  layer->forward(x * 2);
  EXPECT_EQ(layer->last_lipschitz(), second);
}

TEST(CscLayer, ResidualsAreRecordedOnlyWhenAsked) {
  torch::manual_seed(14);
  auto layer = CscLayer(CscLayerOptions(3, 4, 3).padding(1));
  auto x = torch::randn({2, 3, 8, 8});
  layer->forward(x);
  EXPECT_THROW(layer->last_residual(), std::logic_error);  // nothing kept
  {
    deepsc::nn::ResidualRecording recording({layer});
    layer->forward(x);
    EXPECT_EQ(layer->last_residual().sizes(), c10::IntArrayRef({2}));
  }
  // The scope restores the setting it found (off), which drops what was kept.
  EXPECT_FALSE(layer->record_residual());
  EXPECT_THROW(layer->last_residual(), std::logic_error);
  layer->set_record_residual(true);
  {
    deepsc::nn::ResidualRecording nested({layer});
  }
  EXPECT_TRUE(layer->record_residual());  // found on, left on
  layer->forward(x);
  EXPECT_EQ(layer->last_residual().sizes(), c10::IntArrayRef({2}));
  layer->set_record_residual(false);
  EXPECT_THROW(layer->last_residual(), std::logic_error);
}

TEST(CscLayer, CheckpointsWithTheFormerLipschitzBufferLoad) {
  torch::manual_seed(15);
  auto options = CscLayerOptions(3, 4, 3).padding(1);
  auto layer = CscLayer(options);
  auto x = torch::randn({2, 3, 8, 8});
  layer->forward(x);
  // An archive as earlier versions wrote it: the buffer "lipschitz" held [L, Σw, Σw², H', W'].
  torch::serialize::OutputArchive out;
  out.write("weight", layer->weight);
  out.write("power_vector", layer->named_buffers()["power_vector"], /*is_buffer=*/true);
  out.write("lipschitz", torch::tensor({9.0, 1.0, 4.0, 8.0, 8.0}, torch::kDouble), /*is_buffer=*/true);
  std::stringstream stream;
  out.save_to(stream);
  auto loaded = CscLayer(options);
  torch::serialize::InputArchive in;
  in.load_from(stream);
  loaded->load(in);
  EXPECT_TRUE(torch::equal(loaded->weight, layer->weight));
  // The stored L (9) is ignored: the loaded layer computes what the saved one computes.
  EXPECT_TRUE(torch::equal(loaded->forward(x), layer->forward(x)));
  EXPECT_EQ(loaded->last_lipschitz(), layer->last_lipschitz());
  EXPECT_NE(loaded->last_lipschitz(), 9.0);
}
