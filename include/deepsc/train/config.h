#pragma once
/// A training run, as read from a YAML preset (configs/*.yaml) plus `--set key=value` overrides.
/// Every field has a default; unknown keys are errors (a misspelt key must not be ignored).
///
///   model:  name (registry name, nn::model_names()), stem (cifar | imagenet), width, and every
///           CSC layer's options (nn::CscLayerOptions, the template ModelOptions::csc) as flat
///           keys csc_<option>: csc_lambda, csc_learnable_lambda (one λ per atom, learned),
///           csc_iterations, csc_solver (ista | fista | published), csc_nonneg, csc_step_scale,
///           csc_normalize_atoms, csc_power_iterations, csc_power_tol. The sizes (atoms, kernel,
///           stride, padding) belong to the architecture and are not keys. The networks read as
///           ML-CSC solvers (ml-ista, res-csc, msd-csc, …) take unfoldings, depth, channels,
///           kernel_sizes, strides, paddings, layout, blocks, growth, max_dilation
///           (nn::ModelOptions; each network refuses those it does not use).
///   data:   kind (fashion-mnist | mnist | cifar10 | cifar100 | svhn | folder), root,
///           train_split, test_split, augment (none | crop-flip | resized-crop-flip),
///           image_size, crop_padding, test_resize (0: none), mean, std (one value per channel), workers
///   train:  epochs, batch_size, lr, momentum, nesterov, weight_decay, schedule (cosine | multistep),
///           min_lr (cosine), milestones + gamma (multistep, in epochs), label_smoothing,
///           clip_grad_norm (0: off; else the gradients' global ℓ2 norm is clipped to it each step,
///           for networks without batch norm such as the unrolled ML-CSC ones),
///           eval_batch_size, max_steps_per_epoch (0: all; for quick smoke runs),
///           sync_batch_norm (data-parallel runs: batch norm over the global batch of all ranks)

#include "deepsc/nn/csc_layer.h"

#include <cstdint>
#include <string>
#include <vector>

namespace deepsc::train {

struct ModelConfig {
  std::string name = "sdnet18";
  std::string stem = "cifar";
  double width = 1.0;
  /// Every CSC layer's options (the csc_* keys); build_model hands them to nn::ModelOptions::csc.
  nn::CscLayerOptions csc;
  /// The architecture options of the networks read as multi-layer CSC solvers (nn::ModelOptions:
  /// unfoldings −1 and the zero / empty values mean "the architecture's default").
  int64_t unfoldings = -1;
  int64_t depth = 0;
  std::vector<int64_t> channels, kernel_sizes, strides, paddings;
  std::string layout;
  int64_t blocks = 0;
  int64_t growth = 0;
  int64_t max_dilation = 0;
};

struct DataConfig {
  std::string kind = "fashion-mnist";
  std::string root;  // empty: the kind's default location
  std::string train_split = "train";
  std::string test_split = "test";
  std::string augment = "crop-flip";
  int64_t image_size = 0;    // crop size; 0: the data's own size
  int64_t crop_padding = 4;  // crop-flip: zero padding before the random crop
  int64_t test_resize = 0;   // shorter side before the centre crop at test time; 0: none
  std::vector<double> mean{0.5};
  std::vector<double> std{0.5};
  int64_t workers = 2;
};

struct OptimConfig {
  int64_t epochs = 10;
  int64_t batch_size = 128;
  double lr = 0.1;
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 5e-4;
  std::string schedule = "cosine";
  double min_lr = 1e-6;
  std::vector<int64_t> milestones;
  double gamma = 0.1;
  double label_smoothing = 0.0;
  double clip_grad_norm = 0.0;
  int64_t eval_batch_size = 256;
  int64_t max_steps_per_epoch = 0;
  bool sync_batch_norm = false;
};

struct TrainConfig {
  ModelConfig model;
  DataConfig data;
  OptimConfig train;
};

/// Reads a preset and applies overrides "section.key=value" (value in YAML syntax, e.g.
/// "train.epochs=3", "data.mean=[0.5]"). Throws std::invalid_argument naming the file and the
/// key for unreadable files, unknown keys, values of the wrong type and values out of range.
TrainConfig load_config(const std::string& path, const std::vector<std::string>& overrides = {});

/// Parses YAML text (the preset's contents) with overrides; `origin` names it in errors.
TrainConfig parse_config(const std::string& yaml, const std::vector<std::string>& overrides = {},
                         const std::string& origin = "config");

/// The configuration as YAML (saved into the run folder, so a run documents itself and a resume
/// can check it continues the same run).
std::string to_yaml(const TrainConfig& config);

}  // namespace deepsc::train
