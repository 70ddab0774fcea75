#pragma once
/// \file
/// Decoder for PNG and JPEG files (and the other formats stb_image reads: BMP, GIF, TGA, PSD,
/// PNM, HDR as 8-bit), in plain C++ (no LibTorch). Used by the image-folder data set
/// (deepsc/data/image_folder.h).
///
/// Every image is decoded to 3 channels (RGB): grey images are replicated to 3 channels and an
/// alpha channel is dropped, so a folder mixing grey and colour pictures batches without a
/// special case. 16-bit PNGs are reduced to 8 bits.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace deepsc::image {

/// Channels of every decoded image.
inline constexpr int64_t kChannels = 3;

/// A decoded image. Invariant: `pixels.size() == 3 * height * width`, height and width >= 1.
struct Image {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint8_t> pixels;  ///< [3, height, width] uint8 in C order (RGB planes)
};

/// Error for undecodable input and I/O failures; what() is one line "<name>: <problem>".
class ImageError : public std::runtime_error {
 public:
  /// Builds the message "<name>: <problem>" (both parts sanitized to one line).
  ImageError(const std::string& name, const std::string& problem);
};

/// Decodes an image file held in memory. Thread-safe.
/// Requires `bytes` to point at `size` readable bytes (may be null when size is 0).
/// \throws ImageError naming `name` for empty, truncated, corrupt or unsupported data (with
/// stb_image's reason), or an image over 2^28 pixels.
Image decode(const uint8_t* bytes, size_t size, const std::string& name);

/// Reads and decodes the file at `path`. Thread-safe.
/// \throws ImageError naming `path` if it is missing or unreadable, and every error of decode().
Image read(const std::string& path);

}  // namespace deepsc::image
