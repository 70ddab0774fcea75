// End-to-end tests of `deepsc attack` and `deepsc robust`, run in-process through deepsc::cli::run: a tiny SDNet is
// trained for one short epoch on an MNIST-format data set written by the test, then attacked or
// evaluated under noise.
#include "cli.h"

#include "deepsc/train/trainer.h"
#include "deepsc/viz/gnuplot.h"

#include "support/cli_runner.h"
#include "support/bar_mnist.h"
#include "support/scratch_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace {

using deepsc::testing::Outcome;
using deepsc::testing::run;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class CliRobustness : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepsc::testing::test_dir("cli_robustness_");
    fs::create_directories(dir_ / "data");
    deepsc::testing::write_bar_mnist(dir_ / "data", "train", 1024, 1);
    deepsc::testing::write_bar_mnist(dir_ / "data", "t10k", 64, 2);
    std::ofstream(dir_ / "preset.yaml") << "model: {name: sdnet18, stem: cifar, width: 0.0625}\n"
                                           "data: {kind: mnist, root: '" << (dir_ / "data").string()
                                        << "', augment: none, mean: [0.3], std: [0.3], workers: 0}\n"
                                           "train: {epochs: 1, batch_size: 32, lr: 0.05, eval_batch_size: 64}\n";
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  /// A placeholder checkpoint with the preset as its config.yaml, for option checks that fail
  /// before the checkpoint is read; returns its path.
  std::string placeholder_run() {
    fs::create_directories(dir_ / "run");
    std::ofstream(dir_ / "run" / "checkpoint-best.pt") << "not a checkpoint";
    fs::copy_file(dir_ / "preset.yaml", dir_ / "run" / "config.yaml");
    return path("run/checkpoint-best.pt");
  }

  /// `deepsc <command> --checkpoint C --out <dir>/out <extra>` fails with one line naming `needle`
  /// and leaves no output folder.
  void expect_error(const std::string& command, const std::string& checkpoint, const std::vector<std::string>& extra,
                    const std::string& needle) {
    std::vector<std::string> args{command, "--checkpoint", checkpoint, "--out", path("out")};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run(args);
    EXPECT_NE(r.code, 0) << needle;
    EXPECT_TRUE(deepsc::testing::one_line(r.err)) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir_ / "out")) << needle;
  }

  /// Trains the tiny model into <dir>/run; returns its best checkpoint.
  std::string train() {
    const auto r = run({"train", "--config", path("preset.yaml"), "--out", path("run"), "--threads", "2"});
    EXPECT_EQ(r.code, 0) << r.err;
    // The run folder documents itself: the curves' script always, the picture where gnuplot is.
    EXPECT_TRUE(fs::exists(dir_ / "run" / "plot-curves.gp"));
    if (deepsc::viz::gnuplot_available()) {
      EXPECT_GT(fs::file_size(dir_ / "run" / "curves.png"), 0u) << r.err;
    }
    return path("run/checkpoint-best.pt");
  }
  fs::path dir_;
};

void expect_fraction(const nlohmann::json& value, const std::string& what) {
  ASSERT_TRUE(value.is_number()) << what;
  EXPECT_GE(value.get<double>(), 0.0) << what;
  EXPECT_LE(value.get<double>(), 1.0) << what;
}

}  // namespace

