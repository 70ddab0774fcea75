// conv::transposed_conv2d — the synthesis by forward convolutions (flipped kernel at stride 1, the
// polyphase form at stride > 1) — equals LibTorch's conv_transpose2d, values and gradients, for
// every stride, padding, output padding, dilation and kernel size the dictionaries use.
#include "deepsc/conv/transposed_convolution.h"

#include <gtest/gtest.h>

namespace transposed_convolution_test {

struct Case {
  int64_t k, stride, padding, dilation, code_size;
};

}  // namespace transposed_convolution_test

TEST(TransposedConvolution, EqualsConvTranspose2dInValuesAndGradients) {
  using transposed_convolution_test::Case;
  torch::manual_seed(3);
  const auto f64 = torch::TensorOptions().dtype(torch::kDouble);
  const std::vector<Case> cases = {{3, 1, 1, 1, 7}, {3, 1, 0, 1, 5}, {5, 1, 2, 3, 6}, {3, 1, 4, 4, 9},
                                   {6, 2, 0, 1, 4}, {6, 2, 0, 1, 12}, {4, 2, 1, 1, 8}, {3, 2, 1, 1, 7},
                                   {5, 3, 2, 1, 4}, {2, 2, 0, 1, 3},  {4, 1, 0, 1, 1}, {3, 2, 1, 2, 5}, {4, 2, 1, 1, 1}, {3, 1, 1, 1, 1}};
  int checked = 0;
  for (const auto& c : cases) {
    for (int64_t q = 0; q < std::max(c.stride, c.dilation); ++q) {
      const auto weight = torch::randn({5, 3, c.k, c.k}, f64).requires_grad_();
      const auto codes =
          torch::randn({2, 5, c.code_size, c.code_size == 1 ? 1 : c.code_size + 1}, f64).requires_grad_();
      const std::array<int64_t, 2> output_padding{q, (q + 1) % std::max(c.stride, c.dilation)};
      const auto expected = torch::conv_transpose2d(codes, weight, {}, c.stride, c.padding,
                                                    {output_padding[0], output_padding[1]}, 1, c.dilation);
      const auto got = deepsc::conv::transposed_conv2d(codes, weight, c.stride, c.padding, output_padding, c.dilation);
      ASSERT_EQ(got.sizes(), expected.sizes()) << "k " << c.k << " s " << c.stride << " p " << c.padding << " q " << q;
      EXPECT_LT((got - expected).abs().max().item<double>(), 1e-12) << "k " << c.k << " s " << c.stride;
      // Gradients with respect to the codes and the atoms, for a random linear functional.
      const auto probe = torch::randn_like(expected);
      const auto g_expected = torch::autograd::grad({(expected * probe).sum()}, {codes, weight});
      const auto g_got = torch::autograd::grad({(got * probe).sum()}, {codes, weight});
      EXPECT_LT((g_got[0] - g_expected[0]).abs().max().item<double>(), 1e-11) << "codes, k " << c.k << " s " << c.stride;
      EXPECT_LT((g_got[1] - g_expected[1]).abs().max().item<double>(), 1e-10) << "atoms, k " << c.k << " s " << c.stride;
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}
