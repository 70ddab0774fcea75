// `deepsc mlcsc-encode` and `deepsc mlcsc-sim`, run in-process: the codes written are exactly the
// library's run_pursuit (dense, and convolutional with stride 2 on the second layer), --check prints
// the theorem table, every bad input is one line on stderr with no file written, and the simulation
// and depth study write their reports.
#include "cli.h"

#include "deepsc/data/npy_tensor.h"
#include "deepsc/mlcsc/generator.h"
#include "deepsc/mlcsc/pursuit_registry.h"

#include "support/cli_runner.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace fs = std::filesystem;

// A named namespace per test file (the tests may compile as one unity translation unit).
namespace deepsc::cli_mlcsc_tests {

using deepsc::data::load_npy;
using deepsc::data::save_npy;
using deepsc::testing::run;

/// D₁ [16, 32] = [I, H/4], D₂ [32, 16] with 2 non-zeros per atom, signals Y [12, 16] of one deepest
/// non-zero, and their true codes in true/X1.npy, true/X2.npy: Theorem 8 holds for every signal.
class MlcscCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepsc::testing::test_dir("cli_mlcsc_");
    const auto options = mlcsc::GeneratorOptions().dims({16, 32, 16}).atom_nonzeros({2}).deepest_nonzeros(1).seed(3);
    const auto model = mlcsc::random_model(options);
    truth_ = mlcsc::sample_signals(model, options, 12, 9);
    save_npy(path("D1.npy"), model.dense_layer(0)->matrix());
    save_npy(path("D2.npy"), model.dense_layer(1)->matrix());
    save_npy(path("Y.npy"), truth_.codes[0]);
    fs::create_directories(dir_ / "true");
    save_npy(path("true/X1.npy"), truth_.codes[1]);
    save_npy(path("true/X2.npy"), truth_.codes[2]);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::vector<std::string> dense(std::vector<std::string> extra) const {
    std::vector<std::string> args{"mlcsc-encode", "--dict", path("D1.npy"), "--dict", path("D2.npy"), "--signals", path("Y.npy"),
                                  "--out-dir", path("codes")};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  mlcsc::MlcscModel model() const { return mlcsc::dense_model({load_npy(path("D1.npy")), load_npy(path("D2.npy"))}); }
  fs::path dir_;
  mlcsc::SignalBatch truth_;
};

void expect_codes(const fs::path& dir, const std::vector<torch::Tensor>& expected) {
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto x = load_npy((dir / ("X" + std::to_string(i + 1) + ".npy")).string());
    ASSERT_EQ(x.sizes(), expected[i].sizes()) << "X" << i + 1;
    EXPECT_TRUE(torch::equal(x, expected[i].cpu())) << "X" << i + 1;
  }
  EXPECT_FALSE(fs::exists(dir / ("X" + std::to_string(expected.size() + 1) + ".npy")));
}

