// The solver registry and the solvers of deepsc_sparse (see solver_registry.h).
#include "deepsc/sparse/solver_registry.h"

#include "deepsc/core/runtime.h"
#include "deepsc/sparse/coordinate_descent.h"
#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/omp.h"
#include "deepsc/sparse/thresholding.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace deepsc::sparse {

namespace {

const DenseDictionary& as_dense(const LinearOperator& op, const std::string& solver) {
  const auto* dense = dynamic_cast<const DenseDictionary*>(&op);
  if (!dense) throw std::invalid_argument("solver " + solver + " needs a DenseDictionary operator");
  return *dense;
}

ProximalGradientOptions proximal_options(const SolverRequest& r) {
  const int64_t every = r.check_every() > 0 ? r.check_every() : r.stop_rule() == StopRule::DualityGap ? 10 : 1;
  auto o = ProximalGradientOptions(r.lambda())
               .max_iter(r.max_iter())
               .tol(r.tol())
               .stop_rule(r.stop_rule())
               .check_every(every)
               .nonneg(r.nonneg())
               .adaptive_restart(r.adaptive_restart())
               .step_scale(r.step_scale())
               .warm_start(r.warm_start());
  if (r.iters() > 0) o.max_iter(r.iters()).tol(0);  // exactly `iters` iterations
  return o;
}

SolverRegistry make_sparse_registry() {
  SolverRegistry reg;
  SolverCapabilities shrink;
  shrink.control = SparsityControl::Threshold;
  reg.add({"threshold", "one-step thresholding X = S_beta(D^T Y), or keep the K largest responses", shrink,
           [](const LinearOperator& op, const torch::Tensor& y, const SolverRequest& r) {
             const auto kind = r.nonneg() ? Shrinkage::NonNegSoft : r.shrinkage();
             return threshold(op, y, ThresholdingOptions(r.beta()).shrinkage(kind).sparsity(r.sparsity()));
           }});
  SolverCapabilities proximal;
  proximal.warm_start = proximal.fixed_iterations = proximal.gradient_step = true;
  reg.add({"ista", "ISTA for the lasso (Daubechies, Defrise & De Mol 2004)", proximal,
           [](const LinearOperator& op, const torch::Tensor& y, const SolverRequest& r) {
             return ista(op, y, proximal_options(r));
           }});
  reg.add({"fista", "FISTA with adaptive restart (Beck & Teboulle 2009)", proximal,
           [](const LinearOperator& op, const torch::Tensor& y, const SolverRequest& r) {
             return fista(op, y, proximal_options(r));
           }});
  SolverCapabilities cd;
  cd.convolutional = false;
  cd.cpu_only = cd.warm_start = true;
  reg.add({"cd", "coordinate descent for the lasso (Friedman, Hastie & Tibshirani 2007)", cd,
           [](const LinearOperator& op, const torch::Tensor& y, const SolverRequest& r) {
             return coordinate_descent(as_dense(op, "cd"), y,
                                       CoordinateDescentOptions(r.lambda())
                                           .max_iter(r.max_iter())
                                           .tol(r.tol())
                                           .nonneg(r.nonneg())
                                           .stop_rule(r.stop_rule())
                                           .warm_start(r.warm_start()));
           }});
  SolverCapabilities omp_caps;
  omp_caps.convolutional = omp_caps.nonneg = false;
  omp_caps.control = SparsityControl::Support;
  reg.add({"omp", "Batch-OMP (Rubinstein, Zibulevsky & Elad 2008)", omp_caps,
           [](const LinearOperator& op, const torch::Tensor& y, const SolverRequest& r) {
             return omp(as_dense(op, "omp"), y, OmpOptions().sparsity(r.sparsity()).epsilon(r.epsilon()));
           }});
  return reg;
}

}  // namespace

std::string join_names(const std::vector<std::string>& names, const std::string& conjunction) {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) s += i + 1 == names.size() ? " " + conjunction + " " : ", ";
    s += names[i];
  }
  return s;
}

