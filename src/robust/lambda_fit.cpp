#include "deepsc/robust/lambda_fit.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace deepsc::robust {

double LambdaFit::at(double residual) const {
  return std::clamp(slope * residual + intercept, lowest, highest);
}

torch::Tensor LambdaFit::at(const torch::Tensor& residuals) const {
  return (residuals * slope + intercept).clamp(lowest, highest);
}

LambdaFit fit_lambda(const std::vector<double>& residuals, const std::vector<double>& lambdas, double lowest,
                     double highest) {
  if (residuals.empty()) throw std::invalid_argument("fit_lambda: no (residual, lambda) pairs");
  if (residuals.size() != lambdas.size()) {
    throw std::invalid_argument("fit_lambda: " + std::to_string(residuals.size()) + " residuals but " +
                                std::to_string(lambdas.size()) + " lambdas");
  }
  if (!(lowest <= highest)) throw std::invalid_argument("fit_lambda: lowest > highest");
  const double n = static_cast<double>(residuals.size());
  double mean_r = 0, mean_l = 0;
  for (size_t i = 0; i < residuals.size(); ++i) {
    if (!std::isfinite(residuals[i]) || !std::isfinite(lambdas[i]))
      throw std::invalid_argument("fit_lambda: pair " + std::to_string(i) + " is not finite");
    mean_r += residuals[i] / n;
    mean_l += lambdas[i] / n;
  }
  double sxx = 0, sxy = 0;
  for (size_t i = 0; i < residuals.size(); ++i) {
    sxx += (residuals[i] - mean_r) * (residuals[i] - mean_r);
    sxy += (residuals[i] - mean_r) * (lambdas[i] - mean_l);
  }
  LambdaFit fit;
  fit.slope = sxx > 0 ? sxy / sxx : 0.0;
  fit.intercept = mean_l - fit.slope * mean_r;
  fit.lowest = lowest;
  fit.highest = highest;
  return fit;
}

}  // namespace deepsc::robust
