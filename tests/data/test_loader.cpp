// Tests for the DataLoader (deepsc/data/loader.h): coverage, determinism across worker counts,
// exact mid-epoch resume, drop_last, errors from workers, prompt shutdown; and its throughput on
// the real Fashion-MNIST when installed.

#include "support/scratch_dir.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "data/format_writers.h"
#include "deepsc/data/dataset.h"

namespace fs = std::filesystem;
using namespace deepsc::data;

namespace {

// N images [1, 4, 4] whose first two pixels encode the index (low, high byte); label = index % 7.
std::shared_ptr<TensorDataset> indexed_dataset(int64_t n) {
  auto images = torch::randint(0, 256, {n, 1, 4, 4}, torch::TensorOptions().dtype(torch::kByte));
  auto acc = images.accessor<uint8_t, 4>();
  for (int64_t i = 0; i < n; ++i) {
    acc[i][0][0][0] = static_cast<uint8_t>(i % 256);
    acc[i][0][0][1] = static_cast<uint8_t>(i / 256);
  }
  return std::make_shared<TensorDataset>(images, torch::arange(n) % 7, 7);
}

std::vector<int64_t> indices_of(const Batch& b) {
  const auto px = (b.images.index({torch::indexing::Slice(), 0, 0, torch::indexing::Slice(0, 2)}) * 255).round().to(torch::kLong);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < px.size(0); ++i) out.push_back(px[i][0].item<int64_t>() + 256 * px[i][1].item<int64_t>());
  return out;
}

std::vector<Batch> whole_epoch(DataLoader& loader, int64_t epoch, int64_t skip = 0) {
  loader.start_epoch(epoch, skip);
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(std::move(*b));
  return out;
}

bool same(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!a[i].images.equal(b[i].images) || !a[i].labels.equal(b[i].labels)) return false;
  return true;
}

// A data set whose get() sleeps, to test shutdown while workers are busy.
class SlowDataset : public Dataset {
 public:
  int64_t size() const override { return 10000; }
  Example get(int64_t index) const override {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return {torch::zeros({1, 2, 2}, torch::kByte), index % 2};
  }
  int64_t num_classes() const override { return 2; }
  int64_t channels() const override { return 1; }
};

// Records the largest intra-op thread count seen inside the transform.
class ThreadCountProbe : public Transform {
 public:
  torch::Tensor operator()(torch::Tensor image, torch::Generator&) const override {
    const int n = at::get_num_threads();
    int seen = max_.load();
    while (n > seen && !max_.compare_exchange_weak(seen, n)) {
    }
    return image;
  }
  mutable std::atomic<int> max_{0};
};

std::shared_ptr<Transform> augment() { return compose({random_crop(4, 1), random_horizontal_flip(), normalize({0.5}, {0.25})}); }

}  // namespace

TEST(Loader, EveryIndexOncePerEpoch) {
  auto data = indexed_dataset(103);
  DataLoader loader(data, nullptr, LoaderOptions().batch_size(10).workers(2).seed(5));
  EXPECT_EQ(loader.batches_per_epoch(), 11);
  const auto batches = whole_epoch(loader, 0);
  ASSERT_EQ(batches.size(), 11u);
  std::vector<int> seen(103, 0);
  for (const auto& b : batches) {
    EXPECT_EQ(b.images.scalar_type(), torch::kFloat);
    EXPECT_EQ(b.labels.scalar_type(), torch::kLong);
    const auto idx = indices_of(b);
    for (size_t i = 0; i < idx.size(); ++i) {
      ASSERT_LT(idx[i], 103);
      ++seen[static_cast<size_t>(idx[i])];
      EXPECT_EQ(b.labels[static_cast<int64_t>(i)].item<int64_t>(), idx[i] % 7);
      // Without a transform the image is the uint8 image / 255.
      EXPECT_TRUE(b.images[static_cast<int64_t>(i)].equal(data->images()[idx[i]].to(torch::kFloat) / 255));
    }
  }
  EXPECT_EQ(batches.back().images.size(0), 3);
  for (int s : seen) EXPECT_EQ(s, 1);
}

