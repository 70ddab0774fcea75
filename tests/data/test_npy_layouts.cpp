// .npy files as NumPy writes them, built byte by byte: Fortran order (np.save of a transposed
// array), big-endian, float16, unsigned and bool arrays. Each is read into the little-endian
// C-order npy::Array, and npy::to_floating gives the values a dictionary or signals need.

#include "data/format_writers.h"
#include "support/scratch_dir.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "deepsc/data/npy.h"

using deepsc::npy::Array;
using deepsc::npy::DType;

namespace {

// What numpy.lib.format.write_array writes for a small header (format 1.0): the magic, the
// version, the header length as a little-endian uint16, the dict literal padded with spaces and
// a '\n' so that the data starts at a multiple of 64 bytes, then the data as it lies in memory.
std::vector<uint8_t> numpy_file(const std::string& dict, const std::vector<uint8_t>& data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::vector<uint8_t> out(10 + header.size());
  const uint8_t preamble[8] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  std::memcpy(out.data(), preamble, 8);
  out[8] = static_cast<uint8_t>(header.size() & 0xff);
  out[9] = static_cast<uint8_t>(header.size() >> 8);
  std::memcpy(out.data() + 10, header.data(), header.size());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Array parse(const std::vector<uint8_t>& bytes) { return deepsc::npy::parse(bytes.data(), bytes.size(), "numpy.npy"); }

template <typename T>
std::vector<T> values(const Array& a) {
  std::vector<T> out(a.data.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), a.data.data(), a.data.size());
  return out;
}

std::vector<float> as_float32(const Array& a) { return values<float>(deepsc::npy::to_floating(a, DType::Float32)); }

// Little-endian bytes of float64 values, as numpy holds them on x86 and ARM.
std::vector<uint8_t> f8_bytes(const std::vector<double>& v) {
  std::vector<uint8_t> out(v.size() * 8);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

}  // namespace

TEST(NpyLayouts, TransposedDictionaryFromScikitLearnIsReadInCOrder) {
  // components = np.array([[1., 2., 3.], [4., 5., 6.]])  (2 atoms of length 3, atoms in rows)
  // np.save("D.npy", components.T): shape (3, 2), Fortran-ordered, the data being components'
  // own memory. Every byte of that file:
  std::vector<uint8_t> file = {0x93, 'N', 'U', 'M', 'P', 'Y', 0x01, 0x00, 0x76, 0x00};
  const std::string dict = "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 2), }";
  file.insert(file.end(), dict.begin(), dict.end());
  file.insert(file.end(), 59, ' ');
  file.push_back('\n');
  ASSERT_EQ(file.size(), 128u);
  const std::vector<uint8_t> data = {
      0, 0, 0, 0, 0, 0, 0xf0, 0x3f,  // 1.0
      0, 0, 0, 0, 0, 0, 0x00, 0x40,  // 2.0
      0, 0, 0, 0, 0, 0, 0x08, 0x40,  // 3.0
      0, 0, 0, 0, 0, 0, 0x10, 0x40,  // 4.0
      0, 0, 0, 0, 0, 0, 0x14, 0x40,  // 5.0
      0, 0, 0, 0, 0, 0, 0x18, 0x40,  // 6.0
  };
  file.insert(file.end(), data.begin(), data.end());
  EXPECT_EQ(file, numpy_file(dict, data));  // the helper below writes the same bytes

  const Array d = parse(file);
  EXPECT_EQ(d.dtype, DType::Float64);
  EXPECT_EQ(d.shape, (std::vector<int64_t>{3, 2}));
  // D = components.T in C order: column j is atom j.
  EXPECT_EQ(values<double>(d), (std::vector<double>{1, 4, 2, 5, 3, 6}));
  // Writing it back gives a C-ordered file with the same values.
  const auto again = deepsc::npy::serialize(d);
  const std::string back(again.begin() + 10, again.begin() + 10 + 60);
  EXPECT_NE(back.find("'fortran_order': False"), std::string::npos) << back;
  EXPECT_EQ(values<double>(parse(again)), values<double>(d));
}

TEST(NpyLayouts, FortranOrderOfRankThreeAndDegenerateShapes) {
  // a[i, j, k] = 100 i + 10 j + k for shape (2, 3, 4), stored with i fastest (Fortran order).
  std::vector<uint8_t> data;
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i) {
        const int32_t v = 100 * i + 10 * j + k;
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        data.insert(data.end(), p, p + 4);
      }
  const Array a = parse(numpy_file("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3, 4), }", data));
  std::vector<int32_t> expected;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) expected.push_back(100 * i + 10 * j + k);
  EXPECT_EQ(values<int32_t>(a), expected);

  // Rank 1, a single non-trivial dimension and empty arrays are the same in both orders.
  const auto row = f8_bytes({1, 2, 3});
  EXPECT_EQ(values<double>(parse(numpy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (3,), }", row))),
            (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(values<double>(parse(numpy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (1, 3), }", row))),
            (std::vector<double>{1, 2, 3}));
  const Array empty = parse(numpy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (0, 16), }", {}));
  EXPECT_EQ(empty.shape, (std::vector<int64_t>{0, 16}));
  EXPECT_TRUE(empty.data.empty());
}

TEST(NpyLayouts, BigEndianFloat32AndInt16AreByteSwapped) {
  // np.array([1.0, -2.5, 0.15625], dtype='>f4'): IEEE 754 bytes, most significant first.
  const Array f = parse(numpy_file("{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }",
                                   {0x3f, 0x80, 0x00, 0x00, 0xc0, 0x20, 0x00, 0x00, 0x3e, 0x20, 0x00, 0x00}));
  EXPECT_EQ(f.dtype, DType::Float32);
  EXPECT_EQ(values<float>(f), (std::vector<float>{1.0f, -2.5f, 0.15625f}));
  // np.array([[258, -2], [32767, -32768]], dtype='>i2')
  const Array i = parse(numpy_file("{'descr': '>i2', 'fortran_order': False, 'shape': (2, 2), }",
                                   {0x01, 0x02, 0xff, 0xfe, 0x7f, 0xff, 0x80, 0x00}));
  EXPECT_EQ(i.dtype, DType::Int16);
  EXPECT_EQ(values<int16_t>(i), (std::vector<int16_t>{258, -2, 32767, -32768}));
  EXPECT_EQ(as_float32(i), (std::vector<float>{258, -2, 32767, -32768}));
  // Big-endian and Fortran-ordered at once: np.asfortranarray([[1, 2], [3, 260]], dtype='>u2').
  const Array both = parse(numpy_file("{'descr': '>u2', 'fortran_order': True, 'shape': (2, 2), }",
                                      {0x00, 0x01, 0x00, 0x03, 0x00, 0x02, 0x01, 0x04}));
  EXPECT_EQ(values<uint16_t>(both), (std::vector<uint16_t>{1, 2, 3, 260}));
}

TEST(NpyLayouts, Float16ValuesIncludingSubnormalAndInfinity) {
  // np.array([1, -2, 65504, 2**-24, 2**-14, inf, -0.0, 1/3], dtype='<f2'), binary16 bit patterns.
  const std::vector<uint16_t> bits = {0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x7c00, 0x8000, 0x3555};
  std::vector<uint8_t> data;
  for (const uint16_t b : bits) data.insert(data.end(), {static_cast<uint8_t>(b & 0xff), static_cast<uint8_t>(b >> 8)});
  const Array h = parse(numpy_file("{'descr': '<f2', 'fortran_order': False, 'shape': (8,), }", data));
  EXPECT_EQ(h.dtype, DType::Float16);
  EXPECT_EQ(values<uint16_t>(h), bits);  // kept bit for bit
  const auto f = as_float32(h);
  ASSERT_EQ(f.size(), 8u);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], -2.0f);
  EXPECT_EQ(f[2], 65504.0f);
  EXPECT_EQ(f[3], std::ldexp(1.0f, -24));  // the smallest subnormal
  EXPECT_EQ(f[4], std::ldexp(1.0f, -14));  // the smallest normal
  EXPECT_EQ(f[5], std::numeric_limits<float>::infinity());
  EXPECT_EQ(f[6], 0.0f);
  EXPECT_TRUE(std::signbit(f[6]));
  EXPECT_EQ(f[7], 0.333251953125f);  // 1/3 rounded to binary16
  // NaN stays NaN; big-endian float16 reads the same values.
  const Array nan = parse(numpy_file("{'descr': '>f2', 'fortran_order': False, 'shape': (2,), }",
                                     {0x7e, 0x00, 0x3c, 0x00}));
  const auto g = as_float32(nan);
  EXPECT_TRUE(std::isnan(g[0]));
  EXPECT_EQ(g[1], 1.0f);
}

TEST(NpyLayouts, Uint8BoolAndWideUnsignedConvertToFloats) {
  const Array u8 = parse(numpy_file("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }", {0, 1, 128, 255}));
  EXPECT_EQ(u8.dtype, DType::UInt8);
  EXPECT_EQ(as_float32(u8), (std::vector<float>{0, 1, 128, 255}));
  // NumPy writes bools as bytes 0 and 1; any non-zero byte is true.
  const Array b = parse(numpy_file("{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }", {0, 1, 1, 0}));
  EXPECT_EQ(b.dtype, DType::Bool);
  EXPECT_EQ(as_float32(b), (std::vector<float>{0, 1, 1, 0}));
  const Array b7 = parse(numpy_file("{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }", {7}));
  EXPECT_EQ(as_float32(b7), (std::vector<float>{1}));
  // uint64 beyond int64 and int8 below zero keep their values.
  const Array u64 = parse(numpy_file("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }",
                                     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(u64.dtype, DType::UInt64);
  EXPECT_EQ(values<double>(deepsc::npy::to_floating(u64, DType::Float64)), (std::vector<double>{18446744073709551615.0}));
  const Array i8 = parse(numpy_file("{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }", {0x80, 0x7f}));
  EXPECT_EQ(as_float32(i8), (std::vector<float>{-128, 127}));
  // Every parsed dtype has a name and a descr that round-trips.
  for (const auto& [descr, type] : std::vector<std::pair<std::string, DType>>{
           {"<u2", DType::UInt16}, {"<u4", DType::UInt32}, {"<u8", DType::UInt64}, {"<f2", DType::Float16}}) {
    SCOPED_TRACE(descr);
    const Array a = parse(numpy_file("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (), }",
                                     std::vector<uint8_t>(deepsc::npy::dtype_size(type), 3)));
    EXPECT_EQ(a.dtype, type);
    const auto bytes = deepsc::npy::serialize(a);
    EXPECT_NE(std::string(bytes.begin(), bytes.end()).find("'" + descr + "'"), std::string::npos);
  }
}

TEST(NpyLayouts, ToFloatingKeepsShapeAndRejectsOtherTargets) {
  const Array a = parse(numpy_file("{'descr': '<i8', 'fortran_order': True, 'shape': (2, 2), }",
                                   f8_bytes({0, 0, 0, 0})));  // 4 int64 zeros
  const Array f = deepsc::npy::to_floating(a, DType::Float64);
  EXPECT_EQ(f.dtype, DType::Float64);
  EXPECT_EQ(f.shape, a.shape);
  EXPECT_EQ(f.data.size(), 32u);
  EXPECT_THROW(deepsc::npy::to_floating(a, DType::Int32), deepsc::npy::NpyError);
}

TEST(NpyLayouts, ReadFromDiskAndObjectArraysStillRefused) {
  const auto dir = deepsc::testing::fresh_dir("npy_layouts");
  const std::string path = (dir / "D.npy").string();
  deepsc::testing::write_file(
      path, numpy_file("{'descr': '>f8', 'fortran_order': True, 'shape': (2, 2), }",
                       {0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0,  // 1, 2 (column 0)
                        0x40, 0x08, 0, 0, 0, 0, 0, 0, 0x40, 0x10, 0, 0, 0, 0, 0, 0}));  // 3, 4
  EXPECT_EQ(values<double>(deepsc::npy::read(path)), (std::vector<double>{1, 3, 2, 4}));
  // np.save of an object array (allow_pickle): refused with the message it always had.
  try {
    parse(numpy_file("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", std::vector<uint8_t>(8)));
    FAIL() << "object array accepted";
  } catch (const deepsc::npy::NpyError& e) {
    EXPECT_NE(std::string(e.what()).find("numpy.npy: unsupported dtype '|O'"), std::string::npos) << e.what();
  }
}
