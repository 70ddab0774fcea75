#include "deepsc/conv/transposed_convolution.h"

#include <algorithm>

namespace deepsc::conv {

torch::Tensor transposed_conv2d(const torch::Tensor& codes, const torch::Tensor& weight, int64_t stride, int64_t padding,
                                std::array<int64_t, 2> output_padding, int64_t dilation) {
  if (stride > 1 && dilation > 1) {
    return torch::conv_transpose2d(codes, weight, {}, stride, padding, {output_padding[0], output_padding[1]}, 1,
                                   dilation);
  }
  const int64_t atoms = weight.size(0), channels = weight.size(1), k = weight.size(2);
  // The full (uncropped) synthesis: along each axis, (H' − 1)s + d(k − 1) + 1 samples or more.
  torch::Tensor full;
  if (codes.size(2) == 1 && codes.size(3) == 1 && dilation == 1) {
    // One code position (a dictionary whose atoms cover the whole signal, e.g. the last layer of a
    // classifier): D c is a matrix product, [N, M] · [M, C·k·k].
    full = torch::mm(codes.reshape({codes.size(0), atoms}), weight.reshape({atoms, -1})).view({codes.size(0), channels, k, k});
  } else if (stride == 1) {
    full = torch::conv2d(codes, weight.transpose(0, 1).flip({2, 3}), {}, 1, dilation * (k - 1), dilation);
  } else {
    const int64_t s = stride, taps = (k + s - 1) / s;
    // W zero-padded to taps·s per axis; phase (r, q) holds the taps r + s·u, q + s·v, flipped for a
    // correlation; the output channel of phase (r, q) of signal channel c is c·s² + r·s + q, the
    // order pixel_shuffle(s) interleaves into rows s·m + r and columns s·n + q.
    const auto padded = torch::constant_pad_nd(weight, {0, taps * s - k, 0, taps * s - k});
    const auto phases = padded.view({atoms, channels, taps, s, taps, s})
                            .permute({1, 3, 5, 0, 2, 4})
                            .reshape({channels * s * s, atoms, taps, taps})
                            .flip({2, 3});
    full = torch::pixel_shuffle(torch::conv2d(codes, phases, {}, 1, taps - 1), s);
  }
  // Crop p in front; the requested size may reach past the full synthesis (output padding), where
  // the values are zero.
  const int64_t span = dilation * (k - 1) + 1;
  const int64_t rows = (codes.size(2) - 1) * stride - 2 * padding + span + output_padding[0];
  const int64_t cols = (codes.size(3) - 1) * stride - 2 * padding + span + output_padding[1];
  full = full.slice(2, padding).slice(3, padding);
  const int64_t extra_rows = std::max<int64_t>(0, rows - full.size(2)), extra_cols = std::max<int64_t>(0, cols - full.size(3));
  if (extra_rows > 0 || extra_cols > 0) full = torch::constant_pad_nd(full, {0, extra_cols, 0, extra_rows});
  return full.slice(2, 0, rows).slice(3, 0, cols);
}

}  // namespace deepsc::conv
