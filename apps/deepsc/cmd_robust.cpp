// deepsc robust: accuracy of a trained checkpoint on corrupted test images (gaussian, shot,
// impulse, speckle noise at the CIFAR-10-C severities), for networks with CSC layers over a grid of
// λ, with λ from the fitted λ(r) line of Algorithm 1 (seed, section 5) and with a per-sample λ.
//
// Images are corrupted in [0, 1] after the run's resize / centre crop and before its
// normalisation. Work that does not depend on λ is done once: each corrupted set is made once
// and normalised once, and within a batch the first CSC layer's analysis Dᵀx is kept for every λ
// (robust::sweep_lambda). --recalibrate-bn re-estimates the batch-norm statistics once per λ on
// clean training images (robust::recalibrate_per_lambda). The checkpoint is only read; the model's
// λ and statistics are restored.
#include "checkpoint_support.h"
#include "cli.h"
#include "command_support.h"
#include "progress_bar.h"

#include "deepsc/data/cifar10c.h"
#include "deepsc/data/corruption.h"
#include "deepsc/robust/batch_norm_statistics.h"
#include "deepsc/robust/lambda_scope.h"
#include "deepsc/robust/lambda_sweep.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <sstream>

namespace deepsc::cli {

namespace {

struct RobustCommand {
  CheckpointOptions checkpoint;
  std::string noise = "all", severities = "1-5", grid = "0.1:1.4:0.1", cifar10c, out;
  bool fit = false, per_sample = false;
  int64_t limit = 0, fit_samples = 2000, batch = 500, recalibrate_bn = 0;
};

/// "a:b:step" (inclusive, like 0.1:1.4:0.1) or "a,b,c"; every value finite and ≥ 0.
std::vector<double> parse_lambda_grid(const std::string& text) {
  auto number = [&](const std::string& item) {
    char* end = nullptr;
    const double v = std::strtod(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size() || !std::isfinite(v) || v < 0)
      throw std::invalid_argument("--lambda-grid: '" + item + "' is not a lambda >= 0 (use a:b:step or a,b,c)");
    return v;
  };
  std::vector<std::string> parts;
  const char sep = text.find(':') != std::string::npos ? ':' : ',';
  std::stringstream stream(text);
  for (std::string item; std::getline(stream, item, sep);) parts.push_back(item);
  if (!text.empty() && text.back() == sep) parts.push_back("");
  std::vector<double> grid;
  if (sep == ':') {
    if (parts.size() != 3) throw std::invalid_argument("--lambda-grid: a range is first:last:step, got '" + text + "'");
    const double first = number(parts[0]), last = number(parts[1]), step = number(parts[2]);
    if (!(step > 0) || last < first) throw std::invalid_argument("--lambda-grid: need first <= last and step > 0 in '" + text + "'");
    const auto count = static_cast<int64_t>(std::floor((last - first) / step + 1e-9)) + 1;
    if (count > 10000) throw std::invalid_argument("--lambda-grid: more than 10000 values in '" + text + "'");
    for (int64_t i = 0; i < count; ++i) grid.push_back(std::round((first + i * step) * 1e9) / 1e9);
  } else {
    for (const auto& item : parts) grid.push_back(number(item));
  }
  std::sort(grid.begin(), grid.end());
  grid.erase(std::unique(grid.begin(), grid.end()), grid.end());
  if (grid.empty()) throw std::invalid_argument("--lambda-grid: no values");
  return grid;
}

/// A seed for (noise, severity) so that every corrupted set is drawn independently and reproducibly.
uint64_t corruption_seed(uint64_t seed, data::Noise noise, int severity, bool training) {
  return data::sample_seed(seed, training ? 1 : 0, static_cast<int64_t>(noise) * 16 + severity);
}

/// One row of the table: a noise at a severity (0 = clean).
struct Row {
  std::string noise;
  int severity = 0;
  double level = 0;
  double fixed = 0;                          // accuracy at the trained λ (ResNet: the model's accuracy)
  double residual = 0;                       // mean residual at the trained λ
  double best_lambda = 0, best = 0;          // oracle: best λ of the grid on these very images
  double fit_lambda = 0, fitted = 0;         // λ(r_test) and its accuracy
  double per_sample_lambda = 0, per_sample = 0;
  std::vector<double> curve, curve_residual;  // accuracy and residual per grid λ
};

std::string fixed2(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << v;
  return s.str();
}

/// gnuplot script: accuracy against λ, one panel per noise and one curve per severity (the seed's
/// Figure 2), and the fitted λ(r) lines over the training pairs.
std::string plot_script(const std::vector<std::string>& noises, bool fit) {
  std::ostringstream gp;
  gp << "# gnuplot plot.gp (run in this folder): robust.png" << (fit ? " and fit.png" : "") << "\n"
     << "set terminal pngcairo size " << 420 * noises.size() << ",380 font ',10'\n"
     << "set output 'robust.png'\nset datafile separator '\\t'\nset key top right\n"
     << "set multiplot layout 1," << noises.size() << "\n";
  for (const auto& noise : noises) {
    gp << "set title '" << noise << "'\nset xlabel 'lambda'\nset ylabel 'top-1 (%)'\n"
       << "plot for [s=0:5] 'sweep.tsv' using (strcol(1) eq '" << noise << "' && $2 == s ? $4 : 1/0):($5*100) "
       << "with linespoints title (s == 0 ? 'clean' : sprintf('severity %d', s))\n";
  }
  gp << "unset multiplot\n";
  if (fit) {
    gp << "set terminal pngcairo size 520,400 font ',10'\nset output 'fit.png'\nset key top left\n"
       << "set title 'best lambda against CSC residual (training images)'\nset xlabel 'mean residual at the trained lambda'\n"
       << "set ylabel 'lambda'\nplot 'fit.tsv' using 4:5 with points pt 7 title 'best lambda per level', \\\n"
       << "     'fit.tsv' using 4:6 with lines title 'fitted lambda(r) per noise'\n";
  }
  return gp.str();
}

void run_robust(const RobustCommand& o, Context& ctx) {
  const auto noises = data::parse_noise_list(o.noise);
  const auto severities = data::parse_severities(o.severities);
  const auto grid = parse_lambda_grid(o.grid);
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

  const auto device = parse_device(ctx.runtime.device);
  const auto run = load_run(o.checkpoint, device);
  const auto& config = run.config;
  const auto& pipeline = run.pipeline;
  const auto& model = run.model;
  robust::LambdaScope scope(model->csc_layers());
  const bool has_csc = !scope.empty();
  if ((o.fit || o.per_sample) && !has_csc)
    throw std::invalid_argument("--fit/--per-sample: " + config.model.name + " has no CSC layers whose lambda could change");
  if (o.per_sample && !o.fit) throw std::invalid_argument("--per-sample needs --fit (lambda comes from the fitted line)");
  if (o.recalibrate_bn > 0 && !has_csc)
    throw std::invalid_argument("--recalibrate-bn: " + config.model.name + " has no CSC layers whose lambda could change");
  const double trained = has_csc ? scope.trained().front() : 0.0;
  // The sweep's grid plus the trained λ (for the residual r_c and the fixed-λ accuracy).
  auto sweep_grid = grid;
  if (has_csc && std::find(grid.begin(), grid.end(), trained) == grid.end()) sweep_grid.push_back(trained);
  const size_t trained_index = has_csc ? std::find(sweep_grid.begin(), sweep_grid.end(), trained) - sweep_grid.begin() : 0;

  const auto normalise = normaliser(pipeline, torch::kCPU);  // whole sets are kept on the CPU

  Stopwatch clock;
  const auto test = load_image_set(pipeline.test, pipeline.test_geometry, o.limit, config.data.workers);
  ImageSet fit_set;
  if (o.fit) fit_set = load_image_set(pipeline.train, pipeline.test_geometry, o.fit_samples, config.data.workers);
  // Clean training images on which --recalibrate-bn re-estimates the batch-norm statistics per λ.
  torch::Tensor calibration_images;
  if (o.recalibrate_bn > 0)
    calibration_images = normalise(load_image_set(pipeline.train, pipeline.test_geometry, o.recalibrate_bn, config.data.workers).images);
  const int64_t calibration_size = calibration_images.defined() ? calibration_images.size(0) : 0;
  const int64_t levels = 1 + static_cast<int64_t>(severities.size());
  const int64_t noise_count = static_cast<int64_t>(noises.size());
  // Progress in image-forwards: sweeps (×λ), the fitted λ (×1) and per-sample λ (×2 for the probe).
  const int64_t per_test_set = test.images.size(0) * (has_csc ? static_cast<int64_t>(sweep_grid.size()) + (o.fit ? 1 : 0) + (o.per_sample ? 2 : 0) : 1);
  // Recalibration: every λ of the sweep once, and each level's fitted λ.
  const int64_t total = noise_count * levels * per_test_set +
                        (o.fit ? noise_count * levels * fit_set.images.size(0) * static_cast<int64_t>(sweep_grid.size()) : 0) +
                        calibration_size * (static_cast<int64_t>(sweep_grid.size()) + (o.fit ? noise_count * levels : 0));
  int64_t done = 0, stage_done = 0;
  ProgressBar bar(ctx.err);
  auto progress = [&](int64_t images_done, int64_t /*of*/, int64_t weight) {
    const int64_t now = done + images_done * weight;
    stage_done = images_done * weight;
    const double rate = now / std::max(clock.seconds(), 1e-9);
    bar.update(now, total, "robust", rate, (total - now) / std::max(rate, 1e-9));
  };
  auto finish_stage = [&] {
    done += stage_done;
    stage_done = 0;
  };
  // --recalibrate-bn: batch-norm statistics of the model with its CSC layers at λ.
  auto calibrate = [&](double lambda) {
    auto statistics = robust::recalibrate_per_lambda(
        *model, calibration_images, {lambda}, robust::CalibrationOptions().batch_size(std::max<int64_t>(2, o.batch)).device(device));
    progress(calibration_size, calibration_size, 1);
    finish_stage();
    return statistics.front();
  };
  std::vector<robust::BatchNormStatistics> grid_statistics;  // one per λ of sweep_grid
  if (calibration_size > 0)
    for (const double lambda : sweep_grid) grid_statistics.push_back(calibrate(lambda));
  auto options = [&](int64_t weight) {
    return robust::SweepOptions().batch_size(o.batch).device(device).statistics(grid_statistics).progress(
        [&, weight](int64_t a, int64_t b) { progress(a, b, weight); });
  };
  auto corrupted = [&](const ImageSet& set, data::Noise noise, int severity, bool training) -> ImageSet {
    if (severity == 0) return set;
    if (!training && !o.cifar10c.empty()) {
      auto published = data::load_cifar10c(o.cifar10c, noise, severity);
      auto loaded = load_image_set(published, pipeline.test_geometry, o.limit, config.data.workers);
      return loaded;
    }
    return {data::corrupt_severity(set.images, noise, severity, corruption_seed(ctx.runtime.seed, noise, severity, training)),
            set.labels};
  };
  auto plain_accuracy = [&](const torch::Tensor& images, const torch::Tensor& labels) {
    torch::NoGradGuard no_grad;
    int64_t correct = 0;
    for (int64_t start = 0; start < images.size(0); start += o.batch) {
      const int64_t count = std::min(o.batch, images.size(0) - start);
      const auto logits = model->forward(images.narrow(0, start, count).to(device));
      correct += logits.argmax(1).cpu().eq(labels.narrow(0, start, count)).sum().item<int64_t>();
      progress(start + count, images.size(0), 1);
    }
    finish_stage();
    return static_cast<double>(correct) / std::max<int64_t>(images.size(0), 1);
  };

  std::vector<Row> rows;
  nlohmann::json fits = nlohmann::json::object();
  std::ostringstream fit_tsv;
  fit_tsv << "noise\tseverity\tlevel\tresidual\tbest_lambda\tfitted_lambda\n";
  for (const auto noise : noises) {
    const std::string name = data::noise_name(noise);
    std::vector<int> all_levels{0};
    all_levels.insert(all_levels.end(), severities.begin(), severities.end());

    // Algorithm 1, lines 3–12: best λ and residual per level on corrupted training images; the line.
    robust::LambdaFit fit;
    if (o.fit) {
      std::vector<double> r, best;
      std::vector<int> fitted_levels;
      for (const int s : all_levels) {
        const auto set = corrupted(fit_set, noise, s, true);
        const auto sweep = robust::sweep_lambda(*model, normalise(set.images), set.labels, sweep_grid, options(sweep_grid.size()));
        finish_stage();
        size_t best_index = 0;  // over the user's grid only
        for (size_t i = 1; i < grid.size(); ++i)
          if (sweep.correct[i] > sweep.correct[best_index]) best_index = i;
        r.push_back(sweep.residual(trained_index));
        best.push_back(grid[best_index]);
        fitted_levels.push_back(s);
      }
      fit = robust::fit_lambda(r, best, grid.front(), grid.back());
      for (size_t i = 0; i < r.size(); ++i)
        fit_tsv << name << "\t" << fitted_levels[i] << "\t" << (fitted_levels[i] ? data::severity_level(noise, fitted_levels[i]) : 0.0)
                << "\t" << r[i] << "\t" << best[i] << "\t" << fit.at(r[i]) << "\n";
      fit_tsv << "\n";  // a gnuplot block per noise
      fits[name] = {{"slope", fit.slope}, {"intercept", fit.intercept}, {"residuals", r}, {"best_lambdas", best},
                    {"levels", fitted_levels}, {"clamp", {fit.lowest, fit.highest}}, {"samples", fit_set.images.size(0)}};
    }

    // The test set at every level: fixed λ, the grid (oracle best), λ(r_test), per-sample λ.
    for (const int s : all_levels) {
      const auto set = corrupted(test, noise, s, false);
      const auto images = normalise(set.images);
      Row row;
      row.noise = name;
      row.severity = s;
      row.level = s ? data::severity_level(noise, s) : 0.0;
      if (!has_csc) {
        row.fixed = plain_accuracy(images, set.labels);
        rows.push_back(row);
        continue;
      }
      const auto sweep = robust::sweep_lambda(*model, images, set.labels, sweep_grid, options(sweep_grid.size()));
      finish_stage();
      row.fixed = sweep.accuracy(trained_index);
      row.residual = sweep.residual(trained_index);
      size_t best_index = 0;
      for (size_t i = 0; i < grid.size(); ++i) {
        row.curve.push_back(sweep.accuracy(i));
        row.curve_residual.push_back(sweep.residual(i));
        if (sweep.correct[i] > sweep.correct[best_index]) best_index = i;
      }
      row.best_lambda = grid[best_index];
      row.best = sweep.accuracy(best_index);
      if (o.fit) {
        row.fit_lambda = fit.at(row.residual);
        auto at_fit_options = options(1).statistics({});
        if (calibration_size > 0) at_fit_options.statistics({calibrate(row.fit_lambda)});
        const auto at_fit = robust::sweep_lambda(*model, images, set.labels, {row.fit_lambda}, at_fit_options);
        finish_stage();
        row.fitted = at_fit.accuracy(0);
      }
      if (o.per_sample) {
        const auto per_sample = robust::evaluate_per_sample(*model, images, set.labels, fit, options(2));
        finish_stage();
        row.per_sample = per_sample.accuracy();
        row.per_sample_lambda = per_sample.mean_lambda();
      }
      rows.push_back(row);
    }
  }
  bar.finish();
  scope.restore();
  const double seconds = clock.seconds();

  // Outputs: robust.json (everything), table.tsv, sweep.tsv (the curves), fit.tsv, plot.gp.
  nlohmann::json json_rows = nlohmann::json::array();
  std::ostringstream table, sweep_tsv;
  table << "noise\tseverity\tlevel\tfixed_lambda_top1";
  if (has_csc) table << "\tresidual\tbest_lambda\tbest_top1";
  if (o.fit) table << "\tfit_lambda\tfit_top1";
  if (o.per_sample) table << "\tper_sample_mean_lambda\tper_sample_top1";
  table << "\n";
  sweep_tsv << "noise\tseverity\tlevel\tlambda\ttop1\tresidual\n";
  for (const auto& row : rows) {
    nlohmann::json j = {{"noise", row.noise}, {"severity", row.severity}, {"level", row.level}, {"fixed_top1", row.fixed}};
    table << row.noise << "\t" << row.severity << "\t" << row.level << "\t" << row.fixed;
    if (has_csc) {
      j["residual"] = row.residual;
      j["best_lambda"] = row.best_lambda;
      j["best_top1"] = row.best;
      j["curve"] = {{"lambda", grid}, {"top1", row.curve}, {"residual", row.curve_residual}};
      table << "\t" << row.residual << "\t" << row.best_lambda << "\t" << row.best;
      for (size_t i = 0; i < grid.size(); ++i)
        sweep_tsv << row.noise << "\t" << row.severity << "\t" << row.level << "\t" << grid[i] << "\t" << row.curve[i]
                  << "\t" << row.curve_residual[i] << "\n";
    }
    if (o.fit) {
      j["fit_lambda"] = row.fit_lambda;
      j["fit_top1"] = row.fitted;
      table << "\t" << row.fit_lambda << "\t" << row.fitted;
    }
    if (o.per_sample) {
      j["per_sample_mean_lambda"] = row.per_sample_lambda;
      j["per_sample_top1"] = row.per_sample;
      table << "\t" << row.per_sample_lambda << "\t" << row.per_sample;
    }
    table << "\n";
    json_rows.push_back(j);
  }
  std::vector<std::string> noise_names;
  for (const auto noise : noises) noise_names.push_back(data::noise_name(noise));
  const nlohmann::json report = {{"checkpoint", o.checkpoint.checkpoint},
                                 {"model", config.model.name},
                                 {"data", config.data.kind},
                                 {"split", o.checkpoint.split},
                                 {"samples", test.images.size(0)},
                                 {"corrupted_from", o.cifar10c.empty() ? "generated" : o.cifar10c},
                                 {"seed", ctx.runtime.seed},
                                 {"trained_lambda", scope.trained()},
                                 {"lambda_grid", grid},
                                 {"recalibrate_bn", calibration_size},
                                 {"fits", fits},
                                 {"rows", json_rows},
                                 {"seconds", seconds}};
  ensure_directory(o.out);
  write_text_file(o.out + "/robust.json", report.dump(1) + "\n");
  write_text_file(o.out + "/table.tsv", table.str());
  if (has_csc) {
    write_text_file(o.out + "/sweep.tsv", sweep_tsv.str());
    if (o.fit) write_text_file(o.out + "/fit.tsv", fit_tsv.str());
    write_text_file(o.out + "/plot.gp", plot_script(noise_names, o.fit));
    if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) {
      const auto command = "cd '" + o.out + "' && gnuplot plot.gp 2> plot.log";
      if (std::system(command.c_str()) != 0) ctx.err << "gnuplot failed (see " << o.out << "/plot.log); the tables are written\n";
    }
  }

