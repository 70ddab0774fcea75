#pragma once
// Writers of the on-disk formats the data-set readers take (CIFAR binary, SVHN .mat, PNG/JPEG,
// IDX), for tests that build small files of known content. Plain C++ (no LibTorch).
// Images are passed as [C, H, W] uint8 in C order, as the readers return them.

#include <cstdint>
#include <string>
#include <vector>

namespace deepsc::testing {

/// Writes `bytes` to `path` (replacing it); aborts the test binary on failure.
void write_file(const std::string& path, const std::vector<uint8_t>& bytes);

/// The bytes of `path`.
std::vector<uint8_t> read_file(const std::string& path);

/// CIFAR-10 records (coarse empty) or CIFAR-100 records (coarse[i], fine[i]): `images` holds
/// labels.size() images of 3072 bytes.
std::vector<uint8_t> cifar_records(const std::vector<uint8_t>& images, const std::vector<uint8_t>& labels,
                                   const std::vector<uint8_t>& coarse = {});

/// `n` deterministic pseudo-random bytes from `seed`.
std::vector<uint8_t> random_bytes(size_t n, uint32_t seed);

/// SVHN-style MATLAB v5 file via libmatio: X uint8 [32, 32, 3, N] from `images` ([N, 3, 32, 32]
/// C order), y [N, 1] of class `y_class` ("double" or "uint8") holding `labels` (1..10).
/// Pass skip_x / skip_y to leave a variable out, x_as_double to store X as double.
void write_svhn_mat(const std::string& path, const std::vector<uint8_t>& images,
                    const std::vector<double>& labels, const std::string& y_class = "double",
                    bool skip_x = false, bool skip_y = false, bool x_as_double = false);

/// PNG (lossless) or JPEG (quality 95) of a [channels, h, w] image; channels 1, 3 or 4.
void write_png(const std::string& path, const std::vector<uint8_t>& chw, int channels, int h, int w);
void write_jpeg(const std::string& path, const std::vector<uint8_t>& chw, int channels, int h, int w);

/// IDX uint8 file with dimensions `dims`, gzip-compressed when `gzip`.
void write_idx_u8(const std::string& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data,
                  bool gzip);

}  // namespace deepsc::testing
