// deepsc benchmark train: training throughput (images/s) and peak memory of a model on random
// data, for side-by-side comparisons (bench/compare_training.py runs the same models in PyTorch),
// in one process or data-parallel with --distributed (bench/distributed_throughput.py). The timed
// loop is train::measure_training_throughput; this file parses options and prints.
#include "cli.h"
#include "command_support.h"
#include "distributed_support.h"

#include "deepsc/nn/registry.h"
#include "deepsc/train/throughput.h"
#include "deepsc/train/trainer.h"

#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace deepsc::cli {

namespace {

struct BenchmarkOptions {
  std::string model = "sdnet18", input = "3x32x32", stem = "cifar";
  int64_t batch = 64, steps = 20, warmup = 3, classes = 10;
  double width = 1.0;
  /// model.<key>=<value> overrides of the model section (as `deepsc train --set`), e.g.
  /// model.unfoldings=3 for an unrolled network.
  std::vector<std::string> sets;
  bool json = false;
  /// Data-parallel over the ranks of the launcher's environment (as `deepsc train --distributed`).
  DistributedOptions distributed;
  bool no_overlap = false;
  double bucket_mb = 25;
};

/// "CxHxW" → {C, H, W}.
std::vector<int64_t> parse_input(const std::string& text) {
  std::vector<int64_t> dims;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, 'x')) {
    try {
      size_t used = 0;
      dims.push_back(std::stoll(part, &used));
      if (used != part.size() || dims.back() < 1) throw std::invalid_argument("");
    } catch (const std::exception&) {
      dims.clear();
      break;
    }
  }
  if (dims.size() != 3) throw std::invalid_argument("--input " + text + ": expected CxHxW with positive sizes, e.g. 3x32x32");
  return dims;
}

/// Peak resident memory of the process in MiB (Linux VmHWM), or -1 when unknown.
double peak_resident_mib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmHWM:") {
      double kib = 0;
      status >> kib;
      return kib / 1024;
    }
    status.ignore(1 << 12, '\n');
  }
  return -1;
}

/// The measurement, with a failure of a distributed run saying which rank stopped.
train::ThroughputResult measure(nn::Classifier& model, const train::ThroughputOptions& options) {
  try {
    return train::measure_training_throughput(model, options);
  } catch (const std::invalid_argument&) {
    throw;  // the same bad option on every rank
  } catch (const std::exception& e) {
    if (!options.group()) throw;
    throw rank_failure(*options.group(), e);
  }
}

void print_json(const BenchmarkOptions& o, const std::vector<int64_t>& dims, const torch::Device& device,
                const train::ThroughputResult& r, Context& ctx) {
  nlohmann::json line{{"model", o.model},          {"input", dims},      {"batch", o.batch},
                      {"steps", o.steps},          {"width", o.width},   {"parameters", r.parameters}, {"sets", o.sets},
                      {"seconds", r.seconds},      {"images_per_second", r.images_per_second},
                      {"threads", at::get_num_threads()},
                      {"peak_resident_mib", peak_resident_mib()}, {"device", device.str()}};
  if (o.distributed.enabled) {
    line.update({{"ranks", r.ranks},
                 {"batch_per_rank", r.batch_per_rank},
                 {"allreduce_seconds_per_step", r.allreduce_seconds_per_step},
                 {"exposed_communication_seconds_per_step", r.exposed_communication_seconds_per_step},
                 {"gradient_bytes", r.gradient_bytes},
                 {"buckets", r.buckets},
                 {"bucket_mb", o.bucket_mb},
                 {"overlap", !o.no_overlap}});
  }
  ctx.out << line.dump() << "\n";
}

