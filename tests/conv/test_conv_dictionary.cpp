#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/conv/conv_matrix.h"
#include "deepsc/sparse/lasso.h"
#include "deepsc/sparse/proximal_gradient.h"
#include "deepsc/sparse/thresholding.h"

#include <gtest/gtest.h>

using deepsc::conv::ConvDictionary;
using deepsc::conv::ConvOptions;
using deepsc::conv::dense_matrix;
namespace sparse = deepsc::sparse;

namespace {

/// The output padding that makes conv_transpose give back `size` (what code_shape() demands).
int64_t matching_output_padding(int64_t size, int64_t k, const ConvOptions& o) {
  const int64_t span = o.dilation() * (k - 1) + 1;
  const int64_t code = (size + 2 * o.padding() - span) / o.stride() + 1;
  return size - ((code - 1) * o.stride() - 2 * o.padding() + span);
}

}  // namespace

TEST(ConvDictionary, AdjointIdentityForEveryGeometry2d) {
  torch::manual_seed(0);
  const auto f64 = torch::TensorOptions().dtype(torch::kDouble);
  int checked = 0;
  for (int64_t stride : {1, 2, 3})
    for (int64_t padding : {0, 1, 2})
      for (int64_t dilation : {1, 2})
        for (auto [height, width] : {std::pair<int64_t, int64_t>{9, 9}, {10, 10}, {9, 10}, {10, 9}}) {
          // Odd and even sides may need different output paddings (the last axis's own option).
          ConvOptions o;
          o.stride(stride).padding(padding).dilation(dilation);
          o.output_padding(matching_output_padding(height, 3, o));
          o.output_padding_last(matching_output_padding(width, 3, o));
          const int64_t reachable = std::max(stride, dilation);
          if (o.output_padding() >= reachable || o.output_padding_last() >= reachable) continue;  // not by conv_transpose
          ConvDictionary dict(torch::randn({4, 2, 3, 3}, f64), o);
          auto y = torch::randn({3, 2, height, width}, f64);
          auto x = torch::randn(dict.code_shape(y.sizes()), f64);
          auto dx = dict.apply(x);
          ASSERT_EQ(dx.sizes(), y.sizes()) << stride << padding << dilation << height << width;
          const double lhs = (dx * y).sum().item<double>(), rhs = (x * dict.adjoint(y)).sum().item<double>();
          EXPECT_NEAR(lhs, rhs, 1e-10 * std::abs(lhs) + 1e-12) << "s" << stride << " p" << padding << " d" << dilation;
          checked += height != width && o.output_padding() != o.output_padding_last();
          checked += 100;
        }
  EXPECT_GT(checked / 100, 40);
  EXPECT_GT(checked % 100, 3);  // geometries whose two axes need different output paddings

  // A dictionary whose axes' output paddings are swapped names the axis it cannot give back.
  ConvDictionary swapped(torch::randn({4, 2, 3, 3}, f64), ConvOptions().stride(2).padding(1).output_padding(1).output_padding_last(0));
  try {
    swapped.code_shape(std::vector<int64_t>{1, 2, 9, 10});
    FAIL() << "expected an output-padding error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("need output padding 0 on axis 0"), std::string::npos) << e.what();
  }
}

TEST(ConvDictionary, OptionsForSignalsGiveBackEverySignalSize) {
  const auto f64 = torch::TensorOptions().dtype(torch::kDouble);
  int differing = 0;
  for (int64_t stride : {1, 2, 3})
    for (int64_t padding : {0, 1, 2})
      for (auto [height, width] : {std::pair<int64_t, int64_t>{9, 9}, {10, 10}, {9, 10}, {11, 8}}) {
        const auto w = torch::randn({4, 2, 3, 3}, f64);
        const std::vector<int64_t> shape{2, 2, height, width};
        const auto o = ConvDictionary::options_for_signals(w.sizes(), shape, ConvOptions().stride(stride).padding(padding));
        EXPECT_EQ(o.stride(), stride);
        EXPECT_EQ(o.padding(), padding);
        ConvDictionary dict(w, o);
        const auto codes = torch::randn(dict.code_shape(shape), f64);
        EXPECT_EQ(dict.apply(codes).sizes(), c10::IntArrayRef(shape)) << stride << " " << padding << " " << height << "x" << width;
        differing += o.output_padding_last() != -1;
      }
  EXPECT_GT(differing, 3);  // odd and even sides under a stride need one output padding each
  EXPECT_THROW(ConvDictionary::options_for_signals(std::vector<int64_t>{4, 2, 3, 3}, std::vector<int64_t>{2, 2, 9}, ConvOptions()),
               std::invalid_argument);
  EXPECT_THROW(ConvDictionary::options_for_signals(std::vector<int64_t>{4, 2, 3, 3}, std::vector<int64_t>{2, 2, 9, 9},
                                                   ConvOptions().stride(0)),
               std::invalid_argument);
}

TEST(ConvDictionary, ScaledAdjointFusesTheStepAndAPerAtomBias) {
  torch::manual_seed(4);
  const auto f64 = torch::TensorOptions().dtype(torch::kDouble);
  for (int64_t dims : {1, 2}) {
    auto w = dims == 2 ? torch::randn({5, 2, 3, 3}, f64) : torch::randn({5, 2, 3}, f64);
    ConvDictionary dict(w, ConvOptions().padding(1));
    auto r = dims == 2 ? torch::randn({3, 2, 8, 8}, f64) : torch::randn({3, 2, 8}, f64);
    auto bias = torch::randn({5}, f64);
    auto per_atom = dims == 2 ? bias.view({1, 5, 1, 1}) : bias.view({1, 5, 1});
    EXPECT_TRUE(torch::allclose(dict.scaled_adjoint(r, 0.37, bias), 0.37 * dict.adjoint(r) + per_atom, 1e-12, 1e-12));
    EXPECT_TRUE(torch::allclose(dict.scaled_adjoint(r, 2.5), 2.5 * dict.adjoint(r), 1e-12, 1e-12));
    EXPECT_THROW(dict.scaled_adjoint(r, 1.0, torch::zeros({4}, f64)), std::invalid_argument);
  }
}