TEST_F(MlcscCli, DenseEncodingWritesTheLibrarysCodes) {
  const auto y = load_npy(path("Y.npy"));
  auto r = run(dense({"--pursuit", "thresholding", "--beta", "0.2,0.1"}));
  ASSERT_EQ(r.code, 0) << r.err;
  expect_codes(dir_ / "codes", mlcsc::run_pursuit(mlcsc::Pursuit::Thresholding, model(), y, std::vector<double>{0.2, 0.1}).codes);
  EXPECT_NE(r.out.find("X2 [12,16]"), std::string::npos) << r.out;

  r = run(dense({"--pursuit", "ml-fista", "--lambda", "0.01,0.02", "--nonneg", "--max-iter", "300", "--tol", "1e-5", "--json"}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto request = mlcsc::PursuitRequest({0.01, 0.02}).shrinkage(sparse::Shrinkage::NonNegSoft).max_iter(300).tol(1e-5);
  expect_codes(dir_ / "codes", mlcsc::run_pursuit(mlcsc::Pursuit::MlFista, model(), y, request).codes);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["layers"].size(), 2u);
  EXPECT_EQ(j["lambda"], nlohmann::json({0.01, 0.02}));
  EXPECT_FALSE(j.contains("check"));
}

TEST_F(MlcscCli, ConvolutionalEncodingWithStrideTwoOnTheSecondLayer) {
  torch::manual_seed(11);
  const auto w1 = torch::randn({4, 1, 5}, torch::kDouble), w2 = torch::randn({6, 4, 3}, torch::kDouble);
  const auto y = torch::randn({3, 1, 40}, torch::kDouble);
  save_npy(path("W1.npy"), w1);
  save_npy(path("W2.npy"), w2);
  save_npy(path("S.npy"), y);
  const auto r = run({"mlcsc-encode", "--conv-dict", path("W1.npy"), "--conv-dict", path("W2.npy"), "--signals", path("S.npy"),
                      "--stride", "1,2", "--normalize", "--pursuit", "layered-bp", "--lambda", "0.1,0.05", "--out-dir",
                      path("conv")});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<conv::ConvOptions> geometry(2);
  geometry[1].stride(2);
  const auto m = mlcsc::conv_model_for_signals({w1, w2}, geometry, y.sizes(), /*normalize=*/true);
  expect_codes(dir_ / "conv", mlcsc::run_pursuit(mlcsc::Pursuit::LayeredBp, m, y, std::vector<double>{0.1, 0.05}).codes);
  EXPECT_EQ(load_npy(path("conv/X2.npy")).size(2), (40 - 4 - 2 - 1) / 2 + 1);  // stride 2 halves the length
}

TEST_F(MlcscCli, CheckPrintsTheTheoremTable) {
  auto r = run(dense({"--pursuit", "layered-bp", "--lambda", "0,0", "--check", "--true-dir", path("true")}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("layered basis pursuit (Theorem 8)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("12/12"), std::string::npos) << r.out;

  r = run(dense({"--pursuit", "thresholding", "--beta", "0.1,0.1", "--check", "--true-dir", path("true"), "--json"}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto check = nlohmann::json::parse(r.out)["check"];
  EXPECT_EQ(check["theorem"], "layered thresholding (Theorem 7)");
  EXPECT_EQ(check["samples"], 12);
  EXPECT_TRUE(check["layers"][0].contains("beta_low"));
  EXPECT_EQ(check["layers"][0]["violations"], 0);
}

TEST_F(MlcscCli, BadInputIsOneLineAndWritesNothing) {
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  fs::create_directories(dir_ / "partial");
  save_npy(path("partial/X1.npy"), truth_.codes[1]);
  const std::vector<Case> cases{
      {{"mlcsc-encode", "--dict", path("D1.npy"), "--dict", path("D1.npy"), "--signals", path("Y.npy"), "--beta", "0.1,0.1",
        "--out-dir", path("codes")},
       "layer 2 does not take layer 1's codes"},
      {dense({"--beta", "0.1"}), "--beta has 1 value but the model has 2 layers"},
      {dense({"--pursuit", "layered-bp", "--lambda", "0.1,-1"}), "--lambda"},
      {dense({"--pursuit", "layered-bp", "--beta", "0.1,0.1"}), "--beta goes with --pursuit thresholding"},
      {dense({"--lambda", "0.1,0.1"}), "--lambda does not apply to --pursuit thresholding"},
      {dense({"--pursuit", "ml-ista", "--lambda", "0.1,0.1", "--hard"}), "--hard is for --pursuit thresholding only"},
      {dense({"--pursuit", "layered-bp"}), "needs --lambda"},
      {dense({"--pursuit", "bp", "--lambda", "0.1,0.1"}), "unknown pursuit 'bp'"},
      {dense({"--beta", "0.1,0.1", "--check"}), "--check needs --true-dir"},
      {dense({"--beta", "0.1,0.1", "--check", "--true-dir", path("partial")}), "has no X2.npy"},
      {{"mlcsc-encode", "--dict", path("missing.npy"), "--signals", path("Y.npy"), "--beta", "0.1", "--out-dir", path("codes")},
       "missing.npy"},
  };
  for (const auto& c : cases) {
    const auto r = run(c.args);
    EXPECT_NE(r.code, 0) << c.needle;
    EXPECT_TRUE(deepsc::testing::one_line(r.err)) << r.err;
    EXPECT_NE(r.err.find(c.needle), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "codes")) << c.needle;
  }
}

TEST_F(MlcscCli, SimulationAndDepthStudyWriteTheirReports) {
  const std::vector<std::string> tiny{"--dims", "16,32,16", "--trials", "8", "--noise", "0,0.05", "--ratios", "1", "--grid", "4"};
  auto args = tiny;
  args.insert(args.begin(), "mlcsc-sim");
  args.insert(args.end(), {"--out", path("sim"), "--json"});
  auto r = run(args);
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* name : {"simulation.csv", "simulation.json", "summary.md", "plot.gp"}) EXPECT_TRUE(fs::exists(dir_ / "sim" / name)) << name;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["rows"].size(), static_cast<size_t>((2 + 2 + 1) * 2 * 2));  // default pursuits, 2 noises, 2 layers
  EXPECT_EQ(j["options"]["model"]["dims"], nlohmann::json({16, 32, 16}));

  args = tiny;
  args.insert(args.begin(), "mlcsc-sim");
  args.insert(args.end(), {"--unrolled-depth", "1:5", "--out", path("depth")});
  r = run(args);
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* name : {"depth.csv", "depth-fit.csv", "depth.json", "depth.md", "depth.gp"}) EXPECT_TRUE(fs::exists(dir_ / "depth" / name)) << name;
  EXPECT_NE(r.out.find("rate c"), std::string::npos) << r.out;

  for (const auto& bad : std::vector<std::vector<std::string>>{{"mlcsc-sim", "--layers", "7", "--out", path("bad")},
                                                               {"mlcsc-sim", "--pursuits", "thresholding,x", "--out", path("bad")},
                                                               {"mlcsc-sim", "--dims", "16,32", "--conv", "--out", path("bad")}}) {
    r = run(bad);
    EXPECT_NE(r.code, 0) << bad[1];
    EXPECT_TRUE(deepsc::testing::one_line(r.err)) << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "bad")) << bad[1];
  }
}

}  // namespace deepsc::cli_mlcsc_tests
