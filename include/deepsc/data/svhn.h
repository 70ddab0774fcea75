#pragma once
/// \file
/// Reader for the SVHN "cropped digits" files (train_32x32.mat, test_32x32.mat, extra_32x32.mat),
/// in plain C++ over libmatio (no LibTorch). See deepsc/data/open_dataset.h for the data set.
///
/// Format (http://ufldl.stanford.edu/housenumbers/): a MATLAB file (v5, or v7.3 where libmatio
/// was built with HDF5) holding
///   X  uint8 [32, 32, 3, N]: row, column, channel (RGB), image; column-major as MATLAB stores it
///   y  [N, 1] (any real numeric class): labels 1..10, where 10 stands for the digit 0.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace deepsc::svhn {

inline constexpr int64_t kChannels = 3;
inline constexpr int64_t kHeight = 32;
inline constexpr int64_t kWidth = 32;

/// Decoded digits.
/// Invariant ensured by read(): `images.size() == count * 3 * 32 * 32`, `labels.size() == count`
/// and every label is 0..9 (the file's 10 mapped to 0).
struct Digits {
  int64_t count = 0;             ///< number of images
  std::vector<uint8_t> images;   ///< [count, 3, 32, 32] uint8 in C order (channel-major)
  std::vector<uint8_t> labels;   ///< [count] digits 0..9
};

/// Error for malformed input and I/O failures; what() is one line "<path>: <problem>".
class SvhnError : public std::runtime_error {
 public:
  /// Builds the message "<name>: <problem>" (both parts sanitized to one line).
  SvhnError(const std::string& name, const std::string& problem);
};

/// Reads the SVHN .mat file at `path`. libmatio's own log output is silenced; its last message,
/// if any, is appended to the error.
/// \throws SvhnError naming `path` if it is missing, not a MATLAB file, lacks X or y, X is not
/// uint8 [32, 32, 3, N] (real, dense), y does not hold N values, or a label is not an integer in
/// 1..10.
Digits read(const std::string& path);

}  // namespace deepsc::svhn
