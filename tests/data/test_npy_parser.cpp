// Tests for the plain-C++ .npy parser/writer (deepsc/data/npy.h): round trips, hand-built
// headers of every version, and one clear single-line error for every kind of bad input.

#include "support/scratch_dir.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "deepsc/data/npy.h"

namespace fs = std::filesystem;
using deepsc::npy::Array;
using deepsc::npy::DType;
using deepsc::npy::NpyError;

namespace {

const char* kLabel = "test.npy";

fs::path scratch_dir() { return deepsc::testing::scratch_dir("npy_parser"); }

// Builds a .npy file by hand: magic, version, little-endian header length (2 bytes for 1.x,
// 4 otherwise), the header text verbatim, then the data.
std::vector<uint8_t> make_npy(int major, int minor, const std::string& header,
                              const std::vector<uint8_t>& data = {}) {
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major),
                              static_cast<uint8_t>(minor)};
  const size_t len_bytes = major == 1 ? 2 : 4;
  for (size_t i = 0; i < len_bytes; ++i)
    out.push_back(static_cast<uint8_t>((header.size() >> (8 * i)) & 0xff));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// A header as NumPy writes it: dict text padded with spaces and '\n' to a 64-byte boundary.
std::string numpy_header(const std::string& dict, size_t preamble = 10) {
  std::string h = dict;
  while ((preamble + h.size() + 1) % 64 != 0) h += ' ';
  return h + '\n';
}

std::vector<uint8_t> float_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * sizeof(float));
  if (!v.empty()) std::memcpy(out.data(), v.data(), out.size());
  return out;
}

Array parse(const std::vector<uint8_t>& bytes) {
  return deepsc::npy::parse(bytes.data(), bytes.size(), kLabel);
}

// Expects parse() to throw NpyError whose message is one line "<label>: ...<needle>...".
void expect_error(const std::vector<uint8_t>& bytes, const std::string& needle,
                  const std::string& label = kLabel) {
  try {
    deepsc::npy::parse(bytes.data(), bytes.size(), label);
    ADD_FAILURE() << "expected NpyError containing \"" << needle << "\"";
  } catch (const NpyError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(label + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

std::vector<uint8_t> with_dict(const std::string& dict, const std::vector<uint8_t>& data = {}) {
  return make_npy(1, 0, numpy_header(dict), data);
}

const std::vector<DType> kAllDTypes = {DType::Float16, DType::Float32, DType::Float64,
                                       DType::Int8,    DType::Int16,   DType::Int32,
                                       DType::Int64,   DType::UInt8,   DType::UInt16,
                                       DType::UInt32,  DType::UInt64,  DType::Bool};

}  // namespace

TEST(NpyParser, DtypeSizesAndNames) {
  EXPECT_EQ(deepsc::npy::dtype_size(DType::Float32), 4u);
  EXPECT_EQ(deepsc::npy::dtype_size(DType::Float64), 8u);
  EXPECT_EQ(deepsc::npy::dtype_size(DType::Int8), 1u);
  EXPECT_EQ(deepsc::npy::dtype_size(DType::Int16), 2u);
  EXPECT_EQ(deepsc::npy::dtype_size(DType::Int32), 4u);
  EXPECT_EQ(deepsc::npy::dtype_size(DType::Int64), 8u);
  EXPECT_EQ(deepsc::npy::dtype_size(DType::UInt8), 1u);
  EXPECT_EQ(deepsc::npy::dtype_size(DType::Bool), 1u);
  EXPECT_STREQ(deepsc::npy::dtype_name(DType::Float32), "float32");
  EXPECT_STREQ(deepsc::npy::dtype_name(DType::Bool), "bool");
  EXPECT_STREQ(deepsc::npy::dtype_name(DType::UInt8), "uint8");
}

TEST(NpyParser, RoundTripEveryDtypeAndRank0To4) {
  const std::vector<std::vector<int64_t>> shapes = {{}, {5}, {2, 3}, {2, 1, 3}, {1, 2, 3, 2}};
  std::mt19937 rng(42);
  for (const DType t : kAllDTypes) {
    for (const auto& shape : shapes) {
      SCOPED_TRACE(std::string(deepsc::npy::dtype_name(t)) + " rank " +
                   std::to_string(shape.size()));
      Array a;
      a.dtype = t;
      a.shape = shape;
      a.data.resize(static_cast<size_t>(a.numel()) * deepsc::npy::dtype_size(t));
      for (auto& b : a.data) b = static_cast<uint8_t>(t == DType::Bool ? rng() % 2 : rng());

      const std::vector<uint8_t> bytes = deepsc::npy::serialize(a);
      ASSERT_GE(bytes.size(), 10u);
      EXPECT_EQ(bytes[6], 1);  // small headers use version 1.0
      const size_t header_len = bytes[8] | (bytes[9] << 8);
      EXPECT_EQ((10 + header_len) % 64, 0u) << "data must start 64-byte aligned";
      EXPECT_EQ(bytes[10 + header_len - 1], '\n');

      const Array b = parse(bytes);
      EXPECT_EQ(b.dtype, a.dtype);
      EXPECT_EQ(b.shape, a.shape);
      EXPECT_EQ(b.data, a.data);
      EXPECT_EQ(b.numel(), a.numel());
    }
  }
}

TEST(NpyParser, SerializeWritesNumpyStyleHeader) {
  Array a;
  a.dtype = DType::Float32;
  a.shape = {3, 4};
  a.data.resize(48);
  const auto bytes = deepsc::npy::serialize(a);
  const std::string header(bytes.begin() + 10, bytes.end() - 48);
  EXPECT_EQ(header.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", 0), 0u)
      << header;
  a.shape = {12};
  const auto one = deepsc::npy::serialize(a);
  EXPECT_NE(std::string(one.begin(), one.end()).find("'shape': (12,)"), std::string::npos);
}

TEST(NpyParser, ReadsNumpyVersion1Header) {
  const std::vector<float> values = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  const auto bytes = with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }",
                               float_bytes(values));
  const Array a = parse(bytes);
  EXPECT_EQ(a.dtype, DType::Float32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 4}));
  ASSERT_EQ(a.data.size(), 48u);
  float f[12];
  std::memcpy(f, a.data.data(), sizeof f);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(f[i], static_cast<float>(i));
}

