#include "data/format_writers.h"

#include <matio.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace deepsc::testing {
namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "format_writers: %s\n", what.c_str());
  std::abort();
}

std::vector<uint8_t> to_hwc(const std::vector<uint8_t>& chw, int c, int h, int w) {
  std::vector<uint8_t> out(chw.size());
  for (int ch = 0; ch < c; ++ch)
    for (int i = 0; i < h * w; ++i) out[static_cast<size_t>(i * c + ch)] = chw[static_cast<size_t>(ch * h * w + i)];
  return out;
}

}  // namespace

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) die("cannot write " + path);
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) die("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> cifar_records(const std::vector<uint8_t>& images, const std::vector<uint8_t>& labels,
                                   const std::vector<uint8_t>& coarse) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!coarse.empty()) out.push_back(coarse[i]);
    out.push_back(labels[i]);
    out.insert(out.end(), images.begin() + static_cast<std::ptrdiff_t>(i * 3072),
               images.begin() + static_cast<std::ptrdiff_t>((i + 1) * 3072));
  }
  return out;
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng() & 0xff);
  return out;
}

void write_svhn_mat(const std::string& path, const std::vector<uint8_t>& images, const std::vector<double>& labels,
                    const std::string& y_class, bool skip_x, bool skip_y, bool x_as_double) {
  const size_t n = labels.size();
  // [N, 3, 32, 32] C order -> MATLAB X(r, c, ch, n) at r + 32 c + 1024 ch + 3072 n.
  std::vector<uint8_t> x(images.size());
  for (size_t i = 0; i < n; ++i)
    for (size_t ch = 0; ch < 3; ++ch)
      for (size_t r = 0; r < 32; ++r)
        for (size_t c = 0; c < 32; ++c)
          x[r + 32 * c + 1024 * ch + 3072 * i] = images[i * 3072 + ch * 1024 + r * 32 + c];
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5);
  if (mat == nullptr) die("Mat_CreateVer " + path);
  if (!skip_x) {
    size_t dims[4] = {32, 32, 3, n};
    std::vector<double> xd(x.begin(), x.end());
    matvar_t* v = x_as_double ? Mat_VarCreate("X", MAT_C_DOUBLE, MAT_T_DOUBLE, 4, dims, xd.data(), 0)
                              : Mat_VarCreate("X", MAT_C_UINT8, MAT_T_UINT8, 4, dims, x.data(), 0);
    if (v == nullptr || Mat_VarWrite(mat, v, MAT_COMPRESSION_NONE) != 0) die("write X to " + path);
    Mat_VarFree(v);
  }
  if (!skip_y) {
    size_t dims[2] = {n, 1};
    std::vector<uint8_t> yu(labels.begin(), labels.end());
    std::vector<double> yd(labels);
    matvar_t* v = y_class == "uint8" ? Mat_VarCreate("y", MAT_C_UINT8, MAT_T_UINT8, 2, dims, yu.data(), 0)
                                     : Mat_VarCreate("y", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, yd.data(), 0);
    if (v == nullptr || Mat_VarWrite(mat, v, MAT_COMPRESSION_NONE) != 0) die("write y to " + path);
    Mat_VarFree(v);
  }
  Mat_Close(mat);
}

void write_png(const std::string& path, const std::vector<uint8_t>& chw, int channels, int h, int w) {
  const auto hwc = to_hwc(chw, channels, h, w);
  if (stbi_write_png(path.c_str(), w, h, channels, hwc.data(), w * channels) == 0) die("write png " + path);
}

void write_jpeg(const std::string& path, const std::vector<uint8_t>& chw, int channels, int h, int w) {
  const auto hwc = to_hwc(chw, channels, h, w);
  if (stbi_write_jpg(path.c_str(), w, h, channels, hwc.data(), 95) == 0) die("write jpeg " + path);
}

void write_idx_u8(const std::string& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data,
                  bool gzip) {
  std::vector<uint8_t> bytes = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (const uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) bytes.push_back(static_cast<uint8_t>((d >> s) & 0xff));
  bytes.insert(bytes.end(), data.begin(), data.end());
  if (!gzip) return write_file(path, bytes);
  gzFile gz = gzopen(path.c_str(), "wb6");
  if (gz == nullptr) die("gzopen " + path);
  const int n = gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size()));
  if (gzclose(gz) != Z_OK || n != static_cast<int>(bytes.size())) die("gzwrite " + path);
}

}  // namespace deepsc::testing
