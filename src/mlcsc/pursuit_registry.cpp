#include "deepsc/mlcsc/pursuit_registry.h"

#include <stdexcept>

namespace deepsc::mlcsc {

const std::vector<Pursuit>& all_pursuits() {
  static const std::vector<Pursuit> all{Pursuit::Thresholding, Pursuit::LayeredBp, Pursuit::LayeredIsta,
                                        Pursuit::MlIsta, Pursuit::MlFista};
  return all;
}

const char* pursuit_name(Pursuit pursuit) {
  switch (pursuit) {
    case Pursuit::Thresholding: return "thresholding";
    case Pursuit::LayeredBp: return "layered-bp";
    case Pursuit::LayeredIsta: return "layered-ista";
    case Pursuit::MlIsta: return "ml-ista";
    case Pursuit::MlFista: return "ml-fista";
  }
  return "?";
}

std::vector<std::string> pursuit_names() {
  std::vector<std::string> names;
  for (auto p : all_pursuits()) names.emplace_back(pursuit_name(p));
  return names;
}

Pursuit parse_pursuit(const std::string& name) {
  for (auto p : all_pursuits()) {
    if (name == pursuit_name(p)) return p;
  }
  std::string valid;
  const auto names = pursuit_names();
  for (size_t i = 0; i < names.size(); ++i) valid += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  throw std::invalid_argument("unknown pursuit '" + name + "' (use " + valid + ")");
}

bool takes_thresholds(Pursuit pursuit) { return pursuit == Pursuit::Thresholding; }

LayeredCodes run_pursuit(Pursuit pursuit, const MlcscModel& model, const torch::Tensor& signals,
                         const PursuitRequest& request) {
  const auto shrinkage = request.shrinkage();
  if (shrinkage == sparse::Shrinkage::Hard && pursuit != Pursuit::Thresholding) {
    throw std::invalid_argument(std::string("hard shrinkage is for thresholding only; ") + pursuit_name(pursuit) +
                                " takes soft or nonneg");
  }
  const bool nonneg = shrinkage == sparse::Shrinkage::NonNegSoft;
  const auto& values = request.values();
  switch (pursuit) {
    case Pursuit::Thresholding: return layered_thresholding(model, signals, values, shrinkage);
    case Pursuit::LayeredBp:
      return layered_basis_pursuit(
          model, signals, values,
          LayeredBasisPursuitOptions().max_iter(request.max_iter()).tol(request.tol()).nonneg(nonneg));
    case Pursuit::LayeredIsta:
      return coupled_layered_ista(model, signals, values,
                                  CoupledIstaOptions().sweeps(request.max_iter()).tol(request.tol()).nonneg(nonneg));
    case Pursuit::MlIsta:
    case Pursuit::MlFista:
      return ml_ista(model, signals, values,
                     MlIstaOptions()
                         .max_iter(request.max_iter())
                         .tol(request.tol())
                         .nonneg(nonneg)
                         .fista(pursuit == Pursuit::MlFista))
          .layers;
  }
  throw std::invalid_argument("unknown pursuit");
}

}  // namespace deepsc::mlcsc