TEST(NpyParser, ReadsVersion2And3Headers) {
  const std::string dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }";
  const std::vector<uint8_t> data = {1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff};
  for (const int major : {2, 3}) {
    SCOPED_TRACE(major);
    const Array a = parse(make_npy(major, 0, numpy_header(dict, 12), data));
    EXPECT_EQ(a.dtype, DType::Int64);
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2}));
    int64_t v[2];
    std::memcpy(v, a.data.data(), sizeof v);
    EXPECT_EQ(v[0], 1);
    EXPECT_EQ(v[1], -1);
  }
}

TEST(NpyParser, AcceptsKeysInAnyOrderAndLooseSpacing) {
  const std::vector<std::string> dicts = {
      "{'shape': (2, 2), 'fortran_order': False, 'descr': '<i4'}",
      "{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (2,2)}",
      "  { 'fortran_order' :False ,'shape':( 2 , 2 , ),'descr':'<i4' , }  \n",
  };
  const std::vector<uint8_t> data(16, 7);
  for (const auto& d : dicts) {
    SCOPED_TRACE(d);
    // Unpadded header as well as NumPy-padded: padding is not required by the format.
    for (const auto& bytes : {make_npy(1, 0, d, data), with_dict(d, data)}) {
      const Array a = parse(bytes);
      EXPECT_EQ(a.dtype, DType::Int32);
      EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 2}));
    }
  }
}

TEST(NpyParser, AcceptsEveryListedDescr) {
  const std::vector<std::pair<std::string, DType>> cases = {
      {"<f4", DType::Float32}, {"<f8", DType::Float64}, {"<i1", DType::Int8},
      {"|i1", DType::Int8},    {"<i2", DType::Int16},   {"<i4", DType::Int32},
      {"<i8", DType::Int64},   {"|u1", DType::UInt8},   {"<u1", DType::UInt8},
      {"|b1", DType::Bool},    {"=f4", DType::Float32}, {">u1", DType::UInt8}};
  for (const auto& [descr, type] : cases) {
    SCOPED_TRACE(descr);
    const auto bytes =
        with_dict("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (), }",
                  std::vector<uint8_t>(deepsc::npy::dtype_size(type), 1));
    const Array a = parse(bytes);
    EXPECT_EQ(a.dtype, type);
    EXPECT_TRUE(a.shape.empty());
    EXPECT_EQ(a.numel(), 1);
  }
}

