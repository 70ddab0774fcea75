// End-to-end tests of `deepsc learn-dict`, `deepsc show-dict` and `deepsc denoise`, run in-process
// through deepsc::cli::run on patches and pictures the tests make themselves.
#include "cli.h"

#include "deepsc/data/npy_tensor.h"
#include "deepsc/sparse/analytic_dictionaries.h"
#include "deepsc/viz/image_grid.h"

#include "support/cli_runner.h"
#include "support/synthetic_images.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using deepsc::data::load_npy;
using deepsc::data::save_npy;
using deepsc::testing::run;
using deepsc::viz::write_png;

namespace {

class CliDictionary : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepsc::testing::test_dir("cli_dictionary_");
    // Patches Y = X Dᵀ from a known 8 × 8 random dictionary of 24 atoms and 3-sparse codes.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
    truth_ = torch::randn({64, 24}, gen, torch::kDouble);
    truth_ /= truth_.norm(2, {0}, true);
    const int64_t n = 3000;
    auto codes = torch::zeros({n, 24}, torch::kDouble);
    const auto support = torch::rand({n, 24}, gen, torch::kDouble).argsort(/*dim=*/int64_t{1}).narrow(1, 0, 3);
    codes.scatter_(1, support, torch::randn({n, 3}, gen, torch::kDouble).sign() * (1 + torch::rand({n, 3}, gen, torch::kDouble)));
    save_npy(path("Y.npy"), codes.mm(truth_.t()).to(torch::kFloat));
    // A folder with two grey pictures for the --images path.
    fs::create_directories(dir_ / "pictures");
    write_png(path("pictures/a.png"), deepsc::testing::synthetic_picture(64)[0].to(torch::kFloat));
    write_png(path("pictures/b.png"), deepsc::testing::synthetic_picture(48)[0].to(torch::kFloat).flip({2}));
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
  torch::Tensor truth_;  // [64, 24]
};

/// The fraction of true atoms that some learned atom matches with |⟨d, d_true⟩| > 0.99.
double recovered(const torch::Tensor& learned, const torch::Tensor& truth) {
  const auto overlap = learned.to(torch::kDouble).t().mm(truth).abs();  // [m, m_true]
  return (std::get<0>(overlap.max(0)) > 0.99).to(torch::kDouble).mean().item<double>();
}

}  // namespace

