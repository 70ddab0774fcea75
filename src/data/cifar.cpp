#include "deepsc/data/cifar.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "deepsc/data/message_text.h"
#include "parser_support.h"

namespace deepsc::cifar {
namespace {

const char* variant_name(Variant v) { return v == Variant::Cifar10 ? "CIFAR-10" : "CIFAR-100"; }

std::string record_name(size_t r) { return "record " + std::to_string(r); }


}  // namespace

size_t record_bytes(Variant variant) {
  return variant == Variant::Cifar10 ? kImageBytes + 1 : kImageBytes + 2;
}

int64_t num_classes(Variant variant) { return variant == Variant::Cifar10 ? 10 : 100; }

CifarError::CifarError(const std::string& name, const std::string& problem)
    : std::runtime_error(data::one_line(name) + ": " + data::one_line(problem)) {}

Records parse(const uint8_t* bytes, size_t size, Variant variant, const std::string& name) {
  const size_t rb = record_bytes(variant);
  if (size == 0) throw CifarError(name, std::string("empty file: no ") + variant_name(variant) + " records");
  if (size % rb != 0)
    throw CifarError(name, "size " + std::to_string(size) + " bytes is not a multiple of the " +
                               std::to_string(rb) + "-byte " + variant_name(variant) +
                               " record (truncated, or not a " + variant_name(variant) +
                               " binary file): " + std::to_string(size / rb) +
                               " whole records and " + std::to_string(size % rb) + " extra bytes");
  const size_t count = size / rb;
  const size_t label_bytes = rb - kImageBytes;
  // Validate every label before allocating, so a bad file costs no copy.
  for (size_t r = 0; r < count; ++r) {
    const uint8_t* rec = bytes + r * rb;
    if (variant == Variant::Cifar10) {
      if (rec[0] >= 10)
        throw CifarError(name, record_name(r) + ": label byte " + std::to_string(rec[0]) +
                                   " out of range for CIFAR-10 (expected 0..9)");
    } else {
      if (rec[0] >= 20)
        throw CifarError(name, record_name(r) + ": coarse label byte " + std::to_string(rec[0]) +
                                   " out of range for CIFAR-100 (expected 0..19)");
      if (rec[1] >= 100)
        throw CifarError(name, record_name(r) + ": fine label byte " + std::to_string(rec[1]) +
                                   " out of range for CIFAR-100 (expected 0..99)");
    }
  }
  Records out;
  out.count = static_cast<int64_t>(count);
  out.images.resize(count * kImageBytes);
  out.labels.resize(count);
  if (variant == Variant::Cifar100) out.coarse_labels.resize(count);
  for (size_t r = 0; r < count; ++r) {
    const uint8_t* rec = bytes + r * rb;
    if (variant == Variant::Cifar10) {
      out.labels[r] = rec[0];
    } else {
      out.coarse_labels[r] = rec[0];
      out.labels[r] = rec[1];
    }
    std::memcpy(out.images.data() + r * kImageBytes, rec + label_bytes, kImageBytes);
  }
  return out;
}

Records read(const std::string& path, Variant variant) {
  std::vector<uint8_t> bytes;
  const auto failure = detail::read_whole_file(path, bytes);
  if (!failure.empty()) throw CifarError(path, failure);
  return parse(bytes.data(), bytes.size(), variant, path);
}

}  // namespace deepsc::cifar
