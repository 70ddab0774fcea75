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
// read; every CSC layer's λ and every batch norm's statistics are restored at the end. The loop is
// robust::evaluate_attack and the files robust::attack_report; this command checks the options,
// loads the run, and writes and prints what the library returns.
#include "cli.h"
#include "checkpoint_support.h"
#include "command_support.h"
#include "progress_bar.h"

#include "deepsc/data/image_set.h"
#include "deepsc/robust/attack.h"
#include "deepsc/robust/attack_evaluation.h"
#include "deepsc/robust/attack_report.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace deepsc::cli {

namespace {

struct AttackCommand {
  CheckpointOptions checkpoint;
  std::string norm = "linf", eps = "8/255", step_size;
  int64_t steps = 10, limit = 0, batch = 0, recalibrate_bn = 0;
  bool no_random_start = false;
  std::vector<double> lambdas;
  std::string out;
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

void run_attack(const AttackCommand& o, Context& ctx) {
  const auto options = attack_options(o, ctx.runtime.seed);
  const auto device = parse_device(ctx.runtime.device);
  const auto run = load_run(o.checkpoint, device);
  const auto& config = run.config;
  const auto& pipeline = run.pipeline;
  if (!o.lambdas.empty() && run.model->csc_layers().empty())
    throw std::invalid_argument("--lambda: " + config.model.name + " has no CSC layers whose λ could be re-chosen");

  const int64_t available = static_cast<int64_t>(pipeline.test->size());
  const int64_t batch = o.batch > 0 ? o.batch : config.train.eval_batch_size;
  data::DataLoader loader(pipeline.test, pipeline.test_geometry,
                          data::LoaderOptions().batch_size(batch).shuffle(false).workers(config.data.workers));
  auto evaluation = robust::AttackEvaluationOptions(options)
                        .lambdas(o.lambdas)
                        .limit(o.limit > 0 ? std::min(o.limit, available) : available)
                        .device(device)
                        .normalise(normaliser(pipeline, device));
  // --recalibrate-bn: statistics per λ from clean training images coded at that λ.
  if (o.recalibrate_bn > 0)
    evaluation.calibration_images(data::load_labelled_images(pipeline.train, pipeline.test_geometry, o.recalibrate_bn, config.data.workers).images);
  ProgressBar bar(ctx.err);
  Stopwatch clock;
  evaluation.progress([&](int64_t done, int64_t total) {
    const double rate = done / std::max(clock.seconds(), 1e-9);
    bar.update(done, total, "attack " + std::string(robust::norm_name(options.norm())), rate, (total - done) / std::max(rate, 1e-9));
  });
  const auto result = robust::evaluate_attack(*run.model, loader, evaluation);
  bar.finish();

  robust::AttackReportInfo info;
  info.checkpoint = o.checkpoint.checkpoint;
  info.model = config.model.name;
  info.data = config.data.kind;
  info.split = o.checkpoint.split;
  info.device = device.str();
  info.eps_text = o.eps;
  info.preprocessing = {{"mean", config.data.mean},
                        {"std", config.data.std},
                        {"test_resize", config.data.test_resize},
                        {"image_size", config.data.image_size}};
  const auto report = robust::attack_json(result, info);
  ensure_directory(o.out);
  write_text_file(o.out + "/attack.json", report.dump(1) + "\n");
  write_text_file(o.out + "/attack.tsv", robust::attack_tsv(result));
  if (o.checkpoint.json) {
    ctx.out << report.dump() << "\n";
    return;
  }
  ctx.out << robust::attack_summary(result, info) << "-> " << o.out << "/attack.json, attack.tsv\n";
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