TEST_F(CliDictionary, LearnDictKsvdOnPatchesRecoversTheDictionaryAndReportsTheObjective) {
  auto r = run({"learn-dict", "--patches", path("Y.npy"), "--algo", "ksvd", "--atoms", "24", "--sparsity", "3",
                "--iterations", "30", "--out", path("D.npy"), "--png", path("atoms.png"), "--json", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto d = load_npy(path("D.npy"));
  ASSERT_EQ(d.sizes(), (std::vector<int64_t>{64, 24}));
  EXPECT_TRUE(torch::allclose(d.norm(2, {0}), torch::ones({24}), 1e-4, 1e-4));
  EXPECT_GE(recovered(d, truth_), 0.9);
  EXPECT_TRUE(fs::exists(path("atoms.png")));
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["algo"], "ksvd");
  EXPECT_EQ(j["patch"], 8);
  EXPECT_EQ(j["training_patches"].get<int64_t>() + j["holdout_patches"].get<int64_t>(), 3000);
  const auto& history = j["history"];
  ASSERT_EQ(history.size(), 30u);
  EXPECT_LT(history.back()["objective"].get<double>(), 0.1 * history.front()["objective"].get<double>());
  EXPECT_TRUE(j.contains("holdout_objective"));
  EXPECT_TRUE(j["statistics"].contains("random"));
}

// Rows of any length (here 20: signals of 3 atoms of a random 20 × 50 dictionary, the synthetic
// experiment of Aharon et al. 2006): learned like patches, without a picture or atom statistics.
TEST_F(CliDictionary, LearnDictAcceptsRowsOfAnyLength) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  auto truth = torch::randn({20, 50}, gen, torch::kDouble);
  truth /= truth.norm(2, {0}, true);
  const auto support = torch::rand({1500, 50}, gen, torch::kDouble).argsort(int64_t{1}).narrow(1, 0, 3);
  const auto codes = torch::zeros({1500, 50}, torch::kDouble).scatter_(1, support, torch::rand({1500, 3}, gen, torch::kDouble) * 2 - 1);
  save_npy(path("signals20.npy"), codes.mm(truth.t()));
  auto r = run({"learn-dict", "--patches", path("signals20.npy"), "--algo", "ksvd", "--atoms", "50", "--sparsity", "3",
                "--iterations", "80", "--holdout-fraction", "0", "--out", path("D20.npy"), "--json", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto d = load_npy(path("D20.npy"));
  ASSERT_EQ(d.sizes(), (std::vector<int64_t>{20, 50}));
  EXPECT_GE(recovered(d, truth), 0.9);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["patch"].is_null());
  EXPECT_EQ(j["dimension"], 20);
  EXPECT_FALSE(j.contains("statistics"));
  EXPECT_GT(j["swapped_atoms"].get<int64_t>(), 0);
  ASSERT_TRUE(j.contains("restarted_atoms"));
  int64_t kept = 0;
  for (const auto& row : j["history"]) kept += row.value("restart_outcome", "") == "kept";
  EXPECT_EQ(j["restarted_atoms"].get<int64_t>(), kept);
  auto text = run({"learn-dict", "--patches", path("signals20.npy"), "--algo", "mod", "--atoms", "50", "--sparsity", "3",
                   "--iterations", "5", "--out", path("D20mod.npy"), "--no-atom-swaps", "--threads", "2"});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("50 atoms of length 20"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("atom swaps"), std::string::npos) << text.out;
}

TEST_F(CliDictionary, LearnDictResumedRunEndsWhereAnUninterruptedOneDoes) {
  const std::vector<std::string> common = {"learn-dict", "--patches", path("Y.npy"), "--algo", "online", "--atoms", "24",
                                           "--lambda", "0.1", "--batch", "64", "--threads", "2"};
  auto with = [&](std::vector<std::string> extra) {
    auto args = common;
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  };
  ASSERT_EQ(with({"--iterations", "40", "--out", path("whole.npy")}).code, 0);
  auto first = with({"--iterations", "20", "--checkpoint", path("state.pt"), "--checkpoint-every", "5", "--out", path("half.npy")});
  ASSERT_EQ(first.code, 0) << first.err;
  ASSERT_TRUE(fs::exists(path("state.pt")));
  auto second = with({"--iterations", "40", "--checkpoint", path("state.pt"), "--resume", "--out", path("resumed.npy")});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.out.find("resuming"), std::string::npos) << second.out;
  EXPECT_TRUE(torch::equal(load_npy(path("resumed.npy")), load_npy(path("whole.npy"))));
  EXPECT_FALSE(torch::equal(load_npy(path("half.npy")), load_npy(path("whole.npy"))));
}

TEST_F(CliDictionary, LearnDictFromPicturesWritesPatchesAndAtoms) {
  for (const std::string whiten : {"of", "zca", "none"}) {
    auto r = run({"learn-dict", "--images", path("pictures"), "--patch", "6", "--samples", "2000", "--whiten", whiten,
                  "--algo", "olshausen-field", "--atoms", "16", "--lambda", "0.1", "--iterations", "30", "--out",
                  path("D.npy"), "--save-patches", path("P.npy"), "--save-holdout", path("H.npy"), "--json",
                  "--threads", "2", "--seed", "5"});
    ASSERT_EQ(r.code, 0) << whiten << ": " << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["whitening"], whiten);
    const auto patches = load_npy(path("P.npy")), held = load_npy(path("H.npy"));
    EXPECT_EQ(patches.size(0), 1800);
    EXPECT_EQ(held.size(0), 200);
    EXPECT_EQ(patches.size(1), 36);
    // DC removed from every patch, one global scale: the mean patch norm is 1.
    EXPECT_LT(patches.mean(1).abs().max().item<double>(), 1e-4);
    EXPECT_NEAR(patches.norm(2, {1}).mean().item<double>(), 1.0, 1e-4);
    EXPECT_EQ(load_npy(path("D.npy")).sizes(), (std::vector<int64_t>{36, 16}));
  }
}

