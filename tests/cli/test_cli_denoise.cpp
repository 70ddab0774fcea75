// End-to-end tests of `deepsc csc-denoise` and `deepsc csc-inpaint`, run in-process through
// deepsc::cli::run, on synthetic pictures the tests write themselves.
#include "cli.h"

#include "deepsc/conv/denoise.h"
#include "deepsc/conv/image_quality.h"
#include "deepsc/data/npy_tensor.h"
#include "deepsc/viz/image_grid.h"

#include "support/cli_runner.h"
#include "support/scratch_dir.h"
#include "support/synthetic_images.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;
using deepsc::data::save_npy;
using deepsc::viz::read_png;
using deepsc::viz::write_png;

namespace {

using deepsc::testing::Outcome;
using deepsc::testing::run;

/// The PSNR (dB) printed on the line of `text` that starts with `label`, as in
/// "denoised: PSNR 25.45 dB, SSIM 0.7908"; NaN when there is no such line.
double printed_psnr(const std::string& text, const std::string& label) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find("PSNR ");
    if (line.rfind(label, 0) == 0 && at != std::string::npos) return std::stod(line.substr(at + 5));
  }
  return std::nan("");
}

class CliDenoise : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepsc::testing::test_dir("cli_denoise_");
    clean_ = deepsc::testing::synthetic_picture(64).to(torch::kFloat);
    write_png(path("clean.png"), clean_[0]);
    save_npy(path("W.npy"), deepsc::conv::dct_dictionary(24, 1, 8));
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
  torch::Tensor clean_;  // [1, 1, 64, 64]
};

}  // namespace

TEST_F(CliDenoise, AddNoiseThenDenoiseReportsBetterPsnrAndSsim) {
  const auto start = std::chrono::steady_clock::now();
  auto r = run({"csc-denoise", "--image", path("clean.png"), "--sigma", "25", "--add-noise", "--seed", "3", "--dict",
                path("W.npy"), "--out", path("out.png"), "--noisy-out", path("noisy.png"), "--json", "--threads", "2"});
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(r.code, 0) << r.err;
  auto out = read_png(path("out.png"));
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, 64, 64}));
  EXPECT_EQ(read_png(path("noisy.png")).sizes(), out.sizes());
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["command"], "csc-denoise");
  EXPECT_EQ(j["sigma"].get<double>(), 25.0);
  EXPECT_NEAR(j["noisy"]["psnr"].get<double>(), 20.2, 0.5);  // σ = 25 on 0–255
  EXPECT_GT(j["denoised"]["psnr"].get<double>(), j["noisy"]["psnr"].get<double>() + 5);
  EXPECT_GT(j["denoised"]["ssim"].get<double>(), j["noisy"]["ssim"].get<double>());
  EXPECT_EQ(j["atoms"].get<int64_t>(), 24);
  EXPECT_EQ(j["dictionary"], path("W.npy"));
  // The timings are of this run: positive, the coding part of the whole, within the call's wall time.
  EXPECT_GT(j["coding_seconds"].get<double>(), 0);
  EXPECT_LE(j["coding_seconds"].get<double>(), j["seconds"].get<double>());
  EXPECT_LT(j["seconds"].get<double>(), wall);
  // The reported PSNR is the written picture's, up to its 8-bit rounding.
  auto written = out.unsqueeze(0).to(torch::kDouble);
  EXPECT_NEAR(deepsc::conv::psnr(written, clean_.to(torch::kDouble)).item<double>(), j["denoised"]["psnr"].get<double>(), 0.1);
  // The same seed gives the same noise, hence the same result.
  auto again = run({"csc-denoise", "--image", path("clean.png"), "--sigma", "25", "--add-noise", "--seed", "3", "--dict",
                    path("W.npy"), "--out", path("out2.png"), "--json", "--threads", "2"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["noisy"], j["noisy"]);
}

