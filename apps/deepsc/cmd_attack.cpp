// deepsc attack: accuracy of a trained checkpoint under an adversarial attack (PGD or FGSM, ℓ∞
// or ℓ2; deepsc/robust/attack.h), and, for SDNet models, how re-choosing the CSC layers' λ at test
// time changes it: the examples crafted at the trained λ evaluated at each --lambda ("transfer"),
// and examples crafted against the model at that λ ("adaptive", the honest number).
//
// The attack works on images in [0, 1]: the run's test transform without its normalisation (the
// resize and centre crop of an ImageNet-style preset are applied first, so ε is measured on the
// image the model sees), and the model is attacked as model((x − mean) / std) with the run's
// data.mean / data.std. With --recalibrate-bn each --lambda row is evaluated (and attacked) with
// batch-norm statistics re-estimated at that λ on clean training images. The checkpoint is only
// read; every CSC layer's λ and every batch norm's statistics are restored at the end.
#include "cli.h"
#include "checkpoint_support.h"
#include "command_support.h"
#include "progress_bar.h"

#include "deepsc/robust/attack.h"
#include "deepsc/robust/batch_norm_statistics.h"
#include "deepsc/robust/lambda_scope.h"
#include "deepsc/train/trainer.h"

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <optional>
#include <sstream>

namespace deepsc::cli {

namespace {

namespace F = torch::nn::functional;

struct AttackCommand {
  CheckpointOptions checkpoint;
  std::string norm = "linf", eps = "8/255", step_size;
  int64_t steps = 10, limit = 0, batch = 0, recalibrate_bn = 0;
  bool no_random_start = false;
  std::vector<double> lambdas;
  std::string out;
};

/// Correct answers and summed cross-entropy over the images seen so far.
struct Tally {
  int64_t correct = 0;
  double loss_sum = 0;

  void add(const torch::Tensor& logits, const torch::Tensor& labels) {
    correct += train::topk_correct(logits, labels, 1);
    loss_sum += F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kSum)).item<double>();
  }
  nlohmann::json to_json(int64_t samples) const {
    const double n = static_cast<double>(std::max<int64_t>(samples, 1));
    return {{"top1", correct / n}, {"loss", loss_sum / n}};
  }
};

/// The numbers of one λ of --lambda.
struct LambdaRow {
  double lambda = 0;
  /// --recalibrate-bn: the batch-norm statistics at this λ (else empty).
  robust::BatchNormStatistics statistics;
  Tally clean, transfer, adaptive;
};

/// The attack's options from the command line, checked before anything is loaded.
robust::AttackOptions attack_options(const AttackCommand& o, uint64_t seed) {
  auto with_option = [](const std::string& option, auto parse) {
    try {
      return parse();
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(option + ": " + e.what());
    }
  };
  const auto norm = with_option("--norm", [&] { return robust::parse_norm(o.norm); });
  const double eps = with_option("--eps", [&] { return robust::parse_fraction(o.eps); });
  const double step = o.step_size.empty() ? 0.0 : with_option("--step-size", [&] { return robust::parse_fraction(o.step_size); });
  if (!o.step_size.empty() && !(step > 0)) throw std::invalid_argument("--step-size must be > 0, got " + o.step_size);
  if (!(eps >= 0)) throw std::invalid_argument("--eps must be >= 0, got " + o.eps);
  if (o.steps < 1) throw std::invalid_argument("--steps must be >= 1, got " + std::to_string(o.steps));
  if (o.limit < 0) throw std::invalid_argument("--limit must be >= 0, got " + std::to_string(o.limit));
  if (o.batch < 0) throw std::invalid_argument("--batch must be >= 0, got " + std::to_string(o.batch));
  if (o.recalibrate_bn < 0 || o.recalibrate_bn == 1)
    throw std::invalid_argument("--recalibrate-bn must be 0 (off) or >= 2 images, got " + std::to_string(o.recalibrate_bn));
  if (o.recalibrate_bn > 0 && o.lambdas.empty())
    throw std::invalid_argument("--recalibrate-bn needs --lambda (the statistics are re-estimated at each of its values)");
  auto options = robust::AttackOptions().norm(norm).eps(eps).steps(o.steps).step_size(step).random_start(!o.no_random_start).seed(seed);
  with_option("attack", [&] {
    robust::check_attack_options(options);
    return 0;
  });
  for (const double lambda : o.lambdas) {
    if (!(lambda >= 0) || !std::isfinite(lambda)) {
      std::ostringstream msg;
      msg << "--lambda values must be finite and >= 0, got " << lambda;
      throw std::invalid_argument(msg.str());
    }
  }
  check_output_folder(o.out);
  return options;
}

/// The trained λ for a table: "none" (no CSC layer), the common value, or "per-layer".
std::string lambda_text(const std::vector<double>& lambdas) {
  if (lambdas.empty()) return "none";
  for (const double l : lambdas)
    if (l != lambdas.front()) return "per-layer";
  std::ostringstream text;
  text << lambdas.front();
  return text.str();
}

std::string percent(double fraction) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(2) << 100 * fraction << "%";
  return text.str();
}

