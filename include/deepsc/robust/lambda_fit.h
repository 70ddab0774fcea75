#pragma once
/// λ as a function of the CSC residual (Algorithm 1 of the lecture, Zhang 2024): from pairs (r_c, λ_c) — the
/// mean residual of a model on data corrupted at level c (measured at the trained λ) and the λ of
/// the best accuracy there — a least-squares line  λ(r) = a·r + b,  used at test time with the
/// residual of the test set or, per sample, with each sample's own residual.

#include <torch/torch.h>

#include <limits>
#include <vector>

namespace deepsc::robust {

struct LambdaFit {
  double slope = 0, intercept = 0;
  /// Predictions are clamped to [lowest, highest] (the grid the pairs came from): the line is
  /// not trusted beyond the levels it was fitted on, and λ stays ≥ 0.
  double lowest = 0, highest = std::numeric_limits<double>::infinity();

  double at(double residual) const;
  /// Elementwise, any shape.
  torch::Tensor at(const torch::Tensor& residuals) const;
};

/// Least squares over the pairs (residuals[i], lambdas[i]); with one pair, or all residuals equal,
/// the line is flat at the mean λ. Throws std::invalid_argument for no pairs, sizes that differ,
/// non-finite values or lowest > highest.
LambdaFit fit_lambda(const std::vector<double>& residuals, const std::vector<double>& lambdas, double lowest = 0,
                     double highest = std::numeric_limits<double>::infinity());

}  // namespace deepsc::robust
