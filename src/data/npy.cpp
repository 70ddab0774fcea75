#include "deepsc/data/npy.h"

#include "deepsc/data/atomic_file.h"
#include "deepsc/data/message_text.h"
#include "npy_layout.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>

namespace deepsc::npy {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kAlign = 64;  // NumPy aligns the data start to 64 bytes.

// Checked a*b for non-negative int64 operands; nullopt on overflow.
std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a) return std::nullopt;
  return a * b;
}

// Cursor over the header text. Every read is bounds-checked, so hostile headers cannot run past
// the end; every loop consumes at least one byte, so the parser cannot hang.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& name) : s_(text), name_(name) {}

  struct Result {
    std::string descr;
    bool fortran_order = false;
    std::vector<int64_t> shape;
  };

  Result parse() {
    Result r;
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip_ws();
    if (!eat('{')) fail("header is not a Python dict literal (expected '{')");
    for (;;) {
      skip_ws();
      if (eat('}')) break;
      const std::string key = parse_string("dict key");
      skip_ws();
      if (!eat(':')) fail("expected ':' after key '" + key + "'");
      skip_ws();
      if (key == "descr") {
        if (have_descr) fail("duplicate key 'descr' in header");
        have_descr = true;
        r.descr = parse_string("value of 'descr'");
      } else if (key == "fortran_order") {
        if (have_fortran) fail("duplicate key 'fortran_order' in header");
        have_fortran = true;
        r.fortran_order = parse_bool();
      } else if (key == "shape") {
        if (have_shape) fail("duplicate key 'shape' in header");
        have_shape = true;
        r.shape = parse_shape();
      } else {
        fail("unexpected key '" + key + "' in header (expected 'descr', 'fortran_order', 'shape')");
      }
      skip_ws();
      if (eat(',')) continue;
      if (eat('}')) break;
      fail("expected ',' or '}' in header dict");
    }
    // NumPy pads with spaces and a final newline; anything else after the dict is corruption.
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected text after the header dict");
    if (!have_descr) fail("header is missing key 'descr'");
    if (!have_fortran) fail("header is missing key 'fortran_order'");
    if (!have_shape) fail("header is missing key 'shape'");
    return r;
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const { throw NpyError(name_, problem); }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  bool eat(char c) {
    if (at_end() || s_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  void skip_ws() {
    while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' ||
                         s_[pos_] == '\r'))
      ++pos_;
  }

  // A Python string literal in single or double quotes, without escapes (NumPy never writes any
  // for the keys and simple descr values we accept).
  std::string parse_string(const char* what) {
    const char q = peek();
    if (q != '\'' && q != '"') fail(std::string("expected a quoted string for ") + what);
    ++pos_;
    const size_t start = pos_;
    while (!at_end() && s_[pos_] != q) {
      if (s_[pos_] == '\\') fail(std::string("escape sequences are not supported in ") + what);
      ++pos_;
    }
    if (at_end()) fail(std::string("unterminated string for ") + what);
    std::string out = s_.substr(start, pos_ - start);
    ++pos_;
    return out;
  }

  bool parse_bool() {
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail("value of 'fortran_order' must be True or False");
  }

  int64_t parse_dim() {
    if (peek() == '-') fail("shape has a negative dimension");
    if (peek() < '0' || peek() > '9') fail("shape must be a tuple of non-negative integers");
    int64_t v = 0;
    while (!at_end() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      const int digit = s_[pos_] - '0';
      if (v > (std::numeric_limits<int64_t>::max() - digit) / 10)
        fail("shape dimension does not fit in int64");
      v = v * 10 + digit;
      ++pos_;
    }
    return v;
  }

  // "()", "(3,)", "(3, 4)" or "(3, 4,)".
  std::vector<int64_t> parse_shape() {
    if (!eat('(')) fail("value of 'shape' must be a tuple");
    std::vector<int64_t> shape;
    skip_ws();
    if (eat(')')) return shape;
    for (;;) {
      skip_ws();
      shape.push_back(parse_dim());
      if (shape.size() > kMaxRank)
        fail("shape has more than " + std::to_string(kMaxRank) + " dimensions");
      skip_ws();
      if (eat(')')) break;
      if (!eat(',')) fail("shape must be a tuple of non-negative integers");
      skip_ws();
      if (eat(')')) break;
    }
    // Python's "(3)" is an int, not a tuple; NumPy always writes "(3,)".
    return shape;
  }

  const std::string& s_;
  const std::string& name_;
  size_t pos_ = 0;
};

// A descr string read: the element type, and whether the file holds it big-endian.
struct Descr {
  DType dtype;
  bool big_endian;
};

