// An empty batch of signals (Y of shape [0, n], or [0, C, H, W] for a convolutional dictionary, as
// an empty .npy file gives) is a valid input to every solver: the codes are empty too, of shape
// [0, m] (or [0, M, H', W']), and no LibTorch reshape error escapes.
#include "deepsc/conv/admm.h"
#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/sparse/coordinate_descent.h"
#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/omp.h"
#include "deepsc/sparse/proximal_gradient.h"
#include "deepsc/sparse/thresholding.h"

#include <gtest/gtest.h>

using namespace deepsc::sparse;

namespace {

void expect_empty_codes(const SolverResult& r, std::vector<int64_t> shape, const char* solver) {
  SCOPED_TRACE(solver);
  EXPECT_EQ(r.codes.sizes().vec(), shape);
  EXPECT_EQ(r.codes.numel(), 0);
  EXPECT_TRUE(std::isfinite(r.objective));
}

}  // namespace

TEST(EmptySignals, EveryDenseSolverGivesCodesOfShapeZeroByM) {
  torch::manual_seed(3);
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    DenseDictionary dict(torch::randn({16, 32}, dtype), /*normalize=*/true);
    const auto y = torch::zeros({0, 16}, dtype);
    const std::vector<int64_t> shape{0, 32};
    expect_empty_codes(threshold(dict, y, ThresholdingOptions(0.1)), shape, "threshold");
    expect_empty_codes(threshold(dict, y, ThresholdingOptions(0.1).sparsity(3)), shape, "threshold top-3");
    expect_empty_codes(threshold(dict, y, ThresholdingOptions(0.1).shrinkage(Shrinkage::NonNegSoft)), shape,
                       "threshold non-negative");
    expect_empty_codes(ista(dict, y, ProximalGradientOptions(0.1)), shape, "ista");
    expect_empty_codes(fista(dict, y, ProximalGradientOptions(0.1)), shape, "fista");
    expect_empty_codes(coordinate_descent(dict, y, CoordinateDescentOptions(0.1)), shape, "cd");
    expect_empty_codes(omp(dict, y, OmpOptions().sparsity(3)), shape, "omp");
  }
}

TEST(EmptySignals, ConvolutionalSolversGiveEmptyCodeMaps) {
  torch::manual_seed(4);
  deepsc::conv::ConvDictionary dict(torch::randn({4, 1, 3, 3}, torch::kDouble), {}, /*normalize=*/true);
  const auto y = torch::zeros({0, 1, 8, 8}, torch::kDouble);
  const std::vector<int64_t> shape{0, 4, 6, 6};
  expect_empty_codes(threshold(dict, y, ThresholdingOptions(0.1)), shape, "threshold");
  expect_empty_codes(threshold(dict, y, ThresholdingOptions(0.1).sparsity(2)), shape, "threshold top-2");
  expect_empty_codes(fista(dict, y, ProximalGradientOptions(0.1)), shape, "fista");
  expect_empty_codes(deepsc::conv::admm(dict, y, deepsc::conv::AdmmOptions(0.1)), shape, "admm");
}
