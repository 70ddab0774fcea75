#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/thresholding.h"

#include "support/random_problems.h"

#include <gtest/gtest.h>

using namespace deepsc::sparse;
using deepsc::testing::identity_hadamard;
using deepsc::testing::random_sparse_codes;

namespace {
torch::Tensor support_of(const torch::Tensor& x) { return x != 0; }
}  // namespace

TEST(Thresholding, IsTheClosedFormOfTheApproximationProblem) {
  torch::manual_seed(20);
  DenseDictionary dict(torch::randn({10, 30}, torch::kDouble), true);
  auto y = torch::randn({5, 10}, torch::kDouble);
  auto res = threshold(dict, y, ThresholdingOptions(0.4));
  EXPECT_TRUE(torch::allclose(res.codes, soft_threshold(dict.adjoint(y), 0.4)));
  auto relu = threshold(dict, y, ThresholdingOptions(0.4).shrinkage(Shrinkage::NonNegSoft));
  EXPECT_TRUE(torch::allclose(relu.codes, torch::relu(dict.adjoint(y) - 0.4)));  // a ReLU layer
}

TEST(Thresholding, RecoversTheSupportUnderTheCoherenceCondition) {
  // [I, H/√64]: μ = 1/8. With |x| ∈ [1, 1.2], the condition ‖X‖₀ < ½(1 + (1/μ)·x_min/x_max)
  // = ½(1 + 8/1.2) ≈ 3.83 allows k = 3, and any β in (kμ·x_max, x_min − (k−1)μ·x_max)
  // = (0.45, 0.7) separates the support from the rest.
  torch::manual_seed(21);
  DenseDictionary dict(identity_hadamard(64));
  auto x = random_sparse_codes(2000, 128, 3, 1.0, 1.2);
  auto y = dict.apply(x);
  auto by_beta = threshold(dict, y, ThresholdingOptions(0.575));
  EXPECT_TRUE(torch::equal(support_of(by_beta.codes), support_of(x)));
  auto by_count = threshold(dict, y, ThresholdingOptions(0).sparsity(3).shrinkage(Shrinkage::Hard));
  EXPECT_TRUE(torch::equal(support_of(by_count.codes), support_of(x)));
}

TEST(Thresholding, FailsWellOutsideTheCondition) {
  // With k = 12 non-zeros of widely spread magnitudes the guarantee is void and recovery breaks.
  torch::manual_seed(22);
  DenseDictionary dict(identity_hadamard(64));
  auto x = random_sparse_codes(500, 128, 12, 0.1, 2.0);
  auto res = threshold(dict, dict.apply(x), ThresholdingOptions(0).sparsity(12).shrinkage(Shrinkage::Hard));
  auto exact_rows = (support_of(res.codes) == support_of(x)).all(1).to(torch::kDouble).mean().item<double>();
  EXPECT_LT(exact_rows, 0.9);
}

TEST(Thresholding, ValidatesOptions) {
  DenseDictionary dict(torch::randn({4, 8}));
  auto y = torch::randn({2, 4});
  EXPECT_THROW(threshold(dict, y, ThresholdingOptions(-1)), std::invalid_argument);
  EXPECT_THROW(threshold(dict, y, ThresholdingOptions(0).sparsity(9)), std::invalid_argument);
}

#include "deepsc/sparse/analytic_dictionaries.h"

TEST(AnalyticDictionaries, DctIsOrthonormalWhenCompleteAndUnitNormWhenOvercomplete) {
  auto basis = overcomplete_dct(8, 8, torch::kDouble);
  EXPECT_TRUE(torch::allclose(basis.t().mm(basis), torch::eye(64, torch::kDouble), 1e-10, 1e-10));
  auto frame = overcomplete_dct(8, 16, torch::kDouble);
  EXPECT_EQ(frame.sizes(), (std::vector<int64_t>{64, 256}));
  EXPECT_TRUE(torch::allclose(frame.norm(2, {0}), torch::ones({256}, torch::kDouble)));
  // Only the DC atom has a non-zero mean.
  auto means = frame.mean(0).abs();
  EXPECT_GT(means[0].item<double>(), 0.1);
  EXPECT_LT(means.narrow(0, 1, 255).max().item<double>(), 1e-10);
  EXPECT_THROW(overcomplete_dct(8, 4), std::invalid_argument);
}
