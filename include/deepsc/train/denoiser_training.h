#pragma once
/// Supervised training of nn::CscDenoiser on crops of clean pictures (CSCNet, Simon & Elad 2019;
/// CDLNet, Janjušević et al. 2022): each step draws `batch` random crops (random picture, position,
/// flips and 90° turns), a noise level σ ~ U[sigma_min, sigma_max] per crop and fresh Gaussian noise,
/// and takes one Adam step on the mean squared error ‖f(y, σ) − x‖² / numel, with the learning rate
/// following a cosine from `learning_rate` to `final_learning_rate`. The network codes a single
/// shift (chosen per step) during training, or all s² shifts averaged with `average_shifts`, and
/// averages the s² shifts at evaluation.
///
/// Deterministic: step t draws its crops, σ and noise from a generator seeded by (seed, t), so a run
/// resumed from a checkpoint continues exactly as the uninterrupted one.

#include "deepsc/nn/csc_denoiser.h"

#include <functional>
#include <string>
#include <vector>

namespace deepsc::train {

/// What one report gives: the step just done, the mean training loss (MSE on [0, 1]) since the
/// previous report, and the wall time so far.
struct DenoiserProgress {
  int64_t step = 0;
  int64_t steps = 0;
  double loss = 0;
  double seconds = 0;
};

struct DenoiserTrainingOptions {
  TORCH_ARG(int64_t, steps) = 3000;
  TORCH_ARG(int64_t, batch) = 16;
  /// Side of the square training crops (≤ the smallest picture side, > the network's padding).
  TORCH_ARG(int64_t, crop) = 96;
  /// Noise levels on the pictures' scale ([0, 1]): σ₂₅₅ / 255.
  TORCH_ARG(double, sigma_min) = 5.0 / 255;
  TORCH_ARG(double, sigma_max) = 50.0 / 255;
  /// Average the estimates of all s² shifts in training too (s² times the work per step), so that
  /// the loss is that of the estimate used at evaluation; false codes one random shift per step.
  TORCH_ARG(bool, average_shifts) = false;
  TORCH_ARG(double, learning_rate) = 1e-3;
  TORCH_ARG(double, final_learning_rate) = 1e-5;
  TORCH_ARG(uint64_t, seed) = 0;
  /// Write `checkpoint` (atomically) every this many steps and at the end; 0: only at the end.
  TORCH_ARG(int64_t, checkpoint_every) = 200;
  /// Checkpoint file; empty: none. An existing one is resumed from when `resume` is set.
  TORCH_ARG(std::string, checkpoint) = "";
  TORCH_ARG(bool, resume) = false;
  /// Called every `report_every` steps and after the last one; may be empty.
  TORCH_ARG(int64_t, report_every) = 50;
  TORCH_ARG(std::function<void(const DenoiserProgress&)>, on_report) = nullptr;
  /// Polled after every step: true stops the run after writing a checkpoint (Ctrl-C).
  TORCH_ARG(std::function<bool()>, should_stop) = nullptr;
};

struct DenoiserTrainingResult {
  int64_t steps_done = 0;     // steps completed, resumed ones included
  bool stopped = false;       // should_stop ended the run early
  double last_loss = 0;       // mean training MSE over the last report's steps
  double seconds = 0;         // wall time of the training, resumed parts included
};

/// Trains `model` on `pictures` (each [1, C, H, W] or [C, H, W], values in [0, 1], on the model's
/// device and dtype). Throws std::invalid_argument naming the problem: no pictures, a picture
/// smaller than the crop, a crop not larger than the network's padding, σ range or counts invalid,
/// a checkpoint that does not fit the model.
DenoiserTrainingResult train_csc_denoiser(nn::CscDenoiser& model, const std::vector<torch::Tensor>& pictures,
                                          const DenoiserTrainingOptions& options);

/// The model saved in `path` by train-denoiser (a checkpoint of train::save_checkpoint whose model
/// carries the "architecture" buffer), rebuilt and loaded, in evaluation mode on the CPU. Throws
/// std::invalid_argument naming the file when it is missing or not a CSC denoiser.
nn::CscDenoiser load_csc_denoiser(const std::string& path);

/// PSNR (dB, peak 1) of the model's shift-averaged estimate, clamped to [0, 1], of every picture
/// under Gaussian noise of level σ drawn from `seed` (one noise draw per picture): [P] values.
std::vector<double> evaluate_csc_denoiser(nn::CscDenoiser& model, const std::vector<torch::Tensor>& pictures,
                                          double sigma, uint64_t seed);

}  // namespace deepsc::train