void run_attack(const AttackCommand& o, Context& ctx) {
  const auto options = attack_options(o, ctx.runtime.seed);
  const auto device = parse_device(ctx.runtime.device);
  const auto run = load_run(o.checkpoint, device);
  const auto& config = run.config;
  const auto& pipeline = run.pipeline;
  const auto& model = run.model;
  robust::LambdaScope lambdas(model->csc_layers());
  if (!o.lambdas.empty() && lambdas.empty())
    throw std::invalid_argument("--lambda: " + config.model.name + " has no CSC layers whose λ could be re-chosen");

  const auto normalise = normaliser(pipeline, device);
  const robust::Logits logits = [&](const torch::Tensor& images01) { return model->forward(normalise(images01)); };

  const int64_t available = static_cast<int64_t>(pipeline.test->size());
  const int64_t total = o.limit > 0 ? std::min(o.limit, available) : available;
  const int64_t batch = o.batch > 0 ? o.batch : config.train.eval_batch_size;
  data::DataLoader loader(pipeline.test, pipeline.test_geometry,
                          data::LoaderOptions().batch_size(batch).shuffle(false).workers(config.data.workers));
  loader.start_epoch(0);

  Tally clean, adversarial;
  std::vector<LambdaRow> rows;
  for (const double l : o.lambdas) rows.push_back({l, {}, {}, {}, {}});
  // --recalibrate-bn: statistics per λ from clean training images coded at that λ.
  std::optional<robust::BatchNormScope> batch_norm;  // only with --recalibrate-bn
  int64_t calibration_size = 0;
  if (o.recalibrate_bn > 0) {
    batch_norm.emplace(*model);
    const auto train = load_image_set(pipeline.train, pipeline.test_geometry, o.recalibrate_bn, config.data.workers);
    const auto calibration_images = normalise(train.images.to(device));
    calibration_size = calibration_images.size(0);
    const auto statistics = robust::recalibrate_per_lambda(
        *model, calibration_images, o.lambdas, robust::CalibrationOptions().batch_size(std::max<int64_t>(2, batch)).device(device));
    for (size_t i = 0; i < rows.size(); ++i) rows[i].statistics = statistics[i];
  }
  ProgressBar bar(ctx.err);
  Stopwatch clock;
  int64_t done = 0;
  while (done < total) {
    auto next = loader.next();
    if (!next) break;
    const int64_t n = std::min<int64_t>(next->labels.size(0), total - done);
    const auto images = next->images.narrow(0, 0, n).to(device).clamp(0, 1);
    const auto labels = next->labels.narrow(0, 0, n).to(device);
    // One random start per batch position, shared by every λ so the rows differ only by λ.
    const auto batch_options = robust::AttackOptions(options).seed(data::sample_seed(options.seed(), 0, done));

    lambdas.restore();
    if (batch_norm) batch_norm->restore();
    const auto adv = robust::pgd(logits, images, labels, batch_options);
    {
      torch::NoGradGuard no_grad;
      clean.add(logits(images), labels);
      adversarial.add(logits(adv), labels);
    }
    for (auto& row : rows) {
      lambdas.set_all(row.lambda);
      if (batch_norm) batch_norm->load(row.statistics);
      const auto adaptive = robust::pgd(logits, images, labels, batch_options);
      torch::NoGradGuard no_grad;
      row.clean.add(logits(images), labels);
      row.transfer.add(logits(adv), labels);
      row.adaptive.add(logits(adaptive), labels);
    }
    done += n;
    const double seconds = clock.seconds(), rate = done / std::max(seconds, 1e-9);
    bar.update(done, total, "attack " + std::string(robust::norm_name(options.norm())), rate, (total - done) / std::max(rate, 1e-9));
  }
  bar.finish();
  lambdas.restore();
  if (batch_norm) batch_norm->restore();

  const double step = robust::resolved_step_size(options);
  const bool is_fgsm = options.steps() == 1 && !options.random_start() && step == options.eps();
  nlohmann::json lambda_rows = nlohmann::json::array();
  for (const auto& row : rows) {
    lambda_rows.push_back({{"lambda", row.lambda},
                           {"clean", row.clean.to_json(done)},
                           {"transfer", row.transfer.to_json(done)},
                           {"adaptive", row.adaptive.to_json(done)}});
  }
  const nlohmann::json report = {
      {"checkpoint", o.checkpoint.checkpoint},
      {"model", config.model.name},
      {"data", config.data.kind},
      {"split", o.checkpoint.split},
      {"samples", done},
      {"device", device.str()},
      {"attack",
       {{"method", is_fgsm ? "fgsm" : "pgd"},
        {"norm", robust::norm_name(options.norm())},
        {"eps", options.eps()},
        {"eps_text", o.eps},
        {"steps", options.steps()},
        {"step_size", step},
        {"random_start", options.random_start()},
        {"seed", options.seed()}}},
      {"preprocessing",
       {{"mean", config.data.mean},
        {"std", config.data.std},
        {"test_resize", config.data.test_resize},
        {"image_size", config.data.image_size}}},
      {"trained_lambda", lambdas.trained()},
      {"recalibrate_bn", calibration_size},
      {"trained", {{"clean", clean.to_json(done)}, {"adversarial", adversarial.to_json(done)}}},
      {"lambdas", lambda_rows},
      {"seconds", clock.seconds()}};

  std::ostringstream tsv;
  tsv << "setting\tlambda\tclean_top1\tclean_loss\tadversarial_top1\tadversarial_loss\n";
  auto tsv_row = [&](const std::string& setting, const std::string& lambda, const Tally& c, const Tally& a) {
    const auto cj = c.to_json(done), aj = a.to_json(done);
    tsv << setting << "\t" << lambda << "\t" << cj["top1"] << "\t" << cj["loss"] << "\t" << aj["top1"] << "\t"
        << aj["loss"] << "\n";
  };
  tsv_row("trained", lambda_text(lambdas.trained()), clean, adversarial);
  for (const auto& row : rows) {
    std::ostringstream l;
    l << row.lambda;
    tsv_row("transfer", l.str(), row.clean, row.transfer);
    tsv_row("adaptive", l.str(), row.clean, row.adaptive);
  }
  ensure_directory(o.out);
  write_text_file(o.out + "/attack.json", report.dump(1) + "\n");
  write_text_file(o.out + "/attack.tsv", tsv.str());

  if (o.checkpoint.json) {
    ctx.out << report.dump() << "\n";
    return;
  }
  ctx.out << config.model.name << " on " << config.data.kind << "/" << o.checkpoint.split << " (" << done
          << " images): " << (is_fgsm ? "FGSM " : "PGD ") << robust::norm_name(options.norm()) << " eps "
          << std::setprecision(4) << options.eps() << " (" << o.eps << "), " << options.steps() << " steps of "
          << step << (options.random_start() ? ", random start" : "") << "\n";
  ctx.out << std::left << std::setw(10) << "setting" << std::setw(12) << "lambda" << std::setw(14) << "clean top-1"
          << "adversarial top-1\n";
  auto print_row = [&](const std::string& setting, const std::string& lambda, const Tally& c, const Tally& a) {
    ctx.out << std::setw(10) << setting << std::setw(12) << lambda << std::setw(14)
            << percent(static_cast<double>(c.correct) / std::max<int64_t>(done, 1))
            << percent(static_cast<double>(a.correct) / std::max<int64_t>(done, 1)) << "\n";
  };
  print_row("trained", lambda_text(lambdas.trained()), clean, adversarial);
  for (const auto& row : rows) {
    std::ostringstream l;
    l << row.lambda;
    print_row("transfer", l.str(), row.clean, row.transfer);
    print_row("adaptive", l.str(), row.clean, row.adaptive);
  }
  if (!rows.empty())
    ctx.out << "(transfer: examples crafted at the trained lambda; adaptive: crafted at the row's lambda"
            << (calibration_size > 0 ? "; batch-norm statistics re-estimated at each lambda on " + std::to_string(calibration_size) + " training images" : "")
            << ")\n";
  ctx.out << "-> " << o.out << "/attack.json, attack.tsv\n";
}

}  // namespace

