// deepsc csc-denoise: denoise a grey picture by convolutional sparse coding (conv/denoise.h):
// FISTA on the high-pass over a dictionary given with --dict or learned from the noisy picture,
// plus the low-pass. --add-noise makes the noisy picture from a clean one (reproducible by --seed),
// --clean scores the result against a reference (PSNR, SSIM).
#include "restore_support.h"

#include "deepsc/data/npy_tensor.h"

#include <memory>

namespace deepsc::cli {

namespace {

struct DenoiseCommand {
  std::string image, dict, clean, out, noisy_out, save_dict;
  double sigma = 0;
  double lambda = 0;
  double lambda_per_sigma = conv::DenoiseOptions(0).lambda_per_sigma();
  double lowpass_sigma = conv::DenoiseOptions(0).lowpass_sigma();
  int64_t iters = conv::DenoiseOptions(0).max_iter();
  restore::LearningFlags learning;
  bool add_noise = false;
  bool json = false;
};

void run_denoise(const DenoiseCommand& o, Context& ctx) {
  restore::check_output_path(o.out, "--out");
  restore::check_output_path(o.noisy_out, "--noisy-out");
  restore::check_output_path(o.save_dict, "--save-dict");
  const auto device = parse_device(ctx.runtime.device);
  const double sigma = o.sigma / 255.0;

  auto picture = restore::load_noisy_picture(o.image, o.clean, o.add_noise, sigma, ctx.runtime.seed);
  const torch::Tensor noisy = picture.noisy, clean = picture.clean;
  const std::string note = picture.note;
  torch::Tensor weights;
  if (!o.dict.empty()) weights = restore::load_dictionary(o.dict).to(device);

  const auto learning = restore::learning_options(o.learning, ctx, !weights.defined() && !o.json);
  const auto options = conv::DenoiseOptions(sigma)
                           .lambda(o.lambda)
                           .lambda_per_sigma(o.lambda_per_sigma)
                           .lowpass_sigma(o.lowpass_sigma)
                           .max_iter(o.iters)
                           .learning(learning);

  Stopwatch clock;
  const auto result = conv::csc_denoise(noisy.to(device), weights, options);
  synchronize(device);
  const double seconds = clock.seconds();

  const auto denoised = result.image.to(torch::kCPU);
  if (!o.save_dict.empty()) data::save_npy(o.save_dict, result.weights.to(torch::kCPU));
  if (!o.noisy_out.empty()) viz::write_png(o.noisy_out, noisy[0]);
  viz::write_png(o.out, denoised[0]);

  nlohmann::json report{{"command", "csc-denoise"},
                        {"image", o.image},
                        {"out", o.out},
                        {"height", noisy.size(2)},
                        {"width", noisy.size(3)},
                        {"sigma", o.sigma},
                        {"noise_added", o.add_noise},
                        {"lambda", result.lambda},
                        {"lowpass_sigma", o.lowpass_sigma},
                        {"iterations", result.iterations},
                        {"converged", result.converged},
                        {"nonzeros", result.nonzeros},
                        {"coding_seconds", result.coding_seconds},
                        {"seconds", seconds},
                        {"threads", at::get_num_threads()},
                        {"note", note}};
  report.update(restore::dictionary_json(result, o.dict));
  if (clean.defined()) {
    report["noisy"] = restore::quality(noisy, clean);
    report["denoised"] = restore::quality(denoised, clean);
  }
  if (o.json) {
    ctx.out << report.dump() << "\n";
    return;
  }
  if (!note.empty()) ctx.out << "note: " << note << "\n";
  ctx.out << std::setprecision(4) << "denoised " << o.image << " (" << noisy.size(3) << "x" << noisy.size(2)
          << ", sigma " << o.sigma << "/255" << (o.add_noise ? ", noise added with seed " + std::to_string(ctx.runtime.seed) : "")
          << ") with " << result.weights.size(0) << " atoms " << result.weights.size(2) << "x" << result.weights.size(2)
          << (result.learned ? " learned from the image" : " from " + o.dict) << ", lambda " << result.lambda << ", "
          << result.iterations << " FISTA iterations" << (result.converged ? "" : " (iteration cap reached)") << ", "
          << std::setprecision(3) << seconds << " s -> " << o.out << "\n";
  if (clean.defined()) {
    ctx.out << "noisy:    " << restore::quality_text(report["noisy"]) << "\n"
            << "denoised: " << restore::quality_text(report["denoised"]) << "\n";
  }
}

}  // namespace

Action add_csc_denoise_command(CLI::App& app) {
  auto o = std::make_shared<DenoiseCommand>();
  auto* cmd = app.add_subcommand(
      "csc-denoise", "Denoise a grey picture by convolutional sparse coding (dictionary given or learned from it)");
  cmd->add_option("--image", o->image, "Noisy picture (PNG; RGB is converted to grey), or the clean one with --add-noise")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--sigma", o->sigma, "Noise standard deviation on the 0-255 scale")
      ->required()
      ->check(CLI::Range(0.0, 255.0));
  cmd->add_option("--out", o->out, "Denoised picture, grey PNG (written atomically)")->required();
  cmd->add_option("--dict", o->dict, "Convolutional dictionary W.npy [M, 1, k, k] (default: learn one from the picture)")
      ->check(CLI::ExistingFile);
  auto* clean = cmd->add_option("--clean", o->clean, "Clean reference picture: report PSNR/SSIM")->check(CLI::ExistingFile);
  cmd->add_flag("--add-noise", o->add_noise,
                "Add Gaussian noise of --sigma to the clean --image (seeded by --seed) and score against it")
      ->excludes(clean);
  cmd->add_option("--lambda", o->lambda, "Weight of ||X||_1 on the [0, 1] scale (default: lambda-per-sigma x sigma/255)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--lambda-per-sigma", o->lambda_per_sigma, "The constant of the default lambda rule")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--iters", o->iters, "FISTA iteration cap")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--lowpass-sigma", o->lowpass_sigma, "Gaussian low-pass standard deviation, pixels")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  restore::add_learning_options(cmd, o->learning);
  cmd->add_option("--noisy-out", o->noisy_out, "Also write the noisy input as PNG (clipped, 8 bits)");
  cmd->add_option("--save-dict", o->save_dict, "Also write the dictionary used as W.npy [M, 1, k, k]");
  cmd->add_flag("--json", o->json, "Print a JSON summary instead of text");
  return [o](Context& ctx) { run_denoise(*o, ctx); };
}

}  // namespace deepsc::cli
