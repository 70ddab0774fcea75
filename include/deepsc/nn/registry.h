#pragma once
/// Named models: one registry of every image classifier, name → builder of a Classifier from one
/// ModelOptions, as the trainer, the CLI and the benchmarks select them. The ResNet / SDNet family
/// (resnet.h) is registered on first use; a new network (ML-CSC, Res-CSC, MSD-CSC, …) is added in
/// one place with register_model().

#include "deepsc/nn/classifier.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace deepsc::nn {

/// Builds a freshly initialised model; throws std::invalid_argument naming a bad option.
using ModelBuilder = std::function<std::shared_ptr<Classifier>(const ModelOptions&)>;

/// Adds `name` → `builder`. Throws std::invalid_argument for an empty name, an empty builder or a
/// name already registered. Thread-safe.
void register_model(const std::string& name, ModelBuilder builder);

/// Every registered name in registration order: resnet18, resnet34, sdnet18, sdnet34, sdnet18-all,
/// sdnet34-all, sdnet18-all-noshortcut, sdnet34-all-noshortcut, then those added by register_model.
std::vector<std::string> model_names();

/// A freshly initialised model. Throws std::invalid_argument for an unknown name (listing the
/// known ones) or bad options (naming the option).
std::shared_ptr<Classifier> make_model(const std::string& name, const ModelOptions& options);

}  // namespace deepsc::nn
