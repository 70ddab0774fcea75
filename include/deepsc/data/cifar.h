#pragma once
/// \file
/// Reader for the CIFAR-10 and CIFAR-100 "binary version" files, in plain C++ (no LibTorch), so it
/// can be fuzzed. See deepsc/data/open_dataset.h for the data sets built on it.
///
/// Format (https://www.cs.toronto.edu/~kriz/cifar.html): a file is a sequence of fixed-size
/// records and nothing else.
///   CIFAR-10  (data_batch_1..5.bin, test_batch.bin): <label> <3072 pixel bytes>, label 0..9.
///   CIFAR-100 (train.bin, test.bin): <coarse label> <fine label> <3072 pixel bytes>, coarse 0..19,
///   fine 0..99.
/// The 3072 pixel bytes are the 32×32 red plane, then green, then blue, each row-major: exactly
/// the [3, 32, 32] C-order layout of one image.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace deepsc::cifar {

/// Which of the two record layouts a file uses.
enum class Variant { Cifar10, Cifar100 };

inline constexpr int64_t kChannels = 3;
inline constexpr int64_t kHeight = 32;
inline constexpr int64_t kWidth = 32;
/// Pixel bytes of one image: 3 × 32 × 32.
inline constexpr size_t kImageBytes = 3072;

/// Bytes of one record: 3073 for CIFAR-10, 3074 for CIFAR-100.
size_t record_bytes(Variant variant);

/// Number of classes of the labels in `labels` of Records: 10 or 100.
int64_t num_classes(Variant variant);

/// Decoded records.
/// Invariant ensured by parse()/read(): `images.size() == count * kImageBytes`,
/// `labels.size() == count`, and `coarse_labels.size()` is `count` for CIFAR-100, else 0; every
/// label is in range (< 10, < 100 fine, < 20 coarse).
struct Records {
  int64_t count = 0;                   ///< number of images
  std::vector<uint8_t> images;         ///< [count, 3, 32, 32] uint8, C order
  std::vector<uint8_t> labels;         ///< [count]: the CIFAR-10 label or the CIFAR-100 fine label
  std::vector<uint8_t> coarse_labels;  ///< [count] CIFAR-100 coarse labels; empty for CIFAR-10
};

/// Error for malformed input and I/O failures; what() is one line "<name>: <problem>" (name =
/// path or label), with control characters escaped.
class CifarError : public std::runtime_error {
 public:
  /// Builds the message "<name>: <problem>" (both parts sanitized to one line).
  CifarError(const std::string& name, const std::string& problem);
};

/// Parses a complete CIFAR binary file held in memory.
/// Requires `bytes` to point at `size` readable bytes (may be null when size is 0).
/// \throws CifarError naming `name` when the file is empty, its size is not a multiple of
/// record_bytes(variant) (truncated, or not this variant), or a label byte is out of range
/// (the message gives the record number and the byte).
Records parse(const uint8_t* bytes, size_t size, Variant variant, const std::string& name);

/// Reads and parses the file at `path`.
/// \throws CifarError naming `path` if it is missing or unreadable, and every error of parse().
Records read(const std::string& path, Variant variant);

}  // namespace deepsc::cifar
