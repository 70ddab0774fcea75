#include "deepsc/train/trained_run.h"

#include "deepsc/train/checkpoint.h"

namespace deepsc::train {

std::shared_ptr<nn::Classifier> load_trained_model(const std::string& checkpoint, const ModelConfig& config,
                                                   int64_t channels, int64_t classes, const torch::Device& device) {
  auto model = build_model(config, channels, classes);
  load_checkpoint(checkpoint, *model, nullptr);
  model->to(device);
  return model;
}

TrainedRun load_trained_run(const std::string& checkpoint, const TrainConfig& config, const torch::Device& device) {
  TrainedRun run;
  run.config = config;
  run.pipeline = build_data(config.data);
  run.model = load_trained_model(checkpoint, config.model, run.pipeline.test->channels(),
                                 run.pipeline.test->num_classes(), device);
  run.model->eval();
  return run;
}

}  // namespace deepsc::train