TEST(NpyParser, EmptyArrays) {
  const Array a =
      parse(with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }"));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(a.numel(), 0);
  EXPECT_TRUE(a.data.empty());
  const auto bytes = deepsc::npy::serialize(a);
  EXPECT_EQ(parse(bytes).shape, a.shape);
}

TEST(NpyParser, ErrorsForBrokenPreamble) {
  expect_error({0x93, 'N', 'U', 'M'}, "too short");
  expect_error({}, "too short");
  expect_error({'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0}, "bad magic");
  const std::string dict =
      numpy_header("{'descr': '<f4', 'fortran_order': False, 'shape': (), }");
  expect_error(make_npy(4, 0, dict, {0, 0, 0, 0}), "unsupported .npy version 4.0");
  expect_error(make_npy(1, 1, dict, {0, 0, 0, 0}), "unsupported .npy version 1.1");
  expect_error(make_npy(0, 0, dict, {0, 0, 0, 0}), "unsupported .npy version 0.0");
  // Version 2 needs a 4-byte length: 11 bytes is too short for it.
  expect_error({0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0, 0, 0}, "too short");
}

TEST(NpyParser, ErrorsForBadHeaderLength) {
  auto bytes = with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (), }");
  bytes[8] = 0xff;
  bytes[9] = 0xff;
  expect_error(bytes, "runs past the end of the file");
  // A 2 GiB header length in a tiny file: rejected by the cap before anything else.
  auto v2 = make_npy(2, 0, "{}");
  v2[8] = 0;
  v2[9] = 0;
  v2[10] = 0;
  v2[11] = 0x80;
  expect_error(v2, "header too long");
  // Just over the cap, with the bytes actually present.
  const std::string huge(deepsc::npy::kMaxHeaderBytes + 1, ' ');
  expect_error(make_npy(2, 0, huge), "header too long");
}

TEST(NpyParser, ErrorsForMalformedDict) {
  expect_error(with_dict("[1, 2, 3]"), "not a Python dict");
  expect_error(with_dict(""), "not a Python dict");
  expect_error(with_dict("{'descr': '<f4', 'fortran_order': False}"), "missing key 'shape'");
  expect_error(with_dict("{'shape': (), 'fortran_order': False}"), "missing key 'descr'");
  expect_error(with_dict("{'shape': (), 'descr': '<f4'}"), "missing key 'fortran_order'");
  expect_error(
      with_dict("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}"),
      "duplicate key 'descr'");
  expect_error(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'shape': ()}"),
               "duplicate key 'shape'");
  expect_error(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}"),
               "unexpected key 'x'");
  expect_error(with_dict("{'descr': '<f4', 'fortran_order': Nope, 'shape': ()}"),
               "True or False");
  expect_error(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': ()"),
               "expected ',' or '}'");
  expect_error(with_dict("{'descr': '<f4, 'fortran_order': False, 'shape': ()}"),
               "expected ',' or '}'");
  expect_error(with_dict("{'descr: "), "unterminated string");
  expect_error(with_dict("{'descr': '<f4', 'fortran_order': False, 'shape': ()} junk"),
               "after the header dict");
  expect_error(with_dict("{'descr' '<f4'}"), "expected ':'");
}

TEST(NpyParser, ErrorsForBadShape) {
  auto shape = [](const std::string& s) {
    return with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': " + s + ", }");
  };
  expect_error(shape("(-1, 3)"), "negative dimension");
  expect_error(shape("(2.5,)"), "tuple of non-negative integers");
  expect_error(shape("('a',)"), "non-negative integers");
  expect_error(shape("[2, 3]"), "must be a tuple");
  expect_error(shape("(2, 3"), "non-negative integers");
  expect_error(shape("(99999999999999999999,)"), "does not fit in int64");
  expect_error(shape("(4294967296, 4294967296)"), "element count overflows");
  // 2^60 elements fit in int64, 2^63 bytes do not.
  expect_error(shape("(1152921504606846976,)"), "byte count overflows");
  std::string many = "(";
  for (size_t i = 0; i <= deepsc::npy::kMaxRank; ++i) many += "1,";
  expect_error(shape(many + ")"), "more than");
}

