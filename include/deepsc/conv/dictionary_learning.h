#pragma once
/// Convolutional dictionary learning (Zhang 2024, section 2): given images Y_n [C, H, W], find atoms
/// W [M, C, k, k] with ‖w_j‖₂ ≤ 1 and code maps X_n minimising
///   Σ_n ½‖Y_n − Σ_j w_j ∗ x_{n,j}‖₂² + λ Σ_{n,j} ‖x_{n,j}‖₁,
/// by alternating minimisation (Olshausen & Field 1996; Bristow, Eriksson & Lucey 2013; Wohlberg
/// 2016 for the convolutional form):
///   coding step:     X ← FISTA on ConvDictionary(W), warm-started from each image's last codes;
///   dictionary step: W ← Π(W − η ∇_W ½‖Y − D(W)X‖²), Π projecting every atom onto the unit ball,
///                    η = 1/L_W with L_W = ‖X‖²_op found by power iteration (warm-started),
///                    with Nesterov momentum over the steps of one update.
/// Batch mode (batch_size 0) codes every image before each dictionary update; the online /
/// mini-batch mode (Mairal, Bach, Ponce & Sapiro 2010, in its stochastic form) updates W after each
/// batch of images, which scales to many images. Codes are "full" (padding k − 1), so every pixel
/// is covered by k² positions of each atom; stride 1, dilation 1.

#include "deepsc/conv/conv_dictionary.h"

#include <functional>
#include <vector>

namespace deepsc::conv {

/// What the learner reports after every epoch (one pass over the images).
struct LearningProgress {
  int64_t epoch = 0;             // 1-based
  double objective = 0;          // mean over images of ½‖Y − DX‖² + λ‖X‖₁, at the epoch's codes
  double nonzeros = 0;           // mean non-zero codes per image
  const torch::Tensor* weights;  // W after the epoch
};

struct DictionaryLearningOptions {
  DictionaryLearningOptions(int64_t atoms, int64_t kernel_size) : atoms_(atoms), kernel_size_(kernel_size) {}
  /// M, the number of atoms.
  TORCH_ARG(int64_t, atoms);
  /// k, atoms are k × k.
  TORCH_ARG(int64_t, kernel_size);
  /// λ of the coding steps.
  TORCH_ARG(double, lambda) = 0.1;
  /// Passes over the images.
  TORCH_ARG(int64_t, epochs) = 20;
  /// Images per dictionary update; 0 = all of them (batch learning).
  TORCH_ARG(int64_t, batch_size) = 0;
  /// FISTA iterations per coding step (warm-started, so a few suffice after the first epoch).
  TORCH_ARG(int64_t, coding_iters) = 30;
  /// Projected-gradient steps on W per dictionary update.
  TORCH_ARG(int64_t, dictionary_iters) = 5;
  /// Non-negative codes.
  TORCH_ARG(bool, nonneg) = false;
  /// Starting atoms [M, C, k, k]; undefined: random Gaussian atoms of unit norm (from `seed`).
  TORCH_ARG(torch::Tensor, initial) = {};
  /// Seed of the random start and of the mini-batch order.
  TORCH_ARG(uint64_t, seed) = 0;
  /// Called after every epoch (for logging and checkpoints); may be empty.
  TORCH_ARG(std::function<void(const LearningProgress&)>, on_epoch) = nullptr;
};

struct DictionaryLearningResult {
  torch::Tensor weights;           // W [M, C, k, k], atoms of norm ≤ 1
  std::vector<double> objective;   // after each epoch
};

/// Learns W from images [N, C, H, W] (float32/float64, any device; H, W ≥ k). Throws
/// std::invalid_argument naming the option for bad sizes or options.
DictionaryLearningResult learn_conv_dictionary(const torch::Tensor& images, const DictionaryLearningOptions& options);

}  // namespace deepsc::conv
