#include "command_support.h"

#include "deepsc/data/atomic_file.h"
#include "deepsc/data/npy_tensor.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

namespace deepsc::cli {

int64_t square_side(int64_t n, int64_t channels) {
  if (n < 1 || channels < 1 || n % channels != 0) return 0;
  const auto p = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(n / channels))));
  return p * p * channels == n ? p : 0;
}

std::string dtype_name(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat: return "float32";
    case torch::kDouble: return "float64";
    case torch::kHalf: return "float16";
    case torch::kInt: return "int32";
    case torch::kLong: return "int64";
    case torch::kShort: return "int16";
    case torch::kChar: return "int8";
    case torch::kByte: return "uint8";
    case torch::kBool: return "bool";
    default: return c10::toString(type);
  }
}

torch::Tensor load_float_array(const std::string& path, const std::string& option, int64_t rank) {
  return load_float_array(path, option, std::vector<int64_t>{rank});
}

torch::Tensor load_float_array(const std::string& path, const std::string& option, const std::vector<int64_t>& ranks) {
  if (path.empty()) throw std::invalid_argument(option + " is required");
  // float64 stays float64; float16, integer and bool files (as NumPy writes them) become float32.
  torch::Tensor t = data::load_npy_floating(path);
  if (std::find(ranks.begin(), ranks.end(), t.dim()) == ranks.end()) {
    std::string wanted;
    for (size_t i = 0; i < ranks.size(); ++i) wanted += (i ? " or " : "") + std::to_string(ranks[i]);
    throw std::invalid_argument(option + " " + path + ": expected a rank-" + wanted + " array, found rank " +
                                std::to_string(t.dim()));
  }
  if (!torch::isfinite(t).all().item<bool>()) throw std::invalid_argument(option + " " + path + ": contains NaN or Inf");
  return t;
}

void ensure_directory(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) throw std::runtime_error("cannot create directory " + path + ": " + ec.message());
}

void write_text_file(const std::string& path, const std::string& text) { data::write_file_atomically(path, text); }


}  // namespace deepsc::cli
