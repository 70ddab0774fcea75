#include "deepsc/nn/registry.h"

#include "deepsc/nn/ml_csc_nets.h"
#include "deepsc/nn/msd_nets.h"
#include "deepsc/nn/res_csc.h"
#include "deepsc/nn/resnet.h"

#include <algorithm>
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
  if (o.unfoldings() < -1) throw std::invalid_argument("unfoldings must be >= 0, got " + std::to_string(o.unfoldings()));
  const auto require_nonneg = [](int64_t value, const char* name, int64_t minimum) {
    if (value < minimum) {
      throw std::invalid_argument(std::string(name) + " must be >= " + std::to_string(minimum) + ", got " +
                                  std::to_string(value));
    }
  };
  require_nonneg(o.depth(), "depth", 0);
  require_nonneg(o.blocks(), "blocks", 0);
  require_nonneg(o.growth(), "growth", 0);
  require_nonneg(o.max_dilation(), "max_dilation", 0);
  for (auto v : o.channels()) require_nonneg(v, "channels", 1);
  for (auto v : o.kernel_sizes()) require_nonneg(v, "kernel_sizes", 1);
  for (auto v : o.strides()) require_nonneg(v, "strides", 1);
  for (auto v : o.paddings()) require_nonneg(v, "paddings", 0);
  // The template's sizes are the architecture's to set; everything else must already be valid.
  auto csc = o.csc();
  csc.in_channels(1).atoms(1).kernel_size(1).stride(1).padding(0).dilation(1);
  try {
    check_csc_layer_options(csc);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("csc_") + e.what());
  }
}

void check_used_options(const ModelOptions& o, const std::string& model, const std::vector<std::string>& used) {
  const std::vector<std::pair<std::string, bool>> set = {
      {"unfoldings", o.unfoldings() != -1}, {"depth", o.depth() != 0},
      {"channels", !o.channels().empty()},  {"kernel_sizes", !o.kernel_sizes().empty()},
      {"strides", !o.strides().empty()},    {"paddings", !o.paddings().empty()},
      {"layout", !o.layout().empty()},      {"blocks", o.blocks() != 0},
      {"growth", o.growth() != 0},          {"max_dilation", o.max_dilation() != 0},
  };
  for (const auto& [name, is_set] : set) {
    if (is_set && std::find(used.begin(), used.end(), name) == used.end()) {
      std::string list;
      for (const auto& u : used) list += (list.empty() ? "" : ", ") + u;
      throw std::invalid_argument(model + " does not use the option " + name +
                                  (list.empty() ? std::string(" (it takes none of the architecture options)")
                                                : " (it uses: " + list + ")"));
    }
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
      made->builders.emplace_back(name, [spec = spec, name = name](const ModelOptions& options) -> std::shared_ptr<Classifier> {
        check_used_options(options, name, {});
        return std::make_shared<ResNetImpl>(spec, options);
      });
    }
    // Networks read as multi-layer CSC solvers (Sulam et al. 2020; Zhang & Zhang 2021; Pelt &
    // Sethian 2018).
    const std::vector<std::pair<std::string, MlCscVariant>> ml = {
        {"mlcsc-cnn", MlCscVariant::Cnn}, {"ml-ista", MlCscVariant::Ista}, {"ml-fista", MlCscVariant::Fista},
        {"lbp", MlCscVariant::Lbp},       {"ml-lista", MlCscVariant::Lista},
    };
    for (const auto& [name, variant] : ml) {
      made->builders.emplace_back(name, [variant = variant](const ModelOptions& options) {
        return make_ml_csc_net(variant, options);
      });
    }
    made->builders.emplace_back("res-csc", [](const ModelOptions& options) { return make_res_csc_net(true, options); });
    made->builders.emplace_back("plain-csc", [](const ModelOptions& options) { return make_res_csc_net(false, options); });
    made->builders.emplace_back("msdnet", [](const ModelOptions& options) { return make_msd_net(options); });
    made->builders.emplace_back("msd-csc", [](const ModelOptions& options) { return make_msd_csc_net(options); });
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
