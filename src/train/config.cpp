#include "deepsc/train/config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace deepsc::train {

namespace {

/// Reads the keys of one section, remembering which were consumed so leftovers are reported.
class Section {
 public:
  Section(const YAML::Node& root, std::string name, std::string origin)
      : node_(root[name]), name_(std::move(name)), origin_(std::move(origin)) {
    if (node_ && !node_.IsMap() && !node_.IsNull()) fail(name_, "must be a mapping of keys to values");
  }

  template <typename T>
  void read(const std::string& key, T& value) {
    seen_.insert(key);
    if (!node_ || !node_.IsMap() || !node_[key]) return;
    try {
      value = node_[key].as<T>();
    } catch (const YAML::Exception&) {
      fail(name_ + "." + key, "has the wrong type (value: " + YAML::Dump(node_[key]) + ")");
    }
  }

  /// Throws for a key of the section that no read() asked for.
  void reject_unknown() const {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& entry : node_) {
      const auto key = entry.first.as<std::string>();
      if (!seen_.count(key)) {
        std::string known;
        for (const auto& k : seen_) known += (known.empty() ? "" : ", ") + k;
        fail(name_ + "." + key, "is not a known key (known: " + known + ")");
      }
    }
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw std::invalid_argument(origin_ + ": " + key + " " + what);
  }

 private:
  YAML::Node node_;
  std::string name_, origin_;
  std::set<std::string> seen_;
};

void require(bool ok, const std::string& origin, const std::string& key, const std::string& what) {
  if (!ok) throw std::invalid_argument(origin + ": " + key + " " + what);
}

void apply_override(YAML::Node& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  const auto key = assignment.substr(0, eq);
  const auto dot = key.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot == 0 || dot + 1 == key.size() ||
      key.find('.', dot + 1) != std::string::npos) {
    throw std::invalid_argument("--set " + assignment + ": expected section.key=value, e.g. train.epochs=3");
  }
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument("--set " + assignment + ": the value is not valid YAML");
  }
  const auto section = key.substr(0, dot);
  if (section != "model" && section != "data" && section != "train") {
    throw std::invalid_argument("--set " + assignment + ": unknown section '" + section + "' (model, data, train)");
  }
  root[section][key.substr(dot + 1)] = value;
}

/// The csc_* keys of the model section into the CSC layer template.
void read_csc(Section& model, nn::CscLayerOptions& csc) {
  double lambda = csc.lambda(), step_scale = csc.step_scale(), power_tol = csc.power_tol();
  int64_t iterations = csc.iterations(), power_iterations = csc.power_iterations();
  bool learnable = csc.learnable_lambda(), nonneg = csc.nonneg(), normalize = csc.normalize_atoms();
  std::string solver = nn::csc_solver_name(csc.solver());
  model.read("csc_lambda", lambda);
  model.read("csc_learnable_lambda", learnable);
  model.read("csc_iterations", iterations);
  model.read("csc_solver", solver);
  model.read("csc_nonneg", nonneg);
  model.read("csc_step_scale", step_scale);
  model.read("csc_normalize_atoms", normalize);
  model.read("csc_power_iterations", power_iterations);
  model.read("csc_power_tol", power_tol);
  nn::CscSolver parsed = csc.solver();
  try {
    parsed = nn::parse_csc_solver(solver);
  } catch (const std::invalid_argument&) {
    model.fail("model.csc_solver", "must be ista, fista or published (got " + solver + ")");
  }
  csc.lambda(lambda).learnable_lambda(learnable).iterations(iterations).solver(parsed).nonneg(nonneg)
      .step_scale(step_scale).normalize_atoms(normalize).power_iterations(power_iterations).power_tol(power_tol);
}

/// The CSC options' own checks, reported as "model.csc_<option>".
void check_csc(const nn::CscLayerOptions& csc, const std::string& origin) {
  auto sized = csc;
  sized.in_channels(1).atoms(1).kernel_size(1);
  try {
    nn::check_csc_layer_options(sized);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(origin + ": model.csc_" + e.what());
  }
}

}  // namespace

