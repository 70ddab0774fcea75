#include "deepsc/core/runtime.h"

#include <stdexcept>
#include <thread>

namespace deepsc {

const char* version() { return "0.1.0"; }

torch::Device parse_device(const std::string& spec) {
  c10::optional<torch::Device> device;
  try {
    device = torch::Device(spec);
  } catch (const c10::Error&) {
    throw std::invalid_argument("--device '" + spec + "' is not a device name (use cpu, cuda or cuda:N)");
  }
  if (device->is_cuda()) {
    if (!torch::cuda::is_available()) {
      throw std::invalid_argument("--device '" + spec +
                                  "': this LibTorch build has no usable CUDA device; use --device cpu");
    }
    if (device->has_index() && device->index() >= static_cast<int>(torch::cuda::device_count())) {
      throw std::invalid_argument("--device '" + spec + "': only " +
                                  std::to_string(torch::cuda::device_count()) + " CUDA device(s) present");
    }
  } else if (!device->is_cpu()) {
    throw std::invalid_argument("--device '" + spec + "' is not supported (use cpu or cuda[:N])");
  }
  return *device;
}

void apply_runtime(const RuntimeOptions& options) {
  if (options.threads < 0) throw std::invalid_argument("--threads must be >= 0 (0 = all cores)");
  int threads = options.threads;
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  torch::manual_seed(options.seed);
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index() < 0 ? -1 : device.index());
}

}  // namespace deepsc
