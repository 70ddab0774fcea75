// deepsc._C: the ML-CSC pursuits (mlcsc::run_pursuit) over dense dictionaries D_i [n_{i−1}, n_i]
// or convolutional ones W_i [M_i, M_{i−1}, k(, k)].
#include "bindings.h"

#include "deepsc/mlcsc/model.h"
#include "deepsc/mlcsc/pursuit_registry.h"

namespace deepsc::python {

namespace {

/// One value per layer from an int list: empty → `fallback` for every layer.
std::vector<int64_t> per_layer(const std::vector<int64_t>& values, size_t depth, int64_t fallback, const char* what) {
  if (values.empty()) return std::vector<int64_t>(depth, fallback);
  if (values.size() != depth) {
    throw std::invalid_argument(std::string(what) + " has " + std::to_string(values.size()) + " values but the model has " +
                                std::to_string(depth) + " layers");
  }
  return values;
}

py::dict pursue(const std::vector<torch::Tensor>& dictionaries, const torch::Tensor& signals, const std::string& pursuit,
                const std::vector<double>& values, const std::string& shrinkage, int64_t max_iter, double tol,
                bool convolutional, const std::vector<int64_t>& strides, const std::vector<int64_t>& paddings,
                const std::vector<int64_t>& dilations, bool normalize) {
  if (dictionaries.empty()) throw std::invalid_argument("the model needs at least one dictionary");
  for (size_t i = 0; i < dictionaries.size(); ++i) {
    const auto name = "dictionary " + std::to_string(i + 1);
    check_float_tensor(dictionaries[i], name, convolutional ? std::vector<int64_t>{3, 4} : std::vector<int64_t>{2});
    check_same_kind(dictionaries[i], name, signals, "the signals");
  }
  check_float_tensor(signals, "the signals");
  mlcsc::LayeredCodes codes;
  {
    py::gil_scoped_release release;
    const auto depth = dictionaries.size();
    mlcsc::MlcscModel model = [&] {
      if (!convolutional) return mlcsc::dense_model(dictionaries, normalize);
      const auto s = per_layer(strides, depth, 1, "strides");
      const auto p = per_layer(paddings, depth, 0, "paddings");
      const auto d = per_layer(dilations, depth, 1, "dilations");
      std::vector<conv::ConvOptions> options;
      for (size_t i = 0; i < depth; ++i) options.push_back(conv::ConvOptions().stride(s[i]).padding(p[i]).dilation(d[i]));
      return mlcsc::conv_model_for_signals(dictionaries, options, signals.sizes(), normalize);
    }();
    const auto request = mlcsc::PursuitRequest(values)
                             .shrinkage(sparse::parse_shrinkage(shrinkage))
                             .max_iter(max_iter)
                             .tol(tol);
    codes = mlcsc::run_pursuit(mlcsc::parse_pursuit(pursuit), model, signals, request);
  }
  py::dict out;
  out["codes"] = codes.codes;
  out["iterations"] = codes.iterations;
  out["converged"] = codes.converged;
  return out;
}

}  // namespace

void bind_mlcsc(py::module_& m) {
  m.def("mlcsc_pursuits", &mlcsc::pursuit_names, "Names of the ML-CSC pursuits");
  m.def(
      "mlcsc_takes_thresholds", [](const std::string& name) { return mlcsc::takes_thresholds(mlcsc::parse_pursuit(name)); },
      py::arg("pursuit"));
  m.def("mlcsc_encode", &pursue, py::arg("dictionaries"), py::arg("signals"), py::arg("pursuit"), py::arg("values"),
        py::arg("shrinkage"), py::arg("max_iter"), py::arg("tol"), py::arg("convolutional"), py::arg("strides"),
        py::arg("paddings"), py::arg("dilations"), py::arg("normalize"));
}

}  // namespace deepsc::python
