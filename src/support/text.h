#pragma once
// Internal helpers of the torch-using libraries: values and tensor shapes as text for messages.

#include <torch/torch.h>

#include <cstdint>
#include <sstream>
#include <string>

namespace deepsc::detail {

/// `value` as its operator<< writes it (sizes print as "[2, 3]").
template <typename T>
std::string str(const T& value) {
  std::ostringstream s;
  s << value;
  return s.str();
}

/// The sizes of `t` as "[2, 3]".
inline std::string shape_string(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

}  // namespace deepsc::detail
