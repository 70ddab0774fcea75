// Explicit convolution matrices and the global convolutional dictionary (Zhang 2024, sections 2–3).
#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/conv/conv_matrix.h"
#include "deepsc/sparse/dense_dictionary.h"

#include "support/tensors.h"

#include <gtest/gtest.h>

#include <functional>

using deepsc::conv::convolution_matrix;
using deepsc::conv::convolution_output_size;
using deepsc::conv::ConvDictionary;
using deepsc::conv::ConvMatrixOptions;
using deepsc::conv::ConvOptions;
using deepsc::conv::dense_matrix;
namespace sparse = deepsc::sparse;

namespace {

using deepsc::testing::doubles;
using deepsc::testing::f64;
using deepsc::testing::message_of;

/// The lecture's input image and kernel (figures "Matrix-vector Multiplication Form").
torch::Tensor seed_image() { return doubles({1, 3, 5, 4, 7, 9, 2, 6, 4, 6, 8, 3, 1, 7, 2, 5}).view({4, 4}); }
torch::Tensor seed_kernel() { return doubles({1, 2, 3, 4}).view({2, 2}); }

}  // namespace

TEST(ConvolutionMatrix, SeedFigureDilationOne) {
  // The lecture prints 17 columns and a 15-entry vector (typos); the matrix is 9×16: row r holds
  // [1 2] at the top-left input index of output r and [3 4] one input row (4 entries) below.
  const auto expected = doubles(
      {1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
       0,  1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0,
       0,  0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0,
       0,  0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0,
       0,  0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0,
       0,  0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0,
       0,  0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0,
       0,  0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0,
       0,  0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4}).view({9, 16});
  const auto a = convolution_matrix(seed_kernel(), {4, 4});
  ASSERT_EQ(a.sizes(), (std::vector<int64_t>{9, 16}));
  EXPECT_TRUE(torch::equal(a, expected)) << a;
  // A·vec(x) is the 3×3 cross-correlation: 1·1 + 2·3 + 3·7 + 4·9 = 64 first.
  const auto y = a.mv(seed_image().flatten());
  EXPECT_EQ(y[0].item<double>(), 64);
  EXPECT_TRUE(torch::equal(y, torch::conv2d(seed_image().view({1, 1, 4, 4}), seed_kernel().view({1, 1, 2, 2})).flatten()));
}

TEST(ConvolutionMatrix, SeedFigureDilationTwo) {
  // Dilation 2 spreads the kernel to [[1, 0, 2], [0, 0, 0], [3, 0, 4]]: a 4×16 matrix.
  const auto expected = doubles(
      {1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0,
       0,  1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0,
       0,  0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4, 0,
       0,  0, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 3, 0, 4}).view({4, 16});
  const auto a = convolution_matrix(seed_kernel(), {4, 4}, ConvMatrixOptions().dilation(2));
  EXPECT_TRUE(torch::equal(a, expected)) << a;
  const auto spread = doubles({1, 0, 2, 0, 0, 0, 3, 0, 4}).view({3, 3});
  EXPECT_TRUE(torch::equal(a, convolution_matrix(spread, {4, 4})));
  EXPECT_EQ(convolution_output_size(seed_kernel(), {4, 4}, ConvMatrixOptions().dilation(2)), (std::vector<int64_t>{2, 2}));
}

