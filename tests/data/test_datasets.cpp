// Tests for open_dataset() and the data sets (deepsc/data/open_dataset.h, image_folder.h) on small
// files written in the real on-disk formats, and on the real Fashion-MNIST when installed.

#include "support/scratch_dir.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "data/format_writers.h"
#include "deepsc/data/cifar.h"
#include "deepsc/data/dataset.h"
#include "deepsc/data/idx.h"
#include "deepsc/data/image_file.h"
#include "deepsc/data/svhn.h"

namespace fs = std::filesystem;
using deepsc::data::DatasetSpec;
using deepsc::data::open_dataset;
using deepsc::testing::random_bytes;

namespace {

fs::path fresh_dir(const std::string& name) { return deepsc::testing::fresh_dir("datasets_" + name); }

torch::Tensor as_tensor(const std::vector<uint8_t>& bytes, std::vector<int64_t> shape) {
  torch::Tensor t = torch::empty(shape, torch::kByte);
  std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return t;
}

// All images of `d` stacked [N, C, H, W] and labels [N].
std::pair<torch::Tensor, torch::Tensor> everything(const deepsc::data::Dataset& d) {
  std::vector<torch::Tensor> images;
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < d.size(); ++i) {
    auto ex = d.get(i);
    images.push_back(ex.image);
    labels.push_back(ex.label);
  }
  return {torch::stack(images), torch::tensor(labels)};
}