  if (o.checkpoint.json) {
    ctx.out << report.dump() << "\n";
    return;
  }
  ctx.out << config.model.name << " on " << config.data.kind << "/" << o.checkpoint.split << ", " << test.images.size(0)
          << " images, " << fixed2(seconds) << " s; top-1 %";
  if (calibration_size > 0) ctx.out << " (batch-norm statistics re-estimated at each lambda on " << calibration_size << " training images)";
  ctx.out << "\n";
  ctx.out << std::left << std::setw(10) << "noise" << std::setw(9) << "severity" << std::setw(14)
          << (has_csc ? "fixed lambda" : "top-1");
  if (has_csc) ctx.out << std::setw(16) << "best lambda";
  if (o.fit) ctx.out << std::setw(16) << "fitted lambda";
  if (o.per_sample) ctx.out << "per-sample lambda";
  ctx.out << "\n";
  for (const auto& row : rows) {
    ctx.out << std::setw(10) << row.noise << std::setw(9) << row.severity << std::setw(14) << fixed2(100 * row.fixed);
    if (has_csc) ctx.out << std::setw(16) << (fixed2(100 * row.best) + " (" + fixed2(row.best_lambda) + ")");
    if (o.fit) ctx.out << std::setw(16) << (fixed2(100 * row.fitted) + " (" + fixed2(row.fit_lambda) + ")");
    if (o.per_sample) ctx.out << fixed2(100 * row.per_sample) << " (mean " << fixed2(row.per_sample_lambda) << ")";
    ctx.out << "\n";
  }
  ctx.out << "-> " << o.out << "/robust.json, table.tsv" << (has_csc ? ", sweep.tsv, robust.png" : "") << (o.fit ? ", fit.tsv, fit.png" : "")
          << "\n";
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