TEST_F(CliDenoise, RgbNoisyPictureWithCleanReferenceAndLearnedDictionary) {
  // An RGB noisy picture (the same grey in each channel) and a grey clean reference.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(4);
  auto noisy = (clean_[0] + 0.1 * torch::randn(clean_[0].sizes(), gen)).clamp(0, 1);
  write_png(path("noisy_rgb.png"), noisy.expand({3, 64, 64}).contiguous());
  auto r = run({"csc-denoise", "--image", path("noisy_rgb.png"), "--sigma", "25.5", "--clean", path("clean.png"),
                "--out", path("out.png"), "--atoms", "8", "--kernel-size", "5", "--crops", "2", "--epochs", "2",
                "--save-dict", path("learned.npy"), "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("converted to grey"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("learned from the image"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("noisy:    PSNR"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("denoised: PSNR"), std::string::npos) << r.out;
  // The dictionary learned from the noisy picture denoises it: measured 20.04 -> 25.45 dB (+5.4).
  const double noisy_psnr = printed_psnr(r.out, "noisy:"), denoised_psnr = printed_psnr(r.out, "denoised:");
  EXPECT_NEAR(noisy_psnr, 20.0, 0.5) << r.out;  // sigma 25.5 on 0-255, clipped to [0, 1]
  EXPECT_GT(denoised_psnr, noisy_psnr + 4) << r.out;
  EXPECT_EQ(deepsc::data::load_npy(path("learned.npy")).sizes(), (std::vector<int64_t>{8, 1, 5, 5}));
  EXPECT_EQ(read_png(path("out.png")).size(0), 1);  // written grey
}

// --stride: K-SVD atoms learned from the noisy picture, strided CSC averaged over the shifts; the
// saved dictionary given back with --dict gives the very same picture and PSNR.
TEST_F(CliDenoise, StridedLearnsByKsvdAndItsSavedDictionaryGivesTheSameResult) {
  const std::vector<std::string> common = {"csc-denoise", "--image", path("clean.png"), "--sigma", "25", "--add-noise",
                                           "--seed", "5", "--stride", "4", "--iters", "40", "--debias-iters", "10",
                                           "--json", "--threads", "2"};
  auto args = common;
  args.insert(args.end(), {"--atoms", "64", "--kernel-size", "4", "--save-dict", path("strided.npy"), "--out", path("s1.png")});
  auto r = run(args);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["stride"].get<int64_t>(), 4);
  EXPECT_EQ(j["shifts"].get<int64_t>(), 16);
  EXPECT_EQ(j["lasso_iterations"].get<int64_t>(), 40);
  EXPECT_EQ(j["debias_iterations"].get<int64_t>(), 10);
  EXPECT_EQ(j["dictionary"], "learned from the image");
  EXPECT_EQ(j["atoms"].get<int64_t>(), 64);
  EXPECT_FALSE(j.contains("lowpass_sigma"));
  EXPECT_NEAR(j["lambda"].get<double>(), 3.5 * 25 / 255, 1e-12);  // the strided default rule
  EXPECT_GT(j["denoised"]["psnr"].get<double>(), j["noisy"]["psnr"].get<double>() + 5);
  EXPECT_EQ(deepsc::data::load_npy(path("strided.npy")).sizes(), (std::vector<int64_t>{64, 1, 4, 4}));

  args = common;
  args.insert(args.end(), {"--dict", path("strided.npy"), "--out", path("s2.png")});
  auto again = run(args);
  ASSERT_EQ(again.code, 0) << again.err;
  const auto k = nlohmann::json::parse(again.out);
  EXPECT_EQ(k["dictionary"], path("strided.npy"));
  EXPECT_NEAR(k["denoised"]["psnr"].get<double>(), j["denoised"]["psnr"].get<double>(), 1e-6);
  EXPECT_TRUE(torch::equal(read_png(path("s1.png")), read_png(path("s2.png"))));
  EXPECT_EQ(j["blend"].get<double>(), 0.0);  // by default the plain mean of the shifts

  // --blend 30 (deepsc denoise's weight of the noisy picture): a different picture.
  args = common;
  args.insert(args.end(), {"--dict", path("strided.npy"), "--blend", "30", "--out", path("s3.png")});
  auto blended = run(args);
  ASSERT_EQ(blended.code, 0) << blended.err;
  EXPECT_EQ(nlohmann::json::parse(blended.out)["blend"].get<double>(), 30.0);
  EXPECT_FALSE(torch::equal(read_png(path("s1.png")), read_png(path("s3.png"))));
}

TEST_F(CliDenoise, InpaintRandomMissingBeatsBaselineAndMaskFileWorks) {
  auto r = run({"csc-inpaint", "--image", path("clean.png"), "--missing", "0.5", "--seed", "5", "--dict", path("W.npy"),
                "--out", path("out.png"), "--corrupted-out", path("holes.png"), "--json", "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["missing_fraction"].get<double>(), 0.5, 0.05);
  // Measured 29.79 dB against the best-blur baseline's 28.62 dB.
  EXPECT_GT(j["inpainted"]["psnr"].get<double>(), j["baseline"]["psnr"].get<double>() + 0.6);
  EXPECT_EQ(read_png(path("out.png")).sizes(), (std::vector<int64_t>{1, 64, 64}));

  // A mask picture (white = known) with a separate clean reference: a 2-pixel scratch across the
  // striped texture, where the atoms carry what a blur cannot (measured 44.36 dB against the
  // baseline's 40.46 dB). On smooth shading a blur is hard to beat: a 6-pixel scratch through the
  // disc gave 36.5 dB against the oracle baseline's 40.4 dB.
  auto mask = torch::ones({1, 64, 64});
  mask.narrow(1, 44, 2).narrow(2, 10, 40).zero_();
  write_png(path("mask.png"), mask);
  write_png(path("scratched.png"), clean_[0] * mask);
  r = run({"csc-inpaint", "--image", path("scratched.png"), "--mask", path("mask.png"), "--clean", path("clean.png"),
           "--dict", path("W.npy"), "--out", path("out2.png"), "--threads", "2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("inpainted:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("baseline"), std::string::npos) << r.out;
  EXPECT_GT(printed_psnr(r.out, "inpainted:"), printed_psnr(r.out, "baseline") + 2) << r.out;
}

TEST_F(CliDenoise, TrainDenoiserScoresHeldOutPicturesAndItsModelDenoises) {
  // Two training pictures (the scene and its mirror image) and a held-out one (the scene at another scale).
  fs::create_directories(dir_ / "pictures");
  write_png(path("pictures/a.png"), clean_[0]);
  write_png(path("pictures/b.png"), clean_[0].flip({2}).contiguous());
  write_png(path("pictures/held.png"), deepsc::testing::synthetic_picture(96).to(torch::kFloat)[0]);
  const std::vector<std::string> train = {"train-denoiser", "--images", path("pictures"), "--holdout", "held", "--out",
                                          path("model.pt"), "--steps", "40", "--batch", "4", "--crop", "32", "--atoms", "8",
                                          "--kernel", "5", "--stride", "2", "--iterations", "3", "--eval-sigma", "25", "--lr", "0.003",
                                          "--json", "--threads", "2"};
  auto r = run(train);
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["parameters"].get<int64_t>(), 3 * 8 * 25 + 2 * 4 * 8);
  EXPECT_EQ(j["steps"].get<int64_t>(), 40);
  EXPECT_EQ(j["train_pictures"], nlohmann::json({"a", "b"}));
  ASSERT_EQ(j["held_out_psnr"].size(), 1u);
  const double held_out = j["held_out_psnr"][0]["psnr"].get<double>();
  EXPECT_GT(held_out, 24.0);  // the noisy picture is at 20.2 dB
  EXPECT_TRUE(fs::exists(path("model.pt")));
  EXPECT_TRUE(fs::exists(path("model.pt.checkpoint")));

  // The model denoises the held-out picture under the same noise (same seed) to the reported PSNR.
  auto d = run({"csc-denoise", "--model", path("model.pt"), "--image", path("pictures/held.png"), "--add-noise", "--sigma",
                "25", "--out", path("held-denoised.png"), "--json", "--threads", "2"});
  ASSERT_EQ(d.code, 0) << d.err;
  auto dj = nlohmann::json::parse(d.out);
  EXPECT_NEAR(dj["denoised"]["psnr"].get<double>(), held_out, 1e-6);
  EXPECT_EQ(dj["parameters"], j["parameters"]);
  EXPECT_EQ(read_png(path("held-denoised.png")).sizes(), (std::vector<int64_t>{1, 96, 96}));

  // --resume with the run complete trains nothing more and gives the same model.
  auto again = train;
  again.push_back("--resume");
  auto resumed = run(again);
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(nlohmann::json::parse(resumed.out)["held_out_psnr"], j["held_out_psnr"]);

  // Fine-tuning: --init takes the model's architecture (and refuses architecture flags); --average-shifts
  // trains on the shift-averaged estimate.
  const std::vector<std::string> tune = {"train-denoiser", "--images", path("pictures"), "--holdout", "held", "--init",
                                         path("model.pt"), "--out", path("tuned.pt"), "--steps", "3", "--batch", "2",
                                         "--crop", "32", "--average-shifts", "--eval-sigma", "25", "--json", "--threads", "2"};
  auto tuned = run(tune);
  ASSERT_EQ(tuned.code, 0) << tuned.err;
  auto tj = nlohmann::json::parse(tuned.out);
  EXPECT_EQ(tj["parameters"], j["parameters"]);
  EXPECT_EQ(tj["stride"].get<int64_t>(), 2);
  EXPECT_TRUE(tj["average_shifts"].get<bool>());
  auto with_flag = tune;
  with_flag.insert(with_flag.end(), {"--atoms", "4"});
  EXPECT_NE(run(with_flag).code, 0);

  // Errors: an unknown held-out name, --model with the unsupervised coding's options, a file that is no model.
  auto unknown = train;
  unknown[4] = "nope";
  auto bad = run(unknown);
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("--holdout nope"), std::string::npos) << bad.err;
  auto mixed = run({"csc-denoise", "--model", path("model.pt"), "--lambda", "0.1", "--image", path("clean.png"), "--sigma",
                    "25", "--out", path("x.png")});
  EXPECT_NE(mixed.code, 0);
  auto not_model = run({"csc-denoise", "--model", path("W.npy"), "--image", path("clean.png"), "--sigma", "25", "--out",
                        path("x.png")});
  EXPECT_NE(not_model.code, 0);
  EXPECT_NE(not_model.err.find("not a deepsc CSC denoiser"), std::string::npos) << not_model.err;
  EXPECT_FALSE(fs::exists(path("x.png")));
}

TEST_F(CliDenoise, BadInputsGiveOneLineErrorsAndNoOutputFile) {
  { std::ofstream(path("junk.png")) << "this is not a picture"; }
  save_npy(path("W_rgb.npy"), deepsc::conv::dct_dictionary(4, 3, 5));
  save_npy(path("W_rank3.npy"), torch::rand({4, 5, 5}));
  write_png(path("small.png"), torch::rand({1, 5, 5}));  // below the blur radius
  write_png(path("wide.png"), torch::rand({1, 64, 70}));
  write_png(path("black.png"), torch::zeros({1, 64, 64}));
  const std::string out = path("result.png");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"csc-denoise", "--image", path("junk.png"), "--sigma", "25"}, "junk.png: not a readable image"},
      {{"csc-denoise", "--image", path("missing.png"), "--sigma", "25"}, "File does not exist"},
      {{"csc-denoise", "--image", path("clean.png"), "--sigma", "-3"}, "--sigma: Value -3 not in range"},
      {{"csc-denoise", "--image", path("clean.png"), "--sigma", "25", "--clean", path("wide.png")}, "--clean " + path("wide.png") + " is 70x64 but --image is 64x64"},
      {{"csc-denoise", "--image", path("clean.png"), "--sigma", "25", "--dict", path("W_rgb.npy")}, "expected grey atoms [M, 1, k, k]"},
      {{"csc-denoise", "--image", path("clean.png"), "--sigma", "25", "--dict", path("W_rank3.npy")}, "expected a rank-4 array"},
      {{"csc-denoise", "--image", path("clean.png"), "--sigma", "25", "--dict", path("junk.png")}, "junk.png: bad magic: not a .npy file"},
      {{"csc-denoise", "--image", path("small.png"), "--sigma", "25", "--dict", path("W.npy")}, "too small for a blur"},
      {{"csc-denoise", "--image", path("clean.png"), "--sigma", "25", "--add-noise", "--clean", path("clean.png")},
       "--clean excludes --add-noise"},
      {{"csc-denoise", "--image", path("clean.png"), "--sigma", "25", "--stride", "9", "--dict", path("W.npy")},
       "stride must be in [1, 8]"},
      {{"csc-denoise", "--image", path("clean.png"), "--sigma", "25", "--stride", "4", "--lowpass-sigma", "2"},
       "--lowpass-sigma does not apply to --stride > 1"},
      {{"csc-denoise", "--image", path("clean.png"), "--sigma", "25", "--debias-iters", "5"}, "--debias-iters needs --stride > 1"},
      {{"csc-denoise", "--image", path("clean.png"), "--sigma", "25", "--shift-batch", "4"}, "--shift-batch needs --stride > 1"},
      {{"csc-denoise", "--image", path("clean.png"), "--sigma", "25", "--blend", "10"}, "--blend needs --stride > 1"},
      {{"csc-denoise", "--image", path("clean.png"), "--sigma", "0", "--stride", "4"}, "--sigma must be > 0 with --stride"},
      {{"csc-inpaint", "--image", path("clean.png")}, "needs exactly one of --mask"},
      {{"csc-inpaint", "--image", path("clean.png"), "--missing", "0.5", "--mask", path("black.png")}, "--mask excludes --missing"},
      {{"csc-inpaint", "--image", path("clean.png"), "--mask", path("black.png")}, "has no known pixel"},
      {{"csc-inpaint", "--image", path("clean.png"), "--mask", path("wide.png")}, "--mask " + path("wide.png") + " is 70x64"},
      {{"csc-inpaint", "--image", path("clean.png"), "--missing", "1.5"}, "--missing: Value 1.5 not in range"},
  };
  for (const auto& [args, expected] : cases) {
    auto full = args;
    full.insert(full.end(), {"--out", out, "--threads", "1"});
    auto r = run(full);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_NE(r.code, 0) << joined;
    EXPECT_TRUE(deepsc::testing::one_line(r.err)) << joined << "-> " << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << joined << "-> " << r.err;
    EXPECT_FALSE(fs::exists(out)) << joined;
  }
  // An output folder that does not exist: refused before any work, nothing written.
  auto r = run({"csc-denoise", "--image", path("clean.png"), "--sigma", "25", "--dict", path("W.npy"), "--out",
                path("no/such/folder/out.png")});
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(deepsc::testing::one_line(r.err)) << r.err;
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  // Nothing but the inputs was left in the folder (no temporary files).
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
}
