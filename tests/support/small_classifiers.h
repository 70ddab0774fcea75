#pragma once
// Small classifiers for the robust-inference tests: identities of λ sweeps, fits and attacks hold
// for any weights, so an untrained network of 1/16 width on 1×16×16 images is enough.
#include "deepsc/nn/registry.h"

#include <memory>
#include <string>
#include <vector>

namespace deepsc::testing {

/// nn::make_model(name) with 5 classes, 1 input channel, width 0.0625, seeded, in eval mode.
inline std::shared_ptr<nn::Classifier> small_classifier(const std::string& name) {
  torch::manual_seed(3);
  auto model = nn::make_model(name, nn::ModelOptions().num_classes(5).in_channels(1).width(0.0625));
  model->eval();
  return model;
}

/// Every CSC layer's scalar λ, in forward order.
inline std::vector<double> csc_lambdas(const nn::Classifier& model) {
  std::vector<double> out;
  for (const auto& layer : model.csc_layers()) out.push_back(layer->options.lambda());
  return out;
}

}  // namespace deepsc::testing