TEST_F(CliRobustness, ReportsCleanAndAdversarialAccuracyAtEveryLambda) {
  const auto checkpoint = train();
  const auto saved = read_text(checkpoint);
  const std::vector<std::string> args{"attack", "--checkpoint", checkpoint, "--norm", "linf", "--eps", "26/255",
                                      "--steps", "3", "--lambda", "0.05,0.5", "--limit", "40", "--batch", "16",
                                      "--threads", "2", "--out", path("attack"), "--json"};
  const auto r = run(args);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto printed = nlohmann::json::parse(r.out);
  const auto report = nlohmann::json::parse(read_text(dir_ / "attack" / "attack.json"));
  EXPECT_EQ(printed["trained"], report["trained"]);
  EXPECT_EQ(report["samples"], 40);
  EXPECT_EQ(report["model"], "sdnet18");
  EXPECT_EQ(report["attack"]["norm"], "linf");
  EXPECT_NEAR(report["attack"]["eps"].get<double>(), 26.0 / 255, 1e-12);
  EXPECT_NEAR(report["attack"]["step_size"].get<double>(), 2.5 * 26.0 / 255 / 3, 1e-12);
  ASSERT_EQ(report["trained_lambda"].size(), 1u);  // SDNet-18: the stem is the one CSC layer
  EXPECT_DOUBLE_EQ(report["trained_lambda"][0].get<double>(), 0.1);

  const auto& trained = report["trained"];
  expect_fraction(trained["clean"]["top1"], "clean");
  expect_fraction(trained["adversarial"]["top1"], "adversarial");
  EXPECT_GT(trained["clean"]["top1"].get<double>(), 0.5);  // it learned something
  EXPECT_LT(trained["adversarial"]["top1"].get<double>(), trained["clean"]["top1"].get<double>());
  EXPECT_GT(trained["adversarial"]["loss"].get<double>(), trained["clean"]["loss"].get<double>());

  ASSERT_EQ(report["lambdas"].size(), 2u);
  for (const auto& row : report["lambdas"]) {
    for (const auto* kind : {"clean", "transfer", "adaptive"}) expect_fraction(row[kind]["top1"], kind);
    EXPECT_LE(row["adaptive"]["top1"].get<double>(), row["clean"]["top1"].get<double>());
    EXPECT_GT(row["adaptive"]["loss"].get<double>(), row["clean"]["loss"].get<double>());
  }
  EXPECT_DOUBLE_EQ(report["lambdas"][1]["lambda"].get<double>(), 0.5);

  // The table: a header and one row for the trained λ and two per --lambda.
  std::istringstream tsv(read_text(dir_ / "attack" / "attack.tsv"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(tsv, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0].rfind("setting\tlambda\tclean_top1", 0), 0u);
  EXPECT_EQ(lines[1].rfind("trained\t0.1\t", 0), 0u);
  EXPECT_EQ(lines[5].rfind("adaptive\t0.5\t", 0), 0u);

  // The checkpoint is only read, and the same seed gives the same numbers (λ restored in between).
  EXPECT_EQ(read_text(checkpoint), saved);
  const auto again = run(args);
  ASSERT_EQ(again.code, 0) << again.err;
  const auto second = nlohmann::json::parse(again.out);
  EXPECT_EQ(second["trained"], report["trained"]);
  EXPECT_EQ(second["lambdas"], report["lambdas"]);

  // Without --json: a short table.
  const auto text = run({"attack", "--checkpoint", checkpoint, "--norm", "l2", "--eps", "0.5", "--steps", "1",
                         "--limit", "8", "--threads", "2", "--out", path("attack_l2")});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("adversarial top-1"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("trained"), std::string::npos) << text.out;
  EXPECT_TRUE(fs::exists(dir_ / "attack_l2" / "attack.json"));

  // --recalibrate-bn: the rows' λ are evaluated with re-estimated batch-norm statistics; the
  // trained row is not, and the checkpoint stays as it was.
  auto recalibrated_args = args;
  recalibrated_args.back() = "--recalibrate-bn";
  recalibrated_args.insert(recalibrated_args.end(), {"64", "--json"});
  recalibrated_args[std::find(recalibrated_args.begin(), recalibrated_args.end(), path("attack")) - recalibrated_args.begin()] =
      path("attack_bn");
  const auto recalibrated = run(recalibrated_args);
  ASSERT_EQ(recalibrated.code, 0) << recalibrated.err;
  const auto with_bn = nlohmann::json::parse(recalibrated.out);
  EXPECT_EQ(with_bn["recalibrate_bn"], 64);
  EXPECT_EQ(with_bn["trained"], report["trained"]);
  ASSERT_EQ(with_bn["lambdas"].size(), 2u);
  for (const auto& row : with_bn["lambdas"])
    for (const auto* kind : {"clean", "transfer", "adaptive"}) expect_fraction(row[kind]["top1"], kind);
  EXPECT_NE(with_bn["lambdas"][1]["clean"]["loss"], report["lambdas"][1]["clean"]["loss"]);
  EXPECT_EQ(read_text(checkpoint), saved);
}

TEST_F(CliRobustness, BadOptionsGiveOneLineErrorsAndNoOutput) {
  // The options are checked before the checkpoint is read, so a placeholder file will do; the
  // configuration next to it is read (and its data opened) only for the last case.
  const auto checkpoint = placeholder_run();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--norm", "l3"}, "l3"},
      {{"--eps", "abc"}, "--eps"},
      {{"--eps", "8/0"}, "--eps"},
      {{"--eps", "-1"}, "--eps"},
      {{"--step-size", "0"}, "--step-size"},
      {{"--steps", "0"}, "--steps"},
      {{"--lambda", "0.1,-1"}, "--lambda"},
      {{"--limit", "-1"}, "--limit"},
      {{"--recalibrate-bn", "1", "--lambda", "0.2"}, "--recalibrate-bn"},
      {{"--recalibrate-bn", "100"}, "--recalibrate-bn"},  // no --lambda to recalibrate at
      {{"--data", "mnist:" + path("missing")}, "missing"},
  };
  for (const auto& [extra, needle] : cases) expect_error("attack", checkpoint, extra, needle);

  // --lambda needs CSC layers: a (real, untrained) ResNet checkpoint has none.
  fs::create_directories(dir_ / "resnet");
  std::ofstream(dir_ / "resnet" / "config.yaml") << read_text(dir_ / "preset.yaml") << "\n";
  auto config = deepsc::train::load_config(path("resnet/config.yaml"), {"model.name=resnet18"});
  std::ofstream(dir_ / "resnet" / "config.yaml", std::ios::trunc) << deepsc::train::to_yaml(config);
  const auto pipeline = deepsc::train::build_data(config.data);
  auto resnet = deepsc::train::build_model(config.model, 1, pipeline.test->num_classes());
  deepsc::train::save_checkpoint(path("resnet/checkpoint-best.pt"), *resnet, nullptr, {});
  expect_error("attack", path("resnet/checkpoint-best.pt"), {"--lambda", "0.1", "--limit", "4"}, "CSC");
}

