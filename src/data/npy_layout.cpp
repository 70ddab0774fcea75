// The layouts NumPy writes that npy::Array does not hold (big-endian, Fortran order), the
// float16 decoder, and npy::to_floating.
#include "npy_layout.h"

#include "deepsc/data/npy.h"

#include <algorithm>
#include <cmath>
#include <cstring>

// npy::Array holds little-endian bytes, read and written here with memcpy.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "deepsc's .npy reader assumes a little-endian host"
#endif

namespace deepsc::npy {
namespace detail {

void swap_bytes(std::vector<uint8_t>& data, size_t element_size) {
  if (element_size < 2) return;
  for (size_t i = 0; i + element_size <= data.size(); i += element_size)
    std::reverse(data.begin() + static_cast<std::ptrdiff_t>(i),
                 data.begin() + static_cast<std::ptrdiff_t>(i + element_size));
}

void fortran_to_c_order(std::vector<uint8_t>& data, const std::vector<int64_t>& shape, size_t element_size) {
  // Rank 0 and 1 (and arrays with at most one dimension above 1) are the same in both orders.
  size_t non_trivial = 0;
  for (const int64_t d : shape) non_trivial += d > 1;
  if (non_trivial < 2 || data.empty()) return;

  // Fortran strides in elements: the first index moves fastest.
  const size_t rank = shape.size();
  std::vector<size_t> stride(rank);
  size_t s = 1;
  for (size_t k = 0; k < rank; ++k) {
    stride[k] = s;
    s *= static_cast<size_t>(shape[k]);
  }
  // Walk the C-order positions with an odometer (last index fastest), tracking the Fortran offset.
  std::vector<uint8_t> out(data.size());
  std::vector<int64_t> index(rank, 0);
  size_t from = 0;
  for (size_t to = 0; to < out.size(); to += element_size) {
    std::memcpy(out.data() + to, data.data() + from * element_size, element_size);
    for (size_t k = rank; k-- > 0;) {
      if (++index[k] < shape[k]) {
        from += stride[k];
        break;
      }
      from -= stride[k] * static_cast<size_t>(shape[k] - 1);
      index[k] = 0;
    }
  }
  data.swap(out);
}

float half_to_float(uint16_t bits) {
  const float sign = (bits & 0x8000) != 0 ? -1.0f : 1.0f;
  const int exponent = (bits >> 10) & 0x1f;
  const int mantissa = bits & 0x3ff;
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -24);  // zero, subnormal
  if (exponent == 0x1f) return mantissa == 0 ? sign * INFINITY : NAN;
  return sign * std::ldexp(static_cast<float>(1024 + mantissa), exponent - 25);
}

}  // namespace detail

namespace {

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Element i of `a` as an Out (float or double): float16 widened exactly, bool as 0 or 1, integers
// rounded to the nearest Out as static_cast does.
template <typename Out>
Out element(const Array& a, size_t i) {
  const uint8_t* p = a.data.data() + i * dtype_size(a.dtype);
  switch (a.dtype) {
    case DType::Float16: return static_cast<Out>(detail::half_to_float(load<uint16_t>(p)));
    case DType::Float32: return static_cast<Out>(load<float>(p));
    case DType::Float64: return static_cast<Out>(load<double>(p));
    case DType::Int8: return static_cast<Out>(load<int8_t>(p));
    case DType::Int16: return static_cast<Out>(load<int16_t>(p));
    case DType::Int32: return static_cast<Out>(load<int32_t>(p));
    case DType::Int64: return static_cast<Out>(load<int64_t>(p));
    case DType::UInt8: return static_cast<Out>(load<uint8_t>(p));
    case DType::UInt16: return static_cast<Out>(load<uint16_t>(p));
    case DType::UInt32: return static_cast<Out>(load<uint32_t>(p));
    case DType::UInt64: return static_cast<Out>(load<uint64_t>(p));
    case DType::Bool: return static_cast<Out>(*p != 0 ? 1 : 0);
  }
  return Out(0);
}

template <typename Out>
void convert_into(const Array& a, Array& out) {
  const size_t n = a.data.size() / dtype_size(a.dtype);
  out.data.resize(n * sizeof(Out));
  for (size_t i = 0; i < n; ++i) {
    const Out v = element<Out>(a, i);
    std::memcpy(out.data.data() + i * sizeof(Out), &v, sizeof v);
  }
}

}  // namespace

Array to_floating(const Array& array, DType target) {
  if (target != DType::Float32 && target != DType::Float64)
    throw NpyError("npy::to_floating", std::string("target must be float32 or float64, got ") + dtype_name(target));
  if (array.data.size() % dtype_size(array.dtype) != 0)
    throw NpyError("npy::to_floating", "data size is not a multiple of the element size");
  if (array.dtype == target) return array;
  Array out;
  out.dtype = target;
  out.shape = array.shape;
  if (target == DType::Float32)
    convert_into<float>(array, out);
  else
    convert_into<double>(array, out);
  return out;
}

}  // namespace deepsc::npy
