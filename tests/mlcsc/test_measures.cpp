// The local measures of ML-CSC codes (mlcsc/measures.h): the stripe norm is conv::l0_inf_norm of
// the layer, the patch norms equal a loop over every window of the next layer's (dilated) atom span
// over all channels, a dense layer's "patch" is the whole vector, the coherence is that of the
// explicit global dictionary, and strided layers are refused.
#include "deepsc/mlcsc/measures.h"

#include "deepsc/conv/conv_matrix.h"
#include "deepsc/conv/stripes.h"
#include "deepsc/sparse/coherence.h"
#include "support/tensors.h"

#include <gtest/gtest.h>

namespace deepsc::mlcsc::measures_tests {

using deepsc::testing::doubles;
using deepsc::testing::f64;
using deepsc::testing::message_of;

/// Codes with about `density` of their entries non-zero (values in ±[0.5, 1.5]).
torch::Tensor sparse_codes(std::vector<int64_t> shape, double density) {
  auto values = (torch::rand(shape, f64) + 0.5) * (torch::randint(0, 2, shape, f64) * 2 - 1);
  return values * (torch::rand(shape, f64) < density).to(torch::kDouble);
}

/// max over windows of `span` (per spatial axis, clipped to the map) of Σ f over the window and
/// all channels, by an explicit loop: v [N, C, L] or [N, C, H, W] → [N].
torch::Tensor brute_force_patch_sum(const torch::Tensor& f, std::vector<int64_t> span) {
  const int64_t n = f.size(0);
  auto best = torch::full({n}, -1.0, f64);
  if (f.dim() == 3) {
    const int64_t w = std::min(span[0], f.size(2));
    for (int64_t p = 0; p + w <= f.size(2); ++p) best = torch::maximum(best, f.narrow(2, p, w).sum({1, 2}));
  } else {
    const int64_t h = std::min(span[0], f.size(2)), w = std::min(span[1], f.size(3));
    for (int64_t p = 0; p + h <= f.size(2); ++p) {
      for (int64_t q = 0; q + w <= f.size(3); ++q) best = torch::maximum(best, f.narrow(2, p, h).narrow(3, q, w).sum({1, 2, 3}));
    }
  }
  return best;
}

TEST(MlcscMeasures, StripeNormIsTheLayersL0InfNorm) {
  torch::manual_seed(11);
  const auto one_d = conv_model({torch::randn({4, 2, 3}, f64), torch::randn({5, 4, 4}, f64)},
                                {conv::ConvOptions().dilation(2), conv::ConvOptions()});
  const auto x1 = sparse_codes({6, 4, 20}, 0.15);  // signals of length 24, codes of layer 1
  const auto m = measure_codes(one_d, 0, x1);
  EXPECT_TRUE(torch::equal(m.l0_inf, conv::l0_inf_norm(x1, *one_d.conv_layer(0))));
  const auto x2 = sparse_codes({6, 5, 17}, 0.2);
  EXPECT_TRUE(torch::equal(measure_codes(one_d, 1, x2).l0_inf, conv::l0_inf_norm(x2, *one_d.conv_layer(1))));

  const auto two_d = conv_model({torch::randn({3, 1, 2, 3}, f64), torch::randn({2, 3, 2, 2}, f64)},
                                {conv::ConvOptions().dilation(2), conv::ConvOptions()});
  const auto y1 = sparse_codes({4, 3, 7, 6}, 0.2);
  EXPECT_TRUE(torch::equal(measure_codes(two_d, 0, y1).l0_inf, conv::l0_inf_norm(y1, *two_d.conv_layer(0))));
  EXPECT_GT(m.l0_inf.max().item<int64_t>(), 1);  // the codes are not trivially sparse
}

TEST(MlcscMeasures, PatchNormsEqualALoopOverWindows1d) {
  torch::manual_seed(12);
  // D₁: 3 taps, dilation 2 (span 5); D₂: 3 taps, dilation 2 (span 5) on 4 channels.
  const auto model = conv_model({torch::randn({4, 2, 3}, f64), torch::randn({3, 4, 3}, f64)},
                                {conv::ConvOptions().dilation(2), conv::ConvOptions().dilation(2)});
  const auto y = torch::randn({5, 2, 16}, f64);
  const auto x1 = sparse_codes({5, 4, 12}, 0.3);
  const auto x2 = sparse_codes({5, 3, 8}, 0.3);
  // Level 0 has D₁'s windows, level 1 D₂'s, the deepest level D₂'s too.
  EXPECT_LT((patch_l2_inf(model, 0, y) - brute_force_patch_sum(y.square(), {5}).sqrt()).abs().max().item<double>(), 1e-12);
  EXPECT_LT((patch_l2_inf(model, 1, x1) - brute_force_patch_sum(x1.square(), {5}).sqrt()).abs().max().item<double>(), 1e-12);
  EXPECT_LT((patch_l2_inf(model, 2, x2) - brute_force_patch_sum(x2.square(), {5}).sqrt()).abs().max().item<double>(), 1e-12);
  const auto counts1 = brute_force_patch_sum((x1 != 0).to(torch::kDouble), {5}).to(torch::kLong);
  EXPECT_TRUE(torch::equal(patch_l0_inf(model, 1, x1), counts1));
  EXPECT_TRUE(torch::equal(measure_codes(model, 0, x1).l0_patch, counts1));
  EXPECT_TRUE(torch::equal(measure_codes(model, 1, x2).l0_patch,
                           brute_force_patch_sum((x2 != 0).to(torch::kDouble), {5}).to(torch::kLong)));
  // A window is a span of positions over all channels, not one channel.
  const auto spike = torch::zeros({1, 4, 12}, f64);
  spike[0][0][3] = 1, spike[0][3][7] = 1, spike[0][2][8] = 1;  // positions 3, 7, 8: a window of 5 holds two
  EXPECT_EQ(patch_l0_inf(model, 1, spike).item<int64_t>(), 2);
  spike[0][1][5] = 1;  // 5, 7, 8 fit in positions 4..8
  EXPECT_EQ(patch_l0_inf(model, 1, spike).item<int64_t>(), 3);
}

TEST(MlcscMeasures, PatchNormsEqualALoopOverWindows2d) {
  torch::manual_seed(13);
  // D₁: 2×3 taps with dilation 2 (span 3×5); D₂: 2×2 taps (span 2×2).
  const auto model = conv_model({torch::randn({3, 2, 2, 3}, f64), torch::randn({2, 3, 2, 2}, f64)},
                                {conv::ConvOptions().dilation(2), conv::ConvOptions()});
  const auto y = torch::randn({4, 2, 9, 10}, f64);
  const auto x1 = sparse_codes({4, 3, 7, 6}, 0.3);
  EXPECT_LT((patch_l2_inf(model, 0, y) - brute_force_patch_sum(y.square(), {3, 5}).sqrt()).abs().max().item<double>(), 1e-12);
  EXPECT_LT((patch_l2_inf(model, 1, x1) - brute_force_patch_sum(x1.square(), {2, 2}).sqrt()).abs().max().item<double>(), 1e-12);
  EXPECT_TRUE(torch::equal(patch_l0_inf(model, 1, x1), brute_force_patch_sum((x1 != 0).to(torch::kDouble), {2, 2}).to(torch::kLong)));
}

TEST(MlcscMeasures, DenseLayersMeasureTheWholeVector) {
  torch::manual_seed(14);
  const auto model = dense_model({torch::randn({6, 10}, f64), torch::randn({10, 14}, f64)}, true);
  const auto x1 = sparse_codes({7, 10}, 0.4);
  const auto m = measure_codes(model, 0, x1);
  const auto l0 = (x1 != 0).sum(1);
  EXPECT_TRUE(torch::equal(m.l0_inf, l0));
  EXPECT_TRUE(torch::equal(m.l0_patch, l0));
  EXPECT_LT((patch_l2_inf(model, 1, x1) - x1.norm(2, {1})).abs().max().item<double>(), 1e-14);
  const auto y = torch::randn({7, 6}, f64);
  EXPECT_LT((patch_l2_inf(model, 0, y) - y.norm(2, {1})).abs().max().item<double>(), 1e-14);
  EXPECT_NEAR(layer_coherence(model, 1), sparse::mutual_coherence(model.dense_layer(1)->matrix()), 0);
}

TEST(MlcscMeasures, SmallestAndLargestEntries) {
  const auto model = dense_model({torch::eye(4, f64)});
  const auto x = torch::tensor({0.0, -3.0, 0.5, 1e-9, 0.0, 0.0, 0.0, 0.0, 2.0, -2.0, 2.0, 2.0}, f64).view({3, 4});
  const auto exact = measure_codes(model, 0, x);
  EXPECT_TRUE(torch::equal(exact.l0_inf, torch::tensor({3, 0, 4}, torch::kLong)));
  EXPECT_TRUE(torch::allclose(exact.min_abs, doubles({1e-9, 0, 2})));
  EXPECT_TRUE(torch::allclose(exact.max_abs, doubles({3, 0, 2})));
  const auto tolerant = measure_codes(model, 0, x, 1e-6);  // 1e-9 is a zero now
  EXPECT_TRUE(torch::equal(tolerant.l0_inf, torch::tensor({2, 0, 4}, torch::kLong)));
  EXPECT_TRUE(torch::allclose(tolerant.min_abs, doubles({0.5, 0, 2})));
}

TEST(MlcscMeasures, SupportsEqualAndContained) {
  const auto truth = torch::tensor({1.0, 0.0, 2.0, /**/ 1.0, 0.0, 2.0, /**/ 1.0, 0.0, 2.0, /**/ 0.0, 0.0, 0.0}, f64).view({4, 3});
  const auto est = torch::tensor({0.5, 0.0, -1.0, /**/ 0.5, 0.0, 0.0, /**/ 0.5, 1e-9, 1.0, /**/ 0.0, 0.0, 0.0}, f64).view({4, 3});
  EXPECT_TRUE(torch::equal(same_support(est, truth), torch::tensor({true, false, false, true})));
  EXPECT_TRUE(torch::equal(support_contained(est, truth), torch::tensor({true, true, false, true})));
  EXPECT_TRUE(torch::equal(same_support(est, truth, 1e-6), torch::tensor({true, false, true, true})));
  EXPECT_NE(message_of([&] { same_support(est, truth.narrow(0, 0, 3)); }).find("of one shape"), std::string::npos);
}

TEST(MlcscMeasures, CoherenceIsThatOfTheExplicitGlobalDictionary) {
  torch::manual_seed(15);
  const auto model = conv_model({torch::randn({3, 2, 3}, f64), torch::randn({4, 3, 2}, f64)},
                                {conv::ConvOptions().dilation(2), conv::ConvOptions()}, /*normalize=*/true);
  // Signals of ≥ 2n − 1 entries hold every shift: span 5 → 9 entries; layer 2's signals are layer 1's codes.
  EXPECT_NEAR(layer_coherence(model, 0), sparse::mutual_coherence(conv::dense_matrix(model.layer(0), {1, 2, 12})), 1e-12);
  EXPECT_NEAR(layer_coherence(model, 1), sparse::mutual_coherence(conv::dense_matrix(model.layer(1), {1, 3, 8})), 1e-12);
  const auto two_d = conv_model({torch::randn({2, 1, 2, 2}, f64)}, {conv::ConvOptions().dilation(2)}, true);
  EXPECT_NEAR(layer_coherence(two_d, 0), sparse::mutual_coherence(conv::dense_matrix(two_d.layer(0), {1, 1, 6, 6})), 1e-12);
}

TEST(MlcscMeasures, StridedOrPaddedLayersAndBadArgumentsAreRefused) {
  torch::manual_seed(16);
  const auto strided = conv_model({torch::randn({3, 1, 3}, f64), torch::randn({4, 3, 3}, f64)},
                                  {conv::ConvOptions(), conv::ConvOptions().stride(2)});
  const auto x2 = torch::randn({2, 4, 4}, f64);
  const auto message = message_of([&] { measure_codes(strided, 1, x2); });
  EXPECT_NE(message.find("layer 2 has stride 2"), std::string::npos) << message;
  EXPECT_NE(message.find("need stride 1"), std::string::npos) << message;
  // Layer 1's codes have D₂'s patches: refused too.
  EXPECT_NE(message_of([&] { patch_l2_inf(strided, 1, torch::randn({2, 3, 9}, f64)); }).find("layer 2 has stride 2"),
            std::string::npos);
  const auto padded = conv_model({torch::randn({3, 1, 3}, f64)}, {conv::ConvOptions().padding(1)}, true);
  EXPECT_NE(message_of([&] { layer_coherence(padded, 0); }).find("layer 1: convolutional coherence needs padding 0"),
            std::string::npos);
  const auto dense = dense_model({torch::randn({4, 6}, f64)});
  EXPECT_NE(message_of([&] { measure_codes(dense, 1, torch::randn({2, 6}, f64)); }).find("layer index 1 is outside [0, 1)"),
            std::string::npos);
  EXPECT_NE(message_of([&] { measure_codes(dense, 0, torch::randn({2, 5}, f64)); }).find("codes [2, 5] is not shaped like X_1"),
            std::string::npos);
  EXPECT_NE(message_of([&] { patch_l2_inf(dense, 2, torch::randn({2, 6}, f64)); }).find("level 2 is outside [0, 1]"),
            std::string::npos);
}

}  // namespace deepsc::mlcsc::measures_tests