// Maps a descr string to a DType, or throws with a message that names the offending descr.
Descr parse_descr(const std::string& descr, const std::string& name) {
  const std::string quoted = "'" + descr + "'";
  if (descr.size() == 3 && descr[0] != '\0' && std::strchr("<>|=", descr[0]) != nullptr) {
    const char kind = descr[1];
    const char size = descr[2];
    std::optional<DType> t;
    if (kind == 'f' && size == '2') t = DType::Float16;
    if (kind == 'f' && size == '4') t = DType::Float32;
    if (kind == 'f' && size == '8') t = DType::Float64;
    if (kind == 'i' && size == '1') t = DType::Int8;
    if (kind == 'i' && size == '2') t = DType::Int16;
    if (kind == 'i' && size == '4') t = DType::Int32;
    if (kind == 'i' && size == '8') t = DType::Int64;
    if (kind == 'u' && size == '1') t = DType::UInt8;
    if (kind == 'u' && size == '2') t = DType::UInt16;
    if (kind == 'u' && size == '4') t = DType::UInt32;
    if (kind == 'u' && size == '8') t = DType::UInt64;
    if (kind == 'b' && size == '1') t = DType::Bool;
    // '=' is native order, and deepsc runs on little-endian hosts only (see npy_layout.cpp);
    // byte order is moot for one-byte types, whatever the prefix says.
    if (t) return {*t, descr[0] == '>' && dtype_size(*t) > 1};
  }
  throw NpyError(name, "unsupported dtype " + quoted +
                           " (supported: float16, float32, float64, int8, int16, int32, int64, uint8, uint16, "
                           "uint32, uint64, bool)");
}

const char* descr_of(DType t) {
  switch (t) {
    case DType::Float16: return "<f2";
    case DType::Float32: return "<f4";
    case DType::Float64: return "<f8";
    case DType::Int8: return "|i1";
    case DType::Int16: return "<i2";
    case DType::Int32: return "<i4";
    case DType::Int64: return "<i8";
    case DType::UInt8: return "|u1";
    case DType::UInt16: return "<u2";
    case DType::UInt32: return "<u4";
    case DType::UInt64: return "<u8";
    case DType::Bool: return "|b1";
  }
  return "?";
}

// Element count and byte count of `shape`, or throws. Like NumPy, a zero dimension makes the
// array empty but the other dimensions must still multiply without overflow.
int64_t checked_nbytes(const std::vector<int64_t>& shape, DType dtype, const std::string& name) {
  int64_t numel = 1;
  bool empty = false;
  for (const int64_t d : shape) {
    if (d < 0) throw NpyError(name, "shape has a negative dimension");
    if (d == 0) {
      empty = true;
      continue;
    }
    const auto n = checked_mul(numel, d);
    if (!n) throw NpyError(name, "shape element count overflows int64");
    numel = *n;
  }
  const auto bytes = checked_mul(numel, static_cast<int64_t>(dtype_size(dtype)));
  if (!bytes) throw NpyError(name, "shape byte count overflows int64");
  if (static_cast<uint64_t>(*bytes) > std::numeric_limits<size_t>::max())
    throw NpyError(name, "shape byte count does not fit in memory");
  return empty ? 0 : *bytes;
}

uint32_t read_le(const uint8_t* p, size_t n) {
  uint32_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}

std::string shape_literal(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

}  // namespace

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::Float16: return 2;
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int8: return 1;
    case DType::Int16: return 2;
    case DType::Int32: return 4;
    case DType::Int64: return 8;
    case DType::UInt8: return 1;
    case DType::UInt16: return 2;
    case DType::UInt32: return 4;
    case DType::UInt64: return 8;
    case DType::Bool: return 1;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float16: return "float16";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int8: return "int8";
    case DType::Int16: return "int16";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::UInt8: return "uint8";
    case DType::UInt16: return "uint16";
    case DType::UInt32: return "uint32";
    case DType::UInt64: return "uint64";
    case DType::Bool: return "bool";
  }
  return "unknown";
}

int64_t Array::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

NpyError::NpyError(const std::string& name, const std::string& problem)
    : std::runtime_error(data::one_line(name) + ": " + data::one_line(problem)) {}

