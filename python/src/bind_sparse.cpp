// deepsc._C: shrinkage, encode over a dense dictionary D [n, m] or a convolutional one
// W [M, C, k(, k)] by any solver of the registry (conv::solver_registry()), and coherence.
#include "bindings.h"

#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/conv/solver_registry.h"
#include "deepsc/sparse/coherence.h"
#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/proximal_gradient.h"
#include "deepsc/sparse/shrinkage.h"

namespace deepsc::python {

namespace {

using sparse::SolverRequest;

void bind_request(py::module_& m) {
  py::class_<SolverRequest> r(m, "SolverRequest", "The options every solver reads (sparse::SolverRequest)");
  r.def(py::init<>());
  property<SolverRequest, double>(r, "lam", &SolverRequest::lambda, &SolverRequest::lambda);
  property<SolverRequest, double>(r, "beta", &SolverRequest::beta, &SolverRequest::beta);
  r.def_property(
      "shrinkage", [](const SolverRequest& o) { return std::string(sparse::shrinkage_name(o.shrinkage())); },
      [](SolverRequest& o, const std::string& name) { o.shrinkage(sparse::parse_shrinkage(name)); });
  property<SolverRequest, int64_t>(r, "sparsity", &SolverRequest::sparsity, &SolverRequest::sparsity);
  property<SolverRequest, double>(r, "epsilon", &SolverRequest::epsilon, &SolverRequest::epsilon);
  property<SolverRequest, int64_t>(r, "max_iter", &SolverRequest::max_iter, &SolverRequest::max_iter);
  property<SolverRequest, int64_t>(r, "iters", &SolverRequest::iters, &SolverRequest::iters);
  property<SolverRequest, double>(r, "tol", &SolverRequest::tol, &SolverRequest::tol);
  r.def_property(
      "stop", [](const SolverRequest& o) { return o.stop_rule() == sparse::StopRule::DualityGap ? "gap" : "change"; },
      [](SolverRequest& o, const std::string& name) { o.stop_rule(sparse::parse_stop_rule(name)); });
  property<SolverRequest, int64_t>(r, "check_every", &SolverRequest::check_every, &SolverRequest::check_every);
  property<SolverRequest, bool>(r, "nonneg", &SolverRequest::nonneg, &SolverRequest::nonneg);
  property<SolverRequest, bool>(r, "adaptive_restart", &SolverRequest::adaptive_restart,
                                &SolverRequest::adaptive_restart);
  property<SolverRequest, double>(r, "step_scale", &SolverRequest::step_scale, &SolverRequest::step_scale);
  r.def_property(
      "warm_start", [](const SolverRequest& o) { return o.warm_start(); },
      [](SolverRequest& o, std::optional<torch::Tensor> t) { o.warm_start(t ? *t : torch::Tensor()); });

  py::class_<sparse::SolverRun>(m, "SolverRun", "A finished solve")
      .def_property_readonly("codes", [](const sparse::SolverRun& r) { return r.result.codes; })
      .def_property_readonly("iterations", [](const sparse::SolverRun& r) { return r.result.iterations; })
      .def_property_readonly("objective", [](const sparse::SolverRun& r) { return r.result.objective; })
      .def_property_readonly("converged", [](const sparse::SolverRun& r) { return r.result.converged; })
      .def_property_readonly("history", [](const sparse::SolverRun& r) { return r.result.history; })
      .def_readonly("solver", &sparse::SolverRun::solver)
      .def_readonly("seconds", &sparse::SolverRun::seconds)
      .def_readonly("lipschitz", &sparse::SolverRun::lipschitz)
      .def_readonly("step", &sparse::SolverRun::step);
}

/// Checks what the registry cannot see from the request alone (the Python words for them).
void check_request(const std::string& solver, const SolverRequest& request, const torch::Tensor& signals) {
  if (request.warm_start().defined()) {
    check_float_tensor(request.warm_start(), "warm_start");
    check_same_kind(request.warm_start(), "warm_start", signals, "the signals");
  }
}

sparse::SolverRun encode_dense(const torch::Tensor& dictionary, const torch::Tensor& signals, const std::string& solver,
                               const SolverRequest& request, bool normalize) {
  check_float_tensor(dictionary, "the dictionary D", {2});
  check_float_tensor(signals, "the signals Y", {2});
  check_same_kind(dictionary, "the dictionary D", signals, "the signals Y");
  if (signals.size(1) != dictionary.size(0)) {
    throw std::invalid_argument("the signals Y have rows of length " + std::to_string(signals.size(1)) +
                                " but the atoms of D have length " + std::to_string(dictionary.size(0)) +
                                " (D is [n, m], Y is [N, n])");
  }
  check_request(solver, request, signals);
  sparse::DenseDictionary dict(dictionary, normalize);
  return conv::solver_registry().run(solver, dict, signals, request);
}

sparse::SolverRun encode_conv(const torch::Tensor& weights, const torch::Tensor& signals, const std::string& solver,
                              const SolverRequest& request, int64_t stride, int64_t padding, int64_t dilation,
                              bool normalize) {
  check_float_tensor(weights, "the convolutional dictionary W", {3, 4});
  check_float_tensor(signals, "the signals", {weights.dim()});
  check_same_kind(weights, "the convolutional dictionary W", signals, "the signals");
  check_request(solver, request, signals);
  const auto geometry = conv::ConvOptions().stride(stride).padding(padding).dilation(dilation);
  conv::ConvDictionary dict(weights, conv::ConvDictionary::options_for_signals(weights.sizes(), signals.sizes(), geometry),
                            normalize);
  dict.check_signals(signals, "the signals");
  return conv::solver_registry().run(solver, dict, signals, request);
}

py::list solver_table() {
  py::list out;
  for (const auto& name : conv::solver_names()) {
    const auto& e = conv::find_solver(name);
    const auto& s = e.supports;
    py::dict d;
    d["name"] = e.name;
    d["description"] = e.description;
    d["dense"] = s.dense;
    d["convolutional"] = s.convolutional;
    d["stride_one"] = s.stride_one;
    d["cpu_only"] = s.cpu_only;
    d["nonneg"] = s.nonneg;
    d["warm_start"] = s.warm_start;
    d["fixed_iterations"] = s.fixed_iterations;
    d["gradient_step"] = s.gradient_step;
    d["control"] = s.control == sparse::SparsityControl::Lambda      ? "lambda"
                   : s.control == sparse::SparsityControl::Threshold ? "threshold"
                                                                     : "support";
    out.append(d);
  }
  return out;
}

}  // namespace

void bind_sparse(py::module_& m) {
  using Release = py::call_guard<py::gil_scoped_release>;
  const auto kind = [](const std::string& name) { return sparse::parse_shrinkage(name); };
  m.def(
      "shrink", [kind](const torch::Tensor& x, const torch::Tensor& beta, const std::string& k) {
        return sparse::shrink(x, beta, kind(k));
      },
      py::arg("x"), py::arg("beta"), py::arg("kind"), Release());
  m.def(
      "shrink", [kind](const torch::Tensor& x, double beta, const std::string& k) { return sparse::shrink(x, beta, kind(k)); },
      py::arg("x"), py::arg("beta"), py::arg("kind"), Release());

  bind_request(m);
  m.def("solvers", &solver_table, "Every solver of the registry with what it supports");
  m.def("encode_dense", &encode_dense, py::arg("dictionary"), py::arg("signals"), py::arg("solver"), py::arg("request"),
        py::arg("normalize"), Release());
  m.def("encode_conv", &encode_conv, py::arg("weights"), py::arg("signals"), py::arg("solver"), py::arg("request"),
        py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("normalize"), Release());

  m.def(
      "mutual_coherence", [](const torch::Tensor& atoms) { return sparse::mutual_coherence(atoms); }, py::arg("dictionary"),
      Release());
  m.def("recovery_bound", &sparse::recovery_bound, py::arg("mu"));
  m.def("guaranteed_support_size", &sparse::guaranteed_support_size, py::arg("mu"), py::arg("atoms"));
  m.def(
      "check_recovery",
      [](const torch::Tensor& codes, double mu, double zero_tol) {
        py::list out;
        for (const auto& c : sparse::check_recovery(codes, mu, zero_tol)) {
          py::dict d;
          d["support_size"] = c.support_size;
          d["bound"] = c.bound;
          d["bp_omp_guaranteed"] = c.bp_omp_guaranteed;
          d["threshold_bound"] = c.threshold_bound;
          d["threshold_guaranteed"] = c.threshold_guaranteed;
          out.append(d);
        }
        return out;
      },
      py::arg("codes"), py::arg("mu"), py::arg("zero_tol"));
}

}  // namespace deepsc::python