TEST_F(CliRobustness, RobustSweepsLambdaFitsItAndCodesPerSample) {
  const auto checkpoint = train();
  const auto saved = read_text(checkpoint);
  const std::vector<std::string> args{"robust", "--checkpoint", checkpoint, "--noise", "gaussian,impulse",
                                      "--severities", "1,5", "--lambda-grid", "0.1:0.7:0.3", "--fit",
                                      "--fit-samples", "48", "--per-sample", "--limit", "40", "--batch", "16",
                                      "--threads", "2", "--out", path("robust"), "--json"};
  const auto r = run(args);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto report = nlohmann::json::parse(read_text(dir_ / "robust" / "robust.json"));
  EXPECT_EQ(nlohmann::json::parse(r.out)["rows"], report["rows"]);
  EXPECT_EQ(report["samples"], 40);
  EXPECT_EQ(report["lambda_grid"], (std::vector<double>{0.1, 0.4, 0.7}));
  ASSERT_EQ(report["rows"].size(), 6u);  // 2 noises × (clean, severity 1, severity 5)
  for (const auto& row : report["rows"]) {
    for (const auto* key : {"fixed_top1", "best_top1", "fit_top1", "per_sample_top1"}) expect_fraction(row[key], key);
    // The best of the grid is at least the accuracy at the trained λ (0.1 is in the grid).
    EXPECT_GE(row["best_top1"].get<double>(), row["fixed_top1"].get<double>());
    EXPECT_GE(row["fit_lambda"].get<double>(), 0.1);
    EXPECT_LE(row["fit_lambda"].get<double>(), 0.7);
    EXPECT_EQ(row["curve"]["top1"].size(), 3u);
    EXPECT_DOUBLE_EQ(row["curve"]["top1"][0].get<double>(), row["fixed_top1"].get<double>());
  }
  // Noise raises the CSC residual: severity 5 above clean, for both noises.
  EXPECT_GT(report["rows"][2]["residual"].get<double>(), report["rows"][0]["residual"].get<double>());
  EXPECT_GT(report["rows"][5]["residual"].get<double>(), report["rows"][3]["residual"].get<double>());
  ASSERT_TRUE(report["fits"].contains("gaussian"));
  EXPECT_EQ(report["fits"]["gaussian"]["residuals"].size(), 3u);
  for (const auto* file : {"table.tsv", "sweep.tsv", "fit.tsv", "plot.gp"}) EXPECT_TRUE(fs::exists(dir_ / "robust" / file)) << file;
  // Where gnuplot is installed (the README's set-up installs it) its script must run: both plots.
  if (deepsc::viz::gnuplot_available()) {
    EXPECT_EQ(r.err.find("gnuplot failed"), std::string::npos) << r.err;
    for (const auto* file : {"robust.png", "fit.png"}) EXPECT_TRUE(fs::exists(dir_ / "robust" / file)) << file;
  }
  EXPECT_EQ(read_text(checkpoint), saved);
  // The same seed gives the same numbers.
  const auto again = run(args);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["rows"], report["rows"]);

  // --recalibrate-bn: the same sweep with batch-norm statistics re-estimated at each λ on clean
  // training images: accuracies, the CSC residuals unchanged, the checkpoint untouched.
  const std::vector<std::string> recalibrated_args{"robust", "--checkpoint", checkpoint, "--noise", "gaussian",
                                                   "--severities", "5", "--lambda-grid", "0.1:0.7:0.3", "--fit",
                                                   "--fit-samples", "48", "--recalibrate-bn", "64", "--limit", "40",
                                                   "--batch", "16", "--threads", "2", "--out", path("robust_bn"), "--json"};
  const auto recalibrated = run(recalibrated_args);
  ASSERT_EQ(recalibrated.code, 0) << recalibrated.err;
  const auto with_bn = nlohmann::json::parse(recalibrated.out);
  EXPECT_EQ(with_bn["recalibrate_bn"], 64);
  ASSERT_EQ(with_bn["rows"].size(), 2u);
  for (const auto& row : with_bn["rows"]) {
    for (const auto* key : {"fixed_top1", "best_top1", "fit_top1"}) expect_fraction(row[key], key);
    EXPECT_GE(row["best_top1"].get<double>(), row["fixed_top1"].get<double>());
  }
  // The statistics act after the stem: its codes, hence the residual curve, are those of the plain sweep.
  EXPECT_EQ(with_bn["rows"][0]["curve"]["residual"], report["rows"][0]["curve"]["residual"]);
  EXPECT_EQ(read_text(checkpoint), saved);
}

