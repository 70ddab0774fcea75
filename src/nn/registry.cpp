#include "deepsc/nn/registry.h"

#include "deepsc/nn/resnet.h"

#include <cmath>
#include <mutex>
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
  // The template's sizes are the architecture's to set; everything else must already be valid.
  auto csc = o.csc();
  csc.in_channels(1).atoms(1).kernel_size(1).stride(1).padding(0).dilation(1);
  try {
    check_csc_layer_options(csc);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("csc_") + e.what());
  }
}

namespace {

struct Registry {
  std::mutex mutex;
  std::vector<std::pair<std::string, ModelBuilder>> builders;
};

Registry& registry() {
  static Registry* r = [] {
    auto* made = new Registry;  // never destroyed: builders may be looked up during static teardown
    //                                      layers        csc_stem csc_blocks shortcut
    const std::vector<std::pair<std::string, ResNetSpec>> family = {
        {"resnet18", {{2, 2, 2, 2}, false, false, true}},
        {"resnet34", {{3, 4, 6, 3}, false, false, true}},
        {"sdnet18", {{2, 2, 2, 2}, true, false, true}},
        {"sdnet34", {{3, 4, 6, 3}, true, false, true}},
        {"sdnet18-all", {{2, 2, 2, 2}, true, true, true}},
        {"sdnet34-all", {{3, 4, 6, 3}, true, true, true}},
        {"sdnet18-all-noshortcut", {{2, 2, 2, 2}, true, true, false}},
        {"sdnet34-all-noshortcut", {{3, 4, 6, 3}, true, true, false}},
    };
    for (const auto& [name, spec] : family) {
      made->builders.emplace_back(name, [spec = spec](const ModelOptions& options) -> std::shared_ptr<Classifier> {
        return std::make_shared<ResNetImpl>(spec, options);
      });
    }
    return made;
  }();
  return *r;
}

}  // namespace

void register_model(const std::string& name, ModelBuilder builder) {
  if (name.empty()) throw std::invalid_argument("register_model: the name is empty");
  if (!builder) throw std::invalid_argument("register_model: no builder for '" + name + "'");
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (const auto& entry : r.builders)
    if (entry.first == name) throw std::invalid_argument("register_model: '" + name + "' is already registered");
  r.builders.emplace_back(name, std::move(builder));
}

std::vector<std::string> model_names() {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& entry : r.builders) names.push_back(entry.first);
  return names;
}

std::shared_ptr<Classifier> make_model(const std::string& name, const ModelOptions& options) {
  ModelBuilder builder;
  std::string list;
  {
    auto& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    for (const auto& entry : r.builders) {
      if (entry.first == name) builder = entry.second;
      list += (list.empty() ? "" : ", ") + entry.first;
    }
  }
  if (!builder) throw std::invalid_argument("unknown model '" + name + "' (known: " + list + ")");
  check_model_options(options);
  auto model = builder(options);
  if (!model) throw std::logic_error("model builder for '" + name + "' returned nothing");
  return model;
}

}  // namespace deepsc::nn
