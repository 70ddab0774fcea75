#pragma once
/// \file
/// Reader for the IDX format used by MNIST and Fashion-MNIST, in plain C++ (no LibTorch).
/// See deepsc/data/idx_tensor.h for the torch::Tensor adapter.
///
/// Format (http://yann.lecun.com/exdb/mnist/):
///   0x00 0x00 <type> <rank>, then <rank> big-endian int32 dimensions, then the elements in
///   C order, each big-endian. Types: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
///   0x0D float32, 0x0E float64.
/// Files are often distributed gzip-compressed (".gz"); read() handles both.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace deepsc::idx {

/// Largest rank accepted; IDX files in practice have rank 1 (labels) or 3 (images).
inline constexpr int kMaxRank = 8;

/// A dense array in C (row-major) order, decoded from IDX.
/// Invariant ensured by parse()/read(): rank is 1..kMaxRank, every dimension is >= 0 and
/// `data.size() == numel() * type_size(type)`.
struct Array {
  /// Element type; the enumerator values are the IDX type codes.
  enum class Type : uint8_t {
    UInt8 = 0x08,
    Int8 = 0x09,
    Int16 = 0x0B,
    Int32 = 0x0C,
    Float32 = 0x0D,
    Float64 = 0x0E,
  };

  Type type = Type::UInt8;     ///< element type
  std::vector<int64_t> shape;  ///< dimensions, outermost first
  /// Element bytes in C order, converted from the file's big-endian to little-endian (the byte
  /// order of every host deepsc supports), so they can be copied straight into a tensor.
  std::vector<uint8_t> data;

  /// Product of `shape`. Requires the invariant above.
  int64_t numel() const;
};

/// Size of one element of `type` in bytes (1, 2, 4 or 8).
size_t type_size(Array::Type type);

/// Lower-case name of `type` ("uint8", "float32", ...); never null.
const char* type_name(Array::Type type);

/// Error for malformed or unsupported input and for I/O failures.
/// what() is always a single line "<name>: <problem>" (name = path or label), with control
/// characters escaped.
class IdxError : public std::runtime_error {
 public:
  /// Builds the message "<name>: <problem>" (both parts sanitized to one line).
  IdxError(const std::string& name, const std::string& problem);
};

/// Parses a complete, uncompressed IDX file held in memory.
/// Requires `bytes` to point at `size` readable bytes (may be null when size is 0).
/// Ensures the Array invariant and that the input had no trailing bytes; never allocates more
/// than `size` bytes for the data.
/// \throws IdxError naming `name` for bad magic, unsupported type, rank 0 or > kMaxRank, a
/// dimension product that overflows, truncated data or trailing data.
Array parse(const uint8_t* bytes, size_t size, const std::string& name);

/// Reads the IDX file at `path`, gunzipping it first when it starts with the gzip magic
/// 0x1f 0x8b. For gzip input, decompression stops at the size the IDX header announces (checked
/// arithmetic), so a gzip bomb cannot make it inflate more than the header claims, and memory
/// grows only with data actually decompressed.
/// \throws IdxError naming `path` for I/O errors, corrupt or truncated gzip, and every error of
/// parse().
Array read(const std::string& path);

}  // namespace deepsc::idx
