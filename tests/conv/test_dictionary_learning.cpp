#include "deepsc/conv/dictionary_learning.h"

#include "conv/fixed_code_operator.h"

#include <gtest/gtest.h>


using deepsc::conv::DictionaryLearningOptions;
using deepsc::conv::learn_conv_dictionary;
using deepsc::conv::LearningProgress;

namespace {

/// Images [N, 1, size, size] = Σ_j w_j ∗ x_j with spike codes of the given density, plus noise.
torch::Tensor synthesize(const torch::Tensor& atoms, int64_t count, int64_t size, double density, double noise) {
  const int64_t k = atoms.size(2), code = size + k - 1;
  auto spikes = torch::randn({count, atoms.size(0), code, code}, torch::kDouble) *
                (torch::rand({count, atoms.size(0), code, code}, torch::kDouble) < density);
  return torch::conv_transpose2d(spikes, atoms, {}, 1, k - 1) + noise * torch::randn({count, 1, size, size}, torch::kDouble);
}

/// Largest |correlation| of atom `a` with atom `b` over all relative shifts, both unit norm.
double best_shifted_match(const torch::Tensor& a, const torch::Tensor& b) {
  const int64_t k = a.size(-1);
  auto c = torch::conv2d(a.unsqueeze(0), b.unsqueeze(0), {}, 1, k - 1);
  return c.abs().max().item<double>() / (a.norm().item<double>() * b.norm().item<double>());
}

}  // namespace

TEST(FixedCodeOperator, AdjointIdentity) {
  torch::manual_seed(0);
  for (int64_t padding : {0, 2, 4}) {
    deepsc::conv::detail::FixedCodeOperator op(5, padding);
    const int64_t size = 12, code = size + 2 * padding - 5 + 1;
    op.set_codes(torch::randn({3, 4, code, code}, torch::kDouble));
    auto w = torch::randn({1, 4, 2, 5, 5}, torch::kDouble);
    auto r = torch::randn({1, 3, 2, size, size}, torch::kDouble);
    auto aw = op.apply(w);
    ASSERT_EQ(aw.sizes(), r.sizes());
    EXPECT_NEAR((aw * r).sum().item<double>(), (w * op.adjoint(r)).sum().item<double>(), 1e-9) << padding;
    EXPECT_EQ(op.code_shape(r.sizes()), (std::vector<int64_t>{1, 4, 2, 5, 5}));
  }
}

TEST(ConvDictionaryLearning, BatchObjectiveDecreasesAndAtomsStayInTheBall) {
  torch::manual_seed(1);
  auto truth = torch::randn({4, 1, 5, 5}, torch::kDouble);
  truth = truth / truth.reshape({4, -1}).norm(2, {1}).view({-1, 1, 1, 1});
  auto images = synthesize(truth, 6, 20, 0.03, 0.01);
  int calls = 0;
  auto opts = DictionaryLearningOptions(6, 5).lambda(0.05).epochs(20).coding_iters(60).dictionary_iters(10).on_epoch(
      [&](const LearningProgress& p) {
        ++calls;
        EXPECT_EQ(p.epoch, calls);
        EXPECT_LE(p.weights->reshape({6, -1}).norm(2, {1}).max().item<double>(), 1 + 1e-12);
      });
  auto result = learn_conv_dictionary(images, opts);
  EXPECT_EQ(calls, 20);
  ASSERT_EQ(result.objective.size(), 20u);
  for (size_t e = 1; e < result.objective.size(); ++e) EXPECT_LE(result.objective[e], result.objective[e - 1] * (1 + 1e-3)) << e;
  EXPECT_LT(result.objective.back(), 0.8 * result.objective.front());
  EXPECT_EQ(result.weights.sizes(), (std::vector<int64_t>{6, 1, 5, 5}));
}

TEST(ConvDictionaryLearning, RecoversAPlantedDictionary) {
  torch::manual_seed(2);
  auto truth = torch::randn({3, 1, 6, 6}, torch::kDouble);
  truth = truth / truth.reshape({3, -1}).norm(2, {1}).view({-1, 1, 1, 1});
  auto images = synthesize(truth, 12, 24, 0.02, 0.005);
  // Mini-batches of 4: the online mode.
  auto opts = DictionaryLearningOptions(5, 6).lambda(0.02).epochs(40).batch_size(4).coding_iters(40).dictionary_iters(3);
  auto w = learn_conv_dictionary(images, opts).weights;
  for (int64_t j = 0; j < 3; ++j) {
    double best = 0;
    for (int64_t i = 0; i < 5; ++i) best = std::max(best, best_shifted_match(truth[j], w[i]));
    EXPECT_GT(best, 0.9) << "true atom " << j << " not found among the learned atoms";
  }
}

TEST(ConvDictionaryLearning, BadInputsAreRejected) {
  auto images = torch::randn({2, 1, 8, 8});
  EXPECT_THROW(learn_conv_dictionary(torch::randn({2, 8, 8}), DictionaryLearningOptions(4, 3)), std::invalid_argument);
  EXPECT_THROW(learn_conv_dictionary(images, DictionaryLearningOptions(4, 9)), std::invalid_argument);
  EXPECT_THROW(learn_conv_dictionary(images, DictionaryLearningOptions(0, 3)), std::invalid_argument);
  EXPECT_THROW(learn_conv_dictionary(images, DictionaryLearningOptions(4, 3).lambda(-1)), std::invalid_argument);
  EXPECT_THROW(learn_conv_dictionary(images, DictionaryLearningOptions(4, 3).epochs(0)), std::invalid_argument);
  EXPECT_THROW(learn_conv_dictionary(images, DictionaryLearningOptions(4, 3).initial(torch::randn({4, 1, 5, 5}))),
               std::invalid_argument);
}
