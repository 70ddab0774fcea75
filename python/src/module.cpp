// deepsc._C: the module definition and how C++ errors become Python exceptions —
// std::invalid_argument (a bad argument, shape, dtype or option) → ValueError, LibTorch's own
// c10::Error → RuntimeError with its message without the C++ backtrace, anything else from
// std::exception → RuntimeError (pybind11's default translation).
#include "bindings.h"

#include "deepsc/core/runtime.h"
#include "deepsc/data/message_text.h"

namespace deepsc::python {

namespace {

/// "float32", "float64", "int64", … as NumPy and torch name dtypes in Python.
std::string dtype_name(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat: return "float32";
    case torch::kDouble: return "float64";
    case torch::kHalf: return "float16";
    case torch::kBFloat16: return "bfloat16";
    case torch::kLong: return "int64";
    case torch::kInt: return "int32";
    case torch::kShort: return "int16";
    case torch::kChar: return "int8";
    case torch::kByte: return "uint8";
    case torch::kBool: return "bool";
    default: return c10::toString(type);
  }
}

bool extremes_are_finite(const torch::Tensor& t) {
  const auto [low, high] = torch::aminmax(t);
  return std::isfinite(low.item<double>()) && std::isfinite(high.item<double>());
}

}  // namespace

void check_float_tensor(const torch::Tensor& t, const std::string& what, const std::vector<int64_t>& ranks,
                        bool finite) {
  if (!t.defined()) throw std::invalid_argument(what + " is not a tensor");
  if (t.scalar_type() != torch::kFloat && t.scalar_type() != torch::kDouble) {
    throw std::invalid_argument(what + " must be float32 or float64, got " + dtype_name(t.scalar_type()));
  }
  if (!ranks.empty() && std::find(ranks.begin(), ranks.end(), t.dim()) == ranks.end()) {
    std::string expected;
    for (size_t i = 0; i < ranks.size(); ++i) expected += (i ? " or " : "") + std::to_string(ranks[i]);
    throw std::invalid_argument(what + " must have " + expected + " dimensions, got shape " + c10::str(t.sizes()));
  }
  // One pass without a boolean copy: a NaN makes both extremes NaN, an infinity one of them infinite.
  if (finite && t.numel() > 0 && !extremes_are_finite(t)) {
    throw std::invalid_argument("NaN or infinite entries in " + what);
  }
}

void check_same_kind(const torch::Tensor& a, const std::string& a_name, const torch::Tensor& b,
                     const std::string& b_name) {
  if (a.scalar_type() != b.scalar_type()) {
    throw std::invalid_argument("dtypes differ: " + a_name + " " + dtype_name(a.scalar_type()) + ", " + b_name + " " +
                                dtype_name(b.scalar_type()) + "; pass both in one dtype");
  }
  if (a.device() != b.device()) {
    throw std::invalid_argument("devices differ: " + a_name + " on " + a.device().str() + ", " + b_name + " on " +
                                b.device().str() + "; move both to one device");
  }
}

}  // namespace deepsc::python

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  namespace py = pybind11;
  m.doc() = "deepsc's C++ core (sparse coding, CSC, dictionary learning, ML-CSC, CSC layers); use the deepsc package";
  m.attr("__version__") = deepsc::version();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const c10::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, deepsc::data::first_line(e.what_without_backtrace()).c_str());
    } catch (const c10::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, deepsc::data::first_line(e.what_without_backtrace()).c_str());
    } catch (const c10::Error& e) {
      PyErr_SetString(PyExc_RuntimeError, deepsc::data::first_line(e.what_without_backtrace()).c_str());
    }
  });
  deepsc::python::bind_sparse(m);
  deepsc::python::bind_dictlearn(m);
  deepsc::python::bind_mlcsc(m);
  deepsc::python::bind_nn(m);
}
