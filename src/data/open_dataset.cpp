#include "deepsc/data/open_dataset.h"

#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "deepsc/data/cifar.h"
#include "deepsc/data/idx_tensor.h"
#include "deepsc/data/image_folder.h"
#include "deepsc/data/svhn.h"
#include "../support/text.h"

namespace fs = std::filesystem;

namespace deepsc::data {
namespace {

[[noreturn]] void fail_dataset(const std::string& kind, const std::string& problem) {
  throw std::invalid_argument(kind + ": " + problem);
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

void require_root(const std::string& kind, const std::string& root) {
  if (root.empty()) fail_dataset(kind, "no root directory given (DatasetSpec::root)");
  std::error_code ec;
  if (!fs::is_directory(root, ec)) fail_dataset(kind, root + ": not a directory");
}

void require_split(const std::string& kind, const std::string& split, bool allow_extra = false) {
  if (split == "train" || split == "test" || (allow_extra && split == "extra")) return;
  fail_dataset(kind, "unknown split '" + split + "' (expected train or test" +
                         (allow_extra ? std::string(" or extra") : std::string()) + ")");
}

// `root`, or its sub-folder `tarball_dir` when the files are there instead (extracted tarball).
fs::path files_dir(const std::string& root, const std::string& first_file, const char* tarball_dir) {
  if (!is_file(fs::path(root) / first_file) && is_file(fs::path(root) / tarball_dir / first_file))
    return fs::path(root) / tarball_dir;
  return root;
}

// `<dir>/<name>` or `<dir>/<name>.gz`, whichever exists.
fs::path idx_file(const std::string& kind, const fs::path& dir, const std::string& name) {
  if (is_file(dir / name)) return dir / name;
  if (is_file(dir / (name + ".gz"))) return dir / (name + ".gz");
  fail_dataset(kind, "missing " + (dir / name).string() + "[.gz] (expected the IDX files " +
                         "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and " +
                         "t10k-labels-idx1-ubyte, optionally gzipped)");
}

using deepsc::detail::shape_string;

std::shared_ptr<TensorDataset> load_mnist_kind(const std::string& kind, const std::string& root,
                                               const std::string& split) {
  require_root(kind, root);
  require_split(kind, split);
  const std::string prefix = split == "train" ? "train" : "t10k";
  const fs::path images_path = idx_file(kind, root, prefix + "-images-idx3-ubyte");
  const fs::path labels_path = idx_file(kind, root, prefix + "-labels-idx1-ubyte");
  torch::Tensor images = load_idx(images_path.string());
  torch::Tensor labels = load_idx(labels_path.string());
  if (images.dim() != 3 || images.scalar_type() != torch::kByte)
    fail_dataset(kind, images_path.string() + ": expected uint8 images [N, H, W], got " +
                           std::string(c10::toString(images.scalar_type())) + " " + shape_string(images));
  if (labels.dim() != 1 || labels.scalar_type() != torch::kByte)
    fail_dataset(kind, labels_path.string() + ": expected uint8 labels [N], got " +
                           std::string(c10::toString(labels.scalar_type())) + " " + shape_string(labels));
  if (labels.size(0) != images.size(0))
    fail_dataset(kind, labels_path.string() + " holds " + std::to_string(labels.size(0)) + " labels but " +
                           images_path.string() + " holds " + std::to_string(images.size(0)) + " images");
  if (labels.numel() > 0) {
    const int64_t hi = labels.max().item<int64_t>();
    if (hi >= 10)
      fail_dataset(kind, labels_path.string() + ": label " + std::to_string(hi) + " out of range 0..9");
  }
  return std::make_shared<TensorDataset>(images.unsqueeze(1), labels, 10);
}

// Concatenates CIFAR record files into one data set.
std::shared_ptr<TensorDataset> load_cifar_files(const std::vector<fs::path>& files,
                                                cifar::Variant variant, bool coarse) {
  std::vector<cifar::Records> parts;
  int64_t total = 0;
  for (const auto& f : files) {
    parts.push_back(cifar::read(f.string(), variant));
    total += parts.back().count;
  }
  torch::Tensor images = torch::empty({total, cifar::kChannels, cifar::kHeight, cifar::kWidth}, torch::kByte);
  torch::Tensor labels = torch::empty({total}, torch::kLong);
  auto* img = images.data_ptr<uint8_t>();
  auto* lab = labels.data_ptr<int64_t>();
  int64_t at = 0;
  for (auto& p : parts) {
    std::memcpy(img + at * static_cast<int64_t>(cifar::kImageBytes), p.images.data(), p.images.size());
    const auto& src = coarse ? p.coarse_labels : p.labels;
    for (int64_t i = 0; i < p.count; ++i) lab[at + i] = src[static_cast<size_t>(i)];
    at += p.count;
    p = cifar::Records();  // free as we go
  }
  const int64_t classes = variant == cifar::Variant::Cifar10 ? 10 : (coarse ? 20 : 100);
  return std::make_shared<TensorDataset>(images, labels, classes);
}

}  // namespace

std::shared_ptr<TensorDataset> load_mnist(const std::string& root, const std::string& split) {
  return load_mnist_kind("mnist", root, split);
}

std::shared_ptr<TensorDataset> load_cifar10(const std::string& root, const std::string& split) {
  const std::string kind = "cifar10";
  require_root(kind, root);
  require_split(kind, split);
  std::vector<std::string> names;
  if (split == "train") {
    for (int i = 1; i <= 5; ++i) names.push_back("data_batch_" + std::to_string(i) + ".bin");
  } else {
    names.push_back("test_batch.bin");
  }
  const fs::path dir = files_dir(root, names.front(), "cifar-10-batches-bin");
  std::vector<fs::path> files;
  for (const auto& n : names) {
    if (!is_file(dir / n))
      fail_dataset(kind, "missing " + (dir / n).string() +
                             " (expected data_batch_1.bin ... data_batch_5.bin and test_batch.bin of the "
                             "CIFAR-10 binary version)");
    files.push_back(dir / n);
  }
  return load_cifar_files(files, cifar::Variant::Cifar10, false);
}

std::shared_ptr<TensorDataset> load_cifar100(const std::string& root, const std::string& split,
                                             const std::string& labels) {
  const std::string kind = "cifar100";
  if (labels != "fine" && labels != "coarse")
    fail_dataset(kind, "unknown label set '" + labels + "' (expected fine or coarse)");
  require_root(kind, root);
  require_split(kind, split);
  const std::string name = split + ".bin";
  const fs::path dir = files_dir(root, name, "cifar-100-binary");
  if (!is_file(dir / name))
    fail_dataset(kind, "missing " + (dir / name).string() +
                           " (expected train.bin and test.bin of the CIFAR-100 binary version)");
  return load_cifar_files({dir / name}, cifar::Variant::Cifar100, labels == "coarse");
}

std::shared_ptr<TensorDataset> load_svhn(const std::string& root, const std::string& split) {
  const std::string kind = "svhn";
  require_root(kind, root);
  require_split(kind, split, /*allow_extra=*/true);
  const fs::path file = fs::path(root) / (split + "_32x32.mat");
  if (!is_file(file))
    fail_dataset(kind, "missing " + file.string() +
                           " (expected train_32x32.mat, test_32x32.mat or extra_32x32.mat, the cropped "
                           "digits)");
  svhn::Digits d = svhn::read(file.string());
  torch::Tensor images = torch::empty({d.count, svhn::kChannels, svhn::kHeight, svhn::kWidth}, torch::kByte);
  if (!d.images.empty()) std::memcpy(images.data_ptr<uint8_t>(), d.images.data(), d.images.size());
  d.images = {};
  torch::Tensor labels = torch::empty({d.count}, torch::kLong);
  auto* lab = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < d.count; ++i) lab[i] = d.labels[static_cast<size_t>(i)];
  return std::make_shared<TensorDataset>(images, labels, 10);
}

std::shared_ptr<Dataset> open_dataset(const DatasetSpec& spec) {
  const std::string& kind = spec.kind();
  if (kind == "mnist") return load_mnist_kind(kind, spec.root(), spec.split());
  if (kind == "fashion-mnist")
    return load_mnist_kind(kind, spec.root().empty() ? kFashionMnistRoot : spec.root(), spec.split());
  if (kind == "cifar10") return load_cifar10(spec.root(), spec.split());
  if (kind == "cifar100") return load_cifar100(spec.root(), spec.split(), spec.cifar100_labels());
  if (kind == "svhn") return load_svhn(spec.root(), spec.split());
  if (kind == "folder") {
    require_root(kind, spec.root());
    if (spec.split().empty()) fail_dataset(kind, "empty split (the sub-folder of root to read, e.g. train)");
    return std::make_shared<ImageFolderDataset>(spec.root(), spec.split());
  }
  throw std::invalid_argument("open_dataset: unknown kind '" + kind +
                              "' (expected mnist, fashion-mnist, cifar10, cifar100, svhn or folder)");
}

}  // namespace deepsc::data
