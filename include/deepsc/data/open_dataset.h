#pragma once
/// \file
/// Opens the standard image-classification data sets from their distributed on-disk formats.
///
///   kind            files under root                                    images       classes
///   mnist           {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]   [N,1,28,28]  10
///   fashion-mnist   the same (root defaults to /usr/share/datasets/fashion-mnist, Debian's
///                   dataset-fashion-mnist package)                      [N,1,28,28]  10
///   cifar10         data_batch_1..5.bin (train), test_batch.bin (test)  [N,3,32,32]  10
///   cifar100        train.bin, test.bin; labels "fine" or "coarse"      [N,3,32,32]  100 / 20
///   svhn            train_32x32.mat, test_32x32.mat, extra_32x32.mat    [N,3,32,32]  10
///   folder          <root>/<split>/<class>/*.{png,jpg,jpeg}             [3,H,W] each  #folders
///
/// For cifar10 and cifar100 the root may also be the folder that holds the extracted tarball
/// (cifar-10-batches-bin/ or cifar-100-binary/). Every data set but folder is read into memory
/// (a TensorDataset); folder decodes its images lazily.

#include <memory>
#include <string>

#include <torch/torch.h>

#include "deepsc/data/image_dataset.h"

namespace deepsc::data {

/// What open_dataset() opens.
struct DatasetSpec {
  DatasetSpec() = default;
  explicit DatasetSpec(std::string kind) : kind_(std::move(kind)) {}
  /// "mnist" | "fashion-mnist" | "cifar10" | "cifar100" | "svhn" | "folder".
  TORCH_ARG(std::string, kind);
  /// Directory of the files; empty means the default (fashion-mnist only).
  TORCH_ARG(std::string, root) = "";
  /// "train" | "test" ("extra" too for svhn; any sub-folder name, e.g. "val", for folder).
  TORCH_ARG(std::string, split) = "train";
  /// CIFAR-100 only: "fine" (100 classes) or "coarse" (20 super-classes).
  TORCH_ARG(std::string, cifar100_labels) = "fine";
};

/// Default root of Fashion-MNIST.
inline constexpr const char* kFashionMnistRoot = "/usr/share/datasets/fashion-mnist";

/// Opens the data set `spec` describes.
/// \throws std::invalid_argument with one line for an unknown kind, split or label set, a missing
/// root, or missing files (naming the expected file names); the format errors of the readers
/// (idx::IdxError, cifar::CifarError, svhn::SvhnError), which name the file, for corrupt files.
std::shared_ptr<Dataset> open_dataset(const DatasetSpec& spec);

/// MNIST-layout IDX files in `root` (plain or .gz): images [N, 1, H, W], 10 classes.
std::shared_ptr<TensorDataset> load_mnist(const std::string& root, const std::string& split);

/// CIFAR-10 binary version in `root`: images [N, 3, 32, 32] (50000 train, 10000 test).
std::shared_ptr<TensorDataset> load_cifar10(const std::string& root, const std::string& split);

/// CIFAR-100 binary version in `root`: images [N, 3, 32, 32], fine (100) or coarse (20) labels.
std::shared_ptr<TensorDataset> load_cifar100(const std::string& root, const std::string& split,
                                             const std::string& labels = "fine");

/// SVHN cropped digits in `root`: images [N, 3, 32, 32], labels 0..9 (the file's 10 is 0).
std::shared_ptr<TensorDataset> load_svhn(const std::string& root, const std::string& split);

}  // namespace deepsc::data
