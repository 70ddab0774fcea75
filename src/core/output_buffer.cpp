#include "deepsc/core/output_buffer.h"

#include <cstdlib>
#include <sys/mman.h>

namespace deepsc {

torch::Tensor empty_output(c10::IntArrayRef sizes, const torch::TensorOptions& options) {
  constexpr size_t kHugePage = size_t(2) << 20;
  if (!options.device().is_cpu() || (options.has_layout() && options.layout() != torch::kStrided))
    return torch::empty(sizes, options);
  size_t bytes = options.dtype().itemsize();
  for (const auto size : sizes) {
    TORCH_CHECK(size >= 0, "empty_output: negative size ", size);
    bytes *= static_cast<size_t>(size);
  }
  if (bytes < kHugePage) return torch::empty(sizes, options);
  const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* block = nullptr;
  if (posix_memalign(&block, kHugePage, rounded) != 0) return torch::empty(sizes, options);
#ifdef MADV_HUGEPAGE
  madvise(block, rounded, MADV_HUGEPAGE);  // advice only: failure leaves ordinary pages
#endif
  return torch::from_blob(block, sizes, [](void* p) { std::free(p); }, options);
}

}  // namespace deepsc
