// deepsc train-denoiser: train the learned strided CSC denoiser (nn/csc_denoiser.h) on crops of
// the pictures of a folder, some held out by name, and report the held-out PSNR at a few noise
// levels. The training itself is train::train_csc_denoiser; this file reads, checks and writes.
#include "restore_support.h"

#include "deepsc/train/checkpoint.h"
#include "deepsc/train/denoiser_training.h"

#include <filesystem>
#include <iomanip>
#include <memory>
#include <set>
#include <sstream>

namespace deepsc::cli {

namespace {

struct TrainDenoiserCommand {
  std::string images, out, checkpoint, init;
  std::vector<std::string> holdout;
  std::vector<double> eval_sigmas{15, 25, 50};
  double sigma_min = 5, sigma_max = 50;
  int64_t atoms = nn::CscDenoiserOptions().atoms();
  int64_t kernel = nn::CscDenoiserOptions().kernel_size();
  int64_t stride = nn::CscDenoiserOptions().stride();
  int64_t iterations = nn::CscDenoiserOptions().iterations();
  train::DenoiserTrainingOptions training;
  bool resume = false, json = false;
};

std::string stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

/// The folder's pictures split into training and held-out ones by file stem; every --holdout name
/// must match a picture.
struct PictureSplit {
  std::vector<torch::Tensor> train, held_out;
  std::vector<std::string> train_names, held_out_names;
};

PictureSplit split_pictures(const TrainDenoiserCommand& o) {
  const std::set<std::string> wanted(o.holdout.begin(), o.holdout.end());
  PictureSplit split;
  std::set<std::string> found;
  for (const auto& file : restore::image_files(o.images, "--images")) {
    const auto name = stem(file);
    auto picture = restore::load_grey(file, "--images").image;
    if (wanted.count(name)) {
      found.insert(name);
      split.held_out.push_back(picture);
      split.held_out_names.push_back(name);
    } else if (picture.size(2) >= o.training.crop() && picture.size(3) >= o.training.crop()) {
      split.train.push_back(picture);
      split.train_names.push_back(name);
    }
  }
  for (const auto& name : wanted)
    if (!found.count(name)) throw std::invalid_argument("--holdout " + name + ": no such picture in " + o.images);
  if (split.train.empty())
    throw std::invalid_argument("--images " + o.images + ": no training picture left of at least --crop " +
                                std::to_string(o.training.crop()) + " pixels");
  return split;
}

void run_train_denoiser(TrainDenoiserCommand o, Context& ctx) {
  restore::check_output_paths({{o.out, "--out"}, {o.checkpoint, "--checkpoint"}});
  if (o.sigma_min > o.sigma_max) throw std::invalid_argument("--sigma-min must not exceed --sigma-max");
  const auto device = parse_device(ctx.runtime.device);
  const auto split = split_pictures(o);
  const auto net = nn::CscDenoiserOptions().atoms(o.atoms).kernel_size(o.kernel).stride(o.stride).iterations(o.iterations);
  nn::CscDenoiser model = o.init.empty() ? nn::CscDenoiser(net) : train::load_csc_denoiser(o.init);
  model->to(device);
  if (o.checkpoint.empty()) o.checkpoint = o.out + ".checkpoint";
  auto training = o.training;
  training.sigma_min(o.sigma_min / 255.0).sigma_max(o.sigma_max / 255.0).seed(ctx.runtime.seed).checkpoint(o.checkpoint).resume(o.resume);
  if (!o.json) {
    ctx.out << "training a CSC denoiser (" << model->parameter_count() << " parameters) on " << split.train.size()
            << " pictures, " << training.steps() << " steps of " << training.batch() << " crops " << training.crop() << "x"
            << training.crop() << ", sigma " << o.sigma_min << "-" << o.sigma_max << "/255\n";
    training.on_report([&ctx](const train::DenoiserProgress& p) {
      ctx.out << "step " << p.step << "/" << p.steps << "  train PSNR " << std::fixed << std::setprecision(2)
              << -10 * std::log10(p.loss) << " dB  " << std::setprecision(0) << p.seconds << " s\n"
              << std::defaultfloat << std::flush;
    });
  }
  std::vector<torch::Tensor> train_pictures;
  for (const auto& p : split.train) train_pictures.push_back(p.to(device));
  const auto result = train::train_csc_denoiser(model, train_pictures, training);
  train::save_checkpoint(o.out, *model, nullptr, {});

  nlohmann::json report = {{"command", "train-denoiser"},
                           {"parameters", model->parameter_count()},
                           {"atoms", model->options.atoms()},
                           {"kernel", model->options.kernel_size()},
                           {"stride", model->options.stride()},
                           {"iterations", model->options.iterations()},
                           {"steps", result.steps_done},
                           {"batch", training.batch()},
                           {"crop", training.crop()},
                           {"sigma_range", {o.sigma_min, o.sigma_max}},
                           {"train_pictures", split.train_names},
                           {"held_out", split.held_out_names},
                           {"train_seconds", result.seconds},
                           {"last_train_mse", result.last_loss},
                           {"average_shifts", training.average_shifts()},
                           {"init", o.init},
                           {"out", o.out}};
  nlohmann::json scores = nlohmann::json::array();
  std::vector<torch::Tensor> held_out;
  for (const auto& p : split.held_out) held_out.push_back(p.to(device));
  for (double sigma : o.eval_sigmas) {
    if (held_out.empty()) break;
    const auto psnr = train::evaluate_csc_denoiser(model, held_out, sigma / 255.0, ctx.runtime.seed);
    for (size_t i = 0; i < psnr.size(); ++i)
      scores.push_back({{"picture", split.held_out_names[i]}, {"sigma", sigma}, {"psnr", psnr[i]}});
    if (!o.json) {
      ctx.out << "held-out sigma " << std::setprecision(4) << sigma << ":";
      for (size_t i = 0; i < psnr.size(); ++i)
        ctx.out << " " << split.held_out_names[i] << " " << std::fixed << std::setprecision(2) << psnr[i] << std::defaultfloat;
      ctx.out << " dB\n";
    }
  }
  report["held_out_psnr"] = scores;
  if (o.json) {
    ctx.out << report.dump() << "\n";
    return;
  }
  ctx.out << "model (" << model->parameter_count() << " parameters, " << std::fixed << std::setprecision(0) << result.seconds
          << " s of training) -> " << o.out << "\n"
          << std::defaultfloat;
}

}  // namespace

Action add_train_denoiser_command(CLI::App& app) {
  auto o = std::make_shared<TrainDenoiserCommand>();
  auto* cmd = app.add_subcommand("train-denoiser",
                                 "Train the learned strided CSC denoiser on crops of pictures; score held-out ones");
  cmd->add_option("--images", o->images, "Folder of PNG/JPEG pictures (converted to grey)")->required();
  cmd->add_option("--holdout", o->holdout, "Names (file stems) of pictures kept out of training and scored")->delimiter(',');
  cmd->add_option("--out", o->out, "Trained model file (written atomically at the end)")->required();
  cmd->add_option("--checkpoint", o->checkpoint, "Checkpoint written during training (default: <out>.checkpoint)");
  cmd->add_flag("--resume", o->resume, "Continue from the checkpoint when it exists");
  auto* init = cmd->add_option("--init", o->init, "Start from this trained model (its architecture; fine-tuning)")
                   ->check(CLI::ExistingFile);
  cmd->add_flag("--average-shifts", o->training.average_shifts(),
                "Train on the average of all stride^2 shifted codings, as evaluated (stride^2 times the work)");
  cmd->add_option("--steps", o->training.steps(), "Adam steps")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--batch", o->training.batch(), "Crops per step")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--crop", o->training.crop(), "Side of the training crops")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--lr", o->training.learning_rate(), "Initial learning rate (cosine decay)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--sigma-min", o->sigma_min, "Smallest training noise level, 0-255 scale")
      ->check(CLI::Range(0.0, 255.0))
      ->capture_default_str();
  cmd->add_option("--sigma-max", o->sigma_max, "Largest training noise level, 0-255 scale")
      ->check(CLI::Range(0.0, 255.0))
      ->capture_default_str();
  cmd->add_option("--eval-sigma", o->eval_sigmas, "Noise levels (0-255) of the held-out scores")
      ->delimiter(',')
      ->check(CLI::Range(0.0, 255.0));
  cmd->add_option("--atoms", o->atoms, "Atoms M")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--kernel", o->kernel, "Atom side k")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--stride", o->stride, "Stride s of the codes (1 <= s <= k)")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--iterations", o->iterations, "Unrolled ISTA steps K")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--checkpoint-every", o->training.checkpoint_every(), "Steps between checkpoints")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  for (const char* name : {"--atoms", "--kernel", "--stride", "--iterations"}) cmd->get_option(name)->excludes(init);
  cmd->add_flag("--json", o->json, "Print a JSON report");
  return [o](Context& ctx) { run_train_denoiser(*o, ctx); };
}

}  // namespace deepsc::cli