TrainConfig parse_config(const std::string& yaml, const std::vector<std::string>& overrides, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw std::invalid_argument(origin + ": not valid YAML (line " + std::to_string(e.mark.line + 1) + ": " + e.msg + ")");
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) throw std::invalid_argument(origin + ": expected a mapping with sections model, data, train");
  for (const auto& entry : root) {
    const auto name = entry.first.as<std::string>();
    if (name != "model" && name != "data" && name != "train") {
      throw std::invalid_argument(origin + ": unknown section '" + name + "' (model, data, train)");
    }
  }
  for (const auto& assignment : overrides) apply_override(root, assignment);

  TrainConfig c;
  Section model(root, "model", origin);
  model.read("name", c.model.name);
  model.read("stem", c.model.stem);
  model.read("width", c.model.width);
  read_csc(model, c.model.csc);
  model.read("unfoldings", c.model.unfoldings);
  model.read("depth", c.model.depth);
  model.read("channels", c.model.channels);
  model.read("kernel_sizes", c.model.kernel_sizes);
  model.read("strides", c.model.strides);
  model.read("paddings", c.model.paddings);
  model.read("layout", c.model.layout);
  model.read("blocks", c.model.blocks);
  model.read("growth", c.model.growth);
  model.read("max_dilation", c.model.max_dilation);
  model.reject_unknown();

  Section data(root, "data", origin);
  data.read("kind", c.data.kind);
  data.read("root", c.data.root);
  data.read("train_split", c.data.train_split);
  data.read("test_split", c.data.test_split);
  data.read("augment", c.data.augment);
  data.read("image_size", c.data.image_size);
  data.read("crop_padding", c.data.crop_padding);
  data.read("test_resize", c.data.test_resize);
  data.read("mean", c.data.mean);
  data.read("std", c.data.std);
  data.read("workers", c.data.workers);
  data.reject_unknown();

  Section optim(root, "train", origin);
  optim.read("epochs", c.train.epochs);
  optim.read("batch_size", c.train.batch_size);
  optim.read("lr", c.train.lr);
  optim.read("momentum", c.train.momentum);
  optim.read("nesterov", c.train.nesterov);
  optim.read("weight_decay", c.train.weight_decay);
  optim.read("schedule", c.train.schedule);
  optim.read("min_lr", c.train.min_lr);
  optim.read("milestones", c.train.milestones);
  optim.read("gamma", c.train.gamma);
  optim.read("label_smoothing", c.train.label_smoothing);
  optim.read("clip_grad_norm", c.train.clip_grad_norm);
  optim.read("eval_batch_size", c.train.eval_batch_size);
  optim.read("max_steps_per_epoch", c.train.max_steps_per_epoch);
  optim.read("sync_batch_norm", c.train.sync_batch_norm);
  optim.reject_unknown();

  require(c.model.width > 0, origin, "model.width", "must be > 0");
  check_csc(c.model.csc, origin);
  require(c.model.stem == "cifar" || c.model.stem == "imagenet", origin, "model.stem", "must be cifar or imagenet");
  require(c.data.augment == "none" || c.data.augment == "crop-flip" || c.data.augment == "resized-crop-flip", origin,
          "data.augment", "must be none, crop-flip or resized-crop-flip");
  require(c.data.image_size >= 0 && c.data.crop_padding >= 0 && c.data.test_resize >= 0, origin,
          "data.image_size/crop_padding/test_resize", "must be >= 0");
  require(!c.data.mean.empty() && c.data.mean.size() == c.data.std.size(), origin, "data.mean/std",
          "must be non-empty lists of the same length (one value per channel)");
  for (double s : c.data.std) require(s > 0, origin, "data.std", "values must be > 0");
  require(c.data.workers >= 0, origin, "data.workers", "must be >= 0");
  require(c.train.epochs >= 1, origin, "train.epochs", "must be >= 1");
  require(c.train.batch_size >= 1 && c.train.eval_batch_size >= 1, origin, "train.batch_size/eval_batch_size",
          "must be >= 1");
  require(c.train.lr > 0, origin, "train.lr", "must be > 0");
  require(c.train.momentum >= 0 && c.train.momentum < 1, origin, "train.momentum", "must be in [0, 1)");
  require(!c.train.nesterov || c.train.momentum > 0, origin, "train.nesterov", "needs momentum > 0");
  require(c.train.weight_decay >= 0, origin, "train.weight_decay", "must be >= 0");
  require(c.train.schedule == "cosine" || c.train.schedule == "multistep", origin, "train.schedule",
          "must be cosine or multistep");
  require(c.train.min_lr >= 0 && c.train.min_lr <= c.train.lr, origin, "train.min_lr", "must be in [0, lr]");
  require(c.train.gamma > 0 && c.train.gamma <= 1, origin, "train.gamma", "must be in (0, 1]");
  for (size_t i = 0; i < c.train.milestones.size(); ++i) {
    require(c.train.milestones[i] >= 1 && (i == 0 || c.train.milestones[i] > c.train.milestones[i - 1]), origin,
            "train.milestones", "must be increasing epochs >= 1");
  }
  require(c.train.clip_grad_norm >= 0 && std::isfinite(c.train.clip_grad_norm), origin, "train.clip_grad_norm",
          "must be >= 0 (0: off)");
  require(c.train.label_smoothing >= 0 && c.train.label_smoothing < 1, origin, "train.label_smoothing",
          "must be in [0, 1)");
  require(c.train.max_steps_per_epoch >= 0, origin, "train.max_steps_per_epoch", "must be >= 0");
  return c;
}