void print_text(const BenchmarkOptions& o, const train::ThroughputResult& r, Context& ctx) {
  ctx.out << o.model << " " << o.input << " batch " << o.batch << ": " << std::fixed << std::setprecision(1)
          << r.images_per_second << " images/s (" << o.steps << " steps in " << std::setprecision(2) << r.seconds
          << " s, ";
  if (o.distributed.enabled) {
    ctx.out << r.ranks << " ranks x " << r.batch_per_rank << " images, " << at::get_num_threads()
            << " threads each), all-reduce " << std::setprecision(1) << 1e3 * r.allreduce_seconds_per_step
            << " ms/step, exposed " << 1e3 * r.exposed_communication_seconds_per_step << " ms/step ("
            << (o.no_overlap ? "no overlap" : "overlapped") << "), gradient " << std::setprecision(2)
            << r.gradient_bytes / 1048576.0 << " MiB in " << r.buckets << " buckets, rank 0 peak resident "
            << std::setprecision(0) << peak_resident_mib() << " MiB\n";
  } else {
    ctx.out << at::get_num_threads() << " threads), peak resident " << std::setprecision(0) << peak_resident_mib()
            << " MiB\n";
  }
}

void run_benchmark(const BenchmarkOptions& o, Context& ctx) {
  const auto dims = parse_input(o.input);
  const auto device = parse_device(ctx.runtime.device);
  std::vector<std::string> overrides{"model.name=" + o.model, "model.stem=" + o.stem,
                                     "model.width=" + std::to_string(o.width)};
  for (const auto& set : o.sets) {
    if (set.rfind("model.", 0) != 0) throw std::invalid_argument("--set " + set + ": only model.<key>=<value> applies here");
    overrides.push_back(set);
  }
  const auto config = train::parse_config("", overrides, "benchmark");
  auto model = train::build_model(config.model, dims[0], o.classes);
  const auto group = connect_ranks(o.distributed);
  const auto result = measure(*model, train::ThroughputOptions()
                                          .input(dims)
                                          .batch(o.batch)
                                          .classes(o.classes)
                                          .warmup(o.warmup)
                                          .steps(o.steps)
                                          .device(device)
                                          .group(group)
                                          .bucket_bytes(static_cast<int64_t>(std::llround(o.bucket_mb * 1048576.0)))
                                          .overlap(!o.no_overlap));
  if (group && group->getRank() != 0) return;  // rank 0 speaks for the run
  if (o.json) {
    print_json(o, dims, device, result, ctx);
  } else {
    print_text(o, result, ctx);
  }
}

}  // namespace

Action add_benchmark_command(CLI::App& app) {
  auto o = std::make_shared<BenchmarkOptions>();
  auto* cmd = app.add_subcommand("benchmark", "Measure throughput");
  cmd->require_subcommand(1);
  auto* train = cmd->add_subcommand("train", "Training throughput (images/s) of a model on random data");
  train->fallthrough();  // --threads, --device, --seed belong to `benchmark` but may follow `train`
  train->add_option("--model", o->model, "Registry name (resnet18, sdnet18, ...)")->capture_default_str();
  train->add_option("--input", o->input, "Image size CxHxW")->capture_default_str();
  train->add_option("--batch", o->batch, "Batch size (the global batch with --distributed)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train->add_option("--steps", o->steps, "Timed steps")->check(CLI::PositiveNumber)->capture_default_str();
  train->add_option("--warmup", o->warmup, "Untimed steps first")->check(CLI::NonNegativeNumber)->capture_default_str();
  train->add_option("--classes", o->classes, "Number of classes")->check(CLI::PositiveNumber)->capture_default_str();
  train->add_option("--width", o->width, "Width multiplier")->check(CLI::PositiveNumber)->capture_default_str();
  train->add_option("--stem", o->stem, "cifar | imagenet")->capture_default_str();
  train->add_option("--set", o->sets, "Model option as in a preset's model section, e.g. model.unfoldings=3 (repeatable)");
  train->add_flag("--json", o->json, "Print a JSON line");
  auto* distributed = add_distributed_options(
      train, o->distributed,
      "Data-parallel (deepsc launch --nproc N -- benchmark train --distributed ...; --batch is the global batch, "
      "rank 0 prints)");
  train->add_option("--bucket-mb", o->bucket_mb, "Gradient bucket size in MiB")
      ->check(CLI::PositiveNumber)
      ->capture_default_str()
      ->needs(distributed);
  train->add_flag("--no-overlap", o->no_overlap, "All-reduce the gradient after backward instead of during it")
      ->needs(distributed);
  return [o](Context& ctx) { run_benchmark(*o, ctx); };
}

}  // namespace deepsc::cli
