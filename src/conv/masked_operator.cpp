#include "deepsc/conv/masked_operator.h"

#include "mask_check.h"

#include <stdexcept>

namespace deepsc::conv {

MaskedOperator::MaskedOperator(std::shared_ptr<const sparse::LinearOperator> inner, torch::Tensor mask,
                               bool inner_bound)
    : inner_(std::move(inner)), inner_bound_(inner_bound) {
  if (!inner_) throw std::invalid_argument("masked operator: the inner operator is null");
  if (!mask.defined() || mask.dim() < 1) throw std::invalid_argument("mask must be a tensor of the signals' rank");
  detail::check_mask_values(mask, mask.dim(), "mask");
  mask_ = mask.to(inner_->tensor_options()).contiguous();
}

torch::Tensor MaskedOperator::apply(const torch::Tensor& codes) const { return inner_->apply(codes) * mask_; }

torch::Tensor MaskedOperator::adjoint(const torch::Tensor& signals) const { return inner_->adjoint(signals * mask_); }

std::vector<int64_t> MaskedOperator::code_shape(c10::IntArrayRef signal_shape) const {
  detail::check_mask_broadcasts(mask_, signal_shape, "mask");
  return inner_->code_shape(signal_shape);
}

double MaskedOperator::lipschitz_uncached(c10::IntArrayRef signal_shape,
                                          const sparse::LipschitzOptions& options) const {
  if (inner_bound_) return inner_->lipschitz(signal_shape, options);
  auto shape = code_shape(signal_shape);
  shape[0] = mask_.size(0);  // one mask: one code; a mask per signal: the block-diagonal operator
  // A private generator keeps the estimate independent of (and from disturbing) the user's seed.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(20240612);
  auto v = torch::randn(shape, gen, torch::TensorOptions().dtype(torch::kDouble)).to(tensor_options());
  return power_iteration(v, options);
}

}  // namespace deepsc::conv
