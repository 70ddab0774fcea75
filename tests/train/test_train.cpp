// The training pipeline: configuration parsing, schedules, checkpoints, and whole (tiny) runs on
// an MNIST-format data set written by the test: a run lowers the loss, and a run interrupted
// mid-epoch and resumed ends bit-identical to an uninterrupted one.
#include "deepsc/train/checkpoint.h"
#include "deepsc/train/config.h"
#include "deepsc/train/schedule.h"
#include "deepsc/train/trainer.h"

#include "support/bar_mnist.h"
#include "support/scratch_dir.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

namespace train = deepsc::train;
using deepsc::testing::fresh_dir;

namespace {

train::TrainConfig tiny_config(const std::filesystem::path& data_dir, int64_t epochs) {
  return train::parse_config(
      "model: {name: sdnet18, stem: cifar, width: 0.0625}\n"
      "data: {kind: mnist, root: '" + data_dir.string() + "', augment: crop-flip, crop_padding: 1, "
      "mean: [0.3], std: [0.3], workers: 2}\n"
      "train: {epochs: " + std::to_string(epochs) + ", batch_size: 32, lr: 0.05, eval_batch_size: 64}\n");
}

std::filesystem::path tiny_data() {
  auto dir = fresh_dir("train_tiny_data");
  deepsc::testing::write_bar_mnist(dir, "train", 1024, 1);
  deepsc::testing::write_bar_mnist(dir, "t10k", 96, 2);
  return dir;
}

std::vector<torch::Tensor> model_state(const std::string& checkpoint, const train::TrainConfig& config) {
  auto model = train::build_model(config.model, 1, train::build_data(config.data).train->num_classes());
  train::load_checkpoint(checkpoint, *model, nullptr);
  std::vector<torch::Tensor> state;
  for (const auto& p : model->named_parameters()) state.push_back(p.value().clone());
  for (const auto& b : model->named_buffers()) state.push_back(b.value().clone());
  return state;
}

// Checks the run folder's metrics.tsv: the header, then one row per epoch of metrics.jsonl (and
// nothing else) whose columns hold that line's values.
void expect_tsv_matches_jsonl(const std::filesystem::path& run, int64_t epochs) {
  SCOPED_TRACE(run.string());
  std::ifstream jsonl(run / "metrics.jsonl"), tsv(run / "metrics.tsv");
  ASSERT_TRUE(jsonl && tsv);
  std::string header;
  ASSERT_TRUE(std::getline(tsv, header));
  EXPECT_EQ(header, "epoch\ttrain_loss\ttrain_top1\ttest_loss\ttest_top1\ttest_top5\tlr\tseconds");
  int64_t rows = 0;
  for (std::string line, row; std::getline(jsonl, line);) {
    if (line.empty()) continue;
    ASSERT_TRUE(std::getline(tsv, row)) << "metrics.tsv has fewer rows than metrics.jsonl";
    ++rows;
    const auto m = nlohmann::json::parse(line);
    const std::vector<double> expected = {m["epoch"].get<double>(),     m["train_loss"].get<double>(),
                                          m["train_top1"].get<double>(), m["test"]["loss"].get<double>(),
                                          m["test"]["top1"].get<double>(), m["test"]["top5"].get<double>(),
                                          m["lr"].get<double>(),         m["seconds"].get<double>()};
    std::vector<double> values;
    std::istringstream fields(row);
    for (std::string field; std::getline(fields, field, '\t');) values.push_back(std::stod(field));
    ASSERT_EQ(values.size(), expected.size()) << row;
    for (size_t i = 0; i < expected.size(); ++i) EXPECT_DOUBLE_EQ(values[i], expected[i]) << "column " << i << ": " << row;
    EXPECT_EQ(values[0], static_cast<double>(rows));  // epochs 1, 2, ... in order
    EXPECT_GT(values[7], 0.0);                        // seconds of a real epoch
  }
  EXPECT_EQ(rows, epochs);
  std::string extra;
  EXPECT_FALSE(std::getline(tsv, extra)) << "extra row: " << extra;
}

}  // namespace

