// Tests for the torch::Tensor <-> .npy adapter (deepsc/data/npy_tensor.h) and load_idx.

#include "support/scratch_dir.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "deepsc/data/idx_tensor.h"
#include "deepsc/data/npy_tensor.h"

namespace fs = std::filesystem;

namespace {

fs::path fresh_npy_dir(const std::string& name) { return deepsc::testing::fresh_dir("npy_tensor_" + name); }

// Bitwise equality (NaN-safe, distinguishes -0.0): same dtype, shape and bytes.
bool bitwise_equal(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const torch::Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.nbytes()) == 0;
}

std::vector<std::string> list_dir(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

}  // namespace

TEST(NpyTensor, RoundTripFloat32Float64Int64) {
  torch::manual_seed(7);
  const fs::path dir = fresh_npy_dir("roundtrip");
  const std::vector<torch::Tensor> tensors = {
      torch::randn({4, 5}, torch::kFloat),
      torch::randn({3, 2, 6}, torch::kDouble),
      torch::randint(-1000000000000LL, 1000000000000LL, {7}, torch::kLong),
      torch::randn({}, torch::kFloat),  // rank 0
      torch::empty({0, 3}, torch::kDouble),
  };
  for (size_t i = 0; i < tensors.size(); ++i) {
    SCOPED_TRACE(i);
    const std::string path = (dir / ("t" + std::to_string(i) + ".npy")).string();
    deepsc::data::save_npy(path, tensors[i]);
    const torch::Tensor back = deepsc::data::load_npy(path);
    EXPECT_TRUE(bitwise_equal(back, tensors[i]));
    EXPECT_EQ(back.device(), torch::kCPU);
    EXPECT_TRUE(back.is_contiguous());
  }
}

TEST(NpyTensor, EveryDtypeThroughArray) {
  const std::vector<torch::ScalarType> types = {torch::kHalf,  torch::kFloat, torch::kDouble,
                                                torch::kChar,  torch::kShort, torch::kInt,
                                                torch::kLong,  torch::kByte,  torch::kBool};
  for (const auto t : types) {
    SCOPED_TRACE(c10::toString(t));
    const torch::Tensor x = torch::arange(12).reshape({3, 4}).remainder(2).to(t);
    const deepsc::npy::Array a = deepsc::data::from_tensor(x);
    EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 4}));
    const torch::Tensor y = deepsc::data::to_tensor(a);
    EXPECT_TRUE(bitwise_equal(x, y));
  }
}

TEST(NpyTensor, NonContiguousInputIsSavedInLogicalOrder) {
  const fs::path dir = fresh_npy_dir("transposed");
  const torch::Tensor base = torch::arange(6, torch::kFloat).reshape({2, 3});
  const torch::Tensor t = base.t();  // shape [3, 2], not contiguous
  ASSERT_FALSE(t.is_contiguous());
  const std::string path = (dir / "t.npy").string();
  deepsc::data::save_npy(path, t);

  const deepsc::npy::Array a = deepsc::npy::read(path);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 2}));
  std::vector<float> values(6);
  std::memcpy(values.data(), a.data.data(), 24);
  EXPECT_EQ(values, (std::vector<float>{0, 3, 1, 4, 2, 5}));
  EXPECT_TRUE(torch::equal(deepsc::data::load_npy(path), t));

  // A strided slice with a storage offset as well.
  const torch::Tensor s = torch::arange(20, torch::kLong).reshape({4, 5}).slice(1, 1, 5, 2);
  deepsc::data::save_npy(path, s);
  EXPECT_TRUE(torch::equal(deepsc::data::load_npy(path), s));
}

TEST(NpyTensor, AtomicWriteLeavesNoTempFile) {
  const fs::path dir = fresh_npy_dir("atomic");
  const std::string path = (dir / "x.npy").string();
  deepsc::data::save_npy(path, torch::ones({2, 2}));
  deepsc::data::save_npy(path, torch::zeros({3}));  // replaces the old file
  EXPECT_EQ(list_dir(dir), std::vector<std::string>{"x.npy"});
  EXPECT_TRUE(torch::equal(deepsc::data::load_npy(path), torch::zeros({3})));
}

TEST(NpyTensor, FailedWriteThrowsAndLeavesNothing) {
  const fs::path dir = fresh_npy_dir("failed");
  const fs::path missing = dir / "does_not_exist";
  const std::string path = (missing / "x.npy").string();
  try {
    deepsc::data::save_npy(path, torch::ones({2}));
    FAIL() << "expected NpyError";
  } catch (const deepsc::npy::NpyError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
  }
  EXPECT_FALSE(fs::exists(missing));
  EXPECT_TRUE(list_dir(dir).empty());
}

TEST(NpyTensor, UnsupportedDtypeNamesIt) {
  try {
    deepsc::data::from_tensor(torch::ones({2}, torch::kBFloat16));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("BFloat16"), std::string::npos) << e.what();
  }
  EXPECT_THROW(deepsc::data::from_tensor(torch::ones({2}, torch::kComplexFloat)),
               std::invalid_argument);
  EXPECT_THROW(deepsc::data::from_tensor(torch::Tensor()), std::invalid_argument);
}

