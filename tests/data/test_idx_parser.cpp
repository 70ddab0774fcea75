// Tests for the plain-C++ IDX reader (deepsc/data/idx.h): every element type, byte-order
// conversion, plain and gzip files, and one clear single-line error for every bad input.

#include "support/scratch_dir.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "deepsc/data/idx.h"

namespace fs = std::filesystem;
using deepsc::idx::Array;
using deepsc::idx::IdxError;
using Type = deepsc::idx::Array::Type;

namespace {

const char* kLabel = "test.idx";

fs::path scratch_dir() { return deepsc::testing::scratch_dir("idx_parser"); }

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>((v >> s) & 0xff));
}

// Builds an IDX file: 00 00 <type> <rank>, big-endian dims, then `data` verbatim (already
// big-endian).
std::vector<uint8_t> make_idx(uint8_t type, const std::vector<uint32_t>& dims,
                              const std::vector<uint8_t>& data = {}) {
  std::vector<uint8_t> out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (const uint32_t d : dims) put_be32(out, d);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// Big-endian bytes of a value, as IDX stores it.
template <typename T>
std::vector<uint8_t> be_bytes(T v) {
  uint8_t le[sizeof(T)];
  std::memcpy(le, &v, sizeof(T));
  return std::vector<uint8_t>(std::rbegin(le), std::rend(le));
}

template <typename T>
T element(const Array& a, size_t i) {
  T v;
  std::memcpy(&v, a.data.data() + i * sizeof(T), sizeof(T));
  return v;
}

Array parse(const std::vector<uint8_t>& bytes) {
  return deepsc::idx::parse(bytes.data(), bytes.size(), kLabel);
}

// Checks that `e` is one line starting with "<name>: " and containing `needle`.
void check_message(const IdxError& e, const std::string& name, const std::string& needle) {
  const std::string msg = e.what();
  EXPECT_EQ(msg.rfind(name + ": ", 0), 0u) << msg;
  EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

void expect_error(const std::vector<uint8_t>& bytes, const std::string& needle) {
  try {
    parse(bytes);
    ADD_FAILURE() << "expected IdxError containing \"" << needle << "\"";
  } catch (const IdxError& e) {
    check_message(e, kLabel, needle);
  }
}

void expect_read_error(const std::string& path, const std::string& needle) {
  try {
    deepsc::idx::read(path);
    ADD_FAILURE() << "expected IdxError containing \"" << needle << "\"";
  } catch (const IdxError& e) {
    check_message(e, path, needle);
  }
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << path;
}

// Writes `bytes` gzip-compressed with zlib, like the .gz files MNIST is distributed as.
void write_gzip(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile gz = gzopen(path.c_str(), "wb9");
  ASSERT_NE(gz, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
  }
  ASSERT_EQ(gzclose(gz), Z_OK);
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// A 3x2x2 uint8 "image" stack, like MNIST images.
std::vector<uint8_t> sample_images() {
  std::vector<uint8_t> pixels(12);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 20);
  return make_idx(0x08, {3, 2, 2}, pixels);
}

}  // namespace

TEST(IdxParser, TypeSizesAndNames) {
  EXPECT_EQ(deepsc::idx::type_size(Type::UInt8), 1u);
  EXPECT_EQ(deepsc::idx::type_size(Type::Int8), 1u);
  EXPECT_EQ(deepsc::idx::type_size(Type::Int16), 2u);
  EXPECT_EQ(deepsc::idx::type_size(Type::Int32), 4u);
  EXPECT_EQ(deepsc::idx::type_size(Type::Float32), 4u);
  EXPECT_EQ(deepsc::idx::type_size(Type::Float64), 8u);
  EXPECT_STREQ(deepsc::idx::type_name(Type::Float64), "float64");
}

TEST(IdxParser, ReadsUInt8Images) {
  const Array a = parse(sample_images());
  EXPECT_EQ(a.type, Type::UInt8);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(a.numel(), 12);
  ASSERT_EQ(a.data.size(), 12u);
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(a.data[i], i * 20);
}

TEST(IdxParser, ConvertsEveryTypeFromBigEndian) {
  auto concat = [](std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  {
    const Array a = parse(make_idx(0x09, {2}, {0xff, 0x05}));
    EXPECT_EQ(a.type, Type::Int8);
    EXPECT_EQ(element<int8_t>(a, 0), -1);
    EXPECT_EQ(element<int8_t>(a, 1), 5);
  }
  {
    const Array a =
        parse(make_idx(0x0B, {2}, concat(be_bytes<int16_t>(0x0102), be_bytes<int16_t>(-300))));
    EXPECT_EQ(a.type, Type::Int16);
    EXPECT_EQ(element<int16_t>(a, 0), 0x0102);
    EXPECT_EQ(element<int16_t>(a, 1), -300);
  }
  {
    const Array a = parse(
        make_idx(0x0C, {2}, concat(be_bytes<int32_t>(0x01020304), be_bytes<int32_t>(-70000))));
    EXPECT_EQ(a.type, Type::Int32);
    EXPECT_EQ(element<int32_t>(a, 0), 0x01020304);
    EXPECT_EQ(element<int32_t>(a, 1), -70000);
  }
  {
    const Array a =
        parse(make_idx(0x0D, {1, 2}, concat(be_bytes<float>(1.5f), be_bytes<float>(-3.25f))));
    EXPECT_EQ(a.type, Type::Float32);
    EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(element<float>(a, 0), 1.5f);
    EXPECT_EQ(element<float>(a, 1), -3.25f);
  }
  {
    const Array a =
        parse(make_idx(0x0E, {2, 1}, concat(be_bytes<double>(1e300), be_bytes<double>(-0.5))));
    EXPECT_EQ(a.type, Type::Float64);
    EXPECT_EQ(element<double>(a, 0), 1e300);
    EXPECT_EQ(element<double>(a, 1), -0.5);
  }
}

TEST(IdxParser, RanksOneToFourAndEmpty) {
  const std::vector<std::vector<uint32_t>> shapes = {{4}, {2, 3}, {2, 1, 3}, {1, 2, 2, 2}};
  for (const auto& dims : shapes) {
    size_t n = 1;
    for (const uint32_t d : dims) n *= d;
    std::vector<uint8_t> data(n);
    for (size_t i = 0; i < n; ++i) data[i] = static_cast<uint8_t>(i + 1);
    const Array a = parse(make_idx(0x08, dims, data));
    EXPECT_EQ(a.shape, std::vector<int64_t>(dims.begin(), dims.end()));
    EXPECT_EQ(a.data, data);
  }
  const Array empty = parse(make_idx(0x0D, {0, 28, 28}));
  EXPECT_EQ(empty.numel(), 0);
  EXPECT_TRUE(empty.data.empty());
}

TEST(IdxParser, ErrorsForBadInput) {
  expect_error({}, "too short");
  expect_error({0, 0, 8}, "too short");
  expect_error({0x1f, 0x8b, 8, 0}, "bad magic");
  expect_error(make_idx(0x0A, {1}, {0}), "unsupported IDX type code 0x0a");
  expect_error(make_idx(0x08, {}), "rank 0 is not supported");
  expect_error(make_idx(0x08, std::vector<uint32_t>(9, 1), {0}), "rank 9 exceeds");
  expect_error({0, 0, 8, 3, 0, 0, 0, 1, 0, 0}, "truncated header");
  expect_error(make_idx(0x08, {0x80000000u}), "negative");
  expect_error(make_idx(0x08, std::vector<uint32_t>(8, 0x7fffffffu)), "product overflows");
  // (2^31-1)^2 elements fit in int64, but not times 8 bytes.
  expect_error(make_idx(0x0E, {0x7fffffffu, 0x7fffffffu}), "byte count overflows");
  auto images = sample_images();
  images.pop_back();
  expect_error(images, "expected 12 data bytes, found 11");
  images.push_back(1);
  images.push_back(2);
  expect_error(images, "1 trailing bytes after the data");
}

TEST(IdxParser, EveryTruncationIsAnError) {
  const auto good = make_idx(0x0B, {2, 2}, std::vector<uint8_t>(8, 3));
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(parse(cut), IdxError) << "length " << n;
  }
}

TEST(IdxParser, LabelWithNewlineStaysOneLine) {
  try {
    deepsc::idx::parse(nullptr, 0, "x\ny");
    FAIL();
  } catch (const IdxError& e) {
    EXPECT_STREQ(e.what(), "x\\x0ay: file too short to be IDX (0 bytes)");
  }
}

TEST(IdxFile, ReadsPlainAndGzipIdentically) {
  const fs::path dir = scratch_dir();
  const auto bytes = make_idx(0x0C, {2, 3}, std::vector<uint8_t>(24, 0x42));
  const std::string plain = (dir / "plain.idx").string();
  const std::string gz = (dir / "packed.idx.gz").string();
  write_file(plain, bytes);
  write_gzip(gz, bytes);
  const Array expected = parse(bytes);
  for (const auto& path : {plain, gz}) {
    SCOPED_TRACE(path);
    const Array a = deepsc::idx::read(path);
    EXPECT_EQ(a.type, expected.type);
    EXPECT_EQ(a.shape, expected.shape);
    EXPECT_EQ(a.data, expected.data);
  }
}

TEST(IdxFile, ReadsLargerGzipAcrossChunks) {
  // Several MiB so the reader's chunked growth is exercised.
  const uint32_t n = 3000;
  std::vector<uint8_t> pixels(static_cast<size_t>(n) * 28 * 28);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>((i * 7) ^ (i >> 9));
  const auto bytes = make_idx(0x08, {n, 28, 28}, pixels);
  const std::string gz = (scratch_dir() / "big.idx.gz").string();
  write_gzip(gz, bytes);
  const Array a = deepsc::idx::read(gz);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{n, 28, 28}));
  EXPECT_EQ(a.data, pixels);
}

