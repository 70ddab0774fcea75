// Synchronised batch norm: W ranks holding parts of a batch normalise, back-propagate and update
// their running statistics exactly as one process holding the whole batch; without replicas the
// layer is LibTorch's BatchNorm2d.
#include "deepsc/dist/sync_batch_norm.h"
#include "deepsc/nn/batch_norm.h"
#include "deepsc/nn/registry.h"

#include "loopback_ranks.h"

#include <gtest/gtest.h>

namespace {

namespace dd = deepsc::dist;
namespace nn = deepsc::nn;
using dd::testing::run_ranks;

const auto float64 = torch::TensorOptions().dtype(torch::kDouble);

struct Outcome {
  torch::Tensor output, input_grad, weight_grad, bias_grad, running_mean, running_var;
};

/// Two training forwards (running statistics move twice) and the gradient of Σ y ⊙ r of the second.
template <typename Layer>
Outcome run(Layer& layer, const torch::Tensor& x, const torch::Tensor& r) {
  layer->train();
  layer->forward(x * 0.5 + 1);
  auto input = x.clone().requires_grad_(true);
  auto y = layer->forward(input);
  (y * r).sum().backward();
  return {y.detach(), input.grad(), layer->weight.grad(), layer->bias.grad(), layer->running_mean.clone(),
          layer->running_var.clone()};
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, const std::string& what) {
  EXPECT_TRUE(torch::allclose(a, b, 1e-10, 1e-10)) << what << ": max difference " << (a - b).abs().max().item<double>();
}

TEST(SyncBatchNorm, WithoutReplicasItIsLibTorchsBatchNorm) {
  torch::manual_seed(1);
  const auto x = torch::randn({5, 3, 4, 6}, float64) * 2 + 0.7, r = torch::randn({5, 3, 4, 6}, float64);
  for (const bool cumulative : {false, true}) {
    auto options = torch::nn::BatchNormOptions(3).momentum(cumulative ? c10::nullopt : c10::optional<double>(0.2));
    torch::nn::BatchNorm2d reference(options);
    nn::BatchNorm2d plain(options), identity(options);
    identity->replica_sum = [](const torch::Tensor& t) { return t; };  // one replica, through the sync path
    reference->to(torch::kDouble), plain->to(torch::kDouble), identity->to(torch::kDouble);
    const auto expected = run(reference, x, r);
    for (auto* layer : {&plain, &identity}) {
      const auto got = run(*layer, x, r);
      const std::string name = (layer == &plain ? "plain" : "synchronised path") + std::string(cumulative ? ", cumulative" : "");
      expect_close(got.output, expected.output, name + " output");
      expect_close(got.input_grad, expected.input_grad, name + " input gradient");
      expect_close(got.weight_grad, expected.weight_grad, name + " weight gradient");
      expect_close(got.bias_grad, expected.bias_grad, name + " bias gradient");
      expect_close(got.running_mean, expected.running_mean, name + " running mean");
      expect_close(got.running_var, expected.running_var, name + " running variance");
      EXPECT_EQ((*layer)->num_batches_tracked.item<int64_t>(), 2);
    }
    // Evaluation uses the running statistics on either path.
    reference->eval(), identity->eval();
    expect_close(identity->forward(x), reference->forward(x), "eval");
  }
  nn::BatchNorm2d layer(3);
  EXPECT_THROW(layer->forward(torch::randn({2, 3, 4})), std::invalid_argument);
}

TEST(SyncBatchNorm, RanksHoldingPartsOfABatchMatchOneProcessHoldingAllOfIt) {
  torch::manual_seed(2);
  const int64_t n = 7;  // shares of 4 + 3 and 3 + 2 + 2 images
  const auto x = torch::randn({n, 3, 4, 5}, float64) * 1.5 - 0.3, r = torch::randn({n, 3, 4, 5}, float64);
  nn::BatchNorm2d reference(3);
  reference->to(torch::kDouble);
  const auto expected = run(reference, x, r);
  for (int64_t world : {2, 3}) {
    std::vector<Outcome> outcomes(static_cast<size_t>(world));
    run_ranks(world, [&](int64_t rank, const c10::intrusive_ptr<c10d::ProcessGroup>& group) {
      nn::BatchNorm2d layer(3);
      layer->to(torch::kDouble);
      EXPECT_EQ(dd::synchronize_batch_norm(*layer, group), 1);
      const auto mine = torch::arange(rank, n, world);
      outcomes[static_cast<size_t>(rank)] = run(layer, x.index_select(0, mine), r.index_select(0, mine));
    });
    auto weight_grad = torch::zeros({3}, float64), bias_grad = torch::zeros({3}, float64);
    for (int64_t rank = 0; rank < world; ++rank) {
      const auto& got = outcomes[static_cast<size_t>(rank)];
      const auto mine = torch::arange(rank, n, world);
      const auto label = "world " + std::to_string(world) + " rank " + std::to_string(rank);
      expect_close(got.output, expected.output.index_select(0, mine), label + " output");
      expect_close(got.input_grad, expected.input_grad.index_select(0, mine), label + " input gradient");
      expect_close(got.running_mean, expected.running_mean, label + " running mean");
      expect_close(got.running_var, expected.running_var, label + " running variance");
      weight_grad += got.weight_grad, bias_grad += got.bias_grad;
    }
    // Each rank's parameter gradient is its share of the sum (the gradient reducer then adds them).
    expect_close(weight_grad, expected.weight_grad, "Σ weight gradients");
    expect_close(bias_grad, expected.bias_grad, "Σ bias gradients");
  }
}

TEST(SyncBatchNorm, ReachesEveryBatchNormOfANetworkAndCanBeUndone) {
  auto model = nn::make_model("sdnet18", nn::ModelOptions().num_classes(10).in_channels(1).width(0.125));
  int64_t layers = 0;
  for (const auto& m : model->modules()) layers += m->as<nn::BatchNorm2d>() != nullptr;
  EXPECT_GT(layers, 10);
  run_ranks(1, [&](int64_t, const c10::intrusive_ptr<c10d::ProcessGroup>& group) {
    EXPECT_EQ(dd::synchronize_batch_norm(*model, group), layers);
    for (const auto& m : model->modules()) {
      if (auto* bn = m->as<nn::BatchNorm2d>()) {
        EXPECT_TRUE(static_cast<bool>(bn->replica_sum));
      }
    }
    EXPECT_EQ(dd::synchronize_batch_norm(*model, c10::intrusive_ptr<c10d::ProcessGroup>()), layers);
  });
  for (const auto& m : model->modules()) {
    if (auto* bn = m->as<nn::BatchNorm2d>()) {
      EXPECT_FALSE(static_cast<bool>(bn->replica_sum));
    }
  }
}

}  // namespace
