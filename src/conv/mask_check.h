#pragma once
// Validation of 0/1 (or [0, 1]-weighted) masks shared by MaskedOperator and masked_lowpass.

#include <torch/torch.h>

#include <sstream>
#include <stdexcept>
#include <string>

namespace deepsc::conv::detail {

/// Throws std::invalid_argument naming `what` unless `mask` is floating point, finite, with values
/// in [0, 1], of rank `rank`.
inline void check_mask_values(const torch::Tensor& mask, int64_t rank, const std::string& what) {
  if (!mask.defined()) throw std::invalid_argument(what + " is undefined");
  if (mask.dim() != rank) {
    std::ostringstream msg;
    msg << what << " must have rank " << rank << ", got shape " << mask.sizes();
    throw std::invalid_argument(msg.str());
  }
  if (!mask.is_floating_point()) throw std::invalid_argument(what + " must be floating point (0 = missing, 1 = known)");
  if (mask.numel() > 0 && !((mask >= 0) & (mask <= 1)).all().item<bool>())
    throw std::invalid_argument(what + " must have values in [0, 1] (0 = missing, 1 = known)");
}

/// Throws std::invalid_argument naming `what` unless every size of `mask` is 1 or equal to the
/// matching size of `shape` (same rank), i.e. mask broadcasts to shape without growing it.
inline void check_mask_broadcasts(const torch::Tensor& mask, c10::IntArrayRef shape, const std::string& what) {
  bool ok = mask.dim() == static_cast<int64_t>(shape.size());
  for (int64_t d = 0; ok && d < mask.dim(); ++d) ok = mask.size(d) == 1 || mask.size(d) == shape[d];
  if (!ok) {
    std::ostringstream msg;
    msg << what << " of shape " << mask.sizes() << " does not fit signals of shape " << shape
        << " (each size must be 1 or the signals' size)";
    throw std::invalid_argument(msg.str());
  }
}

}  // namespace deepsc::conv::detail