Action add_attack_command(CLI::App& app) {
  auto o = std::make_shared<AttackCommand>();
  auto* cmd = app.add_subcommand("attack", "Accuracy of a trained checkpoint under a PGD / FGSM adversarial attack");
  add_checkpoint_options(cmd, o->checkpoint);
  add_data_options(cmd, o->checkpoint, "Split to attack");
  cmd->add_option("--norm", o->norm, "Threat model: linf | l2")->capture_default_str();
  cmd->add_option("--eps", o->eps, "Budget ε on images in [0, 1], e.g. 8/255 or 0.5")->capture_default_str();
  cmd->add_option("--steps", o->steps, "PGD steps (1 with --step-size = ε and --no-random-start is FGSM)")
      ->capture_default_str();
  cmd->add_option("--step-size", o->step_size, "Step α, e.g. 2/255 (default 2.5 ε / steps)");
  cmd->add_flag("--no-random-start", o->no_random_start, "Start at the image, not at a random point of the ball");
  cmd->add_option("--lambda", o->lambdas, "Also evaluate with every CSC layer's λ set to each of these (0.1,0.5,...)")
      ->delimiter(',');
  cmd->add_option("--recalibrate-bn", o->recalibrate_bn,
                  "At each --lambda, re-estimate the batch-norm statistics on N clean training images coded at that lambda "
                  "(0: the trained statistics)")
      ->capture_default_str();
  cmd->add_option("--limit", o->limit, "Attack only the first N images (0: all)")->capture_default_str();
  cmd->add_option("--batch", o->batch, "Images per batch (0: the run's eval_batch_size)")->capture_default_str();
  cmd->add_option("--out", o->out, "Folder for attack.json and attack.tsv")->required();
  cmd->add_flag("--json", o->checkpoint.json, "Print the JSON report");
  return [o](Context& ctx) { run_attack(*o, ctx); };
}

}  // namespace deepsc::cli
