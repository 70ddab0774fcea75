#include "deepsc/train/trainer.h"

#include "deepsc/dist/gradient_reducer.h"
#include "deepsc/dist/gradient_sync.h"
#include "deepsc/dist/sync_batch_norm.h"

#include "deepsc/data/atomic_file.h"
#include "deepsc/train/schedule.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace deepsc::train {

namespace fs = std::filesystem;
namespace F = torch::nn::functional;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// Writes `text` to `path` through a temporary file and a rename.
void write_atomically(const fs::path& path, const std::string& text) {
  data::write_file_atomically(path.string(), text);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The metrics lines of the epochs a checkpoint covers (a run killed after writing an epoch's
/// line but before its checkpoint would otherwise repeat that epoch's line).
std::string metrics_up_to(const fs::path& path, int64_t epochs_done) {
  std::istringstream in(read_text(path));
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (entry.is_object() && entry.value("epoch", int64_t{0}) <= epochs_done) kept += line + "\n";
  }
  return kept;
}

/// The metrics lines as a tab-separated table (for gnuplot and spreadsheets).
std::string metrics_table(const std::string& lines) {
  std::ostringstream table;
  table << "epoch\ttrain_loss\ttrain_top1\ttest_loss\ttest_top1\ttest_top5\tlr\tseconds\n";
  std::istringstream in(lines);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto m = nlohmann::json::parse(line);
    table << m["epoch"] << "\t" << m["train_loss"] << "\t" << m["train_top1"] << "\t" << m["test"]["loss"] << "\t"
          << m["test"]["top1"] << "\t" << m["test"]["top5"] << "\t" << m["lr"] << "\t" << m["seconds"] << "\n";
  }
  return table.str();
}

/// Mean and std given per channel, or one value for every channel.
std::vector<double> per_channel(const std::vector<double>& values, int64_t channels, const std::string& key) {
  if (static_cast<int64_t>(values.size()) == channels) return values;
  if (values.size() == 1) return std::vector<double>(channels, values[0]);
  throw std::invalid_argument(key + " has " + std::to_string(values.size()) + " values for images of " +
                              std::to_string(channels) + " channels");
}

/// One evaluation of the ranks' shares of a data set: sums of every rank's numbers, the slowest
/// rank's time.
EvalResult combine_ranks(c10d::ProcessGroup& group, const EvalResult& mine) {
  const auto n = static_cast<double>(mine.samples);
  std::vector<double> values{n, mine.loss * n, mine.top1 * n, mine.top5 * n};
  for (double residual : mine.csc_residuals) values.push_back(residual * n);
  std::vector<torch::Tensor> sums{torch::tensor(values, torch::kDouble)};
  group.allreduce(sums)->wait();
  std::vector<torch::Tensor> slowest{torch::tensor({mine.seconds}, torch::kDouble)};
  c10d::AllreduceOptions max;
  max.reduceOp = c10d::ReduceOp::MAX;
  group.allreduce(slowest, max)->wait();
  EvalResult all = mine;
  const auto total = sums[0].accessor<double, 1>();
  all.samples = static_cast<int64_t>(std::llround(total[0]));
  const double divisor = all.samples > 0 ? static_cast<double>(all.samples) : 1.0;
  all.loss = total[1] / divisor, all.top1 = total[2] / divisor, all.top5 = total[3] / divisor;
  for (size_t i = 0; i < all.csc_residuals.size(); ++i) all.csc_residuals[i] = total[4 + i] / divisor;
  all.seconds = slowest[0].item<double>();
  return all;
}

}  // namespace

nlohmann::json EvalResult::to_json() const {
  return {{"loss", loss}, {"top1", top1}, {"top5", top5}, {"samples", samples}, {"csc_residuals", csc_residuals},
          {"seconds", seconds}};
}

int64_t topk_correct(const torch::Tensor& logits, const torch::Tensor& labels, int64_t k) {
  k = std::min<int64_t>(k, logits.size(1));
  const auto top = std::get<1>(logits.topk(k, 1));  // [B, k]
  return top.eq(labels.view({-1, 1})).any(1).sum().item<int64_t>();
}