TEST(Loader, RanksShareEveryEpochExactlyOnceAndUniteIntoTheOneProcessBatches) {
  // B = 4: sizes that fill every global batch (24), leave a remainder of at least W samples (37,
  // 103) or fewer than W (25 = 2·12 + 1 with W = 3), which joins the batch before.
  for (int64_t world : {2, 3})
    for (int64_t n : {24, 25, 37, 103})
      for (bool shuffle : {true, false}) {
        auto data = indexed_dataset(n);
        const auto options = LoaderOptions().batch_size(4).shuffle(shuffle).seed(9).workers(1);
        // Indices through no transform; images through an augmentation (random crop and flip).
        std::vector<std::vector<Batch>> ranks, augmented;
        for (int64_t r = 0; r < world; ++r) {
          DataLoader plain(data, nullptr, LoaderOptions(options).rank(r).world_size(world));
          ranks.push_back(whole_epoch(plain, 2));
          DataLoader crops(data, augment(), LoaderOptions(options).rank(r).world_size(world));
          augmented.push_back(whole_epoch(crops, 2));
        }
        DataLoader one(data, nullptr, LoaderOptions(options).batch_size(4 * world));
        DataLoader one_crops(data, augment(), LoaderOptions(options).batch_size(4 * world));
        const auto single = whole_epoch(one, 2), single_crops = whole_epoch(one_crops, 2);
        std::vector<int> seen(static_cast<size_t>(n), 0);
        const auto merged = static_cast<int64_t>(single.size()) - static_cast<int64_t>(ranks[0].size());
        EXPECT_TRUE(merged == 0 || (merged == 1 && n % (4 * world) < world)) << n << " " << world;
        for (size_t k = 0; k < ranks[0].size(); ++k) {
          std::vector<int64_t> united;
          std::vector<torch::Tensor> images;
          for (int64_t r = 0; r < world; ++r) {
            ASSERT_EQ(ranks[static_cast<size_t>(r)].size(), ranks[0].size()) << "every rank runs as many steps";
            const auto& b = ranks[static_cast<size_t>(r)][k];
            ASSERT_GT(b.images.size(0), 0) << "no rank gets an empty batch";
            for (auto i : indices_of(b)) ++seen[static_cast<size_t>(i)], united.push_back(i);
            images.push_back(augmented[static_cast<size_t>(r)][k].images);
          }
          if (merged == 1 && k + 1 == ranks[0].size()) continue;  // the merged last batch spans two
          // The ranks' batch k is the one-process batch k: the same samples with the same crops.
          auto expected = indices_of(single[k]);
          std::sort(expected.begin(), expected.end());
          std::sort(united.begin(), united.end());
          EXPECT_EQ(united, expected) << "n " << n << " world " << world << " batch " << k;
          const auto all = torch::cat(images);
          ASSERT_EQ(all.size(0), single_crops[k].images.size(0));
          for (int64_t i = 0; i < all.size(0); ++i) {
            bool found = false;
            for (int64_t j = 0; j < single_crops[k].images.size(0) && !found; ++j) found = all[i].equal(single_crops[k].images[j]);
            EXPECT_TRUE(found) << "rank images are the one-process images (same augmentation draws)";
          }
        }
        for (int s : seen) EXPECT_EQ(s, 1) << "n " << n << " world " << world;
      }
  EXPECT_THROW(DataLoader(indexed_dataset(10), nullptr, LoaderOptions().rank(2).world_size(2)), std::invalid_argument);
  EXPECT_THROW(DataLoader(indexed_dataset(10), nullptr, LoaderOptions().world_size(0)), std::invalid_argument);
  EXPECT_THROW(DataLoader(indexed_dataset(2), nullptr, LoaderOptions().world_size(3)), std::invalid_argument);
}

TEST(Loader, IdenticalWhateverTheWorkers) {
  auto data = indexed_dataset(157);
  std::vector<std::vector<Batch>> runs;
  for (int64_t workers : {0, 1, 3}) {
    for (int64_t prefetch : {1, 4}) {
      DataLoader loader(data, augment(), LoaderOptions().batch_size(16).workers(workers).prefetch(prefetch).seed(11));
      runs.push_back(whole_epoch(loader, 2));
    }
  }
  for (size_t i = 1; i < runs.size(); ++i) EXPECT_TRUE(same(runs[0], runs[i])) << "run " << i;
  // The augmentation did something: not every image equals its plain normalized version.
  DataLoader plain(data, normalize({0.5}, {0.25}), LoaderOptions().batch_size(16).workers(0).seed(11));
  EXPECT_FALSE(same(runs[0], whole_epoch(plain, 2)));
}