TEST(ConvDictionary, AdjointIdentity1d) {
  torch::manual_seed(1);
  for (int64_t stride : {1, 2})
    for (int64_t dilation : {1, 3}) {
      ConvOptions o;
      o.stride(stride).padding(1).dilation(dilation);
      o.output_padding(matching_output_padding(31, 5, o));
      ConvDictionary dict(torch::randn({6, 1, 5}, torch::kDouble), o);
      auto y = torch::randn({2, 1, 31}, torch::kDouble);
      auto x = torch::randn(dict.code_shape(y.sizes()), torch::kDouble);
      EXPECT_NEAR((dict.apply(x) * y).sum().item<double>(), (x * dict.adjoint(y)).sum().item<double>(), 1e-10);
    }
}

TEST(ConvDictionary, LipschitzMatchesTheDenseMatrix) {
  torch::manual_seed(2);
  for (int64_t stride : {1, 2}) {
    ConvOptions o;
    o.stride(stride).padding(1).output_padding(stride == 2 ? 1 : 0);
    ConvDictionary dict(torch::randn({3, 2, 3, 3}, torch::kDouble), o);
    const std::vector<int64_t> shape{1, 2, 8, 8};
    auto d = dense_matrix(dict, shape);
    const double sigma_max = torch::linalg_matrix_norm(d, 2).item<double>();
    const double lipschitz = dict.lipschitz(shape, sparse::LipschitzOptions().tol(1e-12).max_iter(5000));
    EXPECT_NEAR(lipschitz, sigma_max * sigma_max, 1e-6 * sigma_max * sigma_max) << stride;
  }
}

TEST(ConvDictionary, NormalisedAtomsHaveUnitNorm) {
  ConvDictionary dict(torch::randn({5, 3, 4, 4}), {}, /*normalize=*/true);
  auto norms = dict.weights().reshape({5, -1}).norm(2, {1});
  EXPECT_TRUE(torch::allclose(norms, torch::ones({5}), 1e-6, 1e-6));
  EXPECT_THROW(ConvDictionary(torch::zeros({2, 1, 3, 3}), {}, true), std::invalid_argument);
}

TEST(ConvDictionary, FistaSolvesConvolutionalLasso) {
  // The dense-dictionary solvers run unchanged on convolutions; KKT at the solution, in float64.
  torch::manual_seed(3);
  ConvDictionary dict(torch::randn({4, 1, 5, 5}, torch::kDouble), ConvOptions().padding(2), true);
  auto truth = torch::randn({2, 4, 16, 16}, torch::kDouble) * (torch::rand({2, 4, 16, 16}) < 0.05);
  auto y = dict.apply(truth) + 0.01 * torch::randn({2, 1, 16, 16}, torch::kDouble);
  const double lambda = 0.05;
  auto res = sparse::fista(dict, y, sparse::ProximalGradientOptions(lambda).tol(1e-11).max_iter(50000).stop_rule(sparse::StopRule::DualityGap).check_every(10));
  EXPECT_TRUE(res.converged);
  auto g = dict.adjoint(y - dict.apply(res.codes));
  auto active = res.codes != 0;
  EXPECT_LT((g - lambda * res.codes.sign()).abs().masked_select(active).max().item<double>(), 1e-6 * lambda + 1e-8);
  EXPECT_LE(g.abs().masked_select(~active).max().item<double>(), lambda * (1 + 1e-6));
  auto t = sparse::threshold(dict, y, sparse::ThresholdingOptions(0.5));
  EXPECT_EQ(t.codes.sizes(), res.codes.sizes());
}

TEST(ConvDictionary, BadShapesGiveClearErrors) {
  ConvDictionary dict(torch::randn({4, 3, 3, 3}));
  auto message = [&](std::vector<int64_t> shape) {
    try {
      dict.code_shape(shape);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({2, 3, 8}).find("[N, C, H, W]"), std::string::npos);
  EXPECT_NE(message({2, 1, 8, 8}).find("channels"), std::string::npos);
  EXPECT_NE(message({2, 3, 2, 8}).find("smaller than one atom"), std::string::npos);
  ConvDictionary strided(torch::randn({4, 3, 3, 3}), ConvOptions().stride(2).padding(1));
  try {
    strided.code_shape({1, 3, 8, 8});
    FAIL() << "even size with stride 2 needs output padding 1";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("need output padding 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ConvDictionary(torch::randn({4, 3})), std::invalid_argument);
  EXPECT_THROW(ConvDictionary(torch::randn({4, 3, 3, 3}), ConvOptions().stride(0)), std::invalid_argument);
  EXPECT_THROW(ConvDictionary(torch::randn({4, 3, 3, 3}), ConvOptions().output_padding(1)), std::invalid_argument);
  EXPECT_THROW(ConvDictionary(torch::full({1, 1, 2, 2}, NAN)), std::invalid_argument);
  EXPECT_THROW(sparse::fista(dict, torch::randn({1, 2, 8, 8}), sparse::ProximalGradientOptions(0.1)), std::invalid_argument);
}
