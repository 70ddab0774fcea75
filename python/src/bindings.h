#pragma once
// deepsc._C, the extension module of the Python package: what each binding file registers, and
// the argument checks they share. The Python layer (python/deepsc/*.py) gives the public names,
// signatures and docstrings; this module is thin: it converts arguments, releases the GIL around
// the C++ work and lets C++ errors surface as Python exceptions (see module.cpp).
#include <torch/extension.h>

#include <string>
#include <vector>

namespace deepsc::python {

namespace py = pybind11;

/// Shrinkage operators, the solver registry's encode (dense and convolutional), coherence.
void bind_sparse(py::module_& m);
/// Dense dictionary learning (the four learners, checkpoints, progress and Ctrl-C).
void bind_dictlearn(py::module_& m);
/// The ML-CSC pursuits.
void bind_mlcsc(py::module_& m);
/// The CSC layer's forward for deepsc.nn.CscLayer, and trained models from `deepsc train`.
void bind_nn(py::module_& m);

/// A read-write Python property over a TORCH_ARG option (getter `name()`, setter `name(value)`).
template <typename Class, typename Value>
void property(py::class_<Class>& c, const char* python_name, const Value& (Class::*get)() const noexcept,
              Class& (Class::*set)(const Value&)) {
  c.def_property(
      python_name, [get](const Class& o) { return (o.*get)(); },
      [set](Class& o, const Value& v) { (o.*set)(v); });
}

/// Throws std::invalid_argument (ValueError) unless `t` is a defined float32 / float64 tensor of
/// one of the ranks in `ranks` (any rank when empty) with finite entries; `what` names it.
void check_float_tensor(const torch::Tensor& t, const std::string& what, const std::vector<int64_t>& ranks = {},
                        bool finite = true);

/// Throws std::invalid_argument unless `a` and `b` have one dtype and device.
void check_same_kind(const torch::Tensor& a, const std::string& a_name, const torch::Tensor& b,
                     const std::string& b_name);

}  // namespace deepsc::python
