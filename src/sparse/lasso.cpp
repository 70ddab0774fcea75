#include "deepsc/sparse/lasso.h"

namespace deepsc::sparse {

namespace {
/// Sum over every dimension but the batch one.
torch::Tensor per_sample_sum(const torch::Tensor& t) { return t.reshape({t.size(0), -1}).sum(1); }
torch::Tensor per_sample_max(const torch::Tensor& t) { return std::get<0>(t.reshape({t.size(0), -1}).max(1)); }
}  // namespace

torch::Tensor lasso_objective(const LinearOperator& op, const torch::Tensor& signals, const torch::Tensor& codes,
                              double lambda) {
  auto residual = signals - op.apply(codes);
  return 0.5 * per_sample_sum(residual.square()) + lambda * per_sample_sum(codes.abs());
}

LassoTerms lasso_terms(const LinearOperator& op, const torch::Tensor& signals, const torch::Tensor& codes,
                       double lambda, bool nonneg) {
  torch::NoGradGuard no_grad;
  auto residual = signals - op.apply(codes);
  auto correlation = op.adjoint(residual);
  auto data_fit = 0.5 * per_sample_sum(residual.square());
  auto objective = data_fit + lambda * per_sample_sum(codes.abs());
  auto dual_norm = nonneg ? per_sample_max(correlation).clamp_min(0) : per_sample_max(correlation.abs());
  auto scale = (lambda / dual_norm.clamp_min(1e-300)).clamp_max(1.0);  // [N]
  // ⟨Y, sR⟩ − ½s²‖R‖²
  auto y_dot_r = per_sample_sum(signals * residual);
  auto dual = scale * y_dot_r - scale.square() * data_fit;
  return {objective, data_fit, (objective - dual)};
}

torch::Tensor lasso_lambda_max(const LinearOperator& op, const torch::Tensor& signals, bool nonneg) {
  auto c = op.adjoint(signals);
  return nonneg ? per_sample_max(c).clamp_min(0) : per_sample_max(c.abs());
}

}  // namespace deepsc::sparse
