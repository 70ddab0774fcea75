#pragma once
/// \file
/// Noise corruptions for measuring how robust a classifier is: the four "noise" corruptions of
/// CIFAR-10-C (Hendrycks & Dietterich, "Benchmarking neural network robustness to common
/// corruptions and perturbations", ICLR 2019), applied to images x with values in [0, 1]
/// (before normalisation), each followed by clipping to [0, 1]:
///
///   noise     definition                                       level    severity 1    2    3    4    5
///   gaussian  x + σ·z,        z ~ N(0, 1)                       σ                .04  .06  .08  .09  .10
///   shot      Poisson(c·x) / c                                  c                500  250  100   75   50
///   impulse   salt and pepper: each element independently is    amount           .01  .02  .03  .05  .07
///             replaced with probability `amount`, half of those
///             by 0 and half by 1 (skimage random_noise 's&p',
///             salt_vs_pepper = 0.5)
///   speckle   x + x·σ·z,      z ~ N(0, 1)                       σ                .06  .10  .12  .16  .20
///
/// The noise is drawn on the CPU from an mt19937 generator seeded by the caller, with batched
/// tensor ops, and then moved to the images' device: the result is a pure function of
/// (images, noise, level, seed), the same on CPU and CUDA and for any number of LibTorch threads.
/// deepsc/data/cifar10c.h reads the published CIFAR-10-C files.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace deepsc::data {

/// The four noise corruptions of CIFAR-10-C (see the file comment for their definitions).
enum class Noise { Gaussian, Shot, Impulse, Speckle };

/// "gaussian" | "shot" | "impulse" | "speckle" (lower case, exactly).
/// \throws std::invalid_argument naming the text and listing the valid names otherwise.
Noise parse_noise(const std::string& name);

/// The name parse_noise() reads ("gaussian", ...); never null.
const char* noise_name(Noise noise);

/// A comma-separated list of noise names, e.g. "gaussian,shot" (spaces around names are
/// ignored), in the order given; "all" alone means all four in the order gaussian, shot,
/// impulse, speckle.
/// \throws std::invalid_argument for an empty list or item, an unknown name, a duplicate, or
/// "all" mixed with other names.
std::vector<Noise> parse_noise_list(const std::string& comma_separated);

/// Severities from text: comma-separated items, each a severity "3" or an inclusive range "1-5"
/// (spaces around items are ignored), e.g. "1-5", "1,3,5", "2", "1-2,5". Returns them sorted,
/// without repeats, all in 1..5.
/// \throws std::invalid_argument (one line) for empty text or items, non-numbers, a reversed
/// range or a severity outside 1..5.
std::vector<int> parse_severities(const std::string& text);

/// The level (σ for gaussian and speckle, c for shot, amount for impulse) of `severity` in 1..5:
/// the CIFAR-10-C table in the file comment.
/// \throws std::invalid_argument naming the severity if it is outside 1..5.
double severity_level(Noise noise, int severity);

/// Applies `noise` at `level` to `images` (any shape, e.g. [N, C, H, W]; floating point, values
/// in [0, 1] up to 1e-6) and clips the result to [0, 1]. Returns a new tensor of the images'
/// dtype, device and shape; `images` is not modified. The noise drawn depends only on (seed,
/// noise, level, the number of elements) and, for shot, on the image values; it is laid over the
/// elements in C order. So the same seed gives the same result, but one sample's noise changes
/// with the batch it is in: corrupting a data set batch by batch is reproducible only for the
/// same batching. float16/bfloat16 images are computed in float32, float32 in float32, float64
/// in float64 (the normal and uniform draws are float32 in every case).
/// `level` is any positive finite number (not only the five severities); impulse requires
/// level <= 1.
/// \throws std::invalid_argument for an undefined or non-floating-point tensor, values outside
/// [0, 1] (or NaN), or a bad level.
torch::Tensor corrupt(const torch::Tensor& images, Noise noise, double level, uint64_t seed);

/// corrupt(images, noise, severity_level(noise, severity), seed).
torch::Tensor corrupt_severity(const torch::Tensor& images, Noise noise, int severity, uint64_t seed);

}  // namespace deepsc::data
