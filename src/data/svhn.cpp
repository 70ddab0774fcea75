#include "deepsc/data/svhn.h"

#include <matio.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>

#include "deepsc/data/message_text.h"

namespace deepsc::svhn {
namespace {

// libmatio reports problems through a process-wide log callback; keep the last message of this
// thread so it can be added to our error instead of being printed to stderr.
thread_local std::string last_matio_message;

void quiet_log(int /*level*/, char* message) {
  last_matio_message = message != nullptr ? message : "";
}

void silence_matio() {
  static std::once_flag once;
  std::call_once(once, [] { Mat_LogInitFunc("deepsc", quiet_log); });
}

std::string with_matio_message(std::string problem) {
  if (!last_matio_message.empty()) problem += " (libmatio: " + last_matio_message + ")";
  return problem;
}

struct MatCloser {
  void operator()(mat_t* m) const { Mat_Close(m); }
};
struct VarFreer {
  void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using MatPtr = std::unique_ptr<mat_t, MatCloser>;
using VarPtr = std::unique_ptr<matvar_t, VarFreer>;

std::string dims_string(const matvar_t* v) {
  std::string s = "[";
  for (int i = 0; i < v->rank; ++i) s += (i ? ", " : "") + std::to_string(v->dims[i]);
  return s + "]";
}

VarPtr read_var(mat_t* mat, const char* name, const std::string& path) {
  last_matio_message.clear();
  VarPtr v(Mat_VarRead(mat, name));
  if (!v) {
    if (last_matio_message.find("end-of-file") != std::string::npos)
      throw SvhnError(path, with_matio_message(std::string("truncated file: cannot read variable '") +
                                               name + "'"));
    throw SvhnError(path, with_matio_message(std::string("no variable '") + name +
                                             "' (an SVHN cropped-digits file holds X and y)"));
  }
  if (v->isComplex || v->class_type == MAT_C_SPARSE)
    throw SvhnError(path, std::string("variable '") + name + "' is complex or sparse");
  return v;
}

// Element i of a real numeric variable as a double; nullopt-like false for non-numeric classes.
bool numeric_at(const matvar_t* v, size_t i, double& out) {
  const void* d = v->data;
  switch (v->class_type) {
    case MAT_C_DOUBLE: out = static_cast<const double*>(d)[i]; return true;
    case MAT_C_SINGLE: out = static_cast<const float*>(d)[i]; return true;
    case MAT_C_INT8: out = static_cast<const int8_t*>(d)[i]; return true;
    case MAT_C_UINT8: out = static_cast<const uint8_t*>(d)[i]; return true;
    case MAT_C_INT16: out = static_cast<const int16_t*>(d)[i]; return true;
    case MAT_C_UINT16: out = static_cast<const uint16_t*>(d)[i]; return true;
    case MAT_C_INT32: out = static_cast<const int32_t*>(d)[i]; return true;
    case MAT_C_UINT32: out = static_cast<const uint32_t*>(d)[i]; return true;
    case MAT_C_INT64: out = static_cast<double>(static_cast<const int64_t*>(d)[i]); return true;
    case MAT_C_UINT64: out = static_cast<double>(static_cast<const uint64_t*>(d)[i]); return true;
    default: return false;
  }
}

size_t numel(const matvar_t* v) {
  size_t n = 1;
  for (int i = 0; i < v->rank; ++i) n *= v->dims[i];
  return n;
}

}  // namespace

SvhnError::SvhnError(const std::string& name, const std::string& problem)
    : std::runtime_error(data::one_line(name) + ": " + data::one_line(problem)) {}

Digits read(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw SvhnError(path, "cannot open: no such file");
  if (std::filesystem::is_directory(path, ec)) throw SvhnError(path, "cannot open: is a directory");
  silence_matio();
  last_matio_message.clear();
  MatPtr mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!mat) throw SvhnError(path, with_matio_message("not a readable MATLAB .mat file"));

  const VarPtr x = read_var(mat.get(), "X", path);
  if (x->class_type != MAT_C_UINT8 || x->data_size != 1)
    throw SvhnError(path, "variable 'X' must be uint8 (MATLAB class code " +
                              std::to_string(static_cast<int>(x->class_type)) + ")");
  if (x->rank != 4 || x->dims[0] != kHeight || x->dims[1] != kWidth || x->dims[2] != kChannels)
    throw SvhnError(path, "variable 'X' has shape " + dims_string(x.get()) +
                              ", expected [32, 32, 3, N]");
  const size_t count = x->dims[3];
  const size_t plane = kHeight * kWidth, image = kChannels * plane;
  if (x->data == nullptr && count > 0) throw SvhnError(path, "variable 'X' has no data");
  if (x->nbytes < count * image)
    throw SvhnError(path, "variable 'X' holds " + std::to_string(x->nbytes) + " bytes, expected " +
                              std::to_string(count * image));

  const VarPtr y = read_var(mat.get(), "y", path);
  // libmatio reads an uncompressed variable cut short by the end of the file without complaint
  // (compressed ones fail in zlib), so check that the file can hold what was announced: the
  // 128-byte header, X's pixels and at least one byte per label.
  const uint64_t needed = 128 + (x->compression == MAT_COMPRESSION_NONE ? count * image : 0) +
                          (y->compression == MAT_COMPRESSION_NONE ? count : 0);
  const uint64_t on_disk = std::filesystem::file_size(path, ec);
  if (!ec && on_disk < needed)
    throw SvhnError(path, "truncated file: " + std::to_string(on_disk) + " bytes cannot hold " +
                              std::to_string(count) + " images of 3072 bytes and their labels");
  if (numel(y.get()) != count || y->rank < 1 || y->rank > 2 ||
      (y->rank == 2 && y->dims[0] != count && y->dims[1] != count))
    throw SvhnError(path, "variable 'y' has shape " + dims_string(y.get()) + ", expected [" +
                              std::to_string(count) + ", 1] (one label per image of X)");
  if (count > 0 && y->data == nullptr) throw SvhnError(path, "variable 'y' has no data");

  Digits out;
  out.count = static_cast<int64_t>(count);
  out.labels.resize(count);
  for (size_t i = 0; i < count; ++i) {
    double v = 0;
    if (!numeric_at(y.get(), i, v))
      throw SvhnError(path, "variable 'y' is not numeric (MATLAB class code " +
                                std::to_string(static_cast<int>(y->class_type)) + ")");
    if (!(v >= 1 && v <= 10) || v != std::floor(v)) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%g", v);
      throw SvhnError(path, "label " + std::to_string(i) + " is " + buf +
                                ", expected an integer in 1..10 (10 = digit 0)");
    }
    out.labels[i] = static_cast<uint8_t>(static_cast<int>(v) % 10);
  }

  // MATLAB order: X(r, c, ch, n) at r + 32 c + 1024 ch + 3072 n. Ours: [n, ch, r, c] C order.
  out.images.resize(count * image);
  const auto* src = static_cast<const uint8_t*>(x->data);
  for (size_t n = 0; n < count; ++n)
    for (size_t ch = 0; ch < kChannels; ++ch) {
      const uint8_t* s = src + n * image + ch * plane;
      uint8_t* d = out.images.data() + n * image + ch * plane;
      for (size_t c = 0; c < kWidth; ++c)
        for (size_t r = 0; r < kHeight; ++r) d[r * kWidth + c] = s[c * kHeight + r];
    }
  return out;
}

}  // namespace deepsc::svhn
