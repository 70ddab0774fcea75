#include "deepsc/sparse/dense_dictionary.h"

#include "support/random_problems.h"

#include <gtest/gtest.h>

using namespace deepsc::sparse;
using deepsc::testing::gaussian_dictionary;

namespace {

/// Wraps a dense matrix through the generic LinearOperator code paths only (no overrides for
/// normal, gradient_step or lipschitz), so the defaults get tested against the dense ones.
class GenericMatrixOperator final : public LinearOperator {
 public:
  explicit GenericMatrixOperator(torch::Tensor d) : d_(std::move(d)) {}
  torch::Tensor apply(const torch::Tensor& x) const override { return x.mm(d_.t()); }
  torch::Tensor adjoint(const torch::Tensor& r) const override { return r.mm(d_); }
  std::vector<int64_t> code_shape(c10::IntArrayRef s) const override {
    if (s.size() != 2 || s[1] != d_.size(0)) throw std::invalid_argument("bad signal shape");
    return {s[0], d_.size(1)};
  }
  torch::TensorOptions tensor_options() const override { return d_.options(); }

 private:
  torch::Tensor d_;
};

double largest_singular_value_squared(const torch::Tensor& d) {
  return std::pow(torch::linalg_svdvals(d.to(torch::kDouble)).max().item<double>(), 2);
}

}  // namespace

TEST(DenseDictionary, AdjointIdentityHoldsInFloat64) {
  torch::manual_seed(1);
  for (auto [n, m] : {std::pair<int64_t, int64_t>{8, 20}, {64, 256}, {30, 30}, {50, 10}}) {
    DenseDictionary dict(torch::randn({n, m}, torch::kDouble));
    auto x = torch::randn({5, m}, torch::kDouble), y = torch::randn({5, n}, torch::kDouble);
    const double lhs = (dict.apply(x) * y).sum().item<double>();
    const double rhs = (x * dict.adjoint(y)).sum().item<double>();
    EXPECT_NEAR(lhs, rhs, 1e-10 * std::abs(lhs) + 1e-12) << n << "x" << m;
    EXPECT_TRUE(torch::allclose(dict.normal(x), dict.adjoint(dict.apply(x)), 1e-10, 1e-10));
  }
}

TEST(DenseDictionary, NormalisesColumnsAndRejectsBadMatrices) {
  DenseDictionary dict(torch::randn({10, 30}, torch::kDouble) * 5, /*normalize=*/true);
  EXPECT_TRUE(torch::allclose(dict.matrix().norm(2, {0}), torch::ones({30}, torch::kDouble)));
  EXPECT_THROW(DenseDictionary(torch::randn({3})), std::invalid_argument);
  EXPECT_THROW(DenseDictionary(torch::zeros({3, 4}), true), std::invalid_argument);
  auto with_nan = torch::randn({3, 4});
  with_nan[0][0] = std::nan("");
  EXPECT_THROW(DenseDictionary{with_nan}, std::invalid_argument);
  EXPECT_THROW(DenseDictionary(torch::ones({3, 4}, torch::kLong)), std::invalid_argument);
}

TEST(DenseDictionary, SignalChecksNameTheProblem) {
  DenseDictionary dict(torch::randn({8, 16}, torch::kDouble));
  try {
    dict.check_signals(torch::randn({4, 9}, torch::kDouble));
    FAIL() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[N, 8]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(dict.check_signals(torch::randn({4, 8}, torch::kFloat)), std::invalid_argument);
}

TEST(LinearOperator, LipschitzMatchesLargestSingularValueSquared) {
  torch::manual_seed(2);
  for (auto [n, m] : {std::pair<int64_t, int64_t>{16, 64}, {64, 256}, {40, 20}}) {
    auto d = torch::randn({n, m}, torch::kDouble);
    const double exact = largest_singular_value_squared(d);
    DenseDictionary dense(d);
    EXPECT_NEAR(dense.lipschitz({1, n}), exact, 1e-9 * exact);
    GenericMatrixOperator generic(d);  // power iteration
    EXPECT_NEAR(generic.lipschitz({1, n}, LipschitzOptions().tol(1e-10).max_iter(5000)), exact, 1e-5 * exact);
  }
}

TEST(LinearOperator, LipschitzIsCachedAndInvalidated) {
  GenericMatrixOperator op(torch::randn({10, 20}, torch::kDouble));
  const double first = op.lipschitz({3, 10});
  EXPECT_EQ(op.lipschitz({7, 10}), first);  // same code shape apart from the batch: cached
  op.invalidate_lipschitz();
  // Warm-started from the cached eigenvector: converges at once to the same value.
  EXPECT_NEAR(op.lipschitz({1, 10}, LipschitzOptions().max_iter(3)), first, 1e-6 * first);
}

TEST(DenseDictionary, FusedGradientStepsEqualTheDefinition) {
  torch::manual_seed(3);
  // m ≤ 2n takes the Gram form, m > 2n the two-GEMM form; both must equal z − ηDᵀ(Dz − y).
  for (auto [n, m] : {std::pair<int64_t, int64_t>{32, 48}, {16, 64}}) {
    auto d = torch::randn({n, m}, torch::kDouble);
    DenseDictionary dict(d);
    auto y = torch::randn({6, n}, torch::kDouble), z = torch::randn({6, m}, torch::kDouble);
    const double step = 0.01;
    auto expected = z - step * (z.mm(d.t()) - y).mm(d);
    auto fused = dict.gradient_step(y, step);
    EXPECT_TRUE(torch::allclose((*fused)(z), expected, 1e-12, 1e-12));
    auto out = torch::empty_like(z);
    (*fused)(z, out);
    EXPECT_TRUE(torch::allclose(out, expected, 1e-12, 1e-12));
    GenericMatrixOperator generic(d);
    EXPECT_TRUE(torch::allclose((*generic.gradient_step(y, step))(z), expected, 1e-12, 1e-12));
  }
}
