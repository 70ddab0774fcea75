// deepsc robust: accuracy of a trained checkpoint on corrupted test images (gaussian, shot,
// impulse, speckle noise at the CIFAR-10-C severities), for networks with CSC layers over a grid of
// λ, with λ from the fitted λ(r) line of Algorithm 1 (Zhang, "From sparse coding to deep learning",
// 2024, section 5) and with a per-sample λ. The evaluation is robust::evaluate_robustness and the
// files robust::robustness_report; this command checks the options, loads the run, and writes and
// prints what the library returns. The checkpoint is only read.
#include "checkpoint_support.h"
#include "cli.h"
#include "command_support.h"
#include "progress_bar.h"

#include "deepsc/data/cifar10c.h"
#include "deepsc/data/corruption.h"
#include "deepsc/robust/lambda_grid.h"
#include "deepsc/robust/robustness_evaluation.h"
#include "deepsc/robust/robustness_report.h"
#include "deepsc/viz/gnuplot.h"

#include <filesystem>

namespace deepsc::cli {

namespace {

struct RobustCommand {
  CheckpointOptions checkpoint;
  std::string noise = "all", severities = "1-5", grid = "0.1:1.4:0.1", cifar10c, out;
  bool fit = false, per_sample = false;
  int64_t limit = 0, fit_samples = 2000, batch = 500, recalibrate_bn = 0;
};

/// The checks that need no data: done before anything is loaded.
void check_options(const RobustCommand& o) {
  if (o.limit < 0) throw std::invalid_argument("--limit must be >= 0, got " + std::to_string(o.limit));
  if (o.fit_samples < 1) throw std::invalid_argument("--fit-samples must be >= 1, got " + std::to_string(o.fit_samples));
  if (o.batch < 1) throw std::invalid_argument("--batch must be >= 1, got " + std::to_string(o.batch));
  if (o.recalibrate_bn < 0 || o.recalibrate_bn == 1)
    throw std::invalid_argument("--recalibrate-bn must be 0 (off) or >= 2 images, got " + std::to_string(o.recalibrate_bn));
  if (o.recalibrate_bn > 0 && o.per_sample)
    throw std::invalid_argument("--recalibrate-bn cannot be combined with --per-sample (batch-norm statistics are per lambda, not per sample)");
  check_output_folder(o.out);
  if (!o.cifar10c.empty() && !std::filesystem::is_directory(o.cifar10c))
    throw std::invalid_argument("--cifar10c " + o.cifar10c + " is not a folder");
}

/// The checks that need the model: a λ to change for --fit, --per-sample and --recalibrate-bn.
void check_model(const RobustCommand& o, const nn::Classifier& model, const std::string& name) {
  const bool has_csc = !model.csc_layers().empty();
  if ((o.fit || o.per_sample) && !has_csc)
    throw std::invalid_argument("--fit/--per-sample: " + name + " has no CSC layers whose lambda could change");
  if (o.per_sample && !o.fit) throw std::invalid_argument("--per-sample needs --fit (lambda comes from the fitted line)");
  if (o.recalibrate_bn > 0 && !has_csc)
    throw std::invalid_argument("--recalibrate-bn: " + name + " has no CSC layers whose lambda could change");
}

/// robust.json, table.tsv and, with CSC layers, sweep.tsv, fit.tsv, plot.gp and the plots.
void write_outputs(const std::string& out, const robust::RobustnessResult& result, const nlohmann::json& report, Context& ctx) {
  ensure_directory(out);
  write_text_file(out + "/robust.json", report.dump(1) + "\n");
  write_text_file(out + "/table.tsv", robust::robustness_table_tsv(result));
  write_text_file(out + "/table.md", robust::robustness_table_markdown(result));
  if (!result.has_csc) return;
  write_text_file(out + "/sweep.tsv", robust::robustness_sweep_tsv(result));
  if (result.fit) write_text_file(out + "/fit.tsv", robust::robustness_fit_tsv(result));
  const auto script = robust::robustness_plot_script(result);
  write_text_file(out + "/plot.gp", script);
  if (viz::gnuplot_available() && !viz::run_gnuplot(script, out, out + "/plot.log").ok)
    ctx.err << "gnuplot failed (see " << out << "/plot.log); the tables are written\n";
}

void run_robust(const RobustCommand& o, Context& ctx) {
  const auto noises = data::parse_noise_list(o.noise);
  const auto severities = data::parse_severities(o.severities);
  const auto grid = robust::parse_lambda_grid(o.grid);
  check_options(o);
  const auto device = parse_device(ctx.runtime.device);
  const auto run = load_run(o.checkpoint, device);
  const auto& config = run.config;
  const auto& pipeline = run.pipeline;
  check_model(o, *run.model, config.model.name);

  Stopwatch clock;
  auto images = [&](const std::shared_ptr<const data::Dataset>& dataset, int64_t limit) {
    return data::load_labelled_images(dataset, pipeline.test_geometry, limit, config.data.workers);
  };
  auto options = robust::RobustnessOptions(noises, severities, grid)
                     .per_sample(o.per_sample)
                     .seed(ctx.runtime.seed)
                     .batch_size(o.batch)
                     .device(device)
                     .normalise(normaliser(pipeline, torch::kCPU));  // whole sets are kept on the CPU
  const auto test = images(pipeline.test, o.limit);
  if (o.fit) options.fit_images(images(pipeline.train, o.fit_samples));
  if (o.recalibrate_bn > 0) options.calibration_images(images(pipeline.train, o.recalibrate_bn).images);
  if (!o.cifar10c.empty())
    options.published([&](data::Noise noise, int severity) { return images(data::load_cifar10c(o.cifar10c, noise, severity), o.limit); });
  ProgressBar bar(ctx.err);
  options.progress([&](int64_t done, int64_t total) {
    const double rate = done / std::max(clock.seconds(), 1e-9);
    bar.update(done, total, "robust", rate, (total - done) / std::max(rate, 1e-9));
  });
  const auto result = robust::evaluate_robustness(*run.model, test, options);
  bar.finish();

  robust::RobustnessReportInfo info;
  info.checkpoint = o.checkpoint.checkpoint;
  info.model = config.model.name;
  info.data = config.data.kind;
  info.split = o.checkpoint.split;
  info.corrupted_from = o.cifar10c.empty() ? "generated" : o.cifar10c;
  info.seed = ctx.runtime.seed;
  const auto report = robust::robustness_json(result, info);
  write_outputs(o.out, result, report, ctx);
  if (o.checkpoint.json) {
    ctx.out << report.dump() << "\n";
    return;
  }
  ctx.out << robust::robustness_summary(result, info);
  ctx.out << "-> " << o.out << "/robust.json, table.tsv, table.md" << (result.has_csc ? ", sweep.tsv, robust.png" : "")
          << (result.fit ? ", fit.tsv, fit.png" : "") << "\n";
}

}  // namespace

Action add_robust_command(CLI::App& app) {
  auto o = std::make_shared<RobustCommand>();
  auto* cmd = app.add_subcommand("robust", "Accuracy under noise: lambda sweep, fitted lambda(r) and per-sample lambda");
  add_checkpoint_options(cmd, o->checkpoint);
  add_data_options(cmd, o->checkpoint, "Split to corrupt and evaluate");
  cmd->add_option("--noise", o->noise, "gaussian,shot,impulse,speckle or all")->capture_default_str();
  cmd->add_option("--severities", o->severities, "CIFAR-10-C severities: 1-5, 1,3,5, ...")->capture_default_str();
  cmd->add_option("--lambda-grid", o->grid, "Lambda values first:last:step or a,b,c")->capture_default_str();
  cmd->add_flag("--fit", o->fit, "Fit lambda(r) on corrupted training images (Algorithm 1) and evaluate lambda(r_test)");
  cmd->add_option("--fit-samples", o->fit_samples, "Training images used by --fit (spread over the split)")
      ->capture_default_str();
  cmd->add_flag("--per-sample", o->per_sample, "Also code each test image with lambda(r) of its own residual");
  cmd->add_option("--recalibrate-bn", o->recalibrate_bn,
                  "At each lambda, re-estimate the batch-norm statistics on N clean training images coded at that lambda "
                  "(0: the trained statistics)")
      ->capture_default_str();
  cmd->add_option("--cifar10c", o->cifar10c, "Folder of the published CIFAR-10-C .npy files (instead of generated noise)");
  cmd->add_option("--limit", o->limit, "Evaluate only N test images, spread over the split (0: all)")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Images per forward")->capture_default_str();
  cmd->add_option("--out", o->out, "Folder for robust.json, table.tsv, sweep.tsv, fit.tsv and the plots")->required();
  cmd->add_flag("--json", o->checkpoint.json, "Print the JSON report");
  return [o](Context& ctx) { run_robust(*o, ctx); };
}

}  // namespace deepsc::cli
