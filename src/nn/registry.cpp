#include "deepsc/nn/registry.h"

#include "deepsc/nn/resnet.h"

#include <cmath>
#include <stdexcept>
#include <utility>

namespace deepsc::nn {

Stem parse_stem(const std::string& name) {
  if (name == "cifar") return Stem::Cifar;
  if (name == "imagenet") return Stem::ImageNet;
  throw std::invalid_argument("unknown stem '" + name + "' (use cifar or imagenet)");
}

const char* stem_name(Stem stem) { return stem == Stem::Cifar ? "cifar" : "imagenet"; }

void check_model_options(const ModelOptions& o) {
  if (o.num_classes() < 1) throw std::invalid_argument("num_classes must be >= 1, got " + std::to_string(o.num_classes()));
  if (o.in_channels() < 1) throw std::invalid_argument("in_channels must be >= 1, got " + std::to_string(o.in_channels()));
  if (!(o.width() > 0) || !std::isfinite(o.width()))
    throw std::invalid_argument("width must be > 0, got " + std::to_string(o.width()));
  if (!(o.csc_lambda() >= 0) || !std::isfinite(o.csc_lambda()))
    throw std::invalid_argument("csc_lambda must be finite and >= 0, got " + std::to_string(o.csc_lambda()));
  if (o.csc_iterations() < 1)
    throw std::invalid_argument("csc_iterations must be >= 1, got " + std::to_string(o.csc_iterations()));
}

namespace {

const std::vector<std::pair<std::string, ResNetSpec>>& family() {
  //                                     layers        csc_stem csc_blocks shortcut
  static const std::vector<std::pair<std::string, ResNetSpec>> specs = {
      {"resnet18", {{2, 2, 2, 2}, false, false, true}},
      {"resnet34", {{3, 4, 6, 3}, false, false, true}},
      {"sdnet18", {{2, 2, 2, 2}, true, false, true}},
      {"sdnet34", {{3, 4, 6, 3}, true, false, true}},
      {"sdnet18-all", {{2, 2, 2, 2}, true, true, true}},
      {"sdnet34-all", {{3, 4, 6, 3}, true, true, true}},
      {"sdnet18-all-noshortcut", {{2, 2, 2, 2}, true, true, false}},
      {"sdnet34-all-noshortcut", {{3, 4, 6, 3}, true, true, false}},
  };
  return specs;
}

}  // namespace

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& [name, spec] : family()) names.push_back(name);
  return names;
}

std::shared_ptr<Classifier> make_model(const std::string& name, const ModelOptions& options) {
  for (const auto& [known, spec] : family())
    if (known == name) return std::make_shared<ResNetImpl>(spec, options);
  std::string list;
  for (const auto& known : model_names()) list += (list.empty() ? "" : ", ") + known;
  throw std::invalid_argument("unknown model '" + name + "' (known: " + list + ")");
}

}  // namespace deepsc::nn
