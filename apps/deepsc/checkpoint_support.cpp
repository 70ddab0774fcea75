#include "checkpoint_support.h"

#include "deepsc/train/checkpoint.h"

#include <filesystem>

namespace deepsc::cli {

void add_checkpoint_options(CLI::App* cmd, CheckpointOptions& o) {
  cmd->add_option("--checkpoint", o.checkpoint, "RUN_DIR/checkpoint-best.pt or checkpoint-last.pt")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--config", o.config, "The run's configuration (default: config.yaml next to the checkpoint)");
  cmd->add_option("--set", o.overrides, "Override a configuration value: section.key=value (repeatable)");
}

train::TrainConfig checkpoint_config(const CheckpointOptions& o) {
  const auto path = o.config.empty() ? (std::filesystem::path(o.checkpoint).parent_path() / "config.yaml").string()
                                     : o.config;
  if (!std::filesystem::exists(path)) {
    throw std::invalid_argument("--config: no " + path + " (the run folder's config.yaml); pass --config");
  }
  auto overrides = o.overrides;
  if (!o.data.empty()) {
    const auto colon = o.data.find(':');
    overrides.push_back("data.kind=" + o.data.substr(0, colon));
    if (colon != std::string::npos) overrides.push_back("data.root=" + o.data.substr(colon + 1));
  }
  return train::load_config(path, overrides);
}

std::shared_ptr<nn::Classifier> load_model(const CheckpointOptions& o, const train::TrainConfig& config,
                                           const data::Dataset& data, const torch::Device& device) {
  auto model = train::build_model(config.model, data.channels(), data.num_classes());
  train::load_checkpoint(o.checkpoint, *model, nullptr);
  model->to(device);
  return model;
}

}  // namespace deepsc::cli
