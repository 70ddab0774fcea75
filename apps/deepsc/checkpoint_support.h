#pragma once
// What the commands that read a trained checkpoint share (eval, filters, robust, attack): the
// flags naming the checkpoint, its run configuration and the data, and loading the model.
#include "cli.h"

#include "deepsc/train/trainer.h"

#include <memory>
#include <string>
#include <vector>

namespace deepsc::cli {

struct CheckpointOptions {
  std::string checkpoint, config, split = "test", data, png;
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

}  // namespace deepsc::cli