TrainConfig load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument(path + ": cannot read the configuration file");
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), overrides, path);
}

std::string to_yaml(const TrainConfig& c) {
  YAML::Emitter e;
  // 15 significant digits: a value typed as a decimal (0.3, 1e-6) is written back as typed and
  // parses to the same double; 17 would print 0.29999999999999999.
  e.SetDoublePrecision(15);
  e.SetFloatPrecision(15);
  e << YAML::BeginMap;
  e << YAML::Key << "model" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value << c.model.name << YAML::Key << "stem" << YAML::Value << c.model.stem;
  const auto& csc = c.model.csc;
  e << YAML::Key << "width" << YAML::Value << c.model.width << YAML::Key << "csc_lambda" << YAML::Value << csc.lambda();
  e << YAML::Key << "csc_learnable_lambda" << YAML::Value << csc.learnable_lambda();
  e << YAML::Key << "csc_iterations" << YAML::Value << csc.iterations() << YAML::Key << "csc_solver" << YAML::Value
    << nn::csc_solver_name(csc.solver());
  e << YAML::Key << "csc_nonneg" << YAML::Value << csc.nonneg() << YAML::Key << "csc_step_scale" << YAML::Value
    << csc.step_scale();
  e << YAML::Key << "csc_normalize_atoms" << YAML::Value << csc.normalize_atoms();
  e << YAML::Key << "csc_power_iterations" << YAML::Value << csc.power_iterations() << YAML::Key << "csc_power_tol"
    << YAML::Value << csc.power_tol();
  const auto& m = c.model;
  e << YAML::Key << "unfoldings" << YAML::Value << m.unfoldings << YAML::Key << "depth" << YAML::Value << m.depth;
  e << YAML::Key << "channels" << YAML::Value << YAML::Flow << m.channels << YAML::Key << "kernel_sizes" << YAML::Value
    << YAML::Flow << m.kernel_sizes;
  e << YAML::Key << "strides" << YAML::Value << YAML::Flow << m.strides << YAML::Key << "paddings" << YAML::Value
    << YAML::Flow << m.paddings;
  e << YAML::Key << "layout" << YAML::Value << m.layout << YAML::Key << "blocks" << YAML::Value << m.blocks;
  e << YAML::Key << "growth" << YAML::Value << m.growth << YAML::Key << "max_dilation" << YAML::Value << m.max_dilation;
  e << YAML::EndMap;
  e << YAML::Key << "data" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "kind" << YAML::Value << c.data.kind << YAML::Key << "root" << YAML::Value << c.data.root;
  e << YAML::Key << "train_split" << YAML::Value << c.data.train_split << YAML::Key << "test_split" << YAML::Value
    << c.data.test_split;
  e << YAML::Key << "augment" << YAML::Value << c.data.augment << YAML::Key << "image_size" << YAML::Value
    << c.data.image_size;
  e << YAML::Key << "crop_padding" << YAML::Value << c.data.crop_padding << YAML::Key << "test_resize" << YAML::Value
    << c.data.test_resize;
  e << YAML::Key << "mean" << YAML::Value << YAML::Flow << c.data.mean << YAML::Key << "std" << YAML::Value
    << YAML::Flow << c.data.std;
  e << YAML::Key << "workers" << YAML::Value << c.data.workers;
  e << YAML::EndMap;
  e << YAML::Key << "train" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "epochs" << YAML::Value << c.train.epochs << YAML::Key << "batch_size" << YAML::Value
    << c.train.batch_size;
  e << YAML::Key << "lr" << YAML::Value << c.train.lr << YAML::Key << "momentum" << YAML::Value << c.train.momentum;
  e << YAML::Key << "nesterov" << YAML::Value << c.train.nesterov << YAML::Key << "weight_decay" << YAML::Value
    << c.train.weight_decay;
  e << YAML::Key << "schedule" << YAML::Value << c.train.schedule << YAML::Key << "min_lr" << YAML::Value
    << c.train.min_lr;
  e << YAML::Key << "milestones" << YAML::Value << YAML::Flow << c.train.milestones << YAML::Key << "gamma"
    << YAML::Value << c.train.gamma;
  e << YAML::Key << "clip_grad_norm" << YAML::Value << c.train.clip_grad_norm;
  e << YAML::Key << "label_smoothing" << YAML::Value << c.train.label_smoothing << YAML::Key << "eval_batch_size"
    << YAML::Value << c.train.eval_batch_size;
  e << YAML::Key << "max_steps_per_epoch" << YAML::Value << c.train.max_steps_per_epoch;
  // Written only when on, so that runs made before the key existed still resume (same config text).
  if (c.train.sync_batch_norm) e << YAML::Key << "sync_batch_norm" << YAML::Value << true;
  e << YAML::EndMap << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace deepsc::train
