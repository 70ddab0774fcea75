#include "checkpoint_support.h"

#include "deepsc/train/trained_run.h"

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
  return train::load_trained_model(o.checkpoint, config.model, data.channels(), data.num_classes(), device);
}

void add_data_options(CLI::App* cmd, CheckpointOptions& o, const std::string& split_help) {
  cmd->add_option("--data", o.data, "Data set KIND[:ROOT] (default: the run's)");
  cmd->add_option("--split", o.split, split_help)->capture_default_str();
}

train::TrainedRun load_run(const CheckpointOptions& o, const torch::Device& device) {
  auto config = checkpoint_config(o);
  config.data.test_split = o.split;
  return train::load_trained_run(o.checkpoint, config, device);
}

std::function<torch::Tensor(const torch::Tensor&)> normaliser(const train::DataPipeline& pipeline,
                                                              const torch::Device& device) {
  const auto stats = torch::TensorOptions().dtype(torch::kFloat).device(device);
  const auto mean = torch::tensor(pipeline.mean, stats).view({1, -1, 1, 1});
  const auto stdev = torch::tensor(pipeline.std, stats).view({1, -1, 1, 1});
  return [mean, stdev](const torch::Tensor& images01) { return (images01 - mean) / stdev; };
}

void check_output_folder(const std::string& out) {
  if (out.empty()) throw std::invalid_argument("--out: no folder given");
  if (std::filesystem::exists(out) && !std::filesystem::is_directory(out))
    throw std::invalid_argument("--out " + out + " exists and is not a folder");
}

}  // namespace deepsc::cli