TEST(NpyParser, ErrorsForUnsupportedTypes) {
  // Fortran order, big-endian, float16 and unsigned types are read (test_npy_layouts.cpp);
  // object, string, complex, void, long double and datetime are not.
  for (const std::string descr : {"<c8", "<U4", "|S4", "O", "|O", "<f16", "|V8", "<M8", "<u3"}) {
    expect_error(with_dict("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (), }"),
                 "unsupported dtype '" + descr + "'");
  }
  // Structured dtypes are a list, not a string.
  expect_error(with_dict("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (), }"),
               "quoted string");
}

TEST(NpyParser, ErrorsForWrongDataSize) {
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }";
  expect_error(with_dict(dict, std::vector<uint8_t>(47)), "expected 48 data bytes, found 47");
  expect_error(with_dict(dict), "expected 48 data bytes, found 0");
  expect_error(with_dict(dict, std::vector<uint8_t>(50)), "2 trailing bytes after the data");
}

TEST(NpyParser, MessagesStayOnOneLine) {
  // Hostile header content and a label with a newline are escaped, not echoed raw.
  expect_error(with_dict("{'descr': '\n\r\x01', 'fortran_order': False, 'shape': (), }"),
               "unsupported dtype", kLabel);
  try {
    deepsc::npy::parse(nullptr, 0, "a\nb");
    FAIL();
  } catch (const NpyError& e) {
    EXPECT_STREQ(e.what(), "a\\x0ab: file too short to be .npy (0 bytes)");
  }
}

TEST(NpyParser, EveryTruncationAndByteFlipIsHandled) {
  Array a;
  a.dtype = DType::Int16;
  a.shape = {2, 3};
  a.data.assign(12, 0x11);
  const auto good = deepsc::npy::serialize(a);
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(parse(cut), NpyError) << "length " << n;
  }
  // Every single-byte corruption either still parses or gives NpyError; nothing else.
  for (size_t i = 0; i < good.size(); ++i) {
    for (const uint8_t v : {0x00, 0x7f, 0xff, static_cast<int>('9'), static_cast<int>(',')}) {
      auto bad = good;
      bad[i] = v;
      try {
        parse(bad);
      } catch (const NpyError&) {
      }
    }
  }
}

TEST(NpyParser, SerializeRejectsInconsistentArray) {
  Array a;
  a.dtype = DType::Float64;
  a.shape = {2, 2};
  a.data.resize(31);
  EXPECT_THROW(deepsc::npy::serialize(a), NpyError);
  a.shape = {-2, -2};
  a.data.resize(32);
  EXPECT_THROW(deepsc::npy::serialize(a), NpyError);
}

TEST(NpyFile, WriteThenReadAndNoTempFileLeft) {
  const fs::path dir = scratch_dir() / "atomic";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "x.npy").string();
  Array a;
  a.dtype = DType::Int32;
  a.shape = {3};
  a.data = {1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0};
  deepsc::npy::write(path, a);
  // Overwrite an existing file too: rename() replaces it.
  a.data[0] = 9;
  deepsc::npy::write(path, a);
  const Array b = deepsc::npy::read(path);
  EXPECT_EQ(b.data, a.data);
  EXPECT_EQ(b.shape, a.shape);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"x.npy"});
}

TEST(NpyFile, FailedWriteThrowsNamingPathAndLeavesNothing) {
  const fs::path dir = scratch_dir() / "no_such_dir";
  fs::remove_all(dir);
  const std::string path = (dir / "x.npy").string();
  Array a;
  a.dtype = DType::UInt8;
  a.shape = {1};
  a.data = {5};
  try {
    deepsc::npy::write(path, a);
    FAIL() << "expected NpyError";
  } catch (const NpyError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir));
}

TEST(NpyFile, ReadErrorsNameThePath) {
  const fs::path dir = scratch_dir();
  const std::string missing = (dir / "missing.npy").string();
  fs::remove(missing);
  try {
    deepsc::npy::read(missing);
    FAIL();
  } catch (const NpyError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(missing + ": cannot open", 0), 0u) << e.what();
  }
  const std::string junk = (dir / "junk.npy").string();
  std::ofstream(junk, std::ios::binary) << "not numpy at all";
  try {
    deepsc::npy::read(junk);
    FAIL();
  } catch (const NpyError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(junk + ": bad magic", 0), 0u) << e.what();
  }
  EXPECT_THROW(deepsc::npy::read(dir.string()), NpyError);  // a directory
}
