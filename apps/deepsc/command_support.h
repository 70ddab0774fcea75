#pragma once
/// Helpers the subcommands share: loading inputs with clear errors, timing, JSON output.

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <chrono>
#include <string>
#include <vector>

namespace deepsc::cli {

/// Loads a .npy of the given rank as floats: float64 stays float64, every other dtype NumPy writes
/// (float16, float32, integers, bool; either byte order, C or Fortran order) becomes float32.
/// Errors name the option and the file.
torch::Tensor load_float_array(const std::string& path, const std::string& option, int64_t rank);
/// The same for an array whose rank is one of `ranks`.
torch::Tensor load_float_array(const std::string& path, const std::string& option, const std::vector<int64_t>& ranks);

/// The side p of a patch or atom of n = channels·p² entries (p ≥ 1), or 0 when n is not of that form.
int64_t square_side(int64_t n, int64_t channels = 1);

/// "float32", "float64", ... (NumPy's names, which users see in their files).
std::string dtype_name(torch::ScalarType type);

/// Creates a directory (and parents); errors name the path.
void ensure_directory(const std::string& path);

/// Writes text to `path` atomically (data::write_file_atomically: temp file + rename).
void write_text_file(const std::string& path, const std::string& text);

/// Wall-clock seconds since construction; waits for the device so GPU work is counted.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};


}  // namespace deepsc::cli
