#include "deepsc/conv/identity_augmented_dictionary.h"

#include <sstream>
#include <stdexcept>

namespace deepsc::conv {

namespace {

/// Stride 1, dilation s and the padding s(k − 1)/2 that keeps the signal's size, for W [w, C, k, k].
ConvOptions identity_augmented_options(const torch::Tensor& w, int64_t dilation) {
  if (!w.defined() || w.dim() != 4 || w.size(2) != w.size(3) || w.size(2) % 2 == 0) {
    std::ostringstream msg;
    msg << "identity-augmented dictionary needs square odd atoms W [w, C, k, k], got "
        << (w.defined() ? w.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  if (dilation < 1) throw std::invalid_argument("dilation must be >= 1, got " + std::to_string(dilation));
  return ConvOptions().dilation(dilation).padding(dilation * (w.size(2) - 1) / 2);
}

}  // namespace

IdentityAugmentedDictionary::IdentityAugmentedDictionary(torch::Tensor weights, int64_t dilation)
    : f_(weights, identity_augmented_options(weights, dilation)) {}

std::vector<int64_t> IdentityAugmentedDictionary::code_shape(c10::IntArrayRef signal_shape) const {
  auto shape = f_.code_shape(signal_shape);  // rank, channels, sizes: [N, w, H, W]
  shape[1] += signal_channels();
  return shape;
}

torch::Tensor IdentityAugmentedDictionary::apply(const torch::Tensor& codes) const {
  const int64_t c = signal_channels(), w = atoms();
  if (!codes.defined() || codes.dim() != 4 || codes.size(1) != c + w) {
    std::ostringstream msg;
    msg << "identity-augmented dictionary codes must be [N, " << c + w << ", H, W], got "
        << (codes.defined() ? codes.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  return codes.narrow(1, 0, c) + f_.apply(codes.narrow(1, c, w));
}

torch::Tensor IdentityAugmentedDictionary::adjoint(const torch::Tensor& signals) const {
  return torch::cat({signals, f_.adjoint(signals)}, 1);
}

torch::Tensor IdentityAugmentedDictionary::scaled_adjoint(const torch::Tensor& signals, double scale,
                                                          const torch::Tensor& bias) const {
  const int64_t c = signal_channels(), w = atoms();
  if (!bias.defined()) return torch::cat({signals * scale, f_.scaled_adjoint(signals, scale)}, 1);
  if (bias.dim() != 1 || bias.size(0) != c + w) {
    std::ostringstream msg;
    msg << "scaled_adjoint bias must be [" << c + w << "] (one per code channel), got " << bias.sizes();
    throw std::invalid_argument(msg.str());
  }
  auto identity_part = torch::add(bias.narrow(0, 0, c).view({1, c, 1, 1}), signals, scale);
  return torch::cat({identity_part, f_.scaled_adjoint(signals, scale, bias.narrow(0, c, w))}, 1);
}

double IdentityAugmentedDictionary::lipschitz_uncached(c10::IntArrayRef signal_shape,
                                                       const sparse::LipschitzOptions& options) const {
  return 1 + f_.lipschitz(signal_shape, options);
}

}  // namespace deepsc::conv
