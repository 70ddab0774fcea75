#include "deepsc/train/schedule.h"

#include <cmath>
#include <stdexcept>

namespace deepsc::train {

double learning_rate(const OptimConfig& c, int64_t step, int64_t steps_per_epoch) {
  if (steps_per_epoch < 1 || step < 0) throw std::invalid_argument("learning_rate: needs steps_per_epoch >= 1, step >= 0");
  if (c.schedule == "cosine") {
    const double total = static_cast<double>(c.epochs * steps_per_epoch);
    const double progress = std::min(1.0, static_cast<double>(step) / total);
    return c.min_lr + (c.lr - c.min_lr) * 0.5 * (1 + std::cos(M_PI * progress));
  }
  const int64_t epoch = step / steps_per_epoch;
  double lr = c.lr;
  for (int64_t milestone : c.milestones) {
    if (epoch >= milestone) lr *= c.gamma;
  }
  return lr;
}

}  // namespace deepsc::train
