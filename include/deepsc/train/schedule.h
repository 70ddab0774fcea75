#pragma once
/// Learning-rate schedules of the training presets (SDNet's: cosine annealing stepped every
/// iteration for CIFAR, ×γ at milestone epochs for ImageNet).

#include "deepsc/train/config.h"

namespace deepsc::train {

/// The learning rate for optimisation step `step` (0-based, counted over the whole run) when an
/// epoch has `steps_per_epoch` steps:
///   cosine:     min_lr + (lr − min_lr)·(1 + cos(π·step / (epochs·steps_per_epoch)))/2
///   multistep:  lr·γ^(number of milestones ≤ the current epoch, epoch = step / steps_per_epoch)
/// Requires steps_per_epoch ≥ 1 and step ≥ 0.
double learning_rate(const OptimConfig& config, int64_t step, int64_t steps_per_epoch);

}  // namespace deepsc::train
