#pragma once
/// Process-wide run-time settings shared by every command: threads, device and seed.

#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace deepsc {

/// Library version, "MAJOR.MINOR.PATCH".
const char* version();

/// Settings every `deepsc` command accepts (`--threads`, `--device`, `--seed`).
struct RuntimeOptions {
  /// Intra-op threads for LibTorch; 0 means "all cores" (std::thread::hardware_concurrency()).
  int threads = 0;
  /// "cpu", "cuda", "cuda:1", ... Parsed by parse_device().
  std::string device = "cpu";
  /// Seed for torch's global generator; every random choice in deepsc derives from it.
  uint64_t seed = 0;
};

/// Parses a device string; throws std::invalid_argument naming the string when it is malformed
/// or names a device this LibTorch build cannot use (e.g. "cuda" on a CPU-only build).
torch::Device parse_device(const std::string& spec);

/// Blocks until the work queued on `device` is done (a no-op on CPU), so that wall-clock timings
/// of GPU work are honest.
void synchronize(const torch::Device& device);

/// Applies threads and seed to LibTorch. Requires threads >= 0. Ensures
/// at::get_num_threads() == (threads ? threads : hardware cores).
void apply_runtime(const RuntimeOptions& options);

}  // namespace deepsc
