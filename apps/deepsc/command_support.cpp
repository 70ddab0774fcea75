#include "command_support.h"

#include "deepsc/data/npy_tensor.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

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
  torch::Tensor t = data::load_npy(path);
  if (t.scalar_type() != torch::kFloat && t.scalar_type() != torch::kDouble) {
    throw std::invalid_argument(option + " " + path + ": expected float32 or float64 data, found " +
                                dtype_name(t.scalar_type()));
  }
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

void write_text_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw std::runtime_error("cannot write " + path);
    f << text;
    if (!f.flush()) {
      std::filesystem::remove(tmp);
      throw std::runtime_error("cannot write " + path);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw std::runtime_error("cannot write " + path + ": " + ec.message());
  }
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index() < 0 ? -1 : device.index());
}

}  // namespace deepsc::cli