void project_csc_atoms(nn::Classifier& model) {
  for (auto& layer : model.csc_layers())
    if (layer->options.normalize_atoms()) layer->project_atoms();
}

EvalResult evaluate(nn::Classifier& model, data::DataLoader& loader, const torch::Device& device,
                    double label_smoothing, bool keep_logits) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<torch::Tensor> kept;
  model.eval();
  torch::NoGradGuard no_grad;
  const auto layers = model.csc_layers();
  nn::ResidualRecording recording(layers);  // the residuals are reported
  EvalResult r;
  r.csc_residuals.assign(layers.size(), 0.0);
  double loss_sum = 0;
  int64_t correct1 = 0, correct5 = 0;
  loader.start_epoch(0);
  while (auto batch = loader.next()) {
    const auto images = batch->images.to(device), labels = batch->labels.to(device);
    const auto logits = model.forward(images);
    loss_sum += F::cross_entropy(logits, labels,
                                 F::CrossEntropyFuncOptions().reduction(torch::kSum).label_smoothing(label_smoothing))
                    .item<double>();
    correct1 += topk_correct(logits, labels, 1);
    correct5 += topk_correct(logits, labels, 5);
    for (size_t i = 0; i < layers.size(); ++i) r.csc_residuals[i] += layers[i]->last_residual().sum().item<double>();
    r.samples += labels.size(0);
    if (keep_logits) kept.push_back(logits.to(torch::kCPU, torch::kFloat));
  }
  if (keep_logits && !kept.empty()) r.logits = torch::cat(kept);
  if (r.samples > 0) {
    r.loss = loss_sum / r.samples;
    r.top1 = static_cast<double>(correct1) / r.samples;
    r.top5 = static_cast<double>(correct5) / r.samples;
    for (auto& residual : r.csc_residuals) residual /= r.samples;
  }
  r.seconds = seconds_since(start);
  return r;
}

std::shared_ptr<nn::Classifier> build_model(const ModelConfig& c, int64_t channels, int64_t classes) {
  auto options = nn::ModelOptions()
                     .num_classes(classes)
                     .in_channels(channels)
                     .stem(nn::parse_stem(c.stem))
                     .width(c.width)
                     .csc(c.csc)
                     .unfoldings(c.unfoldings)
                     .depth(c.depth)
                     .channels(c.channels)
                     .kernel_sizes(c.kernel_sizes)
                     .strides(c.strides)
                     .paddings(c.paddings)
                     .layout(c.layout)
                     .blocks(c.blocks)
                     .growth(c.growth)
                     .max_dilation(c.max_dilation);
  return nn::make_model(c.name, options);
}

DataPipeline build_data(const DataConfig& c) {
  DataPipeline p;
  p.train = data::open_dataset(data::DatasetSpec().kind(c.kind).root(c.root).split(c.train_split));
  p.test = data::open_dataset(data::DatasetSpec().kind(c.kind).root(c.root).split(c.test_split));
  if (p.train->size() == 0 || p.test->size() == 0) throw std::invalid_argument("data: an empty split");
  const int64_t channels = p.train->channels();
  const auto mean = per_channel(c.mean, channels, "data.mean"), std = per_channel(c.std, channels, "data.std");
  const auto first = p.train->get(0).image;  // [C, H, W]
  const int64_t size = c.image_size > 0 ? c.image_size : std::min(first.size(1), first.size(2));
  std::vector<std::shared_ptr<data::Transform>> train_steps, test_steps;
  if (c.augment == "crop-flip") {
    train_steps = {data::random_crop(size, c.crop_padding), data::random_horizontal_flip()};
  } else if (c.augment == "resized-crop-flip") {
    train_steps = {data::random_resized_crop(size), data::random_horizontal_flip()};
  } else if (c.image_size > 0) {
    train_steps = {data::center_crop(size)};
  }
  if (c.test_resize > 0) test_steps.push_back(data::resize(c.test_resize));
  if (c.image_size > 0 || c.test_resize > 0) test_steps.push_back(data::center_crop(size));
  p.test_geometry = data::compose(test_steps);
  p.mean = mean;
  p.std = std;
  train_steps.push_back(data::normalize(mean, std));
  test_steps.push_back(data::normalize(mean, std));
  p.train_transform = data::compose(train_steps);
  p.test_transform = data::compose(test_steps);
  return p;
}

