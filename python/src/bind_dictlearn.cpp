// deepsc._C: dense dictionary learning (dictlearn::learn_dictionary: Olshausen–Field, online,
// K-SVD, MOD) with checkpoints. The learner runs without the GIL; after every iteration it takes
// the GIL back to call the Python progress callback and to notice Ctrl-C, which stops the run
// with KeyboardInterrupt and leaves the last atomically written checkpoint in place.
#include "bindings.h"

#include "deepsc/dictlearn/dictionary_learning.h"

namespace deepsc::python {

namespace {

using dictlearn::LearnOptions;

py::dict progress_dict(const dictlearn::LearnProgress& p) {
  py::dict d;
  d["iteration"] = p.iteration;
  d["total"] = p.total;
  d["objective"] = p.objective;
  d["holdout_objective"] = p.holdout_objective;
  d["seconds"] = p.seconds;
  d["restart_started"] = p.restart_started;
  d["restart_outcome"] = dictlearn::restart_outcome_name(p.restart_outcome);
  return d;
}

struct LearnRun {
  torch::Tensor dictionary;
  py::list history;
  int64_t replaced_atoms = 0;
  int64_t swapped_atoms = 0;
  int64_t restarted_atoms = 0;
};

LearnRun learn(const torch::Tensor& signals, LearnOptions options, const py::object& callback) {
  check_float_tensor(signals, "the signals Y", {2});
  if (options.initial().defined()) check_float_tensor(options.initial(), "the initial dictionary", {2});
  if (options.holdout().defined()) check_float_tensor(options.holdout(), "the held-out signals", {2});
  options.on_progress([&callback](const dictlearn::LearnProgress& p) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (!callback.is_none()) callback(progress_dict(p));
  });
  dictlearn::LearnResult result;
  {
    py::gil_scoped_release release;
    result = dictlearn::learn_dictionary(signals, options);
  }
  LearnRun run;
  run.dictionary = result.dictionary;
  run.replaced_atoms = result.replaced_atoms;
  run.swapped_atoms = result.swapped_atoms;
  run.restarted_atoms = result.restarted_atoms;
  for (const auto& p : result.history) run.history.append(progress_dict(p));
  return run;
}

}  // namespace

void bind_dictlearn(py::module_& m) {
  py::class_<LearnOptions> o(m, "LearnOptions", "Options of dictlearn::learn_dictionary");
  o.def(py::init<int64_t>(), py::arg("atoms"));
  property<LearnOptions, int64_t>(o, "atoms", &LearnOptions::atoms, &LearnOptions::atoms);
  o.def_property(
      "algorithm", [](const LearnOptions& x) { return dictlearn::algorithm_name(x.algorithm()); },
      [](LearnOptions& x, const std::string& name) { x.algorithm(dictlearn::parse_algorithm(name)); });
  property<LearnOptions, double>(o, "lam", &LearnOptions::lambda, &LearnOptions::lambda);
  property<LearnOptions, int64_t>(o, "sparsity", &LearnOptions::sparsity, &LearnOptions::sparsity);
  property<LearnOptions, double>(o, "error_bound", &LearnOptions::error_bound, &LearnOptions::error_bound);
  property<LearnOptions, int64_t>(o, "iterations", &LearnOptions::iterations, &LearnOptions::iterations);
  property<LearnOptions, int64_t>(o, "batch_size", &LearnOptions::batch_size, &LearnOptions::batch_size);
  property<LearnOptions, double>(o, "learning_rate", &LearnOptions::learning_rate, &LearnOptions::learning_rate);
  property<LearnOptions, uint64_t>(o, "seed", &LearnOptions::seed, &LearnOptions::seed);
  o.def_property(
      "initial", [](const LearnOptions& x) { return x.initial(); },
      [](LearnOptions& x, std::optional<torch::Tensor> t) { x.initial(t ? *t : torch::Tensor()); });
  o.def_property(
      "initialization",
      [](const LearnOptions& x) {
        return x.initialization() == dictlearn::Initialization::Signals ? "signals" : "gaussian";
      },
      [](LearnOptions& x, const std::string& name) {
        if (name != "signals" && name != "gaussian") {
          throw std::invalid_argument("initialization must be 'signals' or 'gaussian', got '" + name + "'");
        }
        x.initialization(name == "signals" ? dictlearn::Initialization::Signals : dictlearn::Initialization::Gaussian);
      });
  o.def_property(
      "holdout", [](const LearnOptions& x) { return x.holdout(); },
      [](LearnOptions& x, std::optional<torch::Tensor> t) { x.holdout(t ? *t : torch::Tensor()); });
  property<LearnOptions, int64_t>(o, "eval_every", &LearnOptions::eval_every, &LearnOptions::eval_every);
  property<LearnOptions, std::string>(o, "checkpoint", &LearnOptions::checkpoint, &LearnOptions::checkpoint);
  property<LearnOptions, int64_t>(o, "checkpoint_every", &LearnOptions::checkpoint_every, &LearnOptions::checkpoint_every);
  property<LearnOptions, bool>(o, "resume", &LearnOptions::resume, &LearnOptions::resume);
  property<LearnOptions, double>(o, "coding_tol", &LearnOptions::coding_tol, &LearnOptions::coding_tol);
  property<LearnOptions, int64_t>(o, "ksvd_power_iterations", &LearnOptions::ksvd_power_iterations,
                    &LearnOptions::ksvd_power_iterations);
  property<LearnOptions, bool>(o, "replace_dead_atoms", &LearnOptions::replace_dead_atoms, &LearnOptions::replace_dead_atoms);
  property<LearnOptions, double>(o, "duplicate_threshold", &LearnOptions::duplicate_threshold, &LearnOptions::duplicate_threshold);
  property<LearnOptions, bool>(o, "swap_atoms", &LearnOptions::swap_atoms, &LearnOptions::swap_atoms);
  property<LearnOptions, int64_t>(o, "restart_passes", &LearnOptions::restart_passes, &LearnOptions::restart_passes);
  property<LearnOptions, int64_t>(o, "dead_atom_window", &LearnOptions::dead_atom_window, &LearnOptions::dead_atom_window);

  py::class_<LearnRun>(m, "LearnResult", "A finished dictionary learning run")
      .def_readonly("dictionary", &LearnRun::dictionary)
      .def_readonly("history", &LearnRun::history)
      .def_readonly("replaced_atoms", &LearnRun::replaced_atoms)
      .def_readonly("swapped_atoms", &LearnRun::swapped_atoms)
      .def_readonly("restarted_atoms", &LearnRun::restarted_atoms);
  m.def("learn_dictionary", &learn, py::arg("signals"), py::arg("options"), py::arg("callback") = py::none());
  m.def(
      "dictionary_objective",
      [](const torch::Tensor& dictionary, const torch::Tensor& signals, const LearnOptions& options) {
        check_float_tensor(dictionary, "the dictionary D", {2});
        check_float_tensor(signals, "the signals Y", {2});
        py::gil_scoped_release release;
        return dictlearn::dictionary_objective(dictionary, signals, options);
      },
      py::arg("dictionary"), py::arg("signals"), py::arg("options"));
}

}  // namespace deepsc::python
