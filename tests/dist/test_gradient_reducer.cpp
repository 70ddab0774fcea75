// Gradient averaging on loopback ranks: N data-parallel steps (the overlapping reducer, and
// average_gradients after backward) equal N one-process steps on the union of the batches, the
// reducer's all-reduces start inside backward, and its hooks stay out of the way outside
// prepare() … finish().
#include "deepsc/dist/gradient_reducer.h"
#include "deepsc/dist/gradient_sync.h"

#include "loopback_ranks.h"

#include <gtest/gtest.h>

namespace {

namespace dd = deepsc::dist;
using dd::testing::run_ranks;

torch::nn::Sequential three_layer_model() {
  return torch::nn::Sequential(torch::nn::Linear(6, 5), torch::nn::Tanh(), torch::nn::Linear(5, 4), torch::nn::Tanh(),
                               torch::nn::Linear(4, 3));
}

const auto doubles = torch::TensorOptions().dtype(torch::kDouble);

/// Parameters after `steps` SGD-with-momentum steps on the mean cross-entropy of (x, y).
std::vector<torch::Tensor> one_process(const std::vector<torch::Tensor>& start, const torch::Tensor& x,
                                       const torch::Tensor& y, int64_t steps) {
  auto model = three_layer_model();
  model->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    auto params = model->parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(start[i]);
  }
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.3).momentum(0.9));
  for (int64_t s = 0; s < steps; ++s) {
    sgd.zero_grad();
    torch::nn::functional::cross_entropy(model->forward(x), y).backward();
    sgd.step();
  }
  std::vector<torch::Tensor> out;
  for (const auto& p : model->parameters()) out.push_back(p.detach().clone());
  return out;
}

/// How a rank averages its gradients in the equality test.
enum class Averaging { overlapped, after_backward, average_gradients };

TEST(GradientReducer, DataParallelStepsEqualOneProcessOnTheUnionOfTheBatches) {
  torch::manual_seed(0);
  const auto x = torch::randn({11, 6}, doubles);
  const auto y = torch::randint(0, 3, {11}, torch::TensorOptions().dtype(torch::kLong));
  const int64_t steps = 5;
  std::vector<torch::Tensor> start;
  {
    auto model = three_layer_model();
    model->to(torch::kDouble);
    for (const auto& p : model->parameters()) start.push_back(p.detach().clone());
  }
  const auto expected = one_process(start, x, y, steps);
  for (const auto averaging : {Averaging::overlapped, Averaging::after_backward, Averaging::average_gradients}) {
    const bool overlap = averaging == Averaging::overlapped;
    for (int64_t world : {2, 3}) {
      std::vector<std::vector<torch::Tensor>> finals(static_cast<size_t>(world));
      std::vector<dd::ReducerTimes> times(static_cast<size_t>(world));
      std::vector<int64_t> buckets(static_cast<size_t>(world));
      run_ranks(world, [&](int64_t rank, const c10::intrusive_ptr<c10d::ProcessGroup>& group) {
        torch::manual_seed(100 + rank);  // different random starts: the broadcast must fix them
        auto model = three_layer_model();
        model->to(torch::kDouble);
        if (rank == 0) {
          torch::NoGradGuard no_grad;
          auto params = model->parameters();
          for (size_t i = 0; i < params.size(); ++i) params[i].copy_(start[i]);
        }
        dd::broadcast_state(*group, *model);
        // 100-byte buckets: several per step, a parameter of 30 doubles alone in its own.
        dd::GradientReducer reducer(group, model->parameters(),
                                    dd::GradientReducerOptions().bucket_bytes(100).overlap(overlap));
        torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.3).momentum(0.9));
        const auto mine = torch::arange(rank, 11, world);  // unequal shares of the 11 samples
        const auto xr = x.index_select(0, mine), yr = y.index_select(0, mine);
        for (int64_t s = 0; s < steps; ++s) {
          sgd.zero_grad();
          const auto n = static_cast<double>(mine.size(0));
          if (averaging == Averaging::average_gradients) {
            torch::nn::functional::cross_entropy(model->forward(xr), yr).backward();
            EXPECT_DOUBLE_EQ(dd::average_gradients(*group, *model, n, 64), 11.0);  // 64-byte buckets
          } else {
            reducer.prepare(n);
            torch::nn::functional::cross_entropy(model->forward(xr), yr).backward();
            EXPECT_DOUBLE_EQ(reducer.finish(), 11.0);
          }
          sgd.step();
        }
        for (const auto& p : model->parameters()) finals[static_cast<size_t>(rank)].push_back(p.detach().clone());
        times[static_cast<size_t>(rank)] = reducer.times();
        buckets[static_cast<size_t>(rank)] = reducer.buckets();
      });
      for (int64_t r = 0; r < world; ++r) {
        const auto& t = times[static_cast<size_t>(r)];
        EXPECT_GE(buckets[static_cast<size_t>(r)], 4);
        EXPECT_EQ(t.steps, averaging == Averaging::average_gradients ? 0 : steps);
        // Every parameter gets its gradient in backward, so with overlap every bucket starts there.
        EXPECT_EQ(t.overlapped_buckets, overlap ? steps * buckets[static_cast<size_t>(r)] : 0);
        for (size_t i = 0; i < expected.size(); ++i) {
          EXPECT_TRUE(finals[static_cast<size_t>(r)][i].equal(finals[0][i])) << "ranks identical, world " << world;
          EXPECT_TRUE(torch::allclose(finals[static_cast<size_t>(r)][i], expected[i], 0, 1e-12))
              << "averaging " << static_cast<int>(averaging) << " world " << world << " rank " << r << " parameter " << i;
        }
      }
    }
  }
}

