#pragma once
/// \file
/// torch::Tensor adapter over the plain-C++ IDX reader in deepsc/data/idx.h.

#include <string>

#include <torch/torch.h>

#include "deepsc/data/idx.h"

namespace deepsc::data {

/// Reads an IDX file (gzip-compressed or not) into a new contiguous CPU tensor with the file's
/// shape and element type: uint8 -> kByte (MNIST images and labels), int8 -> kChar,
/// int16 -> kShort, int32 -> kInt, float32 -> kFloat, float64 -> kDouble.
/// E.g. Fashion-MNIST train-images-idx3-ubyte.gz gives a [60000, 28, 28] kByte tensor.
/// \throws idx::IdxError naming `path` if it is missing, unreadable or malformed.
torch::Tensor load_idx(const std::string& path);

}  // namespace deepsc::data
