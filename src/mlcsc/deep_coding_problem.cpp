#include "deepsc/mlcsc/deep_coding_problem.h"

#include "deepsc/mlcsc/measures.h"

#include <stdexcept>
#include <string>

namespace deepsc::mlcsc {

DeepCodingCheck check_deep_coding_problem(const MlcscModel& model, const torch::Tensor& signals,
                                          const std::vector<torch::Tensor>& codes, const std::vector<double>& sparsity_limits,
                                          const std::vector<double>& tolerances, SparsityMeasure measure, double zero_tol) {
  check_layer_values(sparsity_limits, model.depth(), "the sparsity limits λ");
  check_layer_values(tolerances, model.depth(), "the tolerances ε");
  if (static_cast<int64_t>(codes.size()) != model.depth()) {
    throw std::invalid_argument(std::to_string(codes.size()) + " codes for a model of " + std::to_string(model.depth()) +
                                " layers");
  }
  const auto shapes = model.shapes(signals.sizes());
  DeepCodingCheck check;
  check.all_feasible = torch::ones({signals.size(0)}, torch::dtype(torch::kBool).device(signals.device()));
  for (int64_t i = 0; i < model.depth(); ++i) {
    const auto u = static_cast<size_t>(i);
    const auto& x = codes[u];
    if (!x.defined() || x.sizes() != c10::IntArrayRef(shapes[u + 1])) {
      throw std::invalid_argument("the codes of layer " + std::to_string(i + 1) + " do not have the shape the model gives them");
    }
    const auto& below = i == 0 ? signals : codes[u - 1];
    check.residual.push_back((below - model.layer(i).apply(x)).flatten(1).norm(2, 1));
    check.sparsity.push_back(measure == SparsityMeasure::GlobalL0 ? (x.abs() > zero_tol).flatten(1).sum(1)
                                                                   : measure_codes(model, i, x, zero_tol).l0_inf);
    check.feasible.push_back((check.residual.back() <= tolerances[u]) &
                             (check.sparsity.back().to(torch::kDouble) <= sparsity_limits[u]));
    check.all_feasible = check.all_feasible & check.feasible.back();
  }
  return check;
}

}  // namespace deepsc::mlcsc
