#pragma once
/// One-step thresholding, the lecture's "approximation algorithm" (Zhang 2024) (Papyan et al. 2017a):
/// compute the inner products DᵀY of the signal with every atom and keep the large ones,
///   X = argmin_X ½‖X − DᵀY‖₂² + β‖X‖₁ = S_β(DᵀY)
/// (H_β or S⁺_β with the other shrinkages). With `sparsity` K > 0 the threshold is chosen per
/// signal so that exactly the K largest responses |DᵀY| survive (the classical thresholding
/// pursuit); recovery of the support needs the coherence condition of coherence.h.
/// One layer of this is a one-hidden-layer network: X = ReLU(DᵀY − β) for S⁺.

#include "deepsc/sparse/linear_operator.h"
#include "deepsc/sparse/shrinkage.h"
#include "deepsc/sparse/solver_result.h"

namespace deepsc::sparse {

struct ThresholdingOptions {
  /* implicit */ ThresholdingOptions(double beta = 0) : beta_(beta) {}
  /// β ≥ 0 (ignored for the value of the kept entries when sparsity > 0 with Hard shrinkage).
  TORCH_ARG(double, beta);
  TORCH_ARG(Shrinkage, shrinkage) = Shrinkage::Soft;
  /// Keep the K largest |DᵀY| (or largest DᵀY for NonNegSoft) per signal; 0 disables.
  TORCH_ARG(int64_t, sparsity) = 0;
};

/// Returns codes [code shape], iterations = 1, objective = mean over signals of
/// ½‖X − DᵀY‖² + β‖X‖₁, converged = true.
SolverResult threshold(const LinearOperator& op, const torch::Tensor& signals, const ThresholdingOptions& options);

}  // namespace deepsc::sparse
