#include "deepsc/data/message_text.h"

#include <cstdio>

namespace deepsc::data {
namespace {

// Length of the well-formed UTF-8 character at text[i] that is printable (not a C1 control), or 0
// when the bytes there are not one (overlong forms, surrogates and code points above U+10FFFF are
// not well-formed, per the Unicode standard's table 3-7).
size_t printable_utf8_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char b0 = byte(0);
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    n = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    if (b0 == 0xe0) lo = 0xa0;
    if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(1) < lo || byte(1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (byte(k) < 0x80 || byte(k) > 0xbf) return 0;
  if (b0 == 0xc2 && byte(1) <= 0x9f) return 0;  // U+0080..U+009F: C1 controls
  return n;
}

}  // namespace

std::string one_line(std::string_view text, size_t max_bytes) {
  std::string out;
  out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t take = 0;
    std::string piece;
    if (c >= 0x20 && c < 0x7f) {
      take = 1;
    } else if (c >= 0x80 && (take = printable_utf8_length(text, i)) > 0) {
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      piece = buf;
    }
    const size_t size = take > 0 ? take : piece.size();
    if (out.size() + size > max_bytes) {
      out += "...";
      break;
    }
    if (take > 0) {
      out.append(text.substr(i, take));
      i += take;
    } else {
      out += piece;
      ++i;
    }
  }
  return out;
}

std::string first_line(std::string_view message, size_t max_bytes) {
  std::string_view line = message.substr(0, message.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return one_line(line, max_bytes);
}

}  // namespace deepsc::data
