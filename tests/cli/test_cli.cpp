// End-to-end tests of the command line, run in-process through deepsc::cli::run.
#include "cli.h"

#include "deepsc/data/npy_tensor.h"
#include "deepsc/nn/registry.h"
#include "deepsc/viz/image_grid.h"

#include "support/random_problems.h"
#include "support/cli_runner.h"
#include "support/scratch_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using deepsc::data::load_npy;
using deepsc::data::save_npy;

namespace {

using deepsc::testing::Outcome;
using deepsc::testing::run;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepsc::testing::test_dir("cli_");
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  /// Writes D [16, 48] (unit norm) and Y [10, 16] with sparse structure, in the given dtype.
  void write_problem(torch::Dtype dtype) {
    torch::manual_seed(5);
    auto d = deepsc::testing::gaussian_dictionary(16, 48);
    auto x = deepsc::testing::random_sparse_codes(10, 48, 3);
    save_npy(path("D.npy"), d.to(dtype));
    save_npy(path("Y.npy"), x.mm(d.t()).to(dtype));
  }
  fs::path dir_;
};

}  // namespace

TEST_F(Cli, EncodeWithEverySolverKeepsShapeAndDtype) {
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    write_problem(dtype);
    for (std::string solver : {"threshold", "ista", "fista", "cd", "omp"}) {
      fs::remove(path("X.npy"));
      const auto start = std::chrono::steady_clock::now();
      auto r = run({"encode", "--dict", path("D.npy"), "--signals", path("Y.npy"), "--solver", solver, "--out",
                    path("X.npy"), "--sparsity", "3", "--lambda", "0.05", "--max-iter", "100000", "--json", "--threads", "1"});
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ASSERT_EQ(r.code, 0) << solver << ": " << r.err;
      auto x = load_npy(path("X.npy"));
      EXPECT_EQ(x.sizes(), (std::vector<int64_t>{10, 48})) << solver;
      EXPECT_EQ(x.scalar_type(), dtype) << solver;
      auto j = nlohmann::json::parse(r.out);
      EXPECT_EQ(j["solver"], solver);
      EXPECT_TRUE(j["converged"].get<bool>()) << solver;
      // The solve's own time: positive, and part of the command's wall time (which also loads and writes).
      EXPECT_GT(j["seconds"].get<double>(), 0) << solver;
      EXPECT_LT(j["seconds"].get<double>(), wall) << solver;
      // The reported objective is the one of the written codes.
      if (solver == "fista" || solver == "ista" || solver == "cd") {
        auto d = load_npy(path("D.npy")).to(torch::kDouble), y = load_npy(path("Y.npy")).to(torch::kDouble);
        auto xd = x.to(torch::kDouble);
        double f = (0.5 * (y - xd.mm(d.t())).square().sum(1) + 0.05 * xd.abs().sum(1)).mean().item<double>();
        EXPECT_NEAR(j["objective"].get<double>(), f, 1e-5 * f) << solver;
      }
    }
  }
  // Without --solver: "auto", reported as the solver that ran (coordinate descent for --dict on CPU).
  auto r = run({"encode", "--dict", path("D.npy"), "--signals", path("Y.npy"), "--out", path("X.npy"), "--json",
                "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["solver"], "cd");
  r = run({"encode", "--dict", path("D.npy"), "--signals", path("Y.npy"), "--out", path("X.npy"), "--iters", "5",
           "--json", "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["solver"], "fista");
}

TEST_F(Cli, OmpRecoversTheSupportFromFiles) {
  torch::manual_seed(6);
  auto d = deepsc::testing::identity_hadamard(32);
  auto x = deepsc::testing::random_sparse_codes(50, 64, 2);
  save_npy(path("D.npy"), d);
  save_npy(path("Y.npy"), x.mm(d.t()));
  auto r = run({"encode", "--dict", path("D.npy"), "--signals", path("Y.npy"), "--solver", "omp", "--sparsity", "2",
                "--out", path("X.npy")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(torch::allclose(load_npy(path("X.npy")), x, 1e-9, 1e-9));
}

TEST_F(Cli, CoherenceReportsMuAndBound) {
  save_npy(path("D.npy"), deepsc::testing::identity_hadamard(64));
  auto r = run({"coherence", "--dict", path("D.npy"), "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["mu"].get<double>(), 0.125, 1e-12);
  EXPECT_NEAR(j["bound"].get<double>(), 4.5, 1e-9);
  EXPECT_EQ(j["max_guaranteed_nonzeros"].get<int64_t>(), 4);
  auto text = run({"coherence", "--dict", path("D.npy")});
  EXPECT_NE(text.out.find("mu(D) = 0.125"), std::string::npos) << text.out;
}

TEST_F(Cli, BadInputsGiveOneLineErrorsAndNoOutputFile) {
  write_problem(torch::kFloat);
  save_npy(path("Y64.npy"), load_npy(path("Y.npy")).to(torch::kDouble));
  save_npy(path("Ywide.npy"), torch::zeros({3, 17}));
  save_npy(path("vec.npy"), torch::zeros({16}));
  { std::ofstream(path("junk.npy")) << "this is not an npy file"; }
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--signals", path("Y64.npy")}, "float32"},
      {{"--signals", path("Ywide.npy")}, "length"},
      {{"--signals", path("vec.npy")}, "rank"},
      {{"--signals", path("junk.npy")}, "junk.npy"},
      {{"--signals", path("missing.npy")}, "missing.npy"},
      {{"--signals", path("Y.npy"), "--solver", "omp"}, "--solver omp needs --sparsity K or --epsilon"},
      {{"--signals", path("Y.npy"), "--solver", "omp", "--sparsity", "2", "--nonneg"},
       "--nonneg is not available with --solver omp"},
      {{"--signals", path("Y.npy"), "--solver", "threshold", "--iters", "2"}, "--iters applies to --solver ista or fista"},
      {{"--signals", path("Y.npy"), "--solver", "magic"}, "magic"},
      {{"--signals", path("Y.npy"), "--lambda", "-1"}, "lambda"},
      {{"--signals", path("Y.npy"), "--device", "tpu"}, "tpu"},
  };
  for (const auto& [extra, needle] : cases) {
    std::vector<std::string> args{"encode", "--dict", path("D.npy"), "--out", path("X.npy")};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run(args);
    EXPECT_NE(r.code, 0) << needle;
    EXPECT_TRUE(deepsc::testing::one_line(r.err)) << "not one line: " << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.err;
    EXPECT_FALSE(fs::exists(path("X.npy"))) << needle;
  }
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
}

TEST_F(Cli, ConvolutionalEncodeWritesCodeMapsOfTheRightShape) {
  torch::manual_seed(7);
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    auto w = torch::randn({6, 2, 3, 3}, torch::kDouble);
    w = w / w.reshape({6, -1}).norm(2, {1}).view({6, 1, 1, 1});
    auto y = torch::randn({3, 2, 12, 12}, torch::kDouble);
    save_npy(path("W.npy"), w.to(dtype));
    save_npy(path("I.npy"), y.to(dtype));
    for (std::string solver : {"threshold", "ista", "fista"}) {
      // Stride 2 with padding 1 on even sizes needs output padding 1, found by the command.
      auto r = run({"encode", "--conv-dict", path("W.npy"), "--signals", path("I.npy"), "--out", path("C.npy"),
                    "--solver", solver, "--stride", "2", "--padding", "1", "--lambda", "0.2", "--max-iter", "100000",
                    "--tol", "1e-6", "--json", "--threads", "1"});
      ASSERT_EQ(r.code, 0) << solver << ": " << r.err;
      auto c = load_npy(path("C.npy"));
      EXPECT_EQ(c.sizes(), (std::vector<int64_t>{3, 6, 6, 6})) << solver;
      EXPECT_EQ(c.scalar_type(), dtype);
      auto j = nlohmann::json::parse(r.out);
      EXPECT_EQ(j["output_padding"].get<int64_t>(), 1);
      EXPECT_EQ(j["code_shape"], (std::vector<int64_t>{3, 6, 6, 6}));
      if (solver == "threshold") continue;
      EXPECT_TRUE(j["converged"].get<bool>()) << solver << " " << r.out;
      // The reported objective is that of the written codes, with the stride-2 synthesis.
      auto cd = c.to(torch::kDouble);
      auto fit = y - torch::conv_transpose2d(cd, w, {}, 2, 1, 1);
      const double f = (0.5 * fit.square().sum() / 3 + 0.2 * cd.abs().sum() / 3).item<double>();
      EXPECT_NEAR(j["objective"].get<double>(), f, 1e-5 * f) << solver;
    }
  }
  // FFT-domain ADMM (stride 1) solves the same problem as FISTA: same objective.
  std::map<std::string, double> objective;
  for (std::string solver : {"fista", "admm"}) {
    auto r = run({"encode", "--conv-dict", path("W.npy"), "--signals", path("I.npy"), "--out", path("C.npy"), "--solver",
                  solver, "--padding", "1", "--lambda", "0.2", "--tol", "1e-7", "--max-iter", "100000", "--json"});
    ASSERT_EQ(r.code, 0) << solver << ": " << r.err;
    objective[solver] = nlohmann::json::parse(r.out)["objective"].get<double>();
  }
  EXPECT_NEAR(objective["admm"], objective["fista"], 1e-5 * objective["fista"]);
  auto strided = run({"encode", "--conv-dict", path("W.npy"), "--signals", path("I.npy"), "--out", path("C.npy"),
                      "--solver", "admm", "--stride", "2", "--padding", "1"});
  EXPECT_NE(strided.code, 0);
  EXPECT_NE(strided.err.find("--solver admm needs --stride 1"), std::string::npos) << strided.err;
  EXPECT_NE(strided.err.find("use threshold, ista or fista"), std::string::npos) << strided.err;
  // --iters 2 from zero codes is exactly two ISTA steps X1 = S(ηDᵀY), X2 = S(X1 + ηDᵀ(Y − DX1)),
  // S the soft threshold at λη, with the step η = 1/L the command reports.
  auto r = run({"encode", "--conv-dict", path("W.npy"), "--signals", path("I.npy"), "--out", path("C.npy"),
                "--solver", "ista", "--iters", "2", "--lambda", "0.05", "--padding", "1", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["iterations"].get<int64_t>(), 2);
  ASSERT_TRUE(j.contains("step") && j.contains("lipschitz")) << r.out;
  const double eta = j["step"].get<double>(), lipschitz = j["lipschitz"].get<double>();
  EXPECT_DOUBLE_EQ(eta, 1 / lipschitz);
  const auto w = load_npy(path("W.npy")), y = load_npy(path("I.npy"));  // float64, the last dtype above
  ASSERT_EQ(w.scalar_type(), torch::kDouble);
  auto synth = [&](const torch::Tensor& x) { return torch::conv_transpose2d(x, w, {}, 1, 1); };  // D X
  auto analyse = [&](const torch::Tensor& v) { return torch::conv2d(v, w, {}, 1, 1); };           // Dᵀ V
  // L = ‖DᵀD‖₂, checked by a power iteration of the test's own.
  auto v = torch::randn({1, 6, 12, 12}, torch::kDouble);
  double l = 0;
  for (int i = 0; i < 300; ++i) {
    auto u = analyse(synth(v));
    l = u.norm().item<double>() / v.norm().item<double>();
    v = u / u.norm();
  }
  EXPECT_NEAR(lipschitz, l, 1e-6 * l);
  auto shrink = [&](const torch::Tensor& z) { return torch::sign(z) * torch::relu(z.abs() - 0.05 * eta); };
  auto x1 = shrink(eta * analyse(y));
  auto x2 = shrink(x1 + eta * analyse(y - synth(x1)));
  auto codes = load_npy(path("C.npy"));
  ASSERT_EQ(codes.sizes(), x2.sizes());
  EXPECT_GT((x2 != 0).sum().item<int64_t>(), 0) << "all-zero codes would prove nothing";
  EXPECT_FALSE(torch::allclose(x1, x2, 1e-6, 1e-9)) << "the second step must change the codes";
  EXPECT_TRUE(torch::allclose(codes, x2, 1e-9, 1e-12)) << (codes - x2).abs().max().item<double>();
}

TEST_F(Cli, ConvolutionalEncodeRejectsBadCombinations) {
  save_npy(path("W.npy"), torch::randn({4, 1, 3, 3}));
  save_npy(path("I.npy"), torch::randn({2, 1, 10, 10}));
  save_npy(path("Itiny.npy"), torch::randn({2, 1, 2, 2}));
  save_npy(path("I3.npy"), torch::randn({2, 3, 10, 10}));
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--conv-dict", path("W.npy"), "--signals", path("I.npy"), "--solver", "cd"}, "dense --dict"},
      {{"--conv-dict", path("W.npy"), "--signals", path("I.npy"), "--solver", "omp"}, "dense --dict"},
      {{"--conv-dict", path("W.npy"), "--signals", path("I3.npy")}, "channels"},
      {{"--conv-dict", path("W.npy"), "--signals", path("Itiny.npy")}, "smaller than one atom"},
      {{"--conv-dict", path("W.npy"), "--signals", path("I.npy"), "--solver", "fista", "--iters", "0"}, "--iters"},
      {{"--conv-dict", path("W.npy"), "--signals", path("I.npy"), "--solver", "omp", "--iters", "3"}, "--iters"},
      {{"--dict", path("W.npy"), "--signals", path("I.npy"), "--stride", "2"}, "--conv-dict"},
      {{"--dict", path("W.npy"), "--conv-dict", path("W.npy"), "--signals", path("I.npy")}, "excludes"},
      {{"--signals", path("I.npy")}, "--conv-dict"},
      {{"--dict", path("W.npy"), "--signals", path("I.npy"), "--solver", "admm"}, "--conv-dict"},
  };
  for (const auto& [extra, needle] : cases) {
    std::vector<std::string> args{"encode", "--out", path("C.npy")};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = run(args);
    EXPECT_NE(r.code, 0) << needle;
    EXPECT_TRUE(deepsc::testing::one_line(r.err)) << "not one line: " << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "expected '" << needle << "' in: " << r.err;
    EXPECT_FALSE(fs::exists(path("C.npy"))) << needle;
  }
}

TEST_F(Cli, LearnConvDictWritesAtomsEachEpochAndResumes) {
  torch::manual_seed(8);
  fs::create_directories(path("imgs"));
  for (int i = 0; i < 2; ++i) {
    // Stripes and blobs with noise: enough structure to learn from, in [0, 1].
    auto grid = torch::arange(40, torch::kFloat);
    auto img = 0.5 + 0.3 * torch::sin(grid.view({40, 1}) * (0.5 + i)) * torch::cos(grid.view({1, 40}) * 0.3) +
               0.05 * torch::randn({40, 40});
    deepsc::viz::write_png(path("imgs/img" + std::to_string(i) + ".png"), img.clamp(0, 1).unsqueeze(0));
  }
  { std::ofstream(path("imgs/notes.txt")) << "ignored"; }
  auto r = run({"learn-conv-dict", "--images", path("imgs"), "--out", path("W.npy"), "--png", path("W.png"), "--atoms",
                "6", "--kernel", "5", "--epochs", "2", "--crop", "24", "--crops-per-image", "2", "--json", "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto w = load_npy(path("W.npy"));
  EXPECT_EQ(w.sizes(), (std::vector<int64_t>{6, 1, 5, 5}));
  EXPECT_LE(w.reshape({6, -1}).norm(2, {1}).max().item<double>(), 1 + 1e-6);
  EXPECT_TRUE(fs::exists(path("W.png")));
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["crops"].get<int64_t>(), 4);
  EXPECT_EQ(j["objective"].size(), 2u);
  // --resume continues from the saved atoms: its first epoch starts where the last one ended.
  auto again = run({"learn-conv-dict", "--images", path("imgs"), "--out", path("W.npy"), "--atoms", "6", "--kernel",
                    "5", "--epochs", "1", "--crop", "24", "--crops-per-image", "2", "--resume", "--json"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.err.find("resuming"), std::string::npos);
  EXPECT_LT(nlohmann::json::parse(again.out)["objective"][0].get<double>(), j["objective"][0].get<double>());
  // Bad inputs: one line that names the problem, non-zero exit.
  const std::vector<std::pair<std::vector<std::string>, std::string>> bad_cases = {
      {{"learn-conv-dict", "--images", path("nowhere"), "--out", path("X.npy")}, "not a directory"},
      {{"learn-conv-dict", "--images", path("imgs"), "--out", path("X.npy"), "--crop", "100"}, "--crop"},
      {{"learn-conv-dict", "--images", path("imgs"), "--out", path("no/such/dir/X.npy")}, "no/such/dir"}};
  for (const auto& [args, needle] : bad_cases) {
    auto bad = run(args);
    EXPECT_NE(bad.code, 0) << needle;
    EXPECT_TRUE(deepsc::testing::one_line(bad.err)) << "not one line: " << bad.err;
    EXPECT_NE(bad.err.find(needle), std::string::npos) << "expected '" << needle << "' in: " << bad.err;
    EXPECT_FALSE(fs::exists(path("X.npy"))) << needle;
  }
}

TEST_F(Cli, HelpVersionAndUsageErrors) {
  auto help = run({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("encode"), std::string::npos);
  auto sub = run({"encode", "--help"});
  EXPECT_EQ(sub.code, 0);
  EXPECT_NE(sub.out.find("--solver"), std::string::npos);
  EXPECT_NE(sub.out.find("--threads"), std::string::npos);
  auto version = run({"--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_NE(version.out.find(deepsc::version()), std::string::npos);
  auto none = run({});
  EXPECT_NE(none.code, 0);
  EXPECT_TRUE(deepsc::testing::one_line(none.err)) << none.err;
  EXPECT_NE(none.err.find("subcommand is required"), std::string::npos) << none.err;
  auto unknown = run({"encode", "--bogus"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_TRUE(deepsc::testing::one_line(unknown.err)) << unknown.err;
  EXPECT_NE(unknown.err.find("--signals is required"), std::string::npos) << unknown.err;  // checked first
  write_problem(torch::kFloat);
  auto extra = run({"encode", "--dict", path("D.npy"), "--signals", path("Y.npy"), "--out", path("X.npy"), "--bogus"});
  EXPECT_EQ(extra.code, 2);
  EXPECT_TRUE(deepsc::testing::one_line(extra.err)) << extra.err;
  EXPECT_NE(extra.err.find("not expected: --bogus"), std::string::npos) << extra.err;
  EXPECT_FALSE(fs::exists(path("X.npy")));
}

TEST_F(Cli, ThreadsOptionIsApplied) {
  write_problem(torch::kFloat);
  auto r = run({"encode", "--dict", path("D.npy"), "--signals", path("Y.npy"), "--out", path("X.npy"), "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(torch::get_num_threads(), 1);
}

TEST_F(Cli, BenchmarkTrainRunsEveryRegisteredNetworkAndTakesModelOptions) {
  for (const auto& name : deepsc::nn::model_names()) {
    std::vector<std::string> args{"benchmark", "train", "--model", name, "--input", "1x28x28", "--batch", "2",
                                  "--steps", "1", "--warmup", "0", "--width", "0.25", "--threads", "2", "--json"};
    if (name == "ml-ista" || name == "msd-csc" || name == "res-csc") {
      args.insert(args.end(), {"--set", "model.unfoldings=1"});
    }
    const auto r = run(args);
    ASSERT_EQ(r.code, 0) << name << ": " << r.err;
    const auto line = nlohmann::json::parse(r.out);
    EXPECT_EQ(line["model"], name);
    EXPECT_GT(line["images_per_second"].get<double>(), 0) << name;
    EXPECT_GT(line["parameters"].get<int64_t>(), 0) << name;
  }
  // Model options reach the network; a network refuses one it does not use; only model keys apply.
  const auto unused = run({"benchmark", "train", "--model", "resnet18", "--input", "1x28x28", "--batch", "2", "--steps",
                           "1", "--set", "model.unfoldings=2"});
  EXPECT_EQ(unused.code, 1);
  EXPECT_TRUE(deepsc::testing::one_line(unused.err)) << unused.err;
  EXPECT_NE(unused.err.find("does not use the option unfoldings"), std::string::npos) << unused.err;
  const auto other = run({"benchmark", "train", "--model", "ml-ista", "--set", "train.lr=1"});
  EXPECT_NE(other.code, 0);
  EXPECT_NE(other.err.find("only model.<key>=<value>"), std::string::npos) << other.err;
}
