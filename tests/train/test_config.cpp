// The model section of a preset: every CSC layer option is a csc_* key, parsed into the one
// CscLayerOptions template, written back by to_yaml, and reaching every CSC layer of the model.
#include "deepsc/train/config.h"
#include "deepsc/train/trainer.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace train = deepsc::train;
using deepsc::nn::CscSolver;

namespace config_test {

std::string error_of(const std::string& yaml) {
  try {
    train::parse_config(yaml, {}, "preset.yaml");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace config_test

using config_test::error_of;

TEST(ModelConfig, CscKeysParseIntoTheLayerTemplateAndRoundTrip) {
  const auto c = train::parse_config(
      "model: {name: sdnet18-all, width: 0.25, csc_lambda: 0.3, csc_learnable_lambda: true, csc_iterations: 4,\n"
      "        csc_solver: fista, csc_nonneg: false, csc_step_scale: 0.5, csc_normalize_atoms: false,\n"
      "        csc_power_iterations: 9, csc_power_tol: 0.001}\n");
  const auto& csc = c.model.csc;
  EXPECT_DOUBLE_EQ(csc.lambda(), 0.3);
  EXPECT_TRUE(csc.learnable_lambda());
  EXPECT_EQ(csc.iterations(), 4);
  EXPECT_EQ(csc.solver(), CscSolver::Fista);
  EXPECT_FALSE(csc.nonneg());
  EXPECT_DOUBLE_EQ(csc.step_scale(), 0.5);
  EXPECT_FALSE(csc.normalize_atoms());
  EXPECT_EQ(csc.power_iterations(), 9);
  EXPECT_DOUBLE_EQ(csc.power_tol(), 0.001);
  // to_yaml writes every key, and reads back to the same options.
  const auto text = train::to_yaml(c);
  for (const char* key : {"csc_lambda: 0.3\n", "csc_learnable_lambda: true", "csc_iterations: 4", "csc_solver: fista",
                          "csc_nonneg: false", "csc_step_scale: 0.5", "csc_normalize_atoms: false",
                          "csc_power_iterations: 9", "csc_power_tol: 0.001"}) {
    EXPECT_NE(text.find(key), std::string::npos) << key << " in\n" << text;
  }
  const auto back = train::parse_config(text);
  EXPECT_EQ(train::to_yaml(back), text);
  EXPECT_TRUE(back.model.csc.learnable_lambda());
  EXPECT_EQ(back.model.csc.solver(), CscSolver::Fista);
  EXPECT_DOUBLE_EQ(back.model.csc.power_tol(), 0.001);
  EXPECT_EQ(back.model.csc.lambda(), 0.3);  // written as typed (15 digits) and read back exactly
  // Defaults are the layer's defaults; overrides reach the same keys.
  const auto plain = train::parse_config("", {"model.csc_learnable_lambda=true", "model.csc_lambda=0.2"});
  EXPECT_TRUE(plain.model.csc.learnable_lambda());
  EXPECT_DOUBLE_EQ(plain.model.csc.lambda(), 0.2);
  EXPECT_EQ(plain.model.csc.iterations(), 2);
  EXPECT_EQ(plain.model.csc.solver(), CscSolver::Published);
  EXPECT_TRUE(plain.model.csc.nonneg());
}

TEST(ModelConfig, BadCscValuesAreNamed) {
  EXPECT_NE(error_of("model: {csc_lambda: -1}").find("model.csc_lambda"), std::string::npos);
  EXPECT_NE(error_of("model: {csc_iterations: 0}").find("model.csc_iterations"), std::string::npos);
  EXPECT_NE(error_of("model: {csc_step_scale: 2}").find("model.csc_step_scale"), std::string::npos);
  EXPECT_NE(error_of("model: {csc_solver: admm}").find("model.csc_solver"), std::string::npos);
  EXPECT_NE(error_of("model: {csc_learnable_lambda: maybe}").find("model.csc_learnable_lambda"), std::string::npos);
  EXPECT_NE(error_of("model: {csc_atoms: 3}").find("model.csc_atoms"), std::string::npos);  // sizes are the architecture's
  EXPECT_NE(error_of("model: {csc_power_tol: -1}").find("preset.yaml"), std::string::npos);
}

TEST(ModelConfig, APresetWithLearnableLambdaGivesAModelThatLearnsIt) {
  for (const bool learnable : {false, true}) {
    const auto c = train::parse_config(std::string("model: {name: sdnet18, width: 0.0625, csc_lambda: 0.25, ") +
                                       "csc_learnable_lambda: " + (learnable ? "true" : "false") + "}\n");
    auto model = train::build_model(c.model, 1, 10);
    const auto parameters = model->named_parameters();
    const auto* lambda = parameters.find("conv1.lambda");
    EXPECT_EQ(lambda != nullptr, learnable);
    if (lambda) EXPECT_TRUE(torch::allclose(*lambda, torch::full({4}, 0.25)));
    ASSERT_EQ(model->csc_layers().size(), 1u);
    EXPECT_DOUBLE_EQ(model->csc_layers()[0]->options.lambda(), 0.25);
  }
}

TEST(ModelConfig, TheShippedPresetsStillParse) {
  for (const char* preset : {"fashion-mnist-sdnet18-quick.yaml", "cifar10-sdnet18.yaml", "imagenet-resnet34.yaml"}) {
    // tests/train/ → the repository's configs/.
    const auto path = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "configs" / preset;
    const auto c = train::load_config(path.string());
    EXPECT_DOUBLE_EQ(c.model.csc.lambda(), 0.1) << preset;
    EXPECT_EQ(c.model.csc.iterations(), 2) << preset;
    EXPECT_EQ(c.model.csc.solver(), CscSolver::Published) << preset;
  }
}

TEST(ModelConfig, ArchitectureKeysParseRoundTripAndReachTheModelOptions) {
  const auto c = train::parse_config(
      "model: {name: ml-ista, unfoldings: 3, depth: 14, channels: [8, 16], kernel_sizes: [5, 3], strides: [2, 1],\n"
      "        paddings: [0, 1], layout: cifar, blocks: 2, growth: 4, max_dilation: 6}\n");
  EXPECT_EQ(c.model.unfoldings, 3);
  EXPECT_EQ(c.model.depth, 14);
  EXPECT_EQ(c.model.channels, (std::vector<int64_t>{8, 16}));
  EXPECT_EQ(c.model.kernel_sizes, (std::vector<int64_t>{5, 3}));
  EXPECT_EQ(c.model.strides, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(c.model.paddings, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(c.model.layout, "cifar");
  EXPECT_EQ(c.model.blocks, 2);
  EXPECT_EQ(c.model.growth, 4);
  EXPECT_EQ(c.model.max_dilation, 6);
  const auto text = train::to_yaml(c);
  EXPECT_EQ(train::to_yaml(train::parse_config(text)), text);
  // Defaults mean "the architecture's own"; a network refuses an option it does not use.
  const auto plain = train::parse_config("");
  EXPECT_EQ(plain.model.unfoldings, -1);
  EXPECT_TRUE(plain.model.channels.empty());
  auto resnet = train::parse_config("model: {name: resnet18, width: 0.0625, unfoldings: 2}");
  try {
    train::build_model(resnet.model, 1, 10);
    ADD_FAILURE() << "resnet18 accepted unfoldings";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("does not use the option unfoldings"), std::string::npos) << e.what();
  }
  EXPECT_NE(error_of("model: {channels: 3}").find("model.channels"), std::string::npos);
}

TEST(ModelConfig, EveryShippedPresetParsesAndBuildsItsModel) {
  const auto configs = std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "configs";
  int presets = 0;
  for (const auto& entry : std::filesystem::directory_iterator(configs)) {
    if (entry.path().extension() != ".yaml") continue;
    const auto c = train::load_config(entry.path().string());
    const int64_t channels = static_cast<int64_t>(c.data.mean.size());
    const int64_t classes = c.data.kind == "cifar100" ? 100 : c.data.kind == "folder" ? 1000 : 10;
    EXPECT_NO_THROW(train::build_model(c.model, channels, classes)) << entry.path();
    ++presets;
  }
  EXPECT_GE(presets, 14);
}

TEST(TrainConfig, ClipGradNormParsesChecksAndRoundTrips) {
  const auto c = train::parse_config("train: {clip_grad_norm: 2.5}\n");
  EXPECT_DOUBLE_EQ(c.train.clip_grad_norm, 2.5);
  EXPECT_DOUBLE_EQ(train::parse_config(train::to_yaml(c)).train.clip_grad_norm, 2.5);
  EXPECT_DOUBLE_EQ(train::parse_config("").train.clip_grad_norm, 0.0);  // off by default
  EXPECT_NE(error_of("train: {clip_grad_norm: -1}").find("train.clip_grad_norm"), std::string::npos);
}