TEST(NpyTensor, ToTensorRejectsInconsistentArrayAndNormalizesBool) {
  deepsc::npy::Array a;
  a.dtype = deepsc::npy::DType::Float32;
  a.shape = {2, 2};
  a.data.resize(15);
  EXPECT_THROW(deepsc::data::to_tensor(a), std::invalid_argument);

  a.dtype = deepsc::npy::DType::Bool;
  a.data = {0, 1, 2, 255};
  const torch::Tensor b = deepsc::data::to_tensor(a);
  EXPECT_TRUE(torch::equal(b, torch::tensor({false, true, true, true}).reshape({2, 2})));
}

TEST(NpyTensor, NumpyOnlyDtypesBecomeTheTensorTypeThatHoldsThem) {
  deepsc::npy::Array a;
  a.shape = {3};
  // float16 bits of 1, -2 and +inf: a kHalf tensor with those values.
  a.dtype = deepsc::npy::DType::Float16;
  a.data = {0x00, 0x3c, 0x00, 0xc0, 0x00, 0x7c};
  const torch::Tensor h = deepsc::data::to_tensor(a);
  EXPECT_EQ(h.scalar_type(), torch::kHalf);
  EXPECT_TRUE(torch::equal(h.to(torch::kFloat), torch::tensor({1.0f, -2.0f, INFINITY})));
  // LibTorch has no uint16/32/64: they widen without changing a value.
  a.dtype = deepsc::npy::DType::UInt16;
  a.data = {0xff, 0xff, 0x01, 0x00, 0x00, 0x80};
  const torch::Tensor u16 = deepsc::data::to_tensor(a);
  EXPECT_EQ(u16.scalar_type(), torch::kInt);
  EXPECT_TRUE(torch::equal(u16, torch::tensor({65535, 1, 32768}, torch::kInt)));
  a.dtype = deepsc::npy::DType::UInt32;
  a.data = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 7, 0, 0, 0};
  EXPECT_TRUE(torch::equal(deepsc::data::to_tensor(a), torch::tensor(std::vector<int64_t>{4294967295LL, 0, 7}, torch::kLong)));
  a.dtype = deepsc::npy::DType::UInt64;
  a.shape = {1};
  a.data = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
  EXPECT_EQ(deepsc::data::to_tensor(a).item<int64_t>(), INT64_MAX);
  a.data = {0, 0, 0, 0, 0, 0, 0, 0x80};  // 2^63: no int64 holds it
  try {
    deepsc::data::to_tensor(a);
    FAIL() << "2^63 accepted as int64";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("9223372036854775808"), std::string::npos) << e.what();
  }
}

TEST(NpyTensor, LoadFloatingConvertsEverythingButFloat64ToFloat32) {
  const fs::path dir = fresh_npy_dir("floating");
  const auto values = torch::tensor({{0.0, 1.0, 3.0}, {1.0, 0.0, 2.0}}, torch::kDouble);
  for (const auto t : {torch::kHalf, torch::kFloat, torch::kDouble, torch::kChar, torch::kShort, torch::kInt,
                       torch::kLong, torch::kByte, torch::kBool}) {
    SCOPED_TRACE(c10::toString(t));
    const std::string path = (dir / (std::string(c10::toString(t)) + ".npy")).string();
    const torch::Tensor x = values.to(t);
    deepsc::data::save_npy(path, x);
    const torch::Tensor back = deepsc::data::load_npy_floating(path);
    EXPECT_EQ(back.scalar_type(), t == torch::kDouble ? torch::kDouble : torch::kFloat);
    EXPECT_EQ(back.sizes(), values.sizes());
    EXPECT_TRUE(torch::equal(back, x.to(back.scalar_type())));
  }
}

TEST(NpyTensor, LoadNpyErrorNamesPath) {
  const fs::path dir = fresh_npy_dir("load_error");
  const std::string path = (dir / "missing.npy").string();
  try {
    deepsc::data::load_npy(path);
    FAIL();
  } catch (const deepsc::npy::NpyError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
  }
}

TEST(IdxTensor, LoadIdxGivesDtypeAndShape) {
  const fs::path dir = fresh_npy_dir("idx");
  // 2 float32 values, big-endian, shape [1, 2].
  const std::vector<uint8_t> bytes = {0, 0, 0x0D, 2, 0, 0, 0, 1, 0,    0,    0,   2,
                                      0x3f, 0xc0, 0, 0, 0xc0, 0x50, 0, 0};
  const std::string path = (dir / "f.idx").string();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    std::fclose(f);
  }
  const torch::Tensor t = deepsc::data::load_idx(path);
  EXPECT_EQ(t.scalar_type(), torch::kFloat);
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(torch::equal(t, torch::tensor({1.5f, -3.25f}).reshape({1, 2})));
  EXPECT_THROW(deepsc::data::load_idx((dir / "missing.idx").string()), deepsc::idx::IdxError);
}