TEST_F(CliDictionary, ShowDictDrawsDenseAndConvolutionalDictionaries) {
  save_npy(path("dct.npy"), deepsc::sparse::overcomplete_dct(8, 16));
  auto r = run({"show-dict", "--dict", path("dct.npy"), "--png", path("dct.png"), "--scale", "2", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  // 256 atoms of 8 × 8 in a 16 × 16 grid, each pixel 2 × 2, 1-pixel gaps.
  const auto png = deepsc::viz::read_png(path("dct.png"));
  EXPECT_EQ(png.size(1), 1 + 16 * (16 + 1));
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["atoms"], 256);
  EXPECT_GT(j["statistics"]["learned"]["oriented_band_pass"].get<double>(), j["statistics"]["random"]["oriented_band_pass"].get<double>());
  save_npy(path("W.npy"), torch::randn({6, 3, 5, 5}));
  r = run({"show-dict", "--dict", path("W.npy"), "--png", path("W.png")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(deepsc::viz::read_png(path("W.png")).size(0), 3);
}

TEST_F(CliDictionary, DenoiseWithDctAndWithKsvdLearnedOnTheNoisyPicture) {
  write_png(path("clean.png"), deepsc::testing::synthetic_picture(64)[0].to(torch::kFloat));
  auto dct = run({"denoise", "--image", path("clean.png"), "--sigma", "25", "--add-noise", "--dict", "dct", "--out",
                  path("dct.png"), "--json", "--threads", "2"});
  ASSERT_EQ(dct.code, 0) << dct.err;
  const auto jd = nlohmann::json::parse(dct.out);
  EXPECT_NEAR(jd["noisy"]["psnr"].get<double>(), 20.2, 0.5);
  EXPECT_GT(jd["denoised"]["psnr"].get<double>(), jd["noisy"]["psnr"].get<double>() + 5);
  EXPECT_EQ(jd["atoms"], 256);
  auto learned = run({"denoise", "--image", path("clean.png"), "--sigma", "25", "--add-noise", "--learn-patches", "3000",
                      "--learn-iterations", "3", "--out", path("ksvd.png"), "--save-dict", path("ksvd.npy"), "--json",
                      "--threads", "2"});
  ASSERT_EQ(learned.code, 0) << learned.err;
  const auto jl = nlohmann::json::parse(learned.out);
  EXPECT_EQ(jl["learning"]["algo"], "ksvd");
  EXPECT_GE(jl["learning"]["sparsity"].get<int64_t>(), 1);
  EXPECT_EQ(jl["noisy"], jd["noisy"]);  // same seed, same noise
  // Measured: 20.23 -> 28.38 dB with K-SVD, 27.29 dB with the DCT it starts from.
  EXPECT_GT(jl["denoised"]["psnr"].get<double>(), jl["noisy"]["psnr"].get<double>() + 6.5);
  EXPECT_GT(jl["denoised"]["psnr"].get<double>(), jd["denoised"]["psnr"].get<double>() + 0.5);
  EXPECT_GT(jl["learning"]["seconds"].get<double>(), 0);
  EXPECT_EQ(load_npy(path("ksvd.npy")).sizes(), (std::vector<int64_t>{64, 256}));
}

TEST_F(CliDictionary, BadInputsGiveOneLineErrorsAndNoOutputFile) {
  { std::ofstream(path("junk.npy")) << "not an array"; }
  save_npy(path("rank3.npy"), torch::rand({4, 5, 5}));
  save_npy(path("odd.npy"), torch::rand({10, 7}));
  write_png(path("clean.png"), deepsc::testing::synthetic_picture(32)[0].to(torch::kFloat));
  const std::string out = path("result.out");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"learn-dict", "--patches", path("Y.npy"), "--algo", "online"}, "--algo online needs --lambda > 0"},
      {{"learn-dict", "--patches", path("Y.npy"), "--algo", "ksvd"}, "--algo ksvd needs --sparsity K >= 1"},
      {{"learn-dict", "--patches", path("Y.npy"), "--algo", "online", "--lambda", "0.1", "--error-bound", "0.5"}, "--error-bound applies to --algo ksvd and mod"},
      {{"learn-dict", "--patches", path("Y.npy"), "--algo", "ksvd", "--sparsity", "3", "--error-bound", "-1"}, "--error-bound: Value -1 not in range"},
      {{"learn-dict", "--patches", path("Y.npy"), "--algo", "mod", "--sparsity", "3", "--restart-passes", "-1"}, "--restart-passes: Value -1 not in range"},
      {{"learn-dict", "--patches", path("Y.npy"), "--algo", "sgd", "--lambda", "0.1"}, "unknown dictionary-learning algorithm 'sgd'"},
      {{"learn-dict", "--patches", path("junk.npy"), "--lambda", "0.1"}, "junk.npy: bad magic: not a .npy file"},
      {{"learn-dict", "--patches", path("odd.npy"), "--lambda", "0.1", "--png", path("atoms.png")},
       "--png: rows of length 7 are not p x p image patches"},
      {{"learn-dict", "--patches", path("Y.npy"), "--images", path("pictures"), "--lambda", "0.1"}, "--images excludes --patches"},
      {{"learn-dict", "--lambda", "0.1"}, "give --images DIR or --patches P.npy"},
      {{"learn-dict", "--images", path("no-such-folder"), "--lambda", "0.1"}, "no-such-folder: not a directory"},
      {{"learn-dict", "--patches", path("Y.npy"), "--lambda", "0.1", "--resume"}, "--resume needs --checkpoint FILE"},
      {{"learn-dict", "--patches", path("Y.npy"), "--lambda", "0.1", "--holdout", path("odd.npy")}, "rows of length 7 but the patches have 64"},
      {{"learn-dict", "--patches", path("Y.npy"), "--lambda", "0.1", "--save-holdout", path("H.npy"), "--holdout-fraction", "0"}, "--save-holdout: no patches are held out"},
      {{"show-dict", "--dict", path("rank3.npy")}, "expected a rank-2 or 4 array, found rank 3"},
      {{"show-dict", "--dict", path("odd.npy")}, "10-dimensional atoms are not 3 x p x p patches"},
      {{"denoise", "--image", path("clean.png"), "--sigma", "25", "--dict", path("odd.npy")}, "10-dimensional atoms are not grey p x p patches"},
      {{"denoise", "--image", path("clean.png"), "--sigma", "25", "--atoms", "200"}, "--atoms 200: the DCT start needs a square number"},
      {{"denoise", "--image", path("junk.npy"), "--sigma", "25"}, "junk.npy: not a readable image"},
      {{"denoise", "--image", path("clean.png"), "--sigma", "0"}, "--sigma: Value 0 not in range"},
  };
  for (const auto& [args, expected] : cases) {
    auto full = args;
    full.insert(full.end(), {args[0] == "show-dict" ? "--png" : "--out", out, "--threads", "1"});
    auto r = run(full);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_NE(r.code, 0) << joined;
    EXPECT_TRUE(deepsc::testing::one_line(r.err)) << joined << "-> " << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << joined << "-> " << r.err;
    EXPECT_FALSE(fs::exists(out)) << joined;
  }
  auto r = run({"learn-dict", "--patches", path("Y.npy"), "--lambda", "0.1", "--out", path("no/such/folder/D.npy")});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
}
