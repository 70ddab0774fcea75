#pragma once
// Internal helpers of the .npy reader (npy.cpp): bring the layouts NumPy writes (big-endian,
// Fortran order) to the one npy::Array holds (little-endian, C order).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace deepsc::npy::detail {

/// Reverses the bytes of every `element_size`-byte element of `data` in place.
/// Requires data.size() to be a multiple of element_size.
void swap_bytes(std::vector<uint8_t>& data, size_t element_size);

/// Reorders `data`, the elements of an array of `shape` in Fortran (column-major) order, into C
/// (row-major) order. Requires data.size() == numel(shape) * element_size.
void fortran_to_c_order(std::vector<uint8_t>& data, const std::vector<int64_t>& shape, size_t element_size);

/// The value of an IEEE 754 binary16 number (float16), exact in float: normals, subnormals,
/// signed zeros, infinities and NaN.
float half_to_float(uint16_t bits);

}  // namespace deepsc::npy::detail
