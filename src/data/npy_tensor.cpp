#include "deepsc/data/npy_tensor.h"

#include <cstring>
#include <limits>
#include <stdexcept>

// npy::Array holds little-endian bytes that are copied straight into tensor storage.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "deepsc's .npy adapter assumes a little-endian host"
#endif

namespace deepsc::data {
namespace {

// LibTorch 1.13 has no uint16/32/64: they widen to the next signed type that holds every value
// (uint64 to int64, checked value by value in to_tensor).
torch::ScalarType scalar_type_of(npy::DType t) {
  switch (t) {
    case npy::DType::Float16: return torch::kHalf;
    case npy::DType::Float32: return torch::kFloat;
    case npy::DType::Float64: return torch::kDouble;
    case npy::DType::Int8: return torch::kChar;
    case npy::DType::Int16: return torch::kShort;
    case npy::DType::Int32: return torch::kInt;
    case npy::DType::Int64: return torch::kLong;
    case npy::DType::UInt8: return torch::kByte;
    case npy::DType::UInt16: return torch::kInt;
    case npy::DType::UInt32: return torch::kLong;
    case npy::DType::UInt64: return torch::kLong;
    case npy::DType::Bool: return torch::kBool;
  }
  throw std::invalid_argument("to_tensor: invalid npy::DType");
}

npy::DType dtype_of(torch::ScalarType t) {
  switch (t) {
    case torch::kHalf: return npy::DType::Float16;
    case torch::kFloat: return npy::DType::Float32;
    case torch::kDouble: return npy::DType::Float64;
    case torch::kChar: return npy::DType::Int8;
    case torch::kShort: return npy::DType::Int16;
    case torch::kInt: return npy::DType::Int32;
    case torch::kLong: return npy::DType::Int64;
    case torch::kByte: return npy::DType::UInt8;
    case torch::kBool: return npy::DType::Bool;
    default:
      throw std::invalid_argument(
          std::string("from_tensor: unsupported dtype ") + c10::toString(t) +
          " (supported: Half, Float, Double, Char, Short, Int, Long, Byte, Bool)");
  }
}

// Copies the unsigned elements of `array` (uint16, uint32 or uint64) into `out`, an int32 or int64
// tensor of the same numel.
template <typename From, typename To>
void widen_unsigned(const npy::Array& array, torch::Tensor& out) {
  auto* dst = out.data_ptr<To>();
  const size_t n = array.data.size() / sizeof(From);
  for (size_t i = 0; i < n; ++i) {
    From v;
    std::memcpy(&v, array.data.data() + i * sizeof(From), sizeof v);
    if (static_cast<uint64_t>(v) > static_cast<uint64_t>(std::numeric_limits<To>::max()))
      throw std::invalid_argument("to_tensor: uint64 value " + std::to_string(static_cast<uint64_t>(v)) +
                                  " does not fit int64 (LibTorch has no uint64 type)");
    dst[i] = static_cast<To>(v);
  }
}

}  // namespace

torch::Tensor to_tensor(const npy::Array& array) {
  // Re-check the invariant: an Array built by hand must not make us read past `data`.
  int64_t numel = 1;
  for (const int64_t d : array.shape) {
    if (d < 0 || (d != 0 && numel > INT64_MAX / d))
      throw std::invalid_argument("to_tensor: invalid shape");
    numel *= d;
  }
  const size_t nbytes = static_cast<size_t>(numel) * npy::dtype_size(array.dtype);
  if (nbytes != array.data.size())
    throw std::invalid_argument("to_tensor: data has " + std::to_string(array.data.size()) +
                                " bytes, shape and dtype need " + std::to_string(nbytes));

  torch::Tensor out =
      torch::empty(array.shape, torch::TensorOptions().dtype(scalar_type_of(array.dtype)));
  auto* dst = static_cast<uint8_t*>(out.data_ptr());
  if (array.dtype == npy::DType::Bool) {
    // A torch bool must be exactly 0 or 1; NumPy files can hold other bytes in a bool array.
    for (size_t i = 0; i < nbytes; ++i) dst[i] = array.data[i] != 0 ? 1 : 0;
  } else if (array.dtype == npy::DType::UInt16) {
    widen_unsigned<uint16_t, int32_t>(array, out);
  } else if (array.dtype == npy::DType::UInt32) {
    widen_unsigned<uint32_t, int64_t>(array, out);
  } else if (array.dtype == npy::DType::UInt64) {
    widen_unsigned<uint64_t, int64_t>(array, out);
  } else if (nbytes > 0) {
    std::memcpy(dst, array.data.data(), nbytes);
  }
  return out;
}

npy::Array from_tensor(const torch::Tensor& tensor) {
  if (!tensor.defined()) throw std::invalid_argument("from_tensor: undefined tensor");
  if (tensor.layout() != torch::kStrided)
    throw std::invalid_argument(std::string("from_tensor: unsupported layout ") +
                                c10::toString(tensor.layout()) + " (only strided tensors)");
  npy::Array out;
  out.dtype = dtype_of(tensor.scalar_type());
  // contiguous() materializes the logical C order of transposed/sliced views.
  const torch::Tensor cpu = tensor.detach().to(torch::kCPU).contiguous();
  out.shape.assign(cpu.sizes().begin(), cpu.sizes().end());
  const size_t nbytes = cpu.numel() * cpu.element_size();
  out.data.resize(nbytes);
  if (nbytes > 0) std::memcpy(out.data.data(), cpu.data_ptr(), nbytes);
  return out;
}

torch::Tensor load_npy(const std::string& path) { return to_tensor(npy::read(path)); }

torch::Tensor load_npy_floating(const std::string& path) {
  const npy::Array array = npy::read(path);
  if (array.dtype == npy::DType::Float64 || array.dtype == npy::DType::Float32) return to_tensor(array);
  return to_tensor(npy::to_floating(array, npy::DType::Float32));
}

void save_npy(const std::string& path, const torch::Tensor& tensor) {
  npy::write(path, from_tensor(tensor));
}

}  // namespace deepsc::data
