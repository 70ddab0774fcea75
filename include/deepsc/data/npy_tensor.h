#pragma once
/// \file
/// torch::Tensor <-> .npy adapter over the plain-C++ parser in deepsc/data/npy.h.

#include <string>

#include <torch/torch.h>

#include "deepsc/data/npy.h"

namespace deepsc::data {

/// Copies `array` into a new contiguous CPU tensor of the matching dtype
/// (float16 -> kHalf, float32 -> kFloat, float64 -> kDouble, int8 -> kChar, int16 -> kShort,
/// int32 -> kInt, int64 -> kLong, uint8 -> kByte, bool -> kBool; LibTorch has no wider unsigned
/// types, so uint16 -> kInt, uint32 -> kLong, uint64 -> kLong, every value kept) and the same shape
/// (rank 0 gives a scalar).
/// Requires the npy::Array invariant (as ensured by npy::parse); bool bytes other than 0 are
/// read as true. Requires a little-endian host.
/// \throws std::invalid_argument if `array.data` does not match its shape and dtype, or a uint64
/// value is above 2^63 - 1.
torch::Tensor to_tensor(const npy::Array& array);

/// Copies `tensor` into an npy::Array in logical C order, whatever its device, strides or
/// storage offset (it is moved to the CPU and made contiguous first).
/// Requires a defined, strided tensor of dtype kHalf, kFloat, kDouble, kChar, kShort, kInt, kLong,
/// kByte or kBool.
/// \throws std::invalid_argument naming the dtype (or layout) otherwise.
npy::Array from_tensor(const torch::Tensor& tensor);

/// Reads a .npy file into a CPU tensor (see to_tensor for the dtype mapping).
/// \throws npy::NpyError naming `path` if it is missing, unreadable or malformed.
torch::Tensor load_npy(const std::string& path);

/// Reads a .npy file where floating-point data is expected (a dictionary, signals): float64 stays
/// kDouble, float32 stays kFloat, and every other dtype (float16, integers, bool) is converted to
/// kFloat (npy::to_floating), whatever its byte order or memory order on disk.
/// \throws npy::NpyError naming `path` if it is missing, unreadable or malformed.
torch::Tensor load_npy_floating(const std::string& path);

/// Writes `tensor` to `path` as .npy, atomically (see npy::write): readers see either the old
/// file or the complete new one, and a failed write leaves no temporary file.
/// \throws std::invalid_argument for an unsupported dtype, npy::NpyError on I/O failure.
void save_npy(const std::string& path, const torch::Tensor& tensor);

}  // namespace deepsc::data
