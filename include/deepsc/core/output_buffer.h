#pragma once
/// Fresh tensors for large outputs that a CPU kernel writes once, soon after (solver codes).

#include <torch/torch.h>

namespace deepsc {

/// An uninitialised tensor of `sizes` and `options`. On CPU, when it spans at least 2 MiB, its
/// memory is a 2 MiB-aligned block advised to the kernel as transparent huge pages
/// (madvise(MADV_HUGEPAGE); a no-op where the kernel has them off): the first write into a fresh
/// buffer then takes one page fault per 2 MiB instead of one per 4 KiB. On the reference VM a
/// 4 KiB fault costs ~13 µs, so the 8 MB of codes of 8,000 signals × 256 atoms cost ~26 ms of
/// faults in 4 KiB pages against ~6 ms in huge pages, on a solve of ~100 ms. Elsewhere
/// (other devices, smaller buffers, a failed allocation of the aligned block): torch::empty.
torch::Tensor empty_output(c10::IntArrayRef sizes, const torch::TensorOptions& options);

}  // namespace deepsc
