#include "deepsc/data/image_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

// Private copy of stb_image (static functions): deepsc_viz carries its own, so they cannot clash.
// Its failure reason is thread-local (stb_image >= 2.26), which keeps decode() thread-safe.
#define STBI_MAX_DIMENSIONS (1 << 24)
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include "deepsc/data/message_text.h"
#include "parser_support.h"

namespace deepsc::image {
namespace {

constexpr int64_t kMaxPixels = int64_t{1} << 28;

struct StbFree {
  void operator()(stbi_uc* p) const { stbi_image_free(p); }
};

}  // namespace

ImageError::ImageError(const std::string& name, const std::string& problem)
    : std::runtime_error(data::one_line(name) + ": " + data::one_line(problem)) {}

Image decode(const uint8_t* bytes, size_t size, const std::string& name) {
  if (size == 0) throw ImageError(name, "empty file: not an image");
  if (size > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw ImageError(name, "file too large to decode (" + std::to_string(size) + " bytes)");
  const int len = static_cast<int>(size);
  int w = 0, h = 0, comp = 0;
  if (stbi_info_from_memory(bytes, len, &w, &h, &comp) == 0) {
    const char* why = stbi_failure_reason();
    throw ImageError(name, std::string("cannot decode image: ") + (why ? why : "unknown format") +
                               " (PNG, JPEG, BMP, GIF, TGA, PSD, PNM or HDR expected)");
  }
  if (w <= 0 || h <= 0 || static_cast<int64_t>(w) * h > kMaxPixels)
    throw ImageError(name, "image size " + std::to_string(w) + "x" + std::to_string(h) +
                               " is empty or over the limit of 2^28 pixels");
  std::unique_ptr<stbi_uc, StbFree> rgb(stbi_load_from_memory(bytes, len, &w, &h, &comp, 3));
  if (!rgb) {
    const char* why = stbi_failure_reason();
    throw ImageError(name, std::string("cannot decode image: ") + (why ? why : "corrupt data"));
  }
  Image out;
  out.height = h;
  out.width = w;
  const size_t plane = static_cast<size_t>(h) * static_cast<size_t>(w);
  out.pixels.resize(3 * plane);
  // stb gives interleaved RGB (HWC); split it into planes (CHW).
  const stbi_uc* src = rgb.get();
  uint8_t* r = out.pixels.data();
  uint8_t* g = r + plane;
  uint8_t* b = g + plane;
  for (size_t i = 0; i < plane; ++i) {
    r[i] = src[3 * i];
    g[i] = src[3 * i + 1];
    b[i] = src[3 * i + 2];
  }
  return out;
}

Image read(const std::string& path) {
  std::vector<uint8_t> bytes;
  const auto failure = detail::read_whole_file(path, bytes);
  if (!failure.empty()) throw ImageError(path, failure);
  return decode(bytes.data(), bytes.size(), path);
}

}  // namespace deepsc::image