void SolverRegistry::add(SolverEntry entry) {
  if (entry.name.empty()) throw std::invalid_argument("SolverRegistry::add: the solver needs a name");
  if (!entry.solve) throw std::invalid_argument("SolverRegistry::add: solver " + entry.name + " has no solve function");
  for (const auto& e : entries_)
    if (e.name == entry.name) throw std::invalid_argument("SolverRegistry::add: solver " + entry.name + " is already registered");
  entries_.push_back(std::move(entry));
}

const SolverEntry& SolverRegistry::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return e;
  throw std::invalid_argument("unknown solver '" + name + "' (known: " + join_names(names(), "and") + ")");
}

std::vector<std::string> SolverRegistry::names() const {
  return names_where([](const SolverCapabilities&) { return true; });
}

std::vector<std::string> SolverRegistry::names_where(const std::function<bool(const SolverCapabilities&)>& keep) const {
  std::vector<std::string> out;
  for (const auto& e : entries_)
    if (keep(e.supports)) out.push_back(e.name);
  return out;
}

std::string choose_lasso_solver(bool dense, bool cpu, int64_t fixed_iterations) {
  return dense && cpu && fixed_iterations == 0 ? "cd" : "fista";
}

std::string SolverRegistry::resolve(const std::string& name, const LinearOperator& op, const SolverRequest& request) const {
  if (name != kAutoSolver) return name;
  return choose_lasso_solver(dynamic_cast<const DenseDictionary*>(&op) != nullptr,
                             op.tensor_options().device().is_cpu(), request.iters());
}

void SolverRegistry::check(const std::string& requested, const LinearOperator& op, const SolverRequest& request) const {
  const auto name = resolve(requested, op, request);
  const auto& s = find(name).supports;
  const auto fail = [&](const std::string& what, const std::function<bool(const SolverCapabilities&)>& keep) {
    throw std::invalid_argument("solver " + name + " " + what + "; use " + join_names(names_where(keep)));
  };
  const bool dense = dynamic_cast<const DenseDictionary*>(&op) != nullptr;
  if (dense && !s.dense) fail("does not run on a DenseDictionary", [](const auto& c) { return c.dense; });
  if (!dense && !s.convolutional)
    fail("needs a DenseDictionary operator", [](const auto& c) { return c.convolutional; });
  if (s.cpu_only && !op.tensor_options().device().is_cpu())
    fail("runs on CPU only, the operator is on " + op.tensor_options().device().str(),
         [](const auto& c) { return !c.cpu_only; });
  if (request.nonneg() && !s.nonneg) fail("has no non-negative variant (nonneg)", [](const auto& c) { return c.nonneg; });
  if (request.iters() > 0 && !s.fixed_iterations)
    fail("runs to its own stop rule, not a fixed number of iterations (iters)",
         [](const auto& c) { return c.fixed_iterations; });
  if (request.warm_start().defined() && !s.warm_start)
    fail("takes no warm start", [](const auto& c) { return c.warm_start; });
  if (s.control == SparsityControl::Support && request.sparsity() == 0 && request.epsilon() == 0)
    throw std::invalid_argument("solver " + name + " needs sparsity K > 0 or epsilon > 0");
}

SolverRun SolverRegistry::run(const std::string& requested, const LinearOperator& op, const torch::Tensor& signals,
                              const SolverRequest& request) const {
  const auto name = resolve(requested, op, request);
  check(name, op, request);
  const auto& entry = find(name);
  const auto device = op.tensor_options().device();
  const auto wait = [&] {
    synchronize(device);
  };
  SolverRun run;
  run.solver = name;
  wait();
  const auto start = std::chrono::steady_clock::now();
  run.result = entry.solve(op, signals, request);
  wait();
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (entry.supports.gradient_step && signals.dim() > 0 && signals.size(0) > 0) {
    run.lipschitz = op.lipschitz(signals.sizes());  // cached by the solve: the L it used
    run.step = run.lipschitz > 0 ? request.step_scale() / run.lipschitz : 0;
  }
  return run;
}

const SolverRegistry& solver_registry() {
  static const SolverRegistry registry = make_sparse_registry();
  return registry;
}

}  // namespace deepsc::sparse