TEST(ConvolutionMatrix, TimesAVectorIsTheConvolution2d) {
  torch::manual_seed(0);
  int checked = 0;
  for (std::vector<int64_t> kshape : {std::vector<int64_t>{3, 3}, {2, 3}, {1, 1}, {2, 3, 3, 2}, {4, 2, 3, 3}})
    for (std::vector<int64_t> input : {std::vector<int64_t>{7, 7}, {8, 5}, {6, 9}})
      for (int64_t stride : {1, 2, 3})
        for (int64_t dilation : {1, 2})
          for (int64_t padding : {0, 1, 2}) {
            const auto kernel = torch::randn(kshape, f64);
            const auto o = ConvMatrixOptions().stride(stride).dilation(dilation).padding(padding).chunk(checked % 3 == 0 ? 5 : 0);
            const auto weight = kernel.dim() == 2 ? kernel.view({1, 1, kshape[0], kshape[1]}) : kernel;
            const int64_t span_h = dilation * (weight.size(2) - 1) + 1, span_w = dilation * (weight.size(3) - 1) + 1;
            if (input[0] + 2 * padding < span_h || input[1] + 2 * padding < span_w) continue;
            const auto a = convolution_matrix(kernel, input, o);
            const auto x = torch::randn({3, weight.size(1), input[0], input[1]}, f64);
            const auto conv = torch::conv2d(x, weight, {}, stride, padding, dilation);
            ASSERT_EQ(a.size(0), conv[0].numel());
            ASSERT_EQ(a.size(1), x[0].numel());
            const auto ax = x.flatten(1).mm(a.t());  // rows are A·vec(x_i)
            EXPECT_TRUE(torch::allclose(ax, conv.flatten(1), 1e-12, 1e-12))
                << "kernel " << kernel.sizes() << " input " << input[0] << "x" << input[1] << " s" << stride << " d"
                << dilation << " p" << padding;
            const auto out = convolution_output_size(kernel, input, o);
            EXPECT_EQ(out, conv.sizes().slice(2).vec());
            ++checked;
          }
  EXPECT_GT(checked, 200);
}

TEST(ConvolutionMatrix, TimesAVectorIsTheConvolution1d) {
  torch::manual_seed(1);
  for (std::vector<int64_t> kshape : {std::vector<int64_t>{4}, {3, 2, 5}})
    for (int64_t stride : {1, 2})
      for (int64_t dilation : {1, 3})
        for (int64_t padding : {0, 2}) {
          const auto kernel = torch::randn(kshape, f64);
          const auto weight = kernel.dim() == 1 ? kernel.view({1, 1, -1}) : kernel;
          const auto a = convolution_matrix(kernel, {20}, ConvMatrixOptions().stride(stride).dilation(dilation).padding(padding));
          const auto x = torch::randn({2, weight.size(1), 20}, f64);
          const auto conv = torch::conv1d(x, weight, {}, stride, padding, dilation);
          EXPECT_TRUE(torch::allclose(x.flatten(1).mm(a.t()), conv.flatten(1), 1e-12, 1e-12));
        }
}

TEST(ConvolutionMatrix, KeepsFloat32) {
  const auto a = convolution_matrix(seed_kernel().to(torch::kFloat), {4, 4});
  EXPECT_EQ(a.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(a.to(torch::kDouble), convolution_matrix(seed_kernel(), {4, 4})));
}

TEST(DenseMatrix, ColumnsAreTheShiftedAtoms) {
  torch::manual_seed(2);
  for (int64_t stride : {1, 2})
    for (int64_t dilation : {1, 2}) {
      ConvOptions o;
      o.stride(stride).dilation(dilation).padding(1).output_padding(stride == 2 ? 1 : 0);
      ConvDictionary dict(torch::randn({3, 2, 3, 3}, f64), o);
      const std::vector<int64_t> shape{1, 2, 10, 10};
      const auto d = dense_matrix(dict, shape);
      auto codes = torch::randn(dict.code_shape({4, 2, 10, 10}), f64);
      ASSERT_EQ(d.size(1), codes[0].numel());
      ASSERT_EQ(d.size(0), 2 * 10 * 10);
      EXPECT_TRUE(torch::allclose(codes.flatten(1).mm(d.t()), dict.apply(codes).flatten(1), 1e-12, 1e-12));
      // Dᵀ is the adjoint, and a small chunk gives the same matrix.
      auto y = torch::randn({4, 2, 10, 10}, f64);
      EXPECT_TRUE(torch::allclose(y.flatten(1).mm(d), dict.adjoint(y).flatten(1), 1e-12, 1e-12));
      EXPECT_TRUE(torch::equal(d, dense_matrix(dict, shape, /*chunk=*/7)));
      // Synthesis is the transposed analysis convolution: D = A(W)ᵀ with A the conv2d matrix.
      const auto analysis = convolution_matrix(dict.weights(), {10, 10},
                                               ConvMatrixOptions().stride(stride).dilation(dilation).padding(1));
      EXPECT_TRUE(torch::allclose(d, analysis.t(), 1e-14, 1e-14));
    }
}