namespace {

/// Every path under `root`, relative to it.
std::set<std::string> tree(const fs::path& root) {
  std::set<std::string> paths;
  for (const auto& entry : fs::recursive_directory_iterator(root)) paths.insert(fs::relative(entry.path(), root).string());
  return paths;
}

}  // namespace

TEST_F(CliRobustness, RobustPlotsIntoAFolderWhoseNameAShellWouldParse) {
  const auto checkpoint = train();
  // Through a shell, `cd '<out>' && gnuplot ...` would end the quote and run `touch pwned`.
  const std::string name = "it's; touch pwned; out";
  const auto before = tree(dir_);
  const auto r = run({"robust", "--checkpoint", checkpoint, "--noise", "gaussian", "--severities", "5", "--lambda-grid",
                      "0.1,0.4", "--limit", "16", "--batch", "16", "--threads", "2", "--out", path(name)});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("-> " + path(name) + "/robust.json"), std::string::npos) << r.out;
  for (const auto* file : {"robust.json", "table.tsv", "sweep.tsv", "plot.gp"}) EXPECT_TRUE(fs::exists(dir_ / name / file)) << file;
  if (deepsc::viz::gnuplot_available()) {
    EXPECT_EQ(r.err.find("gnuplot failed"), std::string::npos) << r.err;
    EXPECT_GT(fs::file_size(dir_ / name / "robust.png"), 0u);
  }
  // Nothing outside the folder: the scratch folder gained only it, and no shell ran `touch`.
  auto after = tree(dir_);
  for (auto it = after.begin(); it != after.end();) it = it->rfind(name, 0) == 0 ? after.erase(it) : std::next(it);
  EXPECT_EQ(after, before);
  EXPECT_FALSE(fs::exists(fs::current_path() / "pwned"));
  EXPECT_FALSE(fs::exists(dir_ / name / "pwned"));
}

TEST_F(CliRobustness, RobustRejectsBadOptionsWithOneLineErrors) {
  const auto checkpoint = placeholder_run();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--noise", "fog"}, "fog"},
      {{"--severities", "0-3"}, "severit"},
      {{"--lambda-grid", "1.4:0.1:0.1"}, "--lambda-grid"},
      {{"--lambda-grid", "0.1,x"}, "--lambda-grid"},
      {{"--lambda-grid", "0.1:1:0"}, "--lambda-grid"},
      {{"--fit-samples", "0"}, "--fit-samples"},
      {{"--batch", "0"}, "--batch"},
      {{"--limit", "-2"}, "--limit"},
      {{"--cifar10c", path("missing")}, "--cifar10c"},
      {{"--recalibrate-bn", "1"}, "--recalibrate-bn"},
      {{"--recalibrate-bn", "-5"}, "--recalibrate-bn"},
      {{"--recalibrate-bn", "100", "--fit", "--per-sample"}, "--per-sample"},
  };
  for (const auto& [extra, needle] : cases) expect_error("robust", checkpoint, extra, needle);
}
