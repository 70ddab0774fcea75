// The complete solver registry: deepsc_sparse's solvers plus the convolutional ones.
#include "deepsc/conv/solver_registry.h"

#include "deepsc/conv/admm.h"
#include "deepsc/conv/conv_dictionary.h"

#include <stdexcept>

namespace deepsc::conv {

namespace {

sparse::SolverRegistry make_registry() {
  sparse::SolverRegistry reg = sparse::solver_registry();
  sparse::SolverCapabilities admm_caps;
  admm_caps.dense = false;
  admm_caps.stride_one = admm_caps.warm_start = true;
  reg.add({"admm", "FFT-domain ADMM for convolutional sparse coding (Wohlberg 2016), stride 1", admm_caps,
           [](const sparse::LinearOperator& op, const torch::Tensor& y, const sparse::SolverRequest& r) {
             const auto* dict = dynamic_cast<const ConvDictionary*>(&op);
             if (!dict) throw std::invalid_argument("solver admm needs a ConvDictionary operator");
             return admm(*dict, y,
                         AdmmOptions(r.lambda()).max_iter(r.max_iter()).tol(r.tol()).nonneg(r.nonneg()).warm_start(
                             r.warm_start()));
           }});
  return reg;
}

}  // namespace

const sparse::SolverRegistry& solver_registry() {
  static const sparse::SolverRegistry registry = make_registry();
  return registry;
}

std::vector<std::string> solver_names() { return solver_registry().names(); }

const sparse::SolverEntry& find_solver(const std::string& name) { return solver_registry().find(name); }

}  // namespace deepsc::conv
