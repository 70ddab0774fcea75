#pragma once
/// \file
/// Reader for the published CIFAR-10-C noise files (Hendrycks & Dietterich, "Benchmarking neural
/// network robustness to common corruptions and perturbations", ICLR 2019; the CIFAR-10 test set
/// with each corruption applied at five severities). The folder holds NumPy files:
///
///   file                                   dtype          shape
///   <noise>_noise.npy (gaussian_noise.npy,  uint8          [R, 32, 32, 3]  (HWC; R = 50000)
///     shot_noise.npy, impulse_noise.npy,
///     speckle_noise.npy)
///   labels.npy                              uint8 / int64  [R]             (classes 0..9)
///
/// R is a multiple of 5 and the rows come in five equal blocks, one per severity: severity s is
/// rows (s - 1)·R/5 … s·R/5 - 1 (10000 test images each in the published files).
/// deepsc/data/corruption.h draws the same noises afresh.

#include <memory>
#include <string>

#include "deepsc/data/corruption.h"
#include "deepsc/data/image_dataset.h"

namespace deepsc::data {

/// Severity `severity` (1..5) of `noise` from the CIFAR-10-C folder `dir`: images
/// [R/5, 3, 32, 32] uint8 (the data loader turns them into float32 in [0, 1] by dividing by 255,
/// as for every TensorDataset) and their labels, 10 classes.
/// \throws std::invalid_argument with one line naming the file for a missing file, a wrong dtype
/// or shape, a row count that is not a multiple of 5 or differs from the labels', or a label
/// outside 0..9; and for a severity outside 1..5. npy::NpyError (naming the file) for a file
/// that is not valid .npy (e.g. truncated).
std::shared_ptr<TensorDataset> load_cifar10c(const std::string& dir, Noise noise, int severity);

/// The file name of `noise` in a CIFAR-10-C folder: "<noise_name>_noise.npy".
std::string cifar10c_file_name(Noise noise);

}  // namespace deepsc::data
