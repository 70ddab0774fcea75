#pragma once
// Internal helpers of the plain-C++ parsers (idx, cifar, svhn, image_file): reading a whole file,
// and keeping error messages on one printable line.

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace deepsc::detail {

/// `s` with control and non-ASCII bytes escaped as \xNN, cut to about `max_len` characters.
inline std::string one_line(const std::string& s, size_t max_len = 400) {
  std::string out;
  for (const char ch : s) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

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
