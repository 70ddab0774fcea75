#pragma once
/// \file
/// Reader and writer for NumPy's `.npy` format, in plain C++ (no LibTorch), so it can be
/// fuzzed and unit-tested cheaply. See deepsc/data/npy_tensor.h for the torch::Tensor adapter.
///
/// Format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
///   "\x93NUMPY" <major> <minor> <header length> <header> <data>
/// where the header length is a little-endian uint16 for version 1.0 and a uint32 for
/// versions 2.0 and 3.0, and the header is a Python dict literal such as
///   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
/// padded with spaces and ending in '\n'. Version 3.0 only differs in allowing a utf-8 header.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace deepsc::npy {

/// Element types this library reads and writes. npy::Array holds them little-endian.
enum class DType {
  Float16, Float32, Float64, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Bool
};

/// Size of one element in bytes (1, 2, 4 or 8).
size_t dtype_size(DType dtype);

/// NumPy's name for the type ("float32", "int64", "bool", ...); never null.
const char* dtype_name(DType dtype);

/// Largest rank accepted by parse() and serialize(); matches NumPy 2's NPY_MAXDIMS.
inline constexpr size_t kMaxRank = 64;

/// Largest header accepted by parse(); real headers are a few hundred bytes, and the cap keeps a
/// hostile length field from making the parser walk (or a caller allocate) gigabytes.
inline constexpr size_t kMaxHeaderBytes = size_t{1} << 20;

/// A dense array in C (row-major) order, little-endian (parse() converts other layouts).
/// Invariant kept by parse() and required by serialize(): every dimension is >= 0 and
/// `data.size() == numel() * dtype_size(dtype)`. An empty `shape` is a rank-0 scalar (numel 1).
struct Array {
  DType dtype = DType::Float32;  ///< element type
  std::vector<int64_t> shape;    ///< dimensions, outermost first
  std::vector<uint8_t> data;     ///< raw element bytes, little-endian, C order

  /// Product of `shape` (1 for rank 0). Requires the invariant above (no overflow checks here;
  /// parse() has already checked them).
  int64_t numel() const;
};

/// Error for malformed or unsupported input and for I/O failures.
/// what() is always a single line "<name>: <problem>", where name is the file path or the label
/// given to parse(); control characters from the input are escaped so they cannot break the line.
class NpyError : public std::runtime_error {
 public:
  /// Builds the message "<name>: <problem>" (both parts sanitized to one line).
  NpyError(const std::string& name, const std::string& problem);
};

/// Parses a complete `.npy` file held in memory, as NumPy writes it.
/// Accepts versions 1.0, 2.0 and 3.0 and the descr of every DType ('<f2' '<f4' '<f8', '|i1'
/// '<i2' '<i4' '<i8', '|u1' '<u2' '<u4' '<u8', '|b1') in either byte order: '>' (big-endian) data
/// is byte-swapped on load, '=' (native) is read as '<' since deepsc only runs on little-endian
/// hosts, and any prefix is fine for one-byte types. Fortran-ordered arrays ('fortran_order':
/// True, as `np.save("D.npy", components.T)` writes) are reordered to C order on load.
/// Object ('|O'), string, complex, void and structured dtypes are refused.
/// Requires `bytes` to point at `size` readable bytes (may be null when size is 0).
/// Ensures the returned Array satisfies its invariant and that the input had no trailing bytes.
/// Never allocates more than `size` bytes for the data.
/// \throws NpyError naming `name` for any malformed or unsupported input.
Array parse(const uint8_t* bytes, size_t size, const std::string& name);

/// Reads and parses the file at `path`.
/// \throws NpyError naming `path` if the file is missing, unreadable or malformed.
Array read(const std::string& path);

/// Encodes `array` as a `.npy` file: version 1.0 when the header fits a uint16 length, else 2.0;
/// the header is padded with spaces and a final '\n' so that the data starts at a multiple of
/// 64 bytes, as NumPy does.
/// \throws NpyError (label "npy::serialize") if `array` breaks its invariant.
std::vector<uint8_t> serialize(const Array& array);

/// Writes `array` to `path` atomically (data::write_file_atomically, deepsc/data/atomic_file.h):
/// readers see either the old file or the complete new one; on failure the temporary file is
/// removed and `path` is left untouched.
/// \throws NpyError naming `path` on any failure.
void write(const std::string& path, const Array& array);

/// `array` with every element converted to `target` (Float32 or Float64), same shape: for data
/// read "where floats are expected" (a dictionary or signals saved as integers, bools or float16).
/// float16 is widened exactly (subnormals, infinities and NaN kept), bool gives 0 or 1, integers
/// are rounded to the nearest representable value; an array already of `target` is copied.
/// \throws NpyError (label "npy::to_floating") for another target or an inconsistent array.
Array to_floating(const Array& array, DType target);

}  // namespace deepsc::npy
