#include "deepsc/data/cifar10c.h"

#include <filesystem>
#include <stdexcept>

#include "deepsc/data/npy_tensor.h"
#include "../support/text.h"

namespace fs = std::filesystem;

namespace deepsc::data {
namespace {

[[noreturn]] void fail(const std::string& problem) { throw std::invalid_argument("cifar10c: " + problem); }

using deepsc::detail::shape_string;

std::string describe(const torch::Tensor& t) {
  return std::string(c10::toString(t.scalar_type())) + " " + shape_string(t);
}

torch::Tensor load_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    fail("missing " + path.string() +
         " (expected the CIFAR-10-C files <noise>_noise.npy and labels.npy in that folder)");
  return load_npy(path.string());
}

}  // namespace

std::string cifar10c_file_name(Noise noise) { return std::string(noise_name(noise)) + "_noise.npy"; }

std::shared_ptr<TensorDataset> load_cifar10c(const std::string& dir, Noise noise, int severity) {
  if (severity < 1 || severity > 5)
    fail("severity " + std::to_string(severity) + " is outside 1..5");
  const fs::path images_path = fs::path(dir) / cifar10c_file_name(noise);
  const fs::path labels_path = fs::path(dir) / "labels.npy";
  const torch::Tensor images = load_file(images_path);
  const torch::Tensor labels = load_file(labels_path);

  if (images.scalar_type() != torch::kByte || images.dim() != 4 || images.size(1) != 32 ||
      images.size(2) != 32 || images.size(3) != 3)
    fail(images_path.string() + ": expected uint8 images [R, 32, 32, 3], got " + describe(images));
  if ((labels.scalar_type() != torch::kByte && labels.scalar_type() != torch::kLong) || labels.dim() != 1)
    fail(labels_path.string() + ": expected uint8 or int64 labels [R], got " + describe(labels));
  const int64_t rows = images.size(0);
  if (labels.size(0) != rows)
    fail(labels_path.string() + " holds " + std::to_string(labels.size(0)) + " labels but " +
         images_path.string() + " holds " + std::to_string(rows) + " images");
  if (rows == 0 || rows % 5 != 0)
    fail(images_path.string() + ": " + std::to_string(rows) +
         " rows, expected a positive multiple of 5 (five equal blocks, one per severity)");

  const int64_t block = rows / 5, start = (severity - 1) * block;
  const torch::Tensor part_labels = labels.slice(0, start, start + block).to(torch::kLong);
  const int64_t lo = part_labels.min().item<int64_t>(), hi = part_labels.max().item<int64_t>();
  if (lo < 0 || hi > 9)
    fail(labels_path.string() + ": labels of severity " + std::to_string(severity) + " span " +
         std::to_string(lo) + ".." + std::to_string(hi) + ", outside 0..9");
  // HWC rows -> [N, 3, 32, 32].
  const torch::Tensor part_images = images.slice(0, start, start + block).permute({0, 3, 1, 2}).contiguous();
  return std::make_shared<TensorDataset>(part_images, part_labels.contiguous(), 10);
}

}  // namespace deepsc::data