TEST(IdxFile, GzipErrors) {
  const fs::path dir = scratch_dir();
  const auto bytes = sample_images();

  // A gzip stream cut in half.
  const std::string full = (dir / "full.idx.gz").string();
  write_gzip(full, bytes);
  const auto packed = read_file(full);
  ASSERT_GT(packed.size(), 20u);
  const std::string cut = (dir / "cut.idx.gz").string();
  write_file(cut, std::vector<uint8_t>(packed.begin(), packed.begin() + packed.size() / 2));
  expect_read_error(cut, "");

  // The stream without its 8-byte CRC/length trailer: all data present but the gzip is truncated.
  const std::string no_trailer = (dir / "no_trailer.idx.gz").string();
  write_file(no_trailer, std::vector<uint8_t>(packed.begin(), packed.end() - 8));
  expect_read_error(no_trailer, "gzip");

  // A valid gzip whose IDX header claims more data than it holds.
  auto short_idx = bytes;
  short_idx.resize(short_idx.size() - 5);
  const std::string claims_more = (dir / "claims_more.idx.gz").string();
  write_gzip(claims_more, short_idx);
  expect_read_error(claims_more, "expected 12 data bytes, found 7");

  // Gzip bomb shape: the header claims 2^40 bytes; must fail fast without allocating them.
  const std::string bomb = (dir / "bomb.idx.gz").string();
  write_gzip(bomb, make_idx(0x08, {1u << 20, 1u << 20}, std::vector<uint8_t>(1000, 0)));
  expect_read_error(bomb, "expected 1099511627776 data bytes, found 1000");

  // Trailing data inside the gzip stream.
  auto longer = bytes;
  longer.push_back(0);
  const std::string trailing = (dir / "trailing.idx.gz").string();
  write_gzip(trailing, longer);
  expect_read_error(trailing, "trailing bytes");

  // Corrupted CRC.
  auto bad_crc = packed;
  bad_crc[bad_crc.size() - 6] ^= 0xff;
  const std::string crc = (dir / "bad_crc.idx.gz").string();
  write_file(crc, bad_crc);
  expect_read_error(crc, "corrupt gzip");

  // Garbage after the gzip magic.
  const std::string garbage = (dir / "garbage.idx.gz").string();
  write_file(garbage, {0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x03, 0xff, 0xff,
                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  expect_read_error(garbage, "gzip");

  // Bad IDX inside a good gzip.
  const std::string bad_magic = (dir / "bad_magic.idx.gz").string();
  write_gzip(bad_magic, {1, 2, 3, 4, 5, 6, 7, 8});
  expect_read_error(bad_magic, "bad magic");
}

TEST(IdxFile, PlainFileErrorsAndMissingFile) {
  const fs::path dir = scratch_dir();
  auto bytes = sample_images();
  bytes.pop_back();
  const std::string truncated = (dir / "truncated.idx").string();
  write_file(truncated, bytes);
  expect_read_error(truncated, "expected 12 data bytes, found 11");
  const std::string missing = (dir / "missing.idx").string();
  fs::remove(missing);
  expect_read_error(missing, "cannot open");
  expect_read_error(dir.string(), "");  // a directory
}