TEST(DenseMatrix, OfADenseDictionaryIsItsMatrix) {
  torch::manual_seed(3);
  const auto m = torch::randn({6, 11}, f64);
  EXPECT_TRUE(torch::allclose(dense_matrix(sparse::DenseDictionary(m), {5, 6}), m, 0, 1e-15));
}

TEST(DenseMatrix, LargestSingularValueSquaredIsTheLipschitzConstant) {
  torch::manual_seed(4);
  ConvDictionary conv2d(torch::randn({4, 1, 5, 5}, f64), ConvOptions().padding(2), /*normalize=*/true);
  ConvDictionary conv1d(torch::randn({3, 2, 4}, f64), ConvOptions().dilation(2));
  const std::vector<std::pair<const ConvDictionary*, std::vector<int64_t>>> cases{{&conv2d, {1, 1, 12, 12}},
                                                                                   {&conv1d, {1, 2, 40}}};
  for (const auto& [dict, shape] : cases) {
    const double sigma = torch::linalg_matrix_norm(dense_matrix(*dict, shape), 2).item<double>();
    const double lipschitz = dict->lipschitz(shape, sparse::LipschitzOptions().tol(1e-13).max_iter(20000));
    EXPECT_NEAR(lipschitz, sigma * sigma, 1e-6 * sigma * sigma);
  }
}

TEST(ConvolutionMatrix, BadArgumentsGiveClearErrors) {
  const auto k = seed_kernel();
  EXPECT_NE(message_of([&] { convolution_matrix(torch::ones({1, 1, 1, 2, 2}, f64), {4, 4}); }).find("kernel must be"), std::string::npos);
  EXPECT_NE(message_of([&] { convolution_matrix(torch::ones({2, 2}, torch::kLong), {4, 4}); }).find("float32 or float64"), std::string::npos);
  EXPECT_NE(message_of([&] { convolution_matrix(torch::full({2, 2}, NAN, f64), {4, 4}); }).find("NaN"), std::string::npos);
  EXPECT_NE(message_of([&] { convolution_matrix(k, {4}); }).find("{H, W}"), std::string::npos);
  EXPECT_NE(message_of([&] { convolution_matrix(k, {0, 4}); }).find("positive"), std::string::npos);
  EXPECT_NE(message_of([&] { convolution_matrix(k, {1, 4}); }).find("smaller than the kernel's span 2"), std::string::npos);
  EXPECT_NE(message_of([&] { convolution_matrix(k, {4, 4}, ConvMatrixOptions().dilation(4)); }).find("span 5"), std::string::npos);
  EXPECT_NE(message_of([&] { convolution_matrix(k, {4, 4}, ConvMatrixOptions().stride(0)); }).find("stride"), std::string::npos);
  EXPECT_NE(message_of([&] { convolution_matrix(k, {4, 4}, ConvMatrixOptions().padding(-1)); }).find("padding"), std::string::npos);
  EXPECT_NE(message_of([&] { convolution_matrix(torch::Tensor(), {4, 4}); }).find("nothing"), std::string::npos);
  ConvDictionary dict(torch::randn({2, 3, 3, 3}, f64));
  EXPECT_NE(message_of([&] { dense_matrix(dict, {1, 2, 8, 8}); }).find("channels"), std::string::npos);
  EXPECT_NE(message_of([&] { dense_matrix(dict, {}); }).find("signal shape"), std::string::npos);
}