TEST(Loader, SkipReproducesTheTailExactly) {
  auto data = indexed_dataset(95);
  DataLoader loader(data, augment(), LoaderOptions().batch_size(8).workers(2).seed(3));
  const auto full = whole_epoch(loader, 4);
  for (int64_t skip : {1, 5, 11, 12}) {
    DataLoader other(data, augment(), LoaderOptions().batch_size(8).workers(3).seed(3));
    const auto tail = whole_epoch(other, 4, skip);
    EXPECT_TRUE(same(tail, std::vector<Batch>(full.begin() + skip, full.end()))) << "skip " << skip;
  }
  EXPECT_THROW(loader.start_epoch(0, 13), std::invalid_argument);
  EXPECT_THROW(loader.start_epoch(-1), std::invalid_argument);
}

TEST(Loader, EpochsAndSeedsDiffer) {
  auto data = indexed_dataset(64);
  DataLoader a(data, nullptr, LoaderOptions().batch_size(64).workers(1).seed(1));
  DataLoader b(data, nullptr, LoaderOptions().batch_size(64).workers(2).seed(1));
  DataLoader c(data, nullptr, LoaderOptions().batch_size(64).workers(1).seed(2));
  const auto e0 = indices_of(whole_epoch(a, 0)[0]);
  const auto e1 = indices_of(whole_epoch(a, 1)[0]);
  EXPECT_NE(e0, e1);
  EXPECT_EQ(indices_of(whole_epoch(b, 0)[0]), e0);
  EXPECT_NE(indices_of(whole_epoch(c, 0)[0]), e0);
  // No shuffle: the natural order.
  DataLoader seq(data, nullptr, LoaderOptions().batch_size(64).shuffle(false));
  std::vector<int64_t> natural(64);
  for (int64_t i = 0; i < 64; ++i) natural[static_cast<size_t>(i)] = i;
  EXPECT_EQ(indices_of(whole_epoch(seq, 3)[0]), natural);
}

TEST(Loader, DropLast) {
  auto data = indexed_dataset(103);
  DataLoader loader(data, nullptr, LoaderOptions().batch_size(10).drop_last(true).workers(2));
  EXPECT_EQ(loader.batches_per_epoch(), 10);
  const auto batches = whole_epoch(loader, 0);
  ASSERT_EQ(batches.size(), 10u);
  for (const auto& b : batches) EXPECT_EQ(b.images.size(0), 10);
  DataLoader tiny(indexed_dataset(5), nullptr, LoaderOptions().batch_size(10).drop_last(true));
  EXPECT_EQ(tiny.batches_per_epoch(), 0);
  tiny.start_epoch(0);
  EXPECT_FALSE(tiny.next().has_value());
}

TEST(Loader, StartEpochMidEpochAndNextBeforeStart) {
  auto data = indexed_dataset(200);
  DataLoader loader(data, augment(), LoaderOptions().batch_size(10).workers(3).seed(9));
  EXPECT_THROW(loader.next(), std::logic_error);
  loader.start_epoch(0);
  ASSERT_TRUE(loader.next().has_value());
  ASSERT_TRUE(loader.next().has_value());
  const auto restarted = whole_epoch(loader, 1);  // abandons epoch 0 mid-way
  DataLoader fresh(data, augment(), LoaderOptions().batch_size(10).workers(0).seed(9));
  EXPECT_TRUE(same(restarted, whole_epoch(fresh, 1)));
  EXPECT_FALSE(loader.next().has_value());
}

