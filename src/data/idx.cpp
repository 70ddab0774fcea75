#include "deepsc/data/idx.h"

#include "deepsc/data/message_text.h"
#include "parser_support.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>

namespace deepsc::idx {
namespace {

using data::one_line;

std::optional<Array::Type> type_from_code(uint8_t code) {
  switch (code) {
    case 0x08: return Array::Type::UInt8;
    case 0x09: return Array::Type::Int8;
    case 0x0B: return Array::Type::Int16;
    case 0x0C: return Array::Type::Int32;
    case 0x0D: return Array::Type::Float32;
    case 0x0E: return Array::Type::Float64;
    default: return std::nullopt;
  }
}

// What the header announces: element type, shape and the exact number of data bytes.
struct Header {
  Array::Type type = Array::Type::UInt8;
  int rank = 0;
  std::vector<int64_t> shape;
  size_t data_bytes = 0;
};

constexpr size_t kPrefixBytes = 4;

std::string hex_byte(uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", b);
  return buf;
}

// Validates the 4-byte prefix (magic, type, rank). Requires 4 readable bytes.
Header parse_prefix(const uint8_t* p, const std::string& name) {
  if (p[0] != 0 || p[1] != 0)
    throw IdxError(name, "bad magic " + hex_byte(p[0]) + " " + hex_byte(p[1]) +
                             ": not an IDX file (expected 0x00 0x00)");
  const auto type = type_from_code(p[2]);
  if (!type)
    throw IdxError(name, "unsupported IDX type code " + hex_byte(p[2]) +
                             " (supported: 0x08 uint8, 0x09 int8, 0x0b int16, 0x0c int32, "
                             "0x0d float32, 0x0e float64)");
  const int rank = p[3];
  if (rank == 0) throw IdxError(name, "rank 0 is not supported");
  if (rank > kMaxRank)
    throw IdxError(name, "rank " + std::to_string(rank) + " exceeds the limit of " +
                             std::to_string(kMaxRank));
  Header h;
  h.type = *type;
  h.rank = rank;
  return h;
}

size_t header_bytes(int rank) { return kPrefixBytes + 4 * static_cast<size_t>(rank); }

// Reads the big-endian dimensions that follow the prefix and computes the data size with checked
// arithmetic. Requires 4 * h.rank readable bytes at `p`.
void parse_dims(Header& h, const uint8_t* p, const std::string& name) {
  h.shape.clear();
  int64_t numel = 1;
  bool empty = false;
  for (int i = 0; i < h.rank; ++i) {
    const uint32_t u = (uint32_t{p[4 * i]} << 24) | (uint32_t{p[4 * i + 1]} << 16) |
                       (uint32_t{p[4 * i + 2]} << 8) | uint32_t{p[4 * i + 3]};
    // The format says int32; a set top bit would be a negative dimension.
    if (u > static_cast<uint32_t>(std::numeric_limits<int32_t>::max()))
      throw IdxError(name, "dimension " + std::to_string(i) + " is negative");
    const int64_t d = u;
    h.shape.push_back(d);
    if (d == 0) {
      empty = true;
      continue;
    }
    if (numel > std::numeric_limits<int64_t>::max() / d)
      throw IdxError(name, "dimension product overflows int64");
    numel *= d;
  }
  const auto elem = static_cast<int64_t>(type_size(h.type));
  if (numel > std::numeric_limits<int64_t>::max() / elem)
    throw IdxError(name, "data byte count overflows int64");
  const int64_t bytes = empty ? 0 : numel * elem;
  if (static_cast<uint64_t>(bytes) > std::numeric_limits<size_t>::max())
    throw IdxError(name, "data byte count does not fit in memory");
  h.data_bytes = static_cast<size_t>(bytes);
}

// IDX stores elements big-endian; Array::data is little-endian, so reverse each element.
void big_to_little_endian(std::vector<uint8_t>& data, size_t elem) {
  if (elem == 1) return;
  for (size_t i = 0; i + elem <= data.size(); i += elem)
    std::reverse(data.begin() + static_cast<std::ptrdiff_t>(i),
                 data.begin() + static_cast<std::ptrdiff_t>(i + elem));
}

Array finish(Header&& h, std::vector<uint8_t>&& data) {
  Array out;
  out.type = h.type;
  out.shape = std::move(h.shape);
  out.data = std::move(data);
  big_to_little_endian(out.data, type_size(out.type));
  return out;
}

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzPtr = std::unique_ptr<gzFile_s, GzCloser>;

// Streams from a file that may or may not be gzip-compressed (zlib passes plain files through).
class Reader {
 public:
  Reader(const std::string& path) : path_(path) {
    errno = 0;
    gz_.reset(gzopen(path.c_str(), "rb"));
    if (!gz_)
      throw IdxError(path, std::string("cannot open: ") +
                               (errno != 0 ? std::strerror(errno) : "out of memory"));
    gzbuffer(gz_.get(), 1u << 17);
  }

  // Reads up to n bytes into dst; stops early only at end of input. Throws on I/O or gzip errors
  // (including a compressed stream cut short, which zlib reports only through gzerror).
  size_t read(uint8_t* dst, size_t n) {
    size_t got = 0;
    while (got < n) {
      const auto want = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 20));
      errno = 0;
      const int r = gzread(gz_.get(), dst + got, want);
      if (r < 0) fail();
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    int errnum = Z_OK;
    gzerror(gz_.get(), &errnum);
    if (errnum != Z_OK) fail();
    return got;
  }