TEST(TrainConfig, ParsesOverridesAndRejectsMistakesNamingTheKey) {
  auto c = train::parse_config("model: {name: resnet18, width: 0.5}\ntrain: {epochs: 3}\n",
                               {"train.lr=0.05", "data.mean=[0.1, 0.2, 0.3]", "data.std=[1, 1, 1]"});
  EXPECT_EQ(c.model.name, "resnet18");
  EXPECT_DOUBLE_EQ(c.model.width, 0.5);
  EXPECT_EQ(c.train.epochs, 3);
  EXPECT_DOUBLE_EQ(c.train.lr, 0.05);
  EXPECT_EQ(c.data.mean.size(), 3u);
  // The YAML written into a run folder reads back to the same configuration.
  EXPECT_EQ(train::to_yaml(train::parse_config(train::to_yaml(c))), train::to_yaml(c));
  auto message = [](const std::string& yaml, std::vector<std::string> overrides = {}) {
    try {
      train::parse_config(yaml, overrides, "preset.yaml");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("train: {epoch: 3}").find("train.epoch"), std::string::npos);
  EXPECT_NE(message("train: {epochs: three}").find("train.epochs"), std::string::npos);
  EXPECT_NE(message("train: {lr: -1}").find("train.lr"), std::string::npos);
  EXPECT_NE(message("optim: {lr: 1}").find("optim"), std::string::npos);
  EXPECT_NE(message("model: [1, 2").find("preset.yaml"), std::string::npos);
  EXPECT_NE(message("", {"epochs=3"}).find("section.key=value"), std::string::npos);
  EXPECT_NE(message("data: {mean: [0.5, 0.5], std: [1]}").find("data.mean"), std::string::npos);
  EXPECT_THROW(train::load_config("/nonexistent/preset.yaml"), std::invalid_argument);
}

TEST(Schedule, CosineAndMultistep) {
  train::OptimConfig c;
  c.epochs = 10, c.lr = 0.1, c.min_lr = 0.001;
  EXPECT_DOUBLE_EQ(train::learning_rate(c, 0, 50), 0.1);
  EXPECT_NEAR(train::learning_rate(c, 250, 50), (0.1 + 0.001) / 2, 1e-12);  // half-way
  EXPECT_NEAR(train::learning_rate(c, 500, 50), 0.001, 1e-12);
  for (int64_t s = 1; s < 500; ++s) EXPECT_LT(train::learning_rate(c, s, 50), train::learning_rate(c, s - 1, 50));
  c.schedule = "multistep", c.milestones = {3, 6}, c.gamma = 0.1;
  EXPECT_DOUBLE_EQ(train::learning_rate(c, 3 * 50 - 1, 50), 0.1);
  EXPECT_NEAR(train::learning_rate(c, 3 * 50, 50), 0.01, 1e-15);
  EXPECT_NEAR(train::learning_rate(c, 9 * 50, 50), 0.001, 1e-15);
}

TEST(Checkpoint, RoundTripAndClearErrors) {
  auto dir = fresh_dir("train_checkpoint");
  torch::manual_seed(0);
  train::ModelConfig mc;
  mc.name = "sdnet18", mc.width = 0.0625;
  auto model = train::build_model(mc, 1, 4);
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  model->train();
  auto loss = model->forward(torch::randn({4, 1, 12, 12})).square().mean();
  loss.backward();
  opt.step();  // momentum buffers exist now
  train::RunState s;
  s.epochs_done = 3, s.steps_done = 42, s.best_top1 = 0.75, s.best_epoch = 2, s.seconds = 12.5;
  const auto path = (dir / "c.pt").string();
  train::save_checkpoint(path, *model, &opt, s);
  torch::manual_seed(1);
  auto other = train::build_model(mc, 1, 4);
  torch::optim::SGD other_opt(other->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  const auto back = train::load_checkpoint(path, *other, &other_opt);
  EXPECT_EQ(back.epochs_done, 3);
  EXPECT_EQ(back.steps_done, 42);
  EXPECT_DOUBLE_EQ(back.best_top1, 0.75);
  EXPECT_DOUBLE_EQ(back.seconds, 12.5);
  model->eval(), other->eval();
  auto x = torch::randn({2, 1, 12, 12});
  EXPECT_TRUE(torch::equal(model->forward(x), other->forward(x)));
  EXPECT_EQ(other_opt.state().size(), opt.state().size());
  // Errors name the file: missing, not a checkpoint, wrong architecture.
  EXPECT_THROW(train::load_checkpoint((dir / "missing.pt").string(), *other, nullptr), std::invalid_argument);
  std::ofstream((dir / "junk.pt").string()) << "not a checkpoint";
  try {
    train::load_checkpoint((dir / "junk.pt").string(), *other, nullptr);
    ADD_FAILURE() << "junk accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("junk.pt"), std::string::npos);
  }
  mc.name = "resnet18";
  auto wrong = train::build_model(mc, 1, 4);
  EXPECT_THROW(train::load_checkpoint(path, *wrong, nullptr), std::invalid_argument);
  // The atomic save left no temporary file ("<path>.tmp.<pid>.<n>") behind.
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
}

TEST(Trainer, ProjectCscAtomsPutsEveryCscAtomOnTheSphere) {
  auto config = tiny_config(tiny_data(), 1);
  config.model.name = "sdnet18-all";
  torch::manual_seed(2);
  auto model = train::build_model(config.model, 1, 10);
  const auto layers = model->csc_layers();
  ASSERT_GT(layers.size(), 1u);
  {
    torch::NoGradGuard no_grad;
    for (auto& layer : layers) layer->weight.mul_(torch::rand({layer->weight.size(0), 1, 1, 1}) * 3 + 0.1);
  }
  const auto direction = layers[1]->dictionary().detach().clone();
  train::project_csc_atoms(*model);
  for (auto& layer : layers) {
    const auto w = layer->weight.detach();
    EXPECT_LT((w.reshape({w.size(0), -1}).norm(2, {1}) - 1).abs().max().item<double>(), 1e-6);
  }
  // Only the lengths change: the atoms the layer codes with are the same.
  EXPECT_LT((layers[1]->dictionary() - direction).abs().max().item<double>(), 1e-6);
}

TEST(Trainer, OneEpochLowersTheLossAndWritesTheRunFolder) {
  const auto data = tiny_data();
  const auto config = tiny_config(data, 1);
  const auto pipeline = train::build_data(config.data);
  torch::manual_seed(0);
  auto untrained = train::build_model(config.model, 1, pipeline.train->num_classes());
  deepsc::data::DataLoader test(pipeline.test, pipeline.test_transform,
                                deepsc::data::LoaderOptions().batch_size(64).shuffle(false).workers(0));
  const double before = train::evaluate(*untrained, test, torch::kCPU).loss;

  const auto run = fresh_dir("train_one_epoch");
  train::TrainOptions options;
  options.out_dir = run.string();
  const auto summary = train::train(config, options);
  EXPECT_EQ(summary.state.epochs_done, 1);
  EXPECT_LT(summary.last.loss, before);
  EXPECT_EQ(summary.last.samples, 96);
  ASSERT_EQ(summary.last.csc_residuals.size(), 1u);  // SDNet-18: the stem is the one CSC layer
  EXPECT_GT(summary.last.csc_residuals[0], 0);
  for (const auto* name : {"config.yaml", "metrics.jsonl", "metrics.tsv", "checkpoint-last.pt", "checkpoint-best.pt"}) {
    EXPECT_TRUE(std::filesystem::exists(run / name)) << name;
  }
  expect_tsv_matches_jsonl(run, 1);
  // The optimiser-step hook kept the CSC atoms on the unit sphere through every step.
  auto trained = train::build_model(config.model, 1, pipeline.train->num_classes());
  train::load_checkpoint((run / "checkpoint-last.pt").string(), *trained, nullptr);
  const auto w = trained->csc_layers().at(0)->weight.detach();
  EXPECT_LT((w.reshape({w.size(0), -1}).norm(2, {1}) - 1).abs().max().item<double>(), 1e-5);
  // A second run into the same folder must be asked for explicitly.
  EXPECT_THROW(train::train(config, options), std::invalid_argument);
  // Resuming a finished run does nothing more; a different configuration is refused.
  options.resume = true;
  EXPECT_EQ(train::train(config, options).state.epochs_done, 1);
  EXPECT_THROW(train::train(tiny_config(data, 2), options), std::invalid_argument);
}

TEST(Trainer, RunInterruptedMidEpochResumesToTheSameResult) {
  const auto data = tiny_data();
  const auto config = tiny_config(data, 2);
  const auto straight = fresh_dir("train_straight");
  train::TrainOptions options;
  options.out_dir = straight.string();
  train::train(config, options);

  // The same run, stopped in the middle of its second epoch (as if killed), then resumed.
  const auto interrupted = fresh_dir("train_interrupted");
  options.out_dir = interrupted.string();
  options.on_step = [](const train::StepProgress& p) {
    if (p.epoch == 2 && p.step == 3) throw std::runtime_error("interrupted");
  };
  EXPECT_THROW(train::train(config, options), std::runtime_error);
  options.on_step = nullptr;
  options.resume = true;
  const auto resumed = train::train(config, options);
  EXPECT_EQ(resumed.state.epochs_done, 2);

  const auto a = model_state((straight / "checkpoint-last.pt").string(), config);
  const auto b = model_state((interrupted / "checkpoint-last.pt").string(), config);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "tensor " << i;
  // The metrics file holds each epoch once.
  std::ifstream metrics(interrupted / "metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(metrics, line);) lines += !line.empty();
  EXPECT_EQ(lines, 2);
  // metrics.tsv is the same table, row for row, in both runs.
  expect_tsv_matches_jsonl(straight, 2);
  expect_tsv_matches_jsonl(interrupted, 2);
}
