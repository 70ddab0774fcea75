#pragma once
// Internal helper of the plain-C++ parsers (idx, cifar, svhn, image_file): reading a whole file.
// Their error messages are kept on one printable line by data::one_line (message_text.h).

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace deepsc::detail {

/// Reads the whole file at `path` into `bytes`. Returns an empty string on success, else why it
/// failed ("cannot open: ...", "read error: ..."), for the caller's own error type.
inline std::string read_whole_file(const std::string& path, std::vector<uint8_t>& bytes) {
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  errno = 0;
  std::unique_ptr<std::FILE, Closer> f(std::fopen(path.c_str(), "rb"));
  if (!f) return std::string("cannot open: ") + std::strerror(errno);
  bytes.clear();
  uint8_t chunk[1 << 16];
  for (;;) {
    const size_t n = std::fread(chunk, 1, sizeof chunk, f.get());
    bytes.insert(bytes.end(), chunk, chunk + n);
    if (n < sizeof chunk) break;
  }
  if (std::ferror(f.get())) return std::string("read error: ") + std::strerror(errno);
  return {};
}

}  // namespace deepsc::detail