// Runs `f`, expecting an exception of type E whose message contains every needle.
template <typename E, typename F>
void expect_throw(F&& f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "expected an exception";
  } catch (const E& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace

TEST(Datasets, Cifar10TrainAndTest) {
  const auto dir = fresh_dir("cifar10");
  std::vector<uint8_t> all_images;
  std::vector<int64_t> all_labels;
  const int counts[5] = {3, 2, 1, 2, 2};
  for (int b = 0; b < 5; ++b) {
    const auto images = random_bytes(static_cast<size_t>(counts[b]) * 3072, 100 + b);
    std::vector<uint8_t> labels;
    for (int i = 0; i < counts[b]; ++i) labels.push_back(static_cast<uint8_t>((b * 3 + i) % 10));
    deepsc::testing::write_file((dir / ("data_batch_" + std::to_string(b + 1) + ".bin")).string(),
                                deepsc::testing::cifar_records(images, labels));
    all_images.insert(all_images.end(), images.begin(), images.end());
    all_labels.insert(all_labels.end(), labels.begin(), labels.end());
  }
  const auto test_images = random_bytes(4 * 3072, 200);
  deepsc::testing::write_file((dir / "test_batch.bin").string(),
                              deepsc::testing::cifar_records(test_images, {9, 0, 1, 2}));

  auto train = open_dataset(DatasetSpec().kind("cifar10").root(dir.string()));
  EXPECT_EQ(train->size(), 10);
  EXPECT_EQ(train->num_classes(), 10);
  EXPECT_EQ(train->channels(), 3);
  auto [images, labels] = everything(*train);
  EXPECT_TRUE(images.equal(as_tensor(all_images, {10, 3, 32, 32})));
  EXPECT_TRUE(labels.equal(torch::tensor(all_labels)));

  auto test = open_dataset(DatasetSpec("cifar10").root(dir.string()).split("test"));
  auto [ti, tl] = everything(*test);
  EXPECT_TRUE(ti.equal(as_tensor(test_images, {4, 3, 32, 32})));
  EXPECT_TRUE(tl.equal(torch::tensor(std::vector<int64_t>{9, 0, 1, 2})));
  // TensorDataset exposes the arrays themselves.
  auto tensors = std::dynamic_pointer_cast<deepsc::data::TensorDataset>(test);
  ASSERT_TRUE(tensors);
  EXPECT_TRUE(tensors->images().equal(ti));
  EXPECT_EQ(tensors->labels().scalar_type(), torch::kLong);
}

TEST(Datasets, Cifar10InTarballFolderAndMissingFile) {
  const auto dir = fresh_dir("cifar10_tarball");
  fs::create_directories(dir / "cifar-10-batches-bin");
  deepsc::testing::write_file((dir / "cifar-10-batches-bin" / "test_batch.bin").string(),
                              deepsc::testing::cifar_records(random_bytes(3072, 1), {7}));
  auto test = open_dataset(DatasetSpec("cifar10").root(dir.string()).split("test"));
  EXPECT_EQ(test->size(), 1);
  EXPECT_EQ(test->get(0).label, 7);
  // Train split: data_batch_1.bin is missing; the error names the expected files.
  expect_throw<std::invalid_argument>([&] { open_dataset(DatasetSpec("cifar10").root(dir.string())); },
                                      {"cifar10: missing", "data_batch_1.bin", "test_batch.bin"});
}

TEST(Datasets, Cifar100FineAndCoarse) {
  const auto dir = fresh_dir("cifar100");
  const auto images = random_bytes(3 * 3072, 300);
  deepsc::testing::write_file((dir / "train.bin").string(),
                              deepsc::testing::cifar_records(images, {99, 0, 50}, {19, 0, 10}));
  auto fine = open_dataset(DatasetSpec("cifar100").root(dir.string()));
  EXPECT_EQ(fine->num_classes(), 100);
  auto [fi, fl] = everything(*fine);
  EXPECT_TRUE(fi.equal(as_tensor(images, {3, 3, 32, 32})));
  EXPECT_TRUE(fl.equal(torch::tensor(std::vector<int64_t>{99, 0, 50})));
  auto coarse = open_dataset(DatasetSpec("cifar100").root(dir.string()).cifar100_labels("coarse"));
  EXPECT_EQ(coarse->num_classes(), 20);
  auto [ci, cl] = everything(*coarse);
  EXPECT_TRUE(ci.equal(fi));
  EXPECT_TRUE(cl.equal(torch::tensor(std::vector<int64_t>{19, 0, 10})));
  expect_throw<std::invalid_argument>(
      [&] { open_dataset(DatasetSpec("cifar100").root(dir.string()).cifar100_labels("medium")); },
      {"unknown label set 'medium'"});
  expect_throw<std::invalid_argument>(
      [&] { open_dataset(DatasetSpec("cifar100").root(dir.string()).split("test")); }, {"test.bin"});
}

TEST(Datasets, CifarCorruptFilesNameTheFile) {
  const auto dir = fresh_dir("cifar_corrupt");
  auto bytes = deepsc::testing::cifar_records(random_bytes(2 * 3072, 5), {1, 2});
  bytes.resize(bytes.size() - 100);
  const std::string path = (dir / "test_batch.bin").string();
  deepsc::testing::write_file(path, bytes);
  expect_throw<deepsc::cifar::CifarError>(
      [&] { open_dataset(DatasetSpec("cifar10").root(dir.string()).split("test")); },
      {path + ": size", "not a multiple"});
  deepsc::testing::write_file(path, deepsc::testing::cifar_records(random_bytes(2 * 3072, 5), {1, 200}));
  expect_throw<deepsc::cifar::CifarError>(
      [&] { open_dataset(DatasetSpec("cifar10").root(dir.string()).split("test")); },
      {path + ": record 1: label byte 200"});
}

TEST(Datasets, Svhn) {
  const auto dir = fresh_dir("svhn");
  const auto images = random_bytes(5 * 3072, 400);
  deepsc::testing::write_svhn_mat((dir / "test_32x32.mat").string(), images, {10, 1, 2, 9, 10});
  auto d = open_dataset(DatasetSpec("svhn").root(dir.string()).split("test"));
  EXPECT_EQ(d->size(), 5);
  EXPECT_EQ(d->num_classes(), 10);
  EXPECT_EQ(d->channels(), 3);
  auto [i, l] = everything(*d);
  EXPECT_TRUE(i.equal(as_tensor(images, {5, 3, 32, 32})));
  EXPECT_TRUE(l.equal(torch::tensor(std::vector<int64_t>{0, 1, 2, 9, 0})));
  expect_throw<std::invalid_argument>([&] { open_dataset(DatasetSpec("svhn").root(dir.string())); },
                                      {"train_32x32.mat"});
  // A truncated file: SvhnError naming it.
  auto bytes = deepsc::testing::read_file((dir / "test_32x32.mat").string());
  bytes.resize(bytes.size() / 3);
  const std::string cut = (dir / "train_32x32.mat").string();
  deepsc::testing::write_file(cut, bytes);
  expect_throw<deepsc::svhn::SvhnError>([&] { open_dataset(DatasetSpec("svhn").root(dir.string())); },
                                        {cut + ": "});
}

TEST(Datasets, MnistPlainAndGzip) {
  const auto dir = fresh_dir("mnist");
  const auto images = random_bytes(6 * 28 * 28, 500);
  const std::vector<uint8_t> labels = {0, 1, 2, 3, 9, 5};
  deepsc::testing::write_idx_u8((dir / "train-images-idx3-ubyte").string(), {6, 28, 28}, images, false);
  deepsc::testing::write_idx_u8((dir / "train-labels-idx1-ubyte").string(), {6}, labels, false);
  deepsc::testing::write_idx_u8((dir / "t10k-images-idx3-ubyte.gz").string(), {6, 28, 28}, images, true);
  deepsc::testing::write_idx_u8((dir / "t10k-labels-idx1-ubyte.gz").string(), {6}, labels, true);
  for (const char* split : {"train", "test"}) {
    SCOPED_TRACE(split);
    auto d = open_dataset(DatasetSpec("mnist").root(dir.string()).split(split));
    EXPECT_EQ(d->size(), 6);
    EXPECT_EQ(d->channels(), 1);
    EXPECT_EQ(d->num_classes(), 10);
    auto [i, l] = everything(*d);
    EXPECT_TRUE(i.equal(as_tensor(images, {6, 1, 28, 28})));
    EXPECT_TRUE(l.equal(torch::tensor(std::vector<int64_t>{0, 1, 2, 3, 9, 5})));
  }
  auto f = open_dataset(DatasetSpec("fashion-mnist").root(dir.string()).split("test"));
  EXPECT_EQ(f->size(), 6);
}

TEST(Datasets, MnistErrors) {
  const auto dir = fresh_dir("mnist_errors");
  expect_throw<std::invalid_argument>([&] { open_dataset(DatasetSpec("mnist").root(dir.string())); },
                                      {"mnist: missing", "train-images-idx3-ubyte[.gz]"});
  expect_throw<std::invalid_argument>([&] { open_dataset(DatasetSpec("mnist")); }, {"no root directory"});
  deepsc::testing::write_idx_u8((dir / "train-images-idx3-ubyte").string(), {2, 28, 28},
                                random_bytes(2 * 784, 1), false);
  deepsc::testing::write_idx_u8((dir / "train-labels-idx1-ubyte").string(), {3}, {1, 2, 3}, false);
  expect_throw<std::invalid_argument>([&] { open_dataset(DatasetSpec("mnist").root(dir.string())); },
                                      {"3 labels", "2 images"});
  deepsc::testing::write_idx_u8((dir / "train-labels-idx1-ubyte").string(), {2}, {1, 12}, false);
  expect_throw<std::invalid_argument>([&] { open_dataset(DatasetSpec("mnist").root(dir.string())); },
                                      {"label 12 out of range"});
  // Truncated gzip file: IdxError naming it.
  auto bytes = deepsc::testing::read_file((dir / "train-images-idx3-ubyte").string());
  fs::remove(dir / "train-images-idx3-ubyte");
  deepsc::testing::write_idx_u8((dir / "train-images-idx3-ubyte.gz").string(), {2, 28, 28},
                                random_bytes(2 * 784, 1), true);
  bytes = deepsc::testing::read_file((dir / "train-images-idx3-ubyte.gz").string());
  bytes.resize(bytes.size() / 2);
  const std::string gz = (dir / "train-images-idx3-ubyte.gz").string();
  deepsc::testing::write_file(gz, bytes);
  expect_throw<deepsc::idx::IdxError>([&] { open_dataset(DatasetSpec("mnist").root(dir.string())); },
                                      {gz + ": "});
}

TEST(Datasets, UnknownKindAndSplit) {
  expect_throw<std::invalid_argument>([] { open_dataset(DatasetSpec("imagenet21k")); },
                                      {"unknown kind 'imagenet21k'", "cifar10"});
  const auto dir = fresh_dir("split");
  expect_throw<std::invalid_argument>([&] { open_dataset(DatasetSpec("cifar10").root(dir.string()).split("val")); },
                                      {"unknown split 'val'"});
  expect_throw<std::invalid_argument>(
      [&] { open_dataset(DatasetSpec("cifar10").root((dir / "nope").string())); }, {"not a directory"});
}

TEST(Datasets, ImageFolder) {
  const auto dir = fresh_dir("folder");
  fs::create_directories(dir / "train" / "zebra");
  fs::create_directories(dir / "train" / "ant" / "nested");
  const auto png = random_bytes(3 * 6 * 5, 600);
  const auto grey = random_bytes(6 * 5, 601);
  deepsc::testing::write_png((dir / "train" / "zebra" / "b.png").string(), png, 3, 6, 5);
  deepsc::testing::write_png((dir / "train" / "ant" / "nested" / "a.PNG").string(), grey, 1, 6, 5);
  std::vector<uint8_t> smooth(3 * 8 * 8);
  for (size_t i = 0; i < smooth.size(); ++i) smooth[i] = static_cast<uint8_t>(100 + (i % 8) * 4);
  deepsc::testing::write_jpeg((dir / "train" / "zebra" / "c.jpeg").string(), smooth, 3, 8, 8);
  deepsc::testing::write_file((dir / "train" / "zebra" / "notes.txt").string(), {'h', 'i'});

  auto d = open_dataset(DatasetSpec("folder").root(dir.string()));
  auto folder = std::dynamic_pointer_cast<deepsc::data::ImageFolderDataset>(d);
  ASSERT_TRUE(folder);
  EXPECT_EQ(folder->classes(), (std::vector<std::string>{"ant", "zebra"}));
  ASSERT_EQ(d->size(), 3);
  EXPECT_EQ(d->num_classes(), 2);
  EXPECT_EQ(d->channels(), 3);
  auto ant = d->get(0);
  EXPECT_EQ(ant.label, 0);
  EXPECT_TRUE(ant.image.equal(as_tensor(grey, {1, 6, 5}).expand({3, 6, 5})));
  auto zebra = d->get(1);
  EXPECT_EQ(zebra.label, 1);
  EXPECT_TRUE(zebra.image.equal(as_tensor(png, {3, 6, 5})));
  auto jpeg = d->get(2);
  EXPECT_EQ(jpeg.label, 1);
  ASSERT_EQ(jpeg.image.sizes(), (std::vector<int64_t>{3, 8, 8}));
  const double mae = (jpeg.image.to(torch::kFloat) - as_tensor(smooth, {3, 8, 8}).to(torch::kFloat)).abs().mean().item<double>();
  EXPECT_LT(mae, 4.0);

  // A corrupt file fails in get(), naming the file.
  deepsc::testing::write_file((dir / "train" / "zebra" / "d.jpg").string(), {0xff, 0xd8, 0xff, 0x00, 0x01});
  auto d2 = open_dataset(DatasetSpec("folder").root(dir.string()));
  expect_throw<deepsc::image::ImageError>([&] { d2->get(3); }, {"d.jpg: cannot decode image"});
}

TEST(Datasets, ImageFolderErrors) {
  const auto dir = fresh_dir("folder_errors");
  expect_throw<std::invalid_argument>([&] { open_dataset(DatasetSpec("folder").root(dir.string()).split("val")); },
                                      {"val: not a directory", "<class>"});
  fs::create_directories(dir / "train");
  expect_throw<std::invalid_argument>([&] { open_dataset(DatasetSpec("folder").root(dir.string())); },
                                      {"no class sub-folders"});
  fs::create_directories(dir / "train" / "cat");
  expect_throw<std::invalid_argument>([&] { open_dataset(DatasetSpec("folder").root(dir.string())); },
                                      {"cat: no .png, .jpg or .jpeg images"});
}

TEST(Datasets, TensorDatasetChecks) {
  using deepsc::data::TensorDataset;
  EXPECT_THROW(TensorDataset(torch::zeros({2, 3, 4}, torch::kByte), torch::zeros({2}, torch::kLong)),
               std::invalid_argument);
  EXPECT_THROW(TensorDataset(torch::zeros({2, 2, 4, 4}, torch::kByte), torch::zeros({2}, torch::kLong)),
               std::invalid_argument);
  EXPECT_THROW(TensorDataset(torch::zeros({2, 1, 4, 4}, torch::kByte), torch::zeros({3}, torch::kLong)),
               std::invalid_argument);
  EXPECT_THROW(TensorDataset(torch::zeros({2, 1, 4, 4}, torch::kByte), torch::tensor({0, 5}), 5),
               std::invalid_argument);
  TensorDataset d(torch::zeros({2, 1, 4, 4}, torch::kByte), torch::tensor({0, 6}, torch::kInt));
  EXPECT_EQ(d.num_classes(), 7);
  EXPECT_THROW(d.get(2), std::out_of_range);
}

TEST(Datasets, RealFashionMnist) {
  if (!fs::exists(fs::path(deepsc::data::kFashionMnistRoot) / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not installed (Debian package dataset-fashion-mnist)";
  auto train = open_dataset(DatasetSpec("fashion-mnist"));
  EXPECT_EQ(train->size(), 60000);
  EXPECT_EQ(train->num_classes(), 10);
  EXPECT_EQ(train->channels(), 1);
  auto tensors = std::dynamic_pointer_cast<deepsc::data::TensorDataset>(train);
  ASSERT_TRUE(tensors);
  EXPECT_EQ(tensors->images().sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  EXPECT_TRUE(torch::bincount(tensors->labels()).equal(torch::full({10}, 6000, torch::kLong)));
  auto test = open_dataset(DatasetSpec("fashion-mnist").split("test"));
  EXPECT_EQ(test->size(), 10000);
}
