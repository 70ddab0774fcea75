// Tests for the SVHN .mat reader (deepsc/data/svhn.h) on files written with libmatio's own
// writer: pixel layout (MATLAB column-major X [32, 32, 3, N] to [N, 3, 32, 32]), label 10 -> 0,
// and one-line errors naming the file.

#include "support/scratch_dir.h"

#include <gtest/gtest.h>
#include <matio.h>

#include <string>
#include <vector>

#include "data/format_writers.h"
#include "deepsc/data/svhn.h"

using deepsc::svhn::SvhnError;

namespace {

std::string dir_file(const std::string& name) {
  return (deepsc::testing::scratch_dir("svhn_parser") / name).string();
}

void expect_error(const std::string& path, const std::string& needle) {
  try {
    deepsc::svhn::read(path);
    ADD_FAILURE() << "expected SvhnError containing \"" << needle << "\"";
  } catch (const SvhnError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace

TEST(SvhnParser, PixelsAndLabelsDoubleY) {
  const auto images = deepsc::testing::random_bytes(4 * 3072, 11);
  const std::string path = dir_file("train_32x32.mat");
  deepsc::testing::write_svhn_mat(path, images, {1, 10, 5, 9});
  const auto d = deepsc::svhn::read(path);
  EXPECT_EQ(d.count, 4);
  EXPECT_EQ(d.images, images);
  EXPECT_EQ(d.labels, (std::vector<uint8_t>{1, 0, 5, 9}));
}

TEST(SvhnParser, Uint8Y) {
  const auto images = deepsc::testing::random_bytes(2 * 3072, 12);
  const std::string path = dir_file("u8.mat");
  deepsc::testing::write_svhn_mat(path, images, {10, 3}, "uint8");
  const auto d = deepsc::svhn::read(path);
  EXPECT_EQ(d.images, images);
  EXPECT_EQ(d.labels, (std::vector<uint8_t>{0, 3}));
}

TEST(SvhnParser, Errors) {
  const auto images = deepsc::testing::random_bytes(2 * 3072, 13);
  std::string p = dir_file("bad_label.mat");
  deepsc::testing::write_svhn_mat(p, images, {1, 11});
  expect_error(p, "label 1 is 11, expected an integer in 1..10");
  p = dir_file("zero_label.mat");
  deepsc::testing::write_svhn_mat(p, images, {0, 1});
  expect_error(p, "label 0 is 0");
  p = dir_file("no_y.mat");
  deepsc::testing::write_svhn_mat(p, images, {1, 2}, "double", false, true);
  expect_error(p, "no variable 'y'");
  p = dir_file("no_x.mat");
  deepsc::testing::write_svhn_mat(p, images, {1, 2}, "double", true, false);
  expect_error(p, "no variable 'X'");
  p = dir_file("x_double.mat");
  deepsc::testing::write_svhn_mat(p, images, {1, 2}, "double", false, false, true);
  expect_error(p, "variable 'X' must be uint8");
  p = dir_file("not_mat.mat");
  deepsc::testing::write_file(p, std::vector<uint8_t>(300, 'z'));
  expect_error(p, "not a readable MATLAB .mat file");
  expect_error(dir_file("missing.mat"), "cannot open");
}

TEST(SvhnParser, TruncatedFile) {
  const auto images = deepsc::testing::random_bytes(3 * 3072, 14);
  const std::string good = dir_file("whole.mat");
  deepsc::testing::write_svhn_mat(good, images, {1, 2, 3});
  auto bytes = deepsc::testing::read_file(good);
  const std::string cut = dir_file("cut.mat");
  bytes.resize(bytes.size() / 2);
  deepsc::testing::write_file(cut, bytes);
  expect_error(cut, "truncated file");

  // y before X, uncompressed, X cut short: libmatio itself does not notice.
  const std::string yx = dir_file("yx.mat");
  {
    std::vector<double> y = {1, 2, 3};
    std::vector<uint8_t> x(3 * 3072, 9);
    mat_t* mat = Mat_CreateVer(yx.c_str(), nullptr, MAT_FT_MAT5);
    ASSERT_NE(mat, nullptr);
    size_t dy[2] = {3, 1}, dx[4] = {32, 32, 3, 3};
    matvar_t* v = Mat_VarCreate("y", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dy, y.data(), 0);
    ASSERT_EQ(Mat_VarWrite(mat, v, MAT_COMPRESSION_NONE), 0);
    Mat_VarFree(v);
    v = Mat_VarCreate("X", MAT_C_UINT8, MAT_T_UINT8, 4, dx, x.data(), 0);
    ASSERT_EQ(Mat_VarWrite(mat, v, MAT_COMPRESSION_NONE), 0);
    Mat_VarFree(v);
    Mat_Close(mat);
  }
  EXPECT_EQ(deepsc::svhn::read(yx).count, 3);
  bytes = deepsc::testing::read_file(yx);
  bytes.resize(bytes.size() - 1000);
  deepsc::testing::write_file(cut, bytes);
  expect_error(cut, "truncated file");
}
