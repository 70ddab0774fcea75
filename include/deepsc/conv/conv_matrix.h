#pragma once
/// Explicit matrices of linear operators, the lecture's "matrix-vector multiplication form" (Zhang 2024) of a
/// convolution (section 3) and its global convolutional dictionary D (section 2).
///
/// Vectors are row-major flattenings: vec(x)[c·H·W + i·W + j] = x[c, i, j]. Matrices are built by
/// applying the operator to a batch of basis vectors (chunked, so the work memory stays bounded),
/// never element by element; they are dense, so they are meant for small sizes: tests, figures,
/// and checking theory (coherence, singular values) against the fast operators.

#include "deepsc/sparse/linear_operator.h"

namespace deepsc::conv {

/// Geometry of the convolution whose matrix is built (torch::conv2d's meaning).
struct ConvMatrixOptions {
  /// Stride s ≥ 1.
  TORCH_ARG(int64_t, stride) = 1;
  /// Zero padding p ≥ 0 of the input on every side.
  TORCH_ARG(int64_t, padding) = 0;
  /// Dilation d ≥ 1 (gaps of d − 1 between kernel taps).
  TORCH_ARG(int64_t, dilation) = 1;
  /// Basis vectors per convolution call (0: chosen so one call holds about 2²⁴ entries).
  TORCH_ARG(int64_t, chunk) = 0;
};

/// The matrix A with A·vec(x) = vec(conv(x, kernel)), where conv is the cross-correlation of
/// torch::conv2d / conv1d (no kernel flip) with the options' stride, padding and dilation:
///   kernel [kh, kw]            input size {H, W}  →  A [H'·W', H·W]
///   kernel [Cout, Cin, kh, kw] input size {H, W}  →  A [Cout·H'·W', Cin·H·W]
///   kernel [k] or [Cout, Cin, k], input size {L}  →  the 1-D analogues,
/// with H' = ⌊(H + 2p − d(kh − 1) − 1)/s⌋ + 1. The lecture's figure: kernel [[1, 2], [3, 4]] on a 4×4
/// input gives a 9×16 matrix whose row r holds the kernel rows at offsets r' and r' + 4 (r' the
/// top-left input index of output r); with dilation 2 it is 4×16.
/// A has the kernel's dtype and device. Throws std::invalid_argument, naming the argument, for a
/// kernel that is not floating point, finite and of rank 1–4 with non-empty dimensions, an input
/// size of the wrong length or ≤ 0, stride/dilation < 1, padding < 0, or an input (with padding)
/// smaller than the dilated kernel.
torch::Tensor convolution_matrix(const torch::Tensor& kernel, c10::IntArrayRef input_size,
                                 const ConvMatrixOptions& options = {});

/// Output spatial size {H', W'} (or {L'}) of the convolution above; same checks.
std::vector<int64_t> convolution_output_size(const torch::Tensor& kernel, c10::IntArrayRef input_size,
                                             const ConvMatrixOptions& options = {});

/// The operator D as a dense matrix [signal numel, code numel] for signals of shape
/// `signal_shape` = [N, ...] (N is ignored: one signal's matrix). Column j is vec(D e_j), from
/// apply() on batches of `chunk` basis codes (0: chosen so one batch holds about 2²⁴ entries).
/// For a ConvDictionary it is the lecture's global convolutional dictionary (all shifts of all atoms),
/// for a DenseDictionary the matrix itself. Dtype and device are the operator's.
/// Throws std::invalid_argument when code_shape() rejects the shape or apply() does not return it.
torch::Tensor dense_matrix(const sparse::LinearOperator& op, c10::IntArrayRef signal_shape, int64_t chunk = 0);

}  // namespace deepsc::conv
