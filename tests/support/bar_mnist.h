#pragma once
// A tiny MNIST-format data set that a small network learns in one short epoch, for the tests that
// train (the trainer, and the CLI commands that need a trained checkpoint).

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace deepsc::testing {

inline void write_be32(std::ofstream& out, uint32_t v) {
  const unsigned char bytes[4] = {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
                                  static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
  out.write(reinterpret_cast<const char*>(bytes), 4);
}

/// MNIST IDX files (uncompressed) `<dir>/<prefix>-images-idx3-ubyte` and `-labels-idx1-ubyte` of
/// `n` 12×12 images in 4 classes, each a pattern of bright bars plus noise: bar at the top, bar at
/// the bottom, a vertical bar in the middle, vertical bars at both sides (all symmetric under a
/// horizontal flip, so the crop-flip augmentation keeps the labels).
inline void write_bar_mnist(const std::filesystem::path& dir, const std::string& prefix, int64_t n, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto labels = torch::randint(4, {n}, gen, torch::kLong);
  auto images = torch::rand({n, 12, 12}, gen, torch::kFloat) * 60;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = labels[i].item<int64_t>();
    if (c < 2) {
      images[i].narrow(0, 2 + 6 * c, 3).add_(150);
    } else if (c == 2) {
      images[i].narrow(1, 4, 4).add_(150);
    } else {
      images[i].narrow(1, 1, 2).add_(150);
      images[i].narrow(1, 9, 2).add_(150);
    }
  }
  auto bytes = images.clamp(0, 255).to(torch::kByte).contiguous();
  auto label_bytes = labels.to(torch::kByte).contiguous();
  std::ofstream img(dir / (prefix + "-images-idx3-ubyte"), std::ios::binary);
  write_be32(img, 0x00000803);
  write_be32(img, n), write_be32(img, 12), write_be32(img, 12);
  img.write(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), n * 144);
  std::ofstream lab(dir / (prefix + "-labels-idx1-ubyte"), std::ios::binary);
  write_be32(lab, 0x00000801);
  write_be32(lab, n);
  lab.write(reinterpret_cast<const char*>(label_bytes.data_ptr<uint8_t>()), n);
}

}  // namespace deepsc::testing
