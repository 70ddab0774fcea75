// deepsc benchmark train: training throughput (images/s) and peak memory of a model on random
// data, for side-by-side comparisons (bench/compare_training.py runs the same models in PyTorch).
#include "cli.h"
#include "command_support.h"

#include "deepsc/nn/registry.h"
#include "deepsc/train/trainer.h"

#include <fstream>
#include <sstream>
#include <iomanip>

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
  model->to(device);
  model->train();
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9).weight_decay(5e-4));
  auto images = torch::randn({o.batch, dims[0], dims[1], dims[2]}, torch::TensorOptions().device(device));
  auto labels = torch::randint(o.classes, {o.batch}, torch::TensorOptions().dtype(torch::kLong).device(device));
  auto step = [&] {
    optimizer.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(model->forward(images), labels);
    loss.backward();
    optimizer.step();
    train::project_csc_atoms(*model);  // the atoms back on the sphere, as the trainer does
  };
  for (int64_t i = 0; i < o.warmup; ++i) step();
  synchronize(device);
  Stopwatch clock;
  for (int64_t i = 0; i < o.steps; ++i) step();
  synchronize(device);
  const double seconds = clock.seconds();
  const double rate = o.batch * o.steps / seconds;
  int64_t parameters = 0;
  for (const auto& p : model->parameters()) parameters += p.numel();
  if (o.json) {
    ctx.out << nlohmann::json{{"model", o.model},          {"input", dims},      {"batch", o.batch},
                              {"steps", o.steps},          {"width", o.width},   {"parameters", parameters}, {"sets", o.sets},
                              {"seconds", seconds},        {"images_per_second", rate},
                              {"threads", at::get_num_threads()},
                              {"peak_resident_mib", peak_resident_mib()}, {"device", device.str()}}
                   .dump()
            << "\n";
  } else {
    ctx.out << o.model << " " << o.input << " batch " << o.batch << ": " << std::fixed << std::setprecision(1) << rate
            << " images/s (" << o.steps << " steps in " << std::setprecision(2) << seconds << " s, "
            << at::get_num_threads() << " threads), peak resident " << std::setprecision(0) << peak_resident_mib()
            << " MiB\n";
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
  train->add_option("--batch", o->batch, "Batch size")->check(CLI::PositiveNumber)->capture_default_str();
  train->add_option("--steps", o->steps, "Timed steps")->check(CLI::PositiveNumber)->capture_default_str();
  train->add_option("--warmup", o->warmup, "Untimed steps first")->check(CLI::NonNegativeNumber)->capture_default_str();
  train->add_option("--classes", o->classes, "Number of classes")->check(CLI::PositiveNumber)->capture_default_str();
  train->add_option("--width", o->width, "Width multiplier")->check(CLI::PositiveNumber)->capture_default_str();
  train->add_option("--stem", o->stem, "cifar | imagenet")->capture_default_str();
  train->add_option("--set", o->sets, "Model option as in a preset's model section, e.g. model.unfoldings=3 (repeatable)");
  train->add_flag("--json", o->json, "Print a JSON line");
  return [o](Context& ctx) { run_benchmark(*o, ctx); };
}

}  // namespace deepsc::cli
