#pragma once
/// Named models: the ResNet / SDNet family by name, as the trainer and the CLI select them.

#include "deepsc/nn/classifier.h"

#include <memory>
#include <string>
#include <vector>

namespace deepsc::nn {

/// resnet18, resnet34, sdnet18, sdnet34, sdnet18-all, sdnet34-all, sdnet18-all-noshortcut,
/// sdnet34-all-noshortcut.
std::vector<std::string> model_names();

/// A freshly initialised model. Throws std::invalid_argument for an unknown name (listing the
/// known ones) or bad options (naming the option).
std::shared_ptr<Classifier> make_model(const std::string& name, const ModelOptions& options);

}  // namespace deepsc::nn
