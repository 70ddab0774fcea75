#pragma once
// What the restorations of denoise.cpp and strided_denoise.cpp share: the check of the images they
// are given and their wall-clock timing.

#include <torch/torch.h>

#include <chrono>
#include <sstream>
#include <stdexcept>

namespace deepsc::conv::detail {

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Throws std::invalid_argument unless `images` are non-empty, finite, floating point [N, C, H, W].
inline void check_images(const torch::Tensor& images) {
  if (!images.defined() || images.dim() != 4 || !images.is_floating_point()) {
    std::ostringstream msg;
    msg << "images must be floating point [N, C, H, W], got " << (images.defined() ? images.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  if (images.numel() == 0) throw std::invalid_argument("images are empty");
  if (!torch::isfinite(images).all().item<bool>()) throw std::invalid_argument("images contain NaN or Inf");
}

}  // namespace deepsc::conv::detail