Array parse(const uint8_t* bytes, size_t size, const std::string& name) {
  if (size < kMagicLen + 2 + 2)
    throw NpyError(name, "file too short to be .npy (" + std::to_string(size) + " bytes)");
  if (std::memcmp(bytes, kMagic, kMagicLen) != 0)
    throw NpyError(name, "bad magic: not a .npy file (expected \\x93NUMPY)");
  const int major = bytes[6], minor = bytes[7];
  if (minor != 0 || major < 1 || major > 3)
    throw NpyError(name, "unsupported .npy version " + std::to_string(major) + "." +
                             std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t header_start = kMagicLen + 2 + len_bytes;
  if (size < header_start)
    throw NpyError(name, "file too short to be .npy (" + std::to_string(size) + " bytes)");
  const size_t header_len = read_le(bytes + kMagicLen + 2, len_bytes);
  if (header_len > kMaxHeaderBytes)
    throw NpyError(name, "header too long (" + std::to_string(header_len) + " bytes, limit " +
                             std::to_string(kMaxHeaderBytes) + ")");
  if (header_len > size - header_start)
    throw NpyError(name, "header length " + std::to_string(header_len) +
                             " runs past the end of the file (" + std::to_string(size) +
                             " bytes)");

  // header_len is now bounded by both the cap and the real input size.
  const std::string header(reinterpret_cast<const char*>(bytes + header_start), header_len);
  const auto h = HeaderParser(header, name).parse();

  Array out;
  const Descr descr = parse_descr(h.descr, name);
  out.dtype = descr.dtype;
  const int64_t nbytes = checked_nbytes(h.shape, out.dtype, name);
  const size_t data_start = header_start + header_len;
  const size_t available = size - data_start;
  if (available < static_cast<uint64_t>(nbytes))
    throw NpyError(name, "truncated data: expected " + std::to_string(nbytes) +
                             " data bytes, found " + std::to_string(available));
  if (available > static_cast<uint64_t>(nbytes))
    throw NpyError(name, std::to_string(available - static_cast<size_t>(nbytes)) +
                             " trailing bytes after the data (expected " +
                             std::to_string(nbytes) + " data bytes)");
  out.shape = h.shape;
  // Safe to allocate: nbytes == available, which the caller already holds in memory.
  out.data.assign(bytes + data_start, bytes + size);
  // Array holds little-endian C-order bytes, whatever layout NumPy wrote.
  if (descr.big_endian) detail::swap_bytes(out.data, dtype_size(out.dtype));
  if (h.fortran_order) detail::fortran_to_c_order(out.data, out.shape, dtype_size(out.dtype));
  return out;
}

Array read(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw NpyError(path, std::string("cannot open: ") + std::strerror(errno));
  // Chunked reads rather than trusting a size from stat: works for pipes and special files too,
  // and memory grows only with bytes that actually exist.
  std::vector<uint8_t> buf;
  uint8_t chunk[1 << 16];
  for (;;) {
    const size_t n = std::fread(chunk, 1, sizeof chunk, f);
    buf.insert(buf.end(), chunk, chunk + n);
    if (n < sizeof chunk) break;
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) throw NpyError(path, std::string("read error: ") + std::strerror(err));
  return parse(buf.data(), buf.size(), path);
}

namespace {

// serialize() with the label used in its errors, so write() can name its path.
std::vector<uint8_t> serialize_as(const Array& array, const std::string& label) {
  if (array.shape.size() > kMaxRank)
    throw NpyError(label, "rank " + std::to_string(array.shape.size()) + " exceeds " +
                              std::to_string(kMaxRank));
  const int64_t nbytes = checked_nbytes(array.shape, array.dtype, label);
  if (static_cast<uint64_t>(nbytes) != array.data.size())
    throw NpyError(label, "data has " + std::to_string(array.data.size()) +
                              " bytes but shape and dtype need " + std::to_string(nbytes));

  std::string dict = std::string("{'descr': '") + descr_of(array.dtype) +
                     "', 'fortran_order': False, 'shape': " + shape_literal(array.shape) + ", }";
  // Version 1.0 stores the header length in a uint16; fall back to 2.0 only when it must.
  auto padded_len = [&](size_t preamble) {
    const size_t unpadded = preamble + dict.size() + 1;  // +1 for the final '\n'
    return dict.size() + 1 + (kAlign - unpadded % kAlign) % kAlign;
  };
  size_t preamble = kMagicLen + 2 + 2;
  size_t header_len = padded_len(preamble);
  int major = 1;
  if (header_len > 0xffff) {
    major = 2;
    preamble = kMagicLen + 2 + 4;
    header_len = padded_len(preamble);
  }
  dict.resize(header_len - 1, ' ');
  dict += '\n';

  // One allocation of the exact size, filled in place.
  std::vector<uint8_t> out(preamble + header_len + array.data.size());
  uint8_t* p = out.data();
  std::memcpy(p, kMagic, kMagicLen);
  p[kMagicLen] = static_cast<uint8_t>(major);
  p[kMagicLen + 1] = 0;
  for (size_t i = 0; i < preamble - kMagicLen - 2; ++i)
    p[kMagicLen + 2 + i] = static_cast<uint8_t>((header_len >> (8 * i)) & 0xff);
  std::memcpy(p + preamble, dict.data(), header_len);
  if (!array.data.empty())
    std::memcpy(p + preamble + header_len, array.data.data(), array.data.size());
  return out;
}

}  // namespace

std::vector<uint8_t> serialize(const Array& array) { return serialize_as(array, "npy::serialize"); }

void write(const std::string& path, const Array& array) {
  const std::vector<uint8_t> bytes = serialize_as(array, path);
  try {
    data::write_file_atomically(
        path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } catch (const data::FileWriteError& e) {
    throw NpyError(path, e.problem());
  }
}

}  // namespace deepsc::npy
