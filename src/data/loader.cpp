#include "deepsc/data/loader.h"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../support/text.h"

namespace deepsc::data {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform integer in [0, bound) (bound >= 1) from mt19937_64, without modulo bias. Written out
// (rather than std::uniform_int_distribution, whose algorithm the standard leaves open) so the
// shuffle is the same with every standard library.
uint64_t bounded(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t x = rng();
  while (x >= limit) x = rng();
  return x % bound;
}

using deepsc::detail::shape_string;

// Worker threads run their (small, per-image) tensor operations on one thread: several workers
// each opening a full OpenMP team would oversubscribe the cores. LibTorch initialises a thread's
// OpenMP thread count lazily on its first parallel call, so trigger that first.
void use_one_intra_op_thread() {
  (void)at::get_num_threads();
#ifdef _OPENMP
  omp_set_num_threads(1);
#endif
}

}  // namespace

uint64_t epoch_seed(uint64_t seed, int64_t epoch) {
  return splitmix64(splitmix64(seed ^ 0x6465657073632e65ULL) + static_cast<uint64_t>(epoch));
}

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t position) {
  return splitmix64(epoch_seed(seed, epoch) ^ splitmix64(static_cast<uint64_t>(position) ^ 0x73616d706c65ULL));
}

struct DataLoader::Impl {
  // A prepared batch, or the exception raised while preparing it.
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };

  std::shared_ptr<const Dataset> data;
  std::shared_ptr<const Transform> transform;
  LoaderOptions opt;
  int64_t n = 0;
  int64_t batches = 0;

  // The current epoch; fixed while workers run.
  int64_t epoch = -1;
  std::vector<int64_t> order;

  std::mutex mu;
  std::condition_variable work_cv;   // workers wait for a batch to claim or for stop
  std::condition_variable ready_cv;  // next() waits for its batch
  int64_t next_batch = 0;            // the batch next() returns next (guarded by mu)
  int64_t claim = 0;                 // the batch the next free worker prepares (guarded by mu)
  std::map<int64_t, Slot> ready;     // prepared batches not yet returned (guarded by mu)
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;

  ~Impl() { stop_workers(); }

  int64_t window() const { return std::max<int64_t>({opt.prefetch(), opt.workers(), 1}); }

  // Positions [begin, end) of the epoch's order in global batch k (see LoaderOptions::rank).
  std::pair<int64_t, int64_t> global_batch(int64_t k) const {
    const int64_t global = opt.batch_size() * opt.world_size();
    const int64_t begin = k * global;
    return {begin, k + 1 == batches && !opt.drop_last() ? n : std::min(begin + global, n)};
  }

  // This rank's batch k of the current epoch: every world_size-th position of global batch k from
  // position rank. Returns an empty batch if `cancel` is set midway.
  Batch build(int64_t k, const std::atomic<bool>* cancel) const {
    const auto [begin, end] = global_batch(k);
    const int64_t stride = opt.world_size();
    const int64_t count = (end - begin - opt.rank() + stride - 1) / stride;
    const int64_t classes = data->num_classes();
    std::vector<torch::Tensor> images;
    images.reserve(static_cast<size_t>(count));
    std::vector<int64_t> labels;
    labels.reserve(static_cast<size_t>(count));
    int64_t first_index = -1;
    for (int64_t j = begin + opt.rank(); j < end; j += stride) {
      if (cancel != nullptr && cancel->load(std::memory_order_relaxed)) return {};
      const int64_t index = order[static_cast<size_t>(j)];
      Example ex = data->get(index);
      if (!ex.image.defined() || ex.image.dim() != 3 || ex.image.scalar_type() != torch::kByte)
        throw std::runtime_error("data loader: sample " + std::to_string(index) +
                                 ": expected a [C, H, W] uint8 image, got " +
                                 (ex.image.defined() ? std::string(c10::toString(ex.image.scalar_type())) +
                                                           " " + shape_string(ex.image)
                                                     : std::string("an undefined tensor")));
      if (ex.label < 0 || ex.label >= classes)
        throw std::runtime_error("data loader: sample " + std::to_string(index) + " has label " +
                                 std::to_string(ex.label) + ", outside [0, " + std::to_string(classes) + ")");
      torch::Tensor x = ex.image.to(torch::kFloat).div_(255);
      if (transform) {
        torch::Generator gen = cpu_generator(sample_seed(opt.seed(), epoch, j));
        x = (*transform)(x, gen).to(torch::kFloat);
      }
      if (images.empty()) {
        first_index = index;
      } else if (x.sizes() != images.front().sizes()) {
        throw std::runtime_error("data loader: images of different shapes in one batch: sample " +
                                 std::to_string(index) + " is " + shape_string(x) + " but sample " +
                                 std::to_string(first_index) + " is " + shape_string(images.front()) +
                                 " (use a transform that makes them equal, e.g. resize + center_crop "
                                 "or random_resized_crop)");
      }
      images.push_back(std::move(x));
      labels.push_back(ex.label);
    }
    return Batch{torch::stack(images), torch::tensor(labels, torch::kLong)};
  }

  void worker() {
    use_one_intra_op_thread();
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      work_cv.wait(lock, [&] { return stop.load() || (claim < batches && claim < next_batch + window()); });
      if (stop.load()) return;
      const int64_t k = claim++;
      lock.unlock();
      Slot slot;
      try {
        slot.batch = build(k, &stop);
      } catch (...) {
        slot.error = std::current_exception();
      }
      lock.lock();
      if (stop.load()) return;
      ready.emplace(k, std::move(slot));
      ready_cv.notify_all();
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop.store(true);
    }
    work_cv.notify_all();
    for (auto& t : threads) t.join();
    threads.clear();
    ready.clear();
    stop.store(false);
  }
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> data, std::shared_ptr<const Transform> transform,
                       LoaderOptions options)
    : impl_(std::make_unique<Impl>()) {
  if (!data) throw std::invalid_argument("DataLoader: null data set");
  if (options.batch_size() < 1)
    throw std::invalid_argument("DataLoader: batch_size must be >= 1, got " + std::to_string(options.batch_size()));
  if (options.workers() < 0)
    throw std::invalid_argument("DataLoader: workers must be >= 0, got " + std::to_string(options.workers()));
  if (options.prefetch() < 0)
    throw std::invalid_argument("DataLoader: prefetch must be >= 0, got " + std::to_string(options.prefetch()));
  impl_->data = std::move(data);
  impl_->transform = std::move(transform);
  impl_->opt = options;
  if (options.world_size() < 1)
    throw std::invalid_argument("DataLoader: world_size must be >= 1, got " + std::to_string(options.world_size()));
  if (options.rank() < 0 || options.rank() >= options.world_size())
    throw std::invalid_argument("DataLoader: rank " + std::to_string(options.rank()) + " outside [0, " +
                                std::to_string(options.world_size()) + ")");
  impl_->n = impl_->data->size();
  if (options.world_size() > 1 && impl_->n < options.world_size())
    throw std::invalid_argument("DataLoader: " + std::to_string(impl_->n) + " samples cannot be shared by " +
                                std::to_string(options.world_size()) + " ranks");
  const int64_t global = options.batch_size() * options.world_size();
  auto& batches = impl_->batches;
  batches = options.drop_last() ? impl_->n / global : (impl_->n + global - 1) / global;
  // A last global batch too small to give every rank a sample joins the one before it.
  if (!options.drop_last() && batches > 1 && impl_->n % global != 0 && impl_->n % global < options.world_size())
    --batches;
}

