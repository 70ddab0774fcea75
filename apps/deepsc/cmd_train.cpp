// deepsc train: trains a classifier (ResNet, SDNet, ...) from a YAML preset into a run folder,
// with a progress bar, per-epoch metrics and atomic checkpoints (--resume continues a killed run).
#include "cli.h"
#include "command_support.h"
#include "distributed_support.h"
#include "progress_bar.h"

#include "deepsc/train/curves_plot.h"
#include "deepsc/train/trainer.h"
#include "deepsc/viz/gnuplot.h"

#include <iomanip>

namespace deepsc::cli {

namespace {

/// plot-curves.gp and, where gnuplot is installed, curves.png in the run folder (run without a shell).
void plot_curves(const std::string& out, Context& ctx) {
  const auto script = train::training_curves_script();
  write_text_file(out + "/plot-curves.gp", script);
  if (viz::gnuplot_available() && !viz::run_gnuplot(script, out, out + "/plot.log").ok)
    ctx.err << "gnuplot failed (see " << out << "/plot.log); metrics.tsv is written\n";
}

struct TrainCommand {
  std::string config, out;
  std::vector<std::string> overrides;
  bool resume = false, json = false;
  DistributedOptions distributed;
};

void run_train(const TrainCommand& o, Context& ctx) {
  const auto config = train::load_config(o.config, o.overrides);
  train::TrainOptions options;
  options.out_dir = o.out;
  options.resume = o.resume;
  options.device = parse_device(ctx.runtime.device);
  options.seed = ctx.runtime.seed;
  options.group = connect_ranks(o.distributed);
  // Rank 0 speaks for a distributed run; the other ranks only train.
  const bool speaker = !options.group || options.group->getRank() == 0;
  ProgressBar bar(ctx.err);
  if (speaker) options.on_step = [&](const train::StepProgress& p) {
    std::ostringstream label;
    label << "epoch " << p.epoch << "/" << p.epochs << " loss " << std::fixed << std::setprecision(4) << p.loss
          << " lr " << std::setprecision(4) << p.lr;
    bar.update(p.step, p.steps, label.str(), p.images_per_second, p.eta_seconds);
  };
  if (speaker) options.on_epoch = [&](const nlohmann::json& line) {
    bar.finish();
    if (o.json) {
      ctx.out << line.dump() << "\n";
    } else {
      ctx.out << "epoch " << line["epoch"] << ": train loss " << std::fixed << std::setprecision(4)
              << line["train_loss"].get<double>() << ", test top-1 " << std::setprecision(2)
              << 100 * line["test"]["top1"].get<double>() << "%, top-5 "
              << 100 * line["test"]["top5"].get<double>() << "%, " << std::setprecision(0)
              << line["train_images_per_second"].get<double>() << " images/s\n";
    }
    ctx.out.flush();
  };
  train::TrainSummary summary;
  try {
    summary = train::train(config, options);
  } catch (const std::exception& e) {
    if (!options.group) throw;
    throw rank_failure(*options.group, e);
  }
  if (!speaker) return;
  nlohmann::json done = {{"model", summary.model_name},
                         {"parameters", summary.parameters},
                         {"epochs", summary.state.epochs_done},
                         {"best_top1", summary.state.best_top1},
                         {"best_epoch", summary.state.best_epoch},
                         {"last", summary.last.to_json()},
                         {"seconds", summary.state.seconds},
                         {"out", o.out}};
  write_text_file(o.out + "/summary.json", done.dump(1) + "\n");
  plot_curves(o.out, ctx);
  if (o.json) {
    ctx.out << done.dump() << "\n";
  } else {
    ctx.out << summary.model_name << " (" << summary.parameters << " parameters): best test top-1 " << std::fixed
            << std::setprecision(2) << 100 * summary.state.best_top1 << "% at epoch " << summary.state.best_epoch
            << ", " << std::setprecision(0) << summary.state.seconds << " s of training -> " << o.out << "\n";
  }
}

}  // namespace

Action add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainCommand>();
  auto* cmd = app.add_subcommand("train", "Train an image classifier (ResNet, SDNet, ...) from a YAML preset");
  cmd->add_option("--config", o->config, "Preset, e.g. configs/fashion-mnist-sdnet18-quick.yaml")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--set", o->overrides, "Override a preset value: section.key=value (repeatable)");
  cmd->add_option("--out", o->out, "Run folder (config, metrics.jsonl, checkpoints, summary.json)")->required();
  cmd->add_flag("--resume", o->resume, "Continue the run in --out from its last checkpoint");
  cmd->add_flag("--json", o->json, "Print one JSON line per epoch and a JSON summary");
  add_distributed_options(cmd, o->distributed, "Data-parallel training");
  return [o](Context& ctx) { run_train(*o, ctx); };
}

}  // namespace deepsc::cli
