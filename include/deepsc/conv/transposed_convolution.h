#pragma once
/// The synthesis D c of a 2-D convolutional dictionary — the transposed convolution
///   conv_transpose2d(c, W, stride s, padding p, output_padding q, dilation d),  W [M, C, k, k]
/// — computed with forward convolutions, whose CPU kernels (oneDNN) and their backward are several
/// times faster than LibTorch's transposed-convolution kernels on the shapes unrolled CSC networks
/// use (measured in bench/compare_unfolded.py; 2–8× forward + backward):
///   a 1 × 1 code map (atoms that cover the whole signal; d = 1): a matrix product [N, M]·[M, C·k·k];
///   s = 1:  conv2d(c, flip(Wᵀ), padding d(k − 1), dilation d), then cropped by p;
///   s > 1 (d = 1): the polyphase form: the s² phases r, q of the output are full correlations of c
///         with the sub-kernels W[:, :, r::s, q::s] (zero-padded to ⌈k/s⌉ taps), all in one conv2d
///         with s²·C output channels, interleaved by pixel_shuffle(s), then cropped by p;
///   s > 1 and d > 1: conv_transpose2d itself.
/// Same values (to rounding), same autograd (every step is differentiable in c and W). Shapes:
/// codes [N, M, H', W'] → signals [N, C, (H' − 1)s − 2p + d(k − 1) + 1 + q_h, …(q_w)].

#include <torch/torch.h>

#include <array>

namespace deepsc::conv {

torch::Tensor transposed_conv2d(const torch::Tensor& codes, const torch::Tensor& weight, int64_t stride, int64_t padding,
                                std::array<int64_t, 2> output_padding, int64_t dilation);

}  // namespace deepsc::conv