DataLoader::~DataLoader() = default;
DataLoader::DataLoader(DataLoader&&) noexcept = default;
DataLoader& DataLoader::operator=(DataLoader&&) noexcept = default;

int64_t DataLoader::batches_per_epoch() const { return impl_->batches; }
const LoaderOptions& DataLoader::options() const { return impl_->opt; }
int64_t DataLoader::epoch() const { return impl_->epoch; }

void DataLoader::start_epoch(int64_t epoch, int64_t skip) {
  Impl& s = *impl_;
  if (epoch < 0) throw std::invalid_argument("DataLoader::start_epoch: epoch must be >= 0, got " + std::to_string(epoch));
  if (skip < 0 || skip > s.batches)
    throw std::invalid_argument("DataLoader::start_epoch: skip " + std::to_string(skip) + " outside [0, " +
                                std::to_string(s.batches) + "] (batches per epoch)");
  s.stop_workers();

  s.epoch = epoch;
  s.order.resize(static_cast<size_t>(s.n));
  for (int64_t i = 0; i < s.n; ++i) s.order[static_cast<size_t>(i)] = i;
  if (s.opt.shuffle()) {
    std::mt19937_64 rng(epoch_seed(s.opt.seed(), epoch));
    for (int64_t i = s.n - 1; i > 0; --i)
      std::swap(s.order[static_cast<size_t>(i)],
                s.order[static_cast<size_t>(bounded(rng, static_cast<uint64_t>(i) + 1))]);
  }
  s.next_batch = skip;
  s.claim = skip;
  const int64_t nthreads = std::min(s.opt.workers(), s.batches - skip);
  for (int64_t t = 0; t < nthreads; ++t) s.threads.emplace_back([&s] { s.worker(); });
}

std::optional<Batch> DataLoader::next() {
  Impl& s = *impl_;
  if (s.epoch < 0) throw std::logic_error("DataLoader::next: call start_epoch() first");
  if (s.opt.workers() == 0) {
    if (s.next_batch >= s.batches) return std::nullopt;
    return s.build(s.next_batch++, nullptr);
  }
  std::unique_lock<std::mutex> lock(s.mu);
  if (s.next_batch >= s.batches) return std::nullopt;
  s.ready_cv.wait(lock, [&] { return s.ready.count(s.next_batch) > 0; });
  auto node = s.ready.extract(s.next_batch);
  ++s.next_batch;
  lock.unlock();
  s.work_cv.notify_all();
  if (node.mapped().error) std::rethrow_exception(node.mapped().error);
  return std::move(node.mapped().batch);
}

}  // namespace deepsc::data
