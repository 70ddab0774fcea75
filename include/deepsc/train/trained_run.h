#pragma once
/// A run of train() brought back for use: its configuration, its data pipeline and the model with a
/// checkpoint's weights — what `deepsc eval`, `robust`, `attack` and the Python package's
/// deepsc.nn.load_model all start from.

#include "deepsc/train/trainer.h"

#include <memory>
#include <string>

namespace deepsc::train {

/// The model `config` describes for data of `channels` channels and `classes` classes, with the model
/// part of `checkpoint` (a checkpoint-last.pt or checkpoint-best.pt of train()), on `device`, in
/// training mode. Throws when the checkpoint does not fit the architecture.
std::shared_ptr<nn::Classifier> load_trained_model(const std::string& checkpoint, const ModelConfig& config,
                                                   int64_t channels, int64_t classes,
                                                   const torch::Device& device = torch::kCPU);

struct TrainedRun {
  TrainConfig config;
  /// The configured data (its test split gives the model's channels and classes).
  DataPipeline pipeline;
  /// In eval mode.
  std::shared_ptr<nn::Classifier> model;
};

/// Opens `config`'s data and loads `checkpoint` into its model (see load_trained_model).
TrainedRun load_trained_run(const std::string& checkpoint, const TrainConfig& config,
                            const torch::Device& device = torch::kCPU);

}  // namespace deepsc::train
