#pragma once
/// A cheap, guaranteed step size for ISTA / FISTA on whole images.
///
/// The power iteration of LinearOperator::lipschitz() applies DᵀD tens of times on code maps the
/// size of the image, as much work as the solve itself, and returns a lower bound. For a stride-1
/// ConvDictionary there is an exact upper bound instead: on a DFT grid of G = H + 2p samples per
/// axis the full linear convolution equals the circular one (no wrap-around), D is that circulant
/// operator restricted to the code support and cropped to the signal window, so
///   ‖DᵀD‖₂ ≤ max_ω σ_max(Ŵ(ω))²,   Ŵ(ω) [C, M] the atoms' DFT on the grid,
/// and the bound is within a fraction of a percent of ‖DᵀD‖₂ for images much larger than an atom
/// (the top singular vectors are plane waves). Cost: M·C FFTs of the grid, once.

#include "deepsc/conv/conv_dictionary.h"

#include <memory>

namespace deepsc::conv {

/// max_ω σ_max(Ŵ(ω))² ≥ ‖DᵀD‖₂ for `dict` on signals of `signal_shape` ([N, C, H, W] or
/// [N, C, L]). Requires stride 1 and a shape dict.code_shape() accepts; throws
/// std::invalid_argument otherwise.
double conv_lipschitz_bound(const ConvDictionary& dict, c10::IntArrayRef signal_shape);

/// An operator whose Lipschitz constant is known in advance: apply, adjoint, normal, code shapes
/// and gradient steps are the inner operator's, and lipschitz() returns `lipschitz` for every
/// signal shape. The caller guarantees lipschitz ≥ ‖DᵀD‖₂ on the signals it solves for (e.g.
/// conv_lipschitz_bound); a smaller value can make ISTA / FISTA diverge.
class KnownLipschitzOperator final : public sparse::LinearOperator {
 public:
  /// Throws std::invalid_argument for a null inner operator or a lipschitz that is not > 0.
  KnownLipschitzOperator(std::shared_ptr<const sparse::LinearOperator> inner, double lipschitz);

  const sparse::LinearOperator& inner() const { return *inner_; }

  torch::Tensor apply(const torch::Tensor& codes) const override { return inner_->apply(codes); }
  torch::Tensor adjoint(const torch::Tensor& signals) const override { return inner_->adjoint(signals); }
  torch::Tensor normal(const torch::Tensor& codes) const override { return inner_->normal(codes); }
  std::vector<int64_t> code_shape(c10::IntArrayRef signal_shape) const override {
    return inner_->code_shape(signal_shape);
  }
  torch::TensorOptions tensor_options() const override { return inner_->tensor_options(); }
  std::unique_ptr<sparse::GradientStep> gradient_step(const torch::Tensor& signals, double step) const override {
    return inner_->gradient_step(signals, step);
  }

 protected:
  double lipschitz_uncached(c10::IntArrayRef, const sparse::LipschitzOptions&) const override { return lipschitz_; }

 private:
  std::shared_ptr<const sparse::LinearOperator> inner_;
  double lipschitz_;
};

}  // namespace deepsc::conv