TEST(GradientReducer, AParameterWithoutGradientCountsAsZeroAndNothingHangs) {
  run_ranks(2, [](int64_t rank, const c10::intrusive_ptr<c10d::ProcessGroup>& group) {
    torch::manual_seed(0);
    auto used = torch::nn::Linear(3, 2), unused = torch::nn::Linear(3, 2);
    auto params = used->parameters();
    for (const auto& p : unused->parameters()) params.push_back(p);
    dd::GradientReducer reducer(group, params, dd::GradientReducerOptions().bucket_bytes(16));
    for (int step = 0; step < 2; ++step) {
      for (auto& p : params) p.mutable_grad() = torch::Tensor();
      reducer.prepare(1.0);
      const auto x = torch::full({1, 3}, static_cast<double>(rank + 1), torch::kFloat);
      used->forward(x).sum().backward();
      reducer.finish();
      // Mean over the ranks of d/dW Σ(W x + b) = x: rows of (1 + 2) / 2.
      EXPECT_TRUE(torch::allclose(used->weight.grad(), torch::full({2, 3}, 1.5)));
      EXPECT_TRUE(torch::allclose(used->bias.grad(), torch::ones({2})));
      EXPECT_TRUE(unused->weight.grad().defined() && unused->weight.grad().abs().sum().item<double>() == 0);
    }
  });
}

TEST(GradientReducer, HooksAreIdleOutsidePrepareAndFinishAndMisuseIsNamed) {
  run_ranks(2, [](int64_t rank, const c10::intrusive_ptr<c10d::ProcessGroup>& group) {
    auto layer = torch::nn::Linear(3, 2);
    dd::GradientReducer reducer(group, layer->parameters());
    // A backward of this rank only (another use of the gradients, e.g. an attack): no collective.
    const auto x = torch::ones({1, 3}) * static_cast<double>(rank + 1);
    layer->forward(x).sum().backward();
    EXPECT_TRUE(torch::allclose(layer->weight.grad(), x.expand({2, 3}))) << "the local gradient, untouched";
    EXPECT_THROW(reducer.finish(), std::logic_error);
    EXPECT_THROW(reducer.prepare(-1), std::invalid_argument);
    reducer.prepare(1);
    EXPECT_THROW(reducer.prepare(1), std::logic_error);
    layer->weight.mutable_grad() = torch::Tensor();
    layer->bias.mutable_grad() = torch::Tensor();
    layer->forward(x).sum().backward();
    reducer.finish();
    EXPECT_TRUE(torch::allclose(layer->weight.grad(), torch::full({2, 3}, 1.5)));
  });
  EXPECT_THROW(dd::GradientReducer(c10::intrusive_ptr<c10d::ProcessGroup>(), {}), std::invalid_argument);
}

}  // namespace