  bool compressed() { return gzdirect(gz_.get()) == 0; }

 private:
  [[noreturn]] void fail() {
    int errnum = Z_OK;
    const char* msg = gzerror(gz_.get(), &errnum);
    if (errnum == Z_ERRNO)
      throw IdxError(path_, std::string("read error: ") + std::strerror(errno));
    const std::string what = msg != nullptr && *msg != '\0' ? msg : "unknown zlib error";
    if (errnum == Z_BUF_ERROR)
      throw IdxError(path_, "truncated gzip stream (" + what + ")");
    throw IdxError(path_, "corrupt gzip data (" + what + ")");
  }

  std::string path_;
  GzPtr gz_;
};

}  // namespace

size_t type_size(Array::Type type) {
  switch (type) {
    case Array::Type::UInt8: return 1;
    case Array::Type::Int8: return 1;
    case Array::Type::Int16: return 2;
    case Array::Type::Int32: return 4;
    case Array::Type::Float32: return 4;
    case Array::Type::Float64: return 8;
  }
  return 0;
}

const char* type_name(Array::Type type) {
  switch (type) {
    case Array::Type::UInt8: return "uint8";
    case Array::Type::Int8: return "int8";
    case Array::Type::Int16: return "int16";
    case Array::Type::Int32: return "int32";
    case Array::Type::Float32: return "float32";
    case Array::Type::Float64: return "float64";
  }
  return "unknown";
}

int64_t Array::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

IdxError::IdxError(const std::string& name, const std::string& problem)
    : std::runtime_error(one_line(name) + ": " + one_line(problem)) {}

Array parse(const uint8_t* bytes, size_t size, const std::string& name) {
  if (size < kPrefixBytes)
    throw IdxError(name, "file too short to be IDX (" + std::to_string(size) + " bytes)");
  Header h = parse_prefix(bytes, name);
  const size_t hb = header_bytes(h.rank);
  if (size < hb)
    throw IdxError(name, "truncated header: rank " + std::to_string(h.rank) + " needs " +
                             std::to_string(hb) + " bytes, found " + std::to_string(size));
  parse_dims(h, bytes + kPrefixBytes, name);
  const size_t available = size - hb;
  if (available < h.data_bytes)
    throw IdxError(name, "truncated data: expected " + std::to_string(h.data_bytes) +
                             " data bytes, found " + std::to_string(available));
  if (available > h.data_bytes)
    throw IdxError(name, std::to_string(available - h.data_bytes) +
                             " trailing bytes after the data (expected " +
                             std::to_string(h.data_bytes) + " data bytes)");
  return finish(std::move(h), std::vector<uint8_t>(bytes + hb, bytes + size));
}

Array read(const std::string& path) {
  Reader in(path);
  uint8_t head[kPrefixBytes + 4 * kMaxRank];
  size_t n = in.read(head, kPrefixBytes);
  if (n < kPrefixBytes)
    throw IdxError(path, "file too short to be IDX (" + std::to_string(n) + " bytes" +
                             (in.compressed() ? " after gunzip)" : ")"));
  Header h = parse_prefix(head, path);
  const size_t hb = header_bytes(h.rank);
  n += in.read(head + kPrefixBytes, hb - kPrefixBytes);
  if (n < hb)
    throw IdxError(path, "truncated header: rank " + std::to_string(h.rank) + " needs " +
                             std::to_string(hb) + " bytes, found " + std::to_string(n));
  parse_dims(h, head + kPrefixBytes, path);

  // Never trust the announced size for allocation: grow with the bytes that actually arrive, and
  // never ask zlib for more than announced, so a gzip bomb is cut off at the claimed size.
  std::error_code ec;
  const auto on_disk = std::filesystem::file_size(path, ec);
  std::vector<uint8_t> data;
  if (!ec) {
    // Deflate expands at most ~1032:1, so this bound only matters for a lying header.
    const uint64_t plausible = on_disk > UINT64_MAX / 1032 ? UINT64_MAX : on_disk * 1032;
    data.reserve(static_cast<size_t>(std::min<uint64_t>(h.data_bytes, plausible)));
  }
  constexpr size_t kChunk = size_t{1} << 22;
  while (data.size() < h.data_bytes) {
    const size_t old = data.size();
    const size_t want = std::min(kChunk, h.data_bytes - old);
    data.resize(old + want);
    const size_t got = in.read(data.data() + old, want);
    data.resize(old + got);
    if (got < want) break;
  }
  if (data.size() < h.data_bytes)
    throw IdxError(path, "truncated data: expected " + std::to_string(h.data_bytes) +
                             " data bytes, found " + std::to_string(data.size()) +
                             (in.compressed() ? " after gunzip" : ""));
  // Reading past the end also makes zlib verify the gzip CRC and length trailer.
  uint8_t extra[4096];
  const size_t more = in.read(extra, sizeof extra);
  if (more > 0)
    throw IdxError(path, "trailing bytes after the data (expected " +
                             std::to_string(h.data_bytes) + " data bytes)");
  return finish(std::move(h), std::move(data));
}

}  // namespace deepsc::idx
