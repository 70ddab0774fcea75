// The ML-CSC model (mlcsc/model.h): layers chain (the shapes are those the operators produce, a
// mismatch names the layers and shapes), synthesis is the top-down product of the layers, and
// per-layer values and mixed dtypes are refused with one-line messages.
#include "deepsc/mlcsc/model.h"

#include "support/tensors.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

// A named namespace per test file: the tests compile as one unity translation unit.
namespace deepsc::mlcsc::model_tests {

using deepsc::testing::f64;
using deepsc::testing::message_of;
using Shape = std::vector<int64_t>;

/// The shapes the layers' adjoints actually produce from a random signal of `signal_shape`.
std::vector<Shape> adjoint_chain_shapes(const MlcscModel& model, const Shape& signal_shape) {
  std::vector<Shape> out{signal_shape};
  auto x = torch::randn(signal_shape, f64);
  for (int64_t i = 0; i < model.depth(); ++i) {
    x = model.layer(i).adjoint(x);
    out.push_back(x.sizes().vec());
  }
  return out;
}

double largest_difference(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

TEST(MlcscModel, DenseChainShapes) {
  torch::manual_seed(1);
  const auto model = dense_model({torch::randn({8, 12}, f64), torch::randn({12, 16}, f64), torch::randn({16, 20}, f64)});
  EXPECT_EQ(model.depth(), 3);
  const std::vector<Shape> expected{{5, 8}, {5, 12}, {5, 16}, {5, 20}};
  EXPECT_EQ(model.shapes({5, 8}), expected);
  EXPECT_EQ(adjoint_chain_shapes(model, {5, 8}), expected);
  ASSERT_NE(model.dense_layer(1), nullptr);
  EXPECT_EQ(model.conv_layer(1), nullptr);
  // L_i = σ_max(D_i)², the layer's own constant.
  const auto lipschitz = model.lipschitz({5, 8});
  ASSERT_EQ(lipschitz.size(), 3u);
  for (int64_t i = 0; i < 3; ++i) {
    const double sigma = torch::linalg_matrix_norm(model.dense_layer(i)->matrix(), 2).item<double>();
    EXPECT_NEAR(lipschitz[static_cast<size_t>(i)], sigma * sigma, 1e-10 * sigma * sigma) << "layer " << i + 1;
  }
}

TEST(MlcscModel, AMismatchedChainNamesTheLayersAndShapes) {
  torch::manual_seed(2);
  const auto dense = dense_model({torch::randn({8, 12}, f64), torch::randn({10, 16}, f64)});
  const auto dense_message = message_of([&] { dense.shapes({5, 8}); });
  EXPECT_NE(dense_message.find("layer 2 does not take layer 1's codes [N, 12]"), std::string::npos) << dense_message;
  EXPECT_NE(dense_message.find("[N, 10]"), std::string::npos) << dense_message;
  EXPECT_EQ(dense_message.find('\n'), std::string::npos);

  const auto conv = conv_model({torch::randn({4, 2, 3, 3}, f64), torch::randn({6, 5, 3, 3}, f64)});
  const auto conv_message = message_of([&] { conv.shapes({1, 2, 9, 9}); });
  EXPECT_NE(conv_message.find("layer 2 does not take layer 1's codes [N, 4, 7, 7]"), std::string::npos) << conv_message;
  EXPECT_NE(conv_message.find("channels"), std::string::npos) << conv_message;
  // Signals that layer 1 itself refuses keep layer 1's own message.
  EXPECT_NE(message_of([&] { conv.shapes({1, 3, 9, 9}); }).find("channels"), std::string::npos);
}

TEST(MlcscModel, ConvolutionalChainShapesAreTheOperatorsOutputs) {
  torch::manual_seed(3);
  struct Case {
    const char* name;
    MlcscModel model;
    Shape signal;
    std::vector<Shape> expected;
  };
  const auto strided = conv::ConvOptions().stride(2).padding(1);
  const auto dilated = conv::ConvOptions().dilation(2);
  const std::vector<Case> cases{
      {"2-D stride 2 padding 1",
       conv_model({torch::randn({4, 2, 3, 3}, f64), torch::randn({6, 4, 3, 3}, f64)}, {strided, strided}),
       {2, 2, 9, 9},
       {{2, 2, 9, 9}, {2, 4, 5, 5}, {2, 6, 3, 3}}},
      {"2-D dilation 2", conv_model({torch::randn({4, 2, 3, 3}, f64), torch::randn({6, 4, 3, 3}, f64)}, {dilated, dilated}),
       {2, 2, 13, 13},
       {{2, 2, 13, 13}, {2, 4, 9, 9}, {2, 6, 5, 5}}},
      {"1-D", conv_model({torch::randn({4, 2, 5}, f64), torch::randn({6, 4, 3}, f64)}), {2, 2, 20},
       {{2, 2, 20}, {2, 4, 16}, {2, 6, 14}}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(c.model.shapes(c.signal), c.expected) << c.name;
    EXPECT_EQ(adjoint_chain_shapes(c.model, c.signal), c.expected) << c.name;
    EXPECT_NE(c.model.conv_layer(0), nullptr) << c.name;
    EXPECT_EQ(c.model.dense_layer(0), nullptr) << c.name;
  }
}

TEST(MlcscModel, SynthesisIsTheTopDownProductOfTheLayers) {
  torch::manual_seed(4);
  // Convolutional, stride 2 and padding 1: X₁ = conv_transpose2d(X₂, W₂), Y = conv_transpose2d(X₁, W₁).
  const auto w1 = torch::randn({4, 2, 3, 3}, f64), w2 = torch::randn({6, 4, 3, 3}, f64);
  const auto strided = conv::ConvOptions().stride(2).padding(1);
  const auto conv = conv_model({w1, w2}, {strided, strided});
  const auto x2 = torch::randn({2, 6, 3, 3}, f64);
  const auto levels = conv.synthesize(x2);
  ASSERT_EQ(levels.size(), 3u);
  const auto x1 = torch::conv_transpose2d(x2, w2, {}, 2, 1);
  EXPECT_LT(largest_difference(levels[1], x1), 1e-12);
  EXPECT_LT(largest_difference(levels[0], torch::conv_transpose2d(x1, w1, {}, 2, 1)), 1e-12);
  EXPECT_TRUE(torch::equal(levels[2], x2));
  EXPECT_EQ(levels[0].sizes(), (c10::IntArrayRef{2, 2, 9, 9}));

  // Dense: Y = X₃ D₃ᵀ D₂ᵀ D₁ᵀ (one signal per row).
  const auto d1 = torch::randn({8, 12}, f64), d2 = torch::randn({12, 16}, f64), d3 = torch::randn({16, 20}, f64);
  const auto dense = dense_model({d1, d2, d3});
  const auto x3 = torch::randn({3, 20}, f64);
  const auto dense_levels = dense.synthesize(x3);
  EXPECT_LT(largest_difference(dense_levels[0], x3.mm(d1.mm(d2).mm(d3).t())), 1e-12);
  EXPECT_LT(largest_difference(dense_levels[2], x3.mm(d3.t())), 1e-12);
  // A deepest code of the wrong width is named, not passed to LibTorch's matrix product.
  EXPECT_NE(message_of([&] { dense.synthesize(torch::randn({3, 19}, f64)); }).find("layer 3 cannot synthesise from codes [N, 19]"),
            std::string::npos);
}

TEST(MlcscModel, CheckLayerValuesNamesCountSignAndNaN) {
  EXPECT_NO_THROW(check_layer_values({0.1, 0.0, 2.0}, 3, "lambda"));
  EXPECT_EQ(message_of([] { check_layer_values({0.1, 0.2}, 3, "--beta"); }),
            "--beta has 2 values but the model has 3 layers");
  EXPECT_EQ(message_of([] { check_layer_values({}, 1, "lambda"); }), "lambda has 0 values but the model has 1 layer");
  EXPECT_EQ(message_of([] { check_layer_values({0.1, -0.5}, 2, "lambda"); }),
            "lambda value 2 must be finite and >= 0, got -0.500000");
  const auto nan = message_of([] { check_layer_values({std::nan(""), 0.1}, 2, "beta"); });
  EXPECT_EQ(nan.rfind("beta value 1 must be finite and >= 0, got ", 0), 0u) << nan;
  const auto inf = message_of([] { check_layer_values({0.1, std::numeric_limits<double>::infinity()}, 2, "beta"); });
  EXPECT_EQ(inf.rfind("beta value 2 must be finite", 0), 0u) << inf;
}

TEST(MlcscModel, RefusesMixedDtypesEmptyAndNullLayers) {
  const auto mixed = message_of([] { dense_model({torch::randn({8, 12}, f64), torch::randn({12, 16}, torch::kFloat)}); });
  EXPECT_NE(mixed.find("layer 2 is float on cpu but layer 1 is double on cpu"), std::string::npos) << mixed;
  EXPECT_NE(mixed.find("every layer needs one dtype and device"), std::string::npos) << mixed;
  EXPECT_NE(message_of([] { MlcscModel(std::vector<MlcscModel::Layer>{}); }).find("at least one layer"), std::string::npos);
  EXPECT_NE(message_of([] { MlcscModel(std::vector<MlcscModel::Layer>{nullptr}); }).find("layer 1 is null"), std::string::npos);
  EXPECT_NE(message_of([] { conv_model({torch::randn({4, 2, 3, 3}, f64)}, {conv::ConvOptions(), conv::ConvOptions()}); })
                .find("2 sets of convolution options for 1 layers"),
            std::string::npos);
}

}  // namespace deepsc::mlcsc::model_tests
