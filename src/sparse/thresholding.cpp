#include "deepsc/sparse/thresholding.h"

#include <stdexcept>

namespace deepsc::sparse {

SolverResult threshold(const LinearOperator& op, const torch::Tensor& signals, const ThresholdingOptions& o) {
  if (!(o.beta() >= 0)) throw std::invalid_argument("beta must be >= 0");
  if (o.sparsity() < 0) throw std::invalid_argument("sparsity must be >= 0");
  op.check_signals(signals);
  torch::NoGradGuard no_grad;

  const auto responses = op.adjoint(signals);  // DᵀY
  const int64_t n = responses.size(0);
  auto flat = responses.flatten(1);  // [N, atoms]; unlike reshape({n, -1}), defined for N = 0
  torch::Tensor codes;
  if (o.sparsity() > 0) {
    if (o.sparsity() > flat.size(1)) {
      throw std::invalid_argument("sparsity " + std::to_string(o.sparsity()) + " exceeds the number of atoms " +
                                  std::to_string(flat.size(1)));
    }
    const auto score = o.shrinkage() == Shrinkage::NonNegSoft ? flat : flat.abs();
    const auto top = std::get<1>(score.topk(o.sparsity(), /*dim=*/1));
    auto mask = torch::zeros_like(flat, torch::kBool).scatter_(1, top, true);
    // Shrink only the survivors; entries outside the top K are zero whatever β is.
    codes = torch::where(mask, shrink(flat, o.beta(), o.shrinkage()), torch::zeros_like(flat));
  } else {
    codes = shrink(flat, o.beta(), o.shrinkage());
  }
  codes = codes.view(responses.sizes());

  SolverResult result;
  result.iterations = 1;
  result.converged = true;
  if (n > 0)
    result.objective =
      (0.5 * (codes - responses).square().reshape({n, -1}).sum(1) + o.beta() * codes.abs().reshape({n, -1}).sum(1))
          .mean()
          .item<double>();
  result.codes = codes;
  return result;
}

}  // namespace deepsc::sparse
