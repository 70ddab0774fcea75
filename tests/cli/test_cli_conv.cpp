// End-to-end tests of `deepsc conv-matrix`, run in-process through deepsc::cli::run.
#include "cli.h"

#include "deepsc/data/npy_tensor.h"

#include "support/cli_runner.h"
#include "support/scratch_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using deepsc::data::load_npy;
using deepsc::data::save_npy;

namespace {

using deepsc::testing::Outcome;
using deepsc::testing::run;

class CliConv : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepsc::testing::test_dir("cli_conv_");
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

/// A float64 tensor from a list of numbers (torch::tensor wants one literal type).
torch::Tensor doubles(std::vector<double> values) { return torch::tensor(values, torch::kDouble); }

}  // namespace

TEST_F(CliConv, SeedFiguresAsFilesAndText) {
  // np.array([[1, 2], [3, 4]]) is int64 in NumPy: accepted, computed in float64.
  save_npy(path("K.npy"), torch::tensor({1, 2, 3, 4}, torch::kLong).view({2, 2}));
  auto r = run({"conv-matrix", "--kernel", path("K.npy"), "--input-size", "4x4", "--out", path("M.npy")});
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = load_npy(path("M.npy"));
  ASSERT_EQ(m.sizes(), (std::vector<int64_t>{9, 16}));
  EXPECT_EQ(m.scalar_type(), torch::kDouble);
  EXPECT_NE(r.out.find("A [9, 16]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 2 0 0 3 4 0 0 0 0 0 0 0 0 0 0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 0 0 0 0 0 0 0 0 0 1 2 0 0 3 4\n"), std::string::npos) << r.out;

  r = run({"conv-matrix", "--kernel", path("K.npy"), "--input-size", "4x4", "--dilation", "2", "--out", path("M2.npy")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(load_npy(path("M2.npy")).sizes(), (std::vector<int64_t>{4, 16}));
  EXPECT_NE(r.out.find("1 0 2 0 0 0 0 0 3 0 4 0 0 0 0 0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 0 0 0 0 1 0 2 0 0 0 0 0 3 0 4\n"), std::string::npos) << r.out;
}

TEST_F(CliConv, MultiChannelStridedMatrixIsTheConvolution) {
  torch::manual_seed(7);
  auto k = torch::randn({3, 2, 3, 3});
  save_npy(path("K.npy"), k);
  auto r = run({"conv-matrix", "--kernel", path("K.npy"), "--input-size", "9x7", "--stride", "2", "--padding", "1",
                "--out", path("M.npy"), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["rows"].get<int64_t>(), 3 * 5 * 4);
  EXPECT_EQ(j["cols"].get<int64_t>(), 2 * 9 * 7);
  EXPECT_EQ(j["output_size"], (std::vector<int64_t>{5, 4}));
  auto m = load_npy(path("M.npy"));
  EXPECT_EQ(m.scalar_type(), torch::kFloat);
  auto x = torch::randn({2, 2, 9, 7});
  auto conv = torch::conv2d(x, k, {}, 2, 1);
  EXPECT_TRUE(torch::allclose(x.flatten(1).mm(m.t()), conv.flatten(1), 1e-4, 1e-5));
  // Large matrices print only the summary unless asked.
  auto text = run({"conv-matrix", "--kernel", path("K.npy"), "--input-size", "9x7", "--stride", "2", "--padding", "1",
                   "--out", path("M.npy")});
  EXPECT_EQ(std::count(text.out.begin(), text.out.end(), '\n'), 1) << text.out;
  auto printed = run({"conv-matrix", "--kernel", path("K.npy"), "--input-size", "9x7", "--stride", "2", "--padding", "1",
                      "--out", path("M.npy"), "--print"});
  EXPECT_EQ(std::count(printed.out.begin(), printed.out.end(), '\n'), 1 + 60) << printed.out;
}

TEST_F(CliConv, OneDimensionalKernel) {
  save_npy(path("K.npy"), doubles({1, -1}));
  auto r = run({"conv-matrix", "--kernel", path("K.npy"), "--input-size", "4", "--out", path("M.npy")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(torch::equal(load_npy(path("M.npy")),
                           doubles({1, -1, 0, 0, 0, 1, -1, 0, 0, 0, 1, -1}).view({3, 4})));
}

TEST_F(CliConv, BadInputsGiveOneLineErrorsAndNoOutputFile) {
  save_npy(path("K.npy"), torch::ones({2, 2}));
  save_npy(path("K5.npy"), torch::ones({1, 1, 1, 2, 2}));
  save_npy(path("Kbool.npy"), torch::ones({2, 2}, torch::kBool));
  save_npy(path("Knan.npy"), torch::full({2, 2}, NAN));
  { std::ofstream(path("junk.npy")) << "not an npy file"; }
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--kernel", path("K.npy"), "--input-size", "4x"}, "--input-size"},
      {{"--kernel", path("K.npy"), "--input-size", "1x4"}, "smaller than the kernel"},
      {{"--kernel", path("K.npy"), "--input-size", "0x4"}, "positive"},
      {{"--kernel", path("K.npy"), "--input-size", "4"}, "{H, W}"},
      {{"--kernel", path("K.npy"), "--input-size", "4x4", "--dilation", "4"}, "span"},
      {{"--kernel", path("K.npy"), "--input-size", "4x4", "--stride", "0"}, "--stride"},
      {{"--kernel", path("K5.npy"), "--input-size", "4x4"}, "kernel must be"},
      {{"--kernel", path("Kbool.npy"), "--input-size", "4x4"}, "bool"},
      {{"--kernel", path("Knan.npy"), "--input-size", "4x4"}, "NaN"},
      {{"--kernel", path("junk.npy"), "--input-size", "4x4"}, "junk.npy"},
      {{"--kernel", path("missing.npy"), "--input-size", "4x4"}, "missing.npy"},
      {{"--kernel", path("K.npy"), "--input-size", "4x4", "--device", "tpu"}, "tpu"},
  };
  for (const auto& [extra, needle] : cases) {
    std::vector<std::string> args{"conv-matrix", "--out", path("M.npy")};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run(args);
    EXPECT_NE(r.code, 0) << needle;
    EXPECT_TRUE(deepsc::testing::one_line(r.err)) << "not one line: " << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.err;
    EXPECT_FALSE(fs::exists(path("M.npy"))) << needle;
  }
  auto no_out = run({"conv-matrix", "--kernel", path("K.npy"), "--input-size", "4x4"});
  EXPECT_EQ(no_out.code, 2);
  EXPECT_NE(no_out.err.find("--out"), std::string::npos) << no_out.err;
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  auto help = run({"conv-matrix", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--input-size"), std::string::npos);
}
