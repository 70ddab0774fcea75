#pragma once
// What the commands that read a trained checkpoint share (eval, filters, robust, attack): the
// flags naming the checkpoint, its run configuration and the data, and loading the model.
#include "cli.h"

#include "deepsc/train/trained_run.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace deepsc::cli {

struct CheckpointOptions {
  std::string checkpoint, config, split = "test", data, png, predictions;
  std::vector<std::string> overrides;
  int64_t layer = 0;
  bool json = false;
};

/// --checkpoint (required), --config, --set.
void add_checkpoint_options(CLI::App* cmd, CheckpointOptions& o);

/// The run's configuration: --config, or config.yaml next to the checkpoint; --data KIND[:ROOT]
/// and --set override it.
train::TrainConfig checkpoint_config(const CheckpointOptions& o);

/// The configured model with the checkpoint's weights, on `device`; the data set gives the input
/// channels and classes.
std::shared_ptr<nn::Classifier> load_model(const CheckpointOptions& o, const train::TrainConfig& config,
                                           const data::Dataset& data, const torch::Device& device);

/// --data KIND[:ROOT] and --split (`split_help` says what the command does with it).
void add_data_options(CLI::App* cmd, CheckpointOptions& o, const std::string& split_help);

/// A trained run ready to evaluate: its configuration with --split as the test split, its data,
/// and the model in eval mode on `device`.
train::TrainedRun load_run(const CheckpointOptions& o, const torch::Device& device);

/// (x − mean) / std of the run's data, for images in [0, 1] on `device`.
std::function<torch::Tensor(const torch::Tensor&)> normaliser(const train::DataPipeline& pipeline,
                                                              const torch::Device& device);

/// Throws std::invalid_argument when `out` is empty or exists and is not a folder (checked before
/// any work, so that a long run does not fail at its end).
void check_output_folder(const std::string& out);

}  // namespace deepsc::cli
