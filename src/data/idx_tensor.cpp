#include "deepsc/data/idx_tensor.h"

#include <cstring>

// idx::Array holds little-endian bytes that are copied straight into tensor storage.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "deepsc's IDX adapter assumes a little-endian host"
#endif

namespace deepsc::data {
namespace {

torch::ScalarType idx_scalar_type(idx::Array::Type t) {
  switch (t) {
    case idx::Array::Type::UInt8: return torch::kByte;
    case idx::Array::Type::Int8: return torch::kChar;
    case idx::Array::Type::Int16: return torch::kShort;
    case idx::Array::Type::Int32: return torch::kInt;
    case idx::Array::Type::Float32: return torch::kFloat;
    case idx::Array::Type::Float64: return torch::kDouble;
  }
  return torch::kByte;  // unreachable: idx::read only yields the types above
}

}  // namespace

torch::Tensor load_idx(const std::string& path) {
  const idx::Array a = idx::read(path);
  torch::Tensor out = torch::empty(a.shape, torch::TensorOptions().dtype(idx_scalar_type(a.type)));
  // idx::read ensures data.size() == numel * element size, which is out.nbytes().
  if (!a.data.empty()) std::memcpy(out.data_ptr(), a.data.data(), a.data.size());
  return out;
}

}  // namespace deepsc::data