TEST(Loader, CorruptImageReachesNext) {
  const auto dir = deepsc::testing::fresh_dir("loader_corrupt");
  fs::create_directories(dir / "train" / "a");
  for (int i = 0; i < 6; ++i)
    deepsc::testing::write_png((dir / "train" / "a" / ("img" + std::to_string(i) + ".png")).string(),
                               deepsc::testing::random_bytes(3 * 4 * 4, static_cast<uint32_t>(i)), 3, 4, 4);
  const std::string bad = (dir / "train" / "a" / "img6.png").string();
  deepsc::testing::write_file(bad, {0x89, 'P', 'N', 'G', 1, 2, 3});
  auto data = open_dataset(DatasetSpec("folder").root(dir.string()));
  for (int64_t workers : {0, 2}) {
    DataLoader loader(data, nullptr, LoaderOptions().batch_size(7).shuffle(false).workers(workers));
    loader.start_epoch(0);
    try {
      loader.next();
      ADD_FAILURE() << "expected the decoding error";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(bad + ": cannot decode image"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(loader.next().has_value());
  }
}

TEST(Loader, DifferentShapesNeedATransform) {
  const auto dir = deepsc::testing::fresh_dir("loader_shapes");
  fs::create_directories(dir / "train" / "a");
  deepsc::testing::write_png((dir / "train" / "a" / "1.png").string(), deepsc::testing::random_bytes(3 * 4 * 6, 1), 3, 4, 6);
  deepsc::testing::write_png((dir / "train" / "a" / "2.png").string(), deepsc::testing::random_bytes(3 * 5 * 5, 2), 3, 5, 5);
  auto data = open_dataset(DatasetSpec("folder").root(dir.string()));
  DataLoader loader(data, nullptr, LoaderOptions().batch_size(2).shuffle(false).workers(1));
  loader.start_epoch(0);
  try {
    loader.next();
    ADD_FAILURE() << "expected a shape error";
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("[3, 5, 5]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[3, 4, 6]"), std::string::npos) << msg;
  }
  DataLoader fixed(data, compose({resize(4), center_crop(4)}), LoaderOptions().batch_size(2).workers(1));
  fixed.start_epoch(0);
  auto b = fixed.next();
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->images.sizes(), (std::vector<int64_t>{2, 3, 4, 4}));
}

TEST(Loader, DestroyMidEpochReturnsPromptly) {
  auto data = std::make_shared<SlowDataset>();
  const auto t0 = std::chrono::steady_clock::now();
  {
    DataLoader loader(data, nullptr, LoaderOptions().batch_size(100).workers(3).prefetch(8));
    loader.start_epoch(0);
    ASSERT_TRUE(loader.next().has_value());
    loader.start_epoch(1);  // restart while workers are busy
    ASSERT_TRUE(loader.next().has_value());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Two batches of 100 × 2 ms (< 0.5 s each on one worker) plus at most one sample per worker.
  EXPECT_LT(seconds, 2.0);
}

TEST(Loader, WorkersRunTensorOpsOnOneThread) {
  auto probe = std::make_shared<ThreadCountProbe>();
  DataLoader loader(indexed_dataset(40), probe, LoaderOptions().batch_size(4).workers(2));
  whole_epoch(loader, 0);
  EXPECT_EQ(probe->max_.load(), 1);
}

TEST(Loader, FashionMnistThroughput) {
  if (!fs::exists(fs::path(kFashionMnistRoot) / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not installed";
  auto data = open_dataset(DatasetSpec("fashion-mnist"));
  DataLoader loader(data, compose({random_crop(28, 2), random_horizontal_flip(), normalize({0.2860}, {0.3530})}),
                    LoaderOptions().batch_size(128).workers(2));
  const auto t0 = std::chrono::steady_clock::now();
  loader.start_epoch(0);
  int64_t images = 0;
  auto counts = torch::zeros({10}, torch::kLong);
  while (auto b = loader.next()) {
    EXPECT_EQ(b->images.sizes().slice(1), (std::vector<int64_t>{1, 28, 28}));
    images += b->images.size(0);
    counts += torch::bincount(b->labels, {}, 10);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(images, 60000);
  EXPECT_TRUE(counts.equal(torch::full({10}, 6000, torch::kLong)));
  std::printf("fashion-mnist train, batch 128, crop+flip+normalize, 2 workers: %.0f images/s\n", images / seconds);
}
