#include "deepsc/conv/conv_matrix.h"

#include <algorithm>
#include <functional>
#include <sstream>
#include <stdexcept>

#include "../support/text.h"

namespace deepsc::conv {

namespace {

/// Entries one basis batch (and its image) may hold, so building a large matrix never needs
/// more than a few hundred MB of work memory beyond the matrix itself.
constexpr int64_t kChunkEntries = int64_t{1} << 24;

using deepsc::detail::str;

int64_t product(c10::IntArrayRef dims) {
  int64_t n = 1;
  for (auto d : dims) n *= d;
  return n;
}

/// The matrix [out_numel, in_numel] of a linear map given on batches: `map` takes [B, ...in_shape]
/// and returns [B, ...] with out_numel entries per item. Column j is map(e_j), so A·v = map(v).
torch::Tensor matrix_of(const std::function<torch::Tensor(const torch::Tensor&)>& map, std::vector<int64_t> in_shape,
                        int64_t out_numel, const torch::TensorOptions& options, int64_t chunk) {
  torch::NoGradGuard no_grad;
  const int64_t in_numel = product(c10::IntArrayRef(in_shape).slice(1));
  if (chunk <= 0) chunk = std::max<int64_t>(1, kChunkEntries / std::max<int64_t>({in_numel, out_numel, 1}));
  auto a = torch::empty({out_numel, in_numel}, options);
  for (int64_t start = 0; start < in_numel; start += chunk) {
    const int64_t len = std::min(chunk, in_numel - start);
    auto basis = torch::zeros({len, in_numel}, options);
    basis.narrow(1, start, len).diagonal().fill_(1);  // rows e_start … e_{start+len−1}
    in_shape[0] = len;
    auto image = map(basis.view(in_shape));
    if (image.dim() < 1 || image.size(0) != len || image.numel() != len * out_numel) {
      throw std::invalid_argument("the operator returned " + str(image.sizes()) + " for " + std::to_string(len) +
                                  " inputs of shape " + str(c10::IntArrayRef(in_shape).slice(1)) + ", expected " +
                                  std::to_string(out_numel) + " entries each");
    }
    a.narrow(1, start, len).copy_(image.reshape({len, out_numel}).t());
  }
  return a;
}

void check_geometry(const ConvMatrixOptions& o) {
  if (o.stride() < 1) throw std::invalid_argument("stride must be >= 1, got " + std::to_string(o.stride()));
  if (o.padding() < 0) throw std::invalid_argument("padding must be >= 0, got " + std::to_string(o.padding()));
  if (o.dilation() < 1) throw std::invalid_argument("dilation must be >= 1, got " + std::to_string(o.dilation()));
}

/// The kernel as [Cout, Cin, k…] (a bare [k…] kernel gets Cout = Cin = 1), after every check.
torch::Tensor full_kernel(const torch::Tensor& kernel, c10::IntArrayRef input_size, const ConvMatrixOptions& o) {
  if (!kernel.defined() || kernel.dim() < 1 || kernel.dim() > 4) {
    throw std::invalid_argument("kernel must be [k], [kh, kw], [Cout, Cin, k] or [Cout, Cin, kh, kw], got " +
                                (kernel.defined() ? str(kernel.sizes()) : std::string("nothing")));
  }
  if (!kernel.is_floating_point()) throw std::invalid_argument("kernel must be float32 or float64, got " + str(kernel.scalar_type()));
  if (kernel.numel() == 0) throw std::invalid_argument("kernel has an empty dimension: " + str(kernel.sizes()));
  if (!torch::isfinite(kernel).all().item<bool>()) throw std::invalid_argument("kernel has NaN or Inf entries");
  check_geometry(o);
  const int64_t dims = kernel.dim() % 2 == 0 ? 2 : 1;  // [kh, kw] and [Cout, Cin, kh, kw] are 2-D
  if (static_cast<int64_t>(input_size.size()) != dims) {
    throw std::invalid_argument("input size must be " + std::string(dims == 2 ? "{H, W}" : "{L}") + " for a kernel of shape " +
                                str(kernel.sizes()) + ", got " + str(input_size));
  }
  auto k = kernel;
  if (kernel.dim() <= 2) {
    std::vector<int64_t> shape{1, 1};
    shape.insert(shape.end(), kernel.sizes().begin(), kernel.sizes().end());
    k = kernel.reshape(shape);
  }
  for (int64_t d = 0; d < dims; ++d) {
    if (input_size[d] < 1) throw std::invalid_argument("input size must be positive, got " + str(input_size));
    const int64_t span = o.dilation() * (k.size(2 + d) - 1) + 1;
    if (input_size[d] + 2 * o.padding() < span) {
      throw std::invalid_argument("input size " + str(input_size) + " with padding " + std::to_string(o.padding()) +
                                  " is smaller than the kernel's span " + std::to_string(span) + " (dilation " +
                                  std::to_string(o.dilation()) + ")");
    }
  }
  return k;
}

/// H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1 per spatial dimension of a checked [Cout, Cin, k…] kernel.
std::vector<int64_t> output_size(const torch::Tensor& k, c10::IntArrayRef input_size, const ConvMatrixOptions& o) {
  std::vector<int64_t> out;
  for (size_t d = 0; d < input_size.size(); ++d) {
    const int64_t span = o.dilation() * (k.size(2 + d) - 1) + 1;
    out.push_back((input_size[d] + 2 * o.padding() - span) / o.stride() + 1);
  }
  return out;
}

}  // namespace

std::vector<int64_t> convolution_output_size(const torch::Tensor& kernel, c10::IntArrayRef input_size,
                                             const ConvMatrixOptions& o) {
  return output_size(full_kernel(kernel, input_size, o), input_size, o);
}

torch::Tensor convolution_matrix(const torch::Tensor& kernel, c10::IntArrayRef input_size, const ConvMatrixOptions& o) {
  const auto k = full_kernel(kernel, input_size, o);
  const auto out_size = output_size(k, input_size, o);
  std::vector<int64_t> in_shape{1, k.size(1)};  // [B, Cin, H, W]
  in_shape.insert(in_shape.end(), input_size.begin(), input_size.end());
  const int64_t out_numel = k.size(0) * product(out_size);
  const bool two_d = input_size.size() == 2;
  // A is the convolution applied to the identity: column j = conv(e_j).
  return matrix_of(
      [&](const torch::Tensor& x) {
        return two_d ? torch::conv2d(x, k, {}, o.stride(), o.padding(), o.dilation())
                     : torch::conv1d(x, k, {}, o.stride(), o.padding(), o.dilation());
      },
      in_shape, out_numel, k.options(), o.chunk());
}

torch::Tensor dense_matrix(const sparse::LinearOperator& op, c10::IntArrayRef signal_shape, int64_t chunk) {
  if (signal_shape.empty()) throw std::invalid_argument("signal shape must be [N, ...], got []");
  std::vector<int64_t> one(signal_shape.begin(), signal_shape.end());
  one[0] = 1;
  const auto code_shape = op.code_shape(one);  // throws std::invalid_argument naming the shapes
  const int64_t signal_numel = product(c10::IntArrayRef(one).slice(1));
  return matrix_of([&](const torch::Tensor& codes) { return op.apply(codes); }, code_shape, signal_numel,
                   op.tensor_options(), chunk);
}

}  // namespace deepsc::conv
