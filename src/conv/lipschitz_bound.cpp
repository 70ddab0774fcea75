#include "deepsc/conv/lipschitz_bound.h"

#include <cmath>
#include <stdexcept>

namespace deepsc::conv {

double conv_lipschitz_bound(const ConvDictionary& dict, c10::IntArrayRef signal_shape) {
  const auto& o = dict.options();
  if (o.stride() != 1)
    throw std::invalid_argument("conv_lipschitz_bound needs stride 1, the dictionary has " + std::to_string(o.stride()));
  (void)dict.code_shape(signal_shape);  // throws, naming the shapes, when the signals do not fit
  torch::NoGradGuard no_grad;
  const auto& w = dict.weights();  // [M, C, k…]
  const int64_t dims = dict.spatial_dims(), atoms = w.size(0), channels = w.size(1);

  // The dilated atoms at the grid's origin, in float64.
  std::vector<int64_t> dilated_shape{atoms, channels}, grid, fft_dims;
  for (int64_t d = 0; d < dims; ++d) {
    dilated_shape.push_back(o.dilation() * (w.size(2 + d) - 1) + 1);
    grid.push_back(signal_shape[2 + d] + 2 * o.padding());  // ≥ the span: code_shape() checked it
    fft_dims.push_back(d - dims);
  }
  auto dilated = torch::zeros(dilated_shape, w.options().dtype(torch::kDouble));
  auto taps = dilated;
  for (int64_t d = 0; d < dims; ++d) taps = taps.slice(2 + d, 0, dilated_shape[2 + d], o.dilation());
  taps.copy_(w);

  // Ŵ(ω) as [F, C, M]; ‖DᵀD‖₂ ≤ max_ω λ_max(Ŵ Ŵᴴ).
  const auto spectrum = torch::fft::rfftn(dilated, grid, fft_dims).reshape({atoms, channels, -1}).permute({2, 1, 0});
  if (channels == 1) return spectrum.abs().square().sum({1, 2}).max().item<double>();
  const auto gram = torch::matmul(spectrum, spectrum.conj().transpose(1, 2));  // [F, C, C] Hermitian
  return torch::linalg_eigvalsh(gram).max().item<double>();
}

KnownLipschitzOperator::KnownLipschitzOperator(std::shared_ptr<const sparse::LinearOperator> inner, double lipschitz)
    : inner_(std::move(inner)), lipschitz_(lipschitz) {
  if (!inner_) throw std::invalid_argument("known-Lipschitz operator: the inner operator is null");
  if (!(lipschitz > 0) || !std::isfinite(lipschitz))
    throw std::invalid_argument("known-Lipschitz operator: lipschitz must be > 0, got " + std::to_string(lipschitz));
}

}  // namespace deepsc::conv