TrainSummary train(const TrainConfig& config, const TrainOptions& options) {
  if (options.out_dir.empty()) throw std::invalid_argument("train: no run folder given");
  const fs::path dir(options.out_dir);
  const auto last_path = dir / "checkpoint-last.pt", best_path = dir / "checkpoint-best.pt",
             metrics_path = dir / "metrics.jsonl", config_path = dir / "config.yaml";
  const bool has_run = fs::exists(last_path);
  if (has_run && !options.resume) {
    throw std::invalid_argument(options.out_dir + " already holds a run (checkpoint-last.pt); pass --resume to continue "
                                "it or choose another --out");
  }
  const auto config_text = to_yaml(config);
  if (has_run && fs::exists(config_path) && read_text(config_path) != config_text) {
    throw std::invalid_argument(options.out_dir + ": the configuration differs from the run being resumed (see " +
                                config_path.string() + ")");
  }
  // Data parallelism (options.group): which share of every global batch is ours; only rank 0 writes.
  const int64_t rank = options.group ? options.group->getRank() : 0;
  const int64_t world = options.group ? options.group->getSize() : 1;
  const bool writer = rank == 0;
  const auto& o = config.train;
  if (o.batch_size % world != 0) {
    throw std::invalid_argument("train.batch_size " + std::to_string(o.batch_size) + " is not a multiple of the " +
                                std::to_string(world) + " ranks (each loads batch_size / ranks images)");
  }
  if (writer) {
    fs::create_directories(dir);
    write_atomically(config_path, config_text);
  }

  auto pipeline = build_data(config.data);
  torch::manual_seed(options.seed);
  auto model = build_model(config.model, pipeline.train->channels(), pipeline.train->num_classes());
  model->to(options.device);
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(o.lr)
                                                       .momentum(o.momentum)
                                                       .nesterov(o.nesterov)
                                                       .weight_decay(o.weight_decay));

  // A last batch of one image would break batch normalisation's training statistics.
  const bool drop_last = pipeline.train->size() % o.batch_size == 1;
  data::DataLoader train_loader(pipeline.train, pipeline.train_transform,
                                data::LoaderOptions()
                                    .batch_size(o.batch_size / world)
                                    .rank(rank)
                                    .world_size(world)
                                    .shuffle(true)
                                    .drop_last(drop_last)
                                    .workers(config.data.workers)
                                    .seed(options.seed));
  // Evaluation is sharded too: each rank scores every W-th image, the sums are all-reduced.
  data::DataLoader test_loader(pipeline.test, pipeline.test_transform,
                               data::LoaderOptions()
                                   .batch_size(std::max<int64_t>(1, o.eval_batch_size / world))
                                   .rank(rank)
                                   .world_size(world)
                                   .shuffle(false)
                                   .workers(config.data.workers)
                                   .seed(options.seed));
  const int64_t steps = o.max_steps_per_epoch > 0 ? std::min(o.max_steps_per_epoch, train_loader.batches_per_epoch())
                                                  : train_loader.batches_per_epoch();

  RunState state;
  std::string metrics_text;
  if (has_run) {
    state = load_checkpoint(last_path.string(), *model, &optimizer);
    metrics_text = metrics_up_to(metrics_path, state.epochs_done);
  }
  if (writer) write_atomically(metrics_path, metrics_text);
  std::unique_ptr<dist::GradientReducer> reducer;
  if (options.group) {
    dist::broadcast_state(*options.group, *model);
    reducer = std::make_unique<dist::GradientReducer>(
        options.group, model->parameters(), dist::GradientReducerOptions().bucket_bytes(options.bucket_bytes));
    if (o.sync_batch_norm) dist::synchronize_batch_norm(*model, options.group);
  }
  const auto evaluate_test_set = [&] {
    const auto mine = evaluate(*model, test_loader, options.device, o.label_smoothing);
    return options.group ? combine_ranks(*options.group, mine) : mine;
  };

  TrainSummary summary;
  summary.model_name = config.model.name;
  for (const auto& p : model->parameters()) summary.parameters += p.numel();
  for (int64_t epoch = state.epochs_done; epoch < o.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    model->train();
    train_loader.start_epoch(epoch);
    double loss_sum = 0, lr = o.lr;
    int64_t seen = 0, correct = 0;
    for (int64_t step = 0; step < steps; ++step) {
      auto batch = train_loader.next();
      if (!batch) break;
      lr = learning_rate(o, state.steps_done, steps);
      for (auto& group : optimizer.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
      const auto images = batch->images.to(options.device), labels = batch->labels.to(options.device);
      const auto logits = model->forward(images);
      const auto loss = F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().label_smoothing(o.label_smoothing));
      optimizer.zero_grad();
      if (reducer) reducer->prepare(static_cast<double>(labels.size(0)));  // all-reduces overlap backward
      loss.backward();
      if (reducer) reducer->finish();
      if (o.clip_grad_norm > 0) torch::nn::utils::clip_grad_norm_(model->parameters(), o.clip_grad_norm);
      optimizer.step();
      project_csc_atoms(*model);
      ++state.steps_done;
      const int64_t n = labels.size(0);
      loss_sum += loss.item<double>() * n;
      correct += topk_correct(logits.detach(), labels, 1);
      seen += n;
      if (options.on_step) {
        const double elapsed = seconds_since(start);
        StepProgress p;
        p.epoch = epoch + 1, p.epochs = o.epochs, p.step = step + 1, p.steps = steps;
        p.loss = loss_sum / seen, p.lr = lr, p.images_per_second = seen / std::max(elapsed, 1e-9);
        p.eta_seconds = elapsed / (step + 1) * ((steps - step - 1) + (o.epochs - epoch - 1) * steps);
        options.on_step(p);
      }
    }
    const double train_seconds = seconds_since(start);
    if (options.group) {
      // Every rank's share of the epoch's numbers, and rank 0's batch-norm statistics everywhere
      // (the same on every rank already with synchronised batch norm).
      std::vector<torch::Tensor> totals{torch::tensor({loss_sum, static_cast<double>(correct), static_cast<double>(seen)},
                                                      torch::kDouble)};
      options.group->allreduce(totals)->wait();
      loss_sum = totals[0][0].item<double>(), correct = totals[0][1].item<int64_t>(), seen = totals[0][2].item<int64_t>();
      dist::broadcast_state(*options.group, *model);
    }
    const auto eval = evaluate_test_set();
    state.epochs_done = epoch + 1;
    state.seconds += seconds_since(start);
    nlohmann::json line = {{"epoch", epoch + 1},
                           {"steps", state.steps_done},
                           {"lr", lr},
                           {"train_loss", seen ? loss_sum / seen : 0.0},
                           {"train_top1", seen ? static_cast<double>(correct) / seen : 0.0},
                           {"train_images_per_second", seen / std::max(train_seconds, 1e-9)},
                           {"test", eval.to_json()},
                           {"seconds", state.seconds}};
    metrics_text += line.dump() + "\n";
    if (writer) {
      write_atomically(metrics_path, metrics_text);
      write_atomically(dir / "metrics.tsv", metrics_table(metrics_text));
    }
    if (eval.top1 > state.best_top1) {
      state.best_top1 = eval.top1;
      state.best_epoch = epoch + 1;
      if (writer) save_checkpoint(best_path.string(), *model, nullptr, state);
    }
    if (writer) save_checkpoint(last_path.string(), *model, &optimizer, state);
    // The other ranks wait for the checkpoint, so that a run stopped later resumes from it.
    if (options.group) options.group->barrier()->wait();
    summary.last = eval;
    if (options.on_epoch) options.on_epoch(line);
  }
  if (state.epochs_done >= o.epochs && summary.last.samples == 0) {  // resumed a finished run: report it
    summary.last = evaluate_test_set();
  }
  summary.state = state;
  return summary;
}

}  // namespace deepsc::train
