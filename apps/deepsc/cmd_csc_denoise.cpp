// deepsc csc-denoise: denoise a grey picture by convolutional sparse coding (conv/denoise.h):
// FISTA on the high-pass over a dictionary given with --dict or learned from the noisy picture,
// plus the low-pass. --add-noise makes the noisy picture from a clean one (reproducible by --seed),
// --clean scores the result against a reference (PSNR, SSIM). With --model the picture is denoised
// instead by a learned strided CSC denoiser trained by `deepsc train-denoiser` (nn/csc_denoiser.h);
// with --stride s > 1 by strided CSC averaged over the s² shifts, over a dictionary given with --dict
// or learned by K-SVD on the picture's patches (conv/strided_denoise.h).
#include "restore_support.h"

#include "deepsc/conv/strided_denoise.h"

#include "deepsc/train/denoiser_training.h"

#include <functional>
#include <iomanip>
#include <memory>
#include <sstream>

namespace deepsc::cli {

namespace {

struct DenoiseCommand {
  restore::CodingFlags f;
  std::string clean, noisy_out, model;
  double sigma = 0;
  double lambda_per_sigma = conv::DenoiseOptions(0).lambda_per_sigma();
  bool add_noise = false;
  /// --stride and its refit iterations; `given` holds the flags set on the command line, so that
  /// the strided path takes its own defaults for the ones left out.
  int64_t stride = 1, debias_iters = conv::StridedDenoiseOptions(0).debias_iter();
  int64_t shift_batch = conv::StridedDenoiseOptions(0).shift_batch();
  double blend = conv::StridedDenoiseOptions(0).blend();
  std::function<bool(const char*)> given;
};

/// Scores `denoised` into `report`, then prints the report (--json) or the line "denoised IMAGE (W x H,
/// sigma …)HOW, T s -> OUT" and the scores.
void print_denoising(const DenoiseCommand& o, const restore::NoisyPicture& picture, const torch::Tensor& denoised,
                     nlohmann::json& report, const std::string& how, double seconds, Context& ctx) {
  const auto scores = restore::score_denoising(picture, denoised, report);
  if (o.f.json) {
    ctx.out << report.dump() << "\n";
    return;
  }
  if (!picture.note.empty()) ctx.out << "note: " << picture.note << "\n";
  ctx.out << std::setprecision(4) << "denoised " << o.f.image << " (" << picture.noisy.size(3) << "x" << picture.noisy.size(2)
          << ", sigma " << o.sigma << "/255" << (o.add_noise ? ", noise added with seed " + std::to_string(ctx.runtime.seed) : "")
          << ")" << how << ", " << std::setprecision(3) << seconds << " s -> " << o.f.out << "\n";
  ctx.out << scores;
}

/// What the dictionary-coding paths share after their options are set: `denoise` run on the noisy
/// picture on `device` (timed), the pictures written, and the report every such path starts from.
struct CodedDenoising {
  conv::RestorationResult result;
  torch::Tensor denoised;  // on the CPU
  double seconds = 0;
  nlohmann::json report;
};
CodedDenoising denoise_and_write(const DenoiseCommand& o, const restore::NoisyPicture& picture, const torch::Device& device,
                                 const std::function<conv::RestorationResult(const torch::Tensor&)>& denoise) {
  CodedDenoising d;
  Stopwatch clock;
  d.result = denoise(picture.noisy.to(device));
  synchronize(device);
  d.seconds = clock.seconds();
  d.denoised = d.result.image.to(torch::kCPU);
  if (!o.noisy_out.empty()) viz::write_png(o.noisy_out, picture.noisy[0]);
  restore::write_restoration(o.f, d.result, d.denoised);
  d.report = restore::restoration_json("csc-denoise", o.f, picture.noisy, d.result, d.seconds, picture.note);
  d.report.update({{"sigma", o.sigma}, {"noise_added", o.add_noise}});
  return d;
}

/// --model: the learned denoiser's shift-averaged estimate x̂ = f(y, σ), clamped to [0, 1].
void run_learned_denoise(const DenoiseCommand& o, Context& ctx) {
  const auto& f = o.f;
  restore::check_output_paths({{f.out, "--out"}, {o.noisy_out, "--noisy-out"}});
  const auto device = parse_device(ctx.runtime.device);
  const double sigma = o.sigma / 255.0;
  auto model = train::load_csc_denoiser(o.model);
  model->to(device);
  const auto picture = restore::load_noisy_picture(f.image, o.clean, o.add_noise, sigma, ctx.runtime.seed);

  Stopwatch clock;
  torch::Tensor denoised;
  {
    torch::NoGradGuard no_grad;
    const auto noisy = picture.noisy.to(device);
    denoised = model->forward(noisy, torch::full({1}, sigma, noisy.options())).clamp(0, 1);
  }
  synchronize(device);
  const double seconds = clock.seconds();
  denoised = denoised.to(torch::kCPU);
  if (!o.noisy_out.empty()) viz::write_png(o.noisy_out, picture.noisy[0]);
  viz::write_png(f.out, denoised[0]);

  const auto& net = model->options;
  nlohmann::json report = {{"command", "csc-denoise"},   {"image", f.image},
                           {"model", o.model},           {"parameters", model->parameter_count()},
                           {"atoms", net.atoms()},       {"kernel", net.kernel_size()},
                           {"stride", net.stride()},     {"iterations", net.iterations()},
                           {"sigma", o.sigma},           {"noise_added", o.add_noise},
                           {"seconds", seconds},         {"out", f.out},
                           {"note", picture.note}};
  std::ostringstream how;
  how << " with the learned denoiser " << o.model << " (" << model->parameter_count() << " parameters, " << net.atoms()
      << " atoms " << net.kernel_size() << "x" << net.kernel_size() << ", stride " << net.stride() << ", " << net.iterations()
      << " steps)";
  print_denoising(o, picture, denoised, report, how.str(), seconds, ctx);
}

/// --stride s > 1: the shift-averaged strided CSC estimate; flags not given keep the strided defaults.
void run_strided_denoise(const DenoiseCommand& o, Context& ctx) {
  const auto& f = o.f;
  restore::check_output_paths({{f.out, "--out"}, {o.noisy_out, "--noisy-out"}, {f.save_dict, "--save-dict"}});
  const auto device = parse_device(ctx.runtime.device);
  const double sigma = o.sigma / 255.0;
  if (!(sigma > 0)) throw std::invalid_argument("--sigma must be > 0 with --stride");
  const auto picture = restore::load_noisy_picture(f.image, o.clean, o.add_noise, sigma, ctx.runtime.seed);
  const torch::Tensor weights = f.dict.empty() ? torch::Tensor() : restore::load_dictionary(f.dict).to(device);
  auto options = conv::StridedDenoiseOptions(sigma)
                     .stride(o.stride)
                     .debias_iter(o.debias_iters)
                     .shift_batch(o.shift_batch)
                     .blend(o.blend)
                     .lambda(f.lambda)
                     .seed(ctx.runtime.seed);
  if (o.given("--lambda-per-sigma")) options.lambda_per_sigma(o.lambda_per_sigma);
  if (o.given("--iters")) options.max_iter(f.iters);
  if (o.given("--atoms")) options.atoms(f.learning.atoms);
  if (o.given("--kernel-size")) options.kernel_size(f.learning.kernel_size);
  if (!weights.defined() && !f.json)
    ctx.err << "learning " << options.atoms() << " atoms " << options.kernel_size() << "x" << options.kernel_size()
            << " by K-SVD on the noisy picture's patches\n";

  auto d = denoise_and_write(o, picture, device, [&](const torch::Tensor& noisy) {
    return conv::strided_csc_denoise(noisy, weights, options);
  });
  const auto& result = d.result;
  d.report.erase("lowpass_sigma");
  d.report.erase("converged");  // fixed iteration counts
  d.report.update({{"stride", o.stride},
                   {"shifts", o.stride * o.stride},
                   {"lasso_iterations", options.max_iter()},
                   {"debias_iterations", options.debias_iter()},
                   {"blend", options.blend()}});
  std::ostringstream how;
  how << std::setprecision(4) << " with " << result.weights.size(0) << " atoms " << result.weights.size(2) << "x"
      << result.weights.size(2) << (result.learned ? " learned by K-SVD on the picture" : " from " + f.dict) << ", stride "
      << o.stride << " (" << o.stride * o.stride << " shifts averaged), lambda " << result.lambda << ", "
      << options.max_iter() << " FISTA + " << options.debias_iter() << " refit iterations per shift";
  print_denoising(o, picture, d.denoised, d.report, how.str(), d.seconds, ctx);
}

void run_denoise(const DenoiseCommand& o, Context& ctx) {
  if (!o.model.empty()) return run_learned_denoise(o, ctx);
  if (o.stride > 1) return run_strided_denoise(o, ctx);
  const auto& f = o.f;
  restore::check_output_paths({{f.out, "--out"}, {o.noisy_out, "--noisy-out"}, {f.save_dict, "--save-dict"}});
  const auto device = parse_device(ctx.runtime.device);
  const double sigma = o.sigma / 255.0;
  const auto picture = restore::load_noisy_picture(f.image, o.clean, o.add_noise, sigma, ctx.runtime.seed);
  const torch::Tensor weights = f.dict.empty() ? torch::Tensor() : restore::load_dictionary(f.dict).to(device);
  const auto options = conv::DenoiseOptions(sigma)
                           .lambda(f.lambda)
                           .lambda_per_sigma(o.lambda_per_sigma)
                           .lowpass_sigma(f.lowpass_sigma)
                           .max_iter(f.iters)
                           .learning(restore::learning_options(f.learning, ctx, !weights.defined() && !f.json));

  auto d = denoise_and_write(o, picture, device,
                             [&](const torch::Tensor& noisy) { return conv::csc_denoise(noisy, weights, options); });
  print_denoising(o, picture, d.denoised, d.report, restore::coding_summary(d.result, f.dict, 4), d.seconds, ctx);
}

}  // namespace

Action add_csc_denoise_command(CLI::App& app) {
  auto o = std::make_shared<DenoiseCommand>();
  const auto defaults = conv::DenoiseOptions(0);
  o->f.lowpass_sigma = defaults.lowpass_sigma();
  o->f.iters = defaults.max_iter();
  auto* cmd = app.add_subcommand(
      "csc-denoise", "Denoise a grey picture by convolutional sparse coding (dictionary given or learned from it)");
  cmd->add_option("--image", o->f.image, "Noisy picture (PNG; RGB is converted to grey), or the clean one with --add-noise")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--sigma", o->sigma, "Noise standard deviation on the 0-255 scale")
      ->required()
      ->check(CLI::Range(0.0, 255.0));
  cmd->add_option("--out", o->f.out, "Denoised picture, grey PNG (written atomically)")->required();
  auto* clean = cmd->add_option("--clean", o->clean, "Clean reference picture: report PSNR/SSIM")->check(CLI::ExistingFile);
  cmd->add_flag("--add-noise", o->add_noise,
                "Add Gaussian noise of --sigma to the clean --image (seeded by --seed) and score against it")
      ->excludes(clean);
  cmd->add_option("--lambda", o->f.lambda, "Weight of ||X||_1 on the [0, 1] scale (default: lambda-per-sigma x sigma/255)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--lambda-per-sigma", o->lambda_per_sigma, "The constant of the default lambda rule")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  restore::add_coding_options(cmd, o->f, "Gaussian low-pass standard deviation, pixels");
  cmd->add_option("--noisy-out", o->noisy_out, "Also write the noisy input as PNG (clipped, 8 bits)");
  auto* model = cmd->add_option("--model", o->model, "Denoise with a learned CSC denoiser (from deepsc train-denoiser) instead")
                    ->check(CLI::ExistingFile);
  for (const char* name : {"--dict", "--lambda", "--lambda-per-sigma", "--save-dict"})
    if (auto* other = cmd->get_option_no_throw(name)) model->excludes(other);
  cmd->add_option("--stride", o->stride,
                                 "Strided CSC averaged over the stride's shifts (1: the stride-1 CSC above); the "
                                 "dictionary is learned by K-SVD on the picture's patches unless --dict is given "
                                 "(defaults then: 256 atoms 8x8, lambda-per-sigma 3.5, 50 iterations)")
                     ->check(CLI::PositiveNumber)
                     ->capture_default_str();
  auto* debias = cmd->add_option("--debias-iters", o->debias_iters,
                                 "With --stride: least-squares refit iterations on the lasso's support per shift")
                     ->check(CLI::NonNegativeNumber)
                     ->capture_default_str();
  auto* shift_batch = cmd->add_option("--shift-batch", o->shift_batch,
                                      "With --stride: shifts coded together (more: faster on a GPU, more memory)")
                          ->check(CLI::PositiveNumber)
                          ->capture_default_str();
  auto* blend = cmd->add_option("--blend", o->blend,
                                "With --stride: c of the weight c/sigma of the noisy picture in the average over "
                                "the shifts (deepsc denoise uses 30; 0: the plain average)")
                    ->check(CLI::NonNegativeNumber)
                    ->capture_default_str();
  o->given = [cmd](const char* name) { return cmd->count(name) > 0; };
  return [o, debias, shift_batch, blend](Context& ctx) {
    if (o->stride == 1 && debias->count() > 0) throw std::invalid_argument("--debias-iters needs --stride > 1");
    if (o->stride == 1 && shift_batch->count() > 0) throw std::invalid_argument("--shift-batch needs --stride > 1");
    if (o->stride == 1 && blend->count() > 0) throw std::invalid_argument("--blend needs --stride > 1");
    if (o->stride > 1)
      for (const char* name : {"--model", "--lowpass-sigma", "--crops", "--epochs"})
        if (o->given(name)) throw std::invalid_argument(std::string(name) + " does not apply to --stride > 1");
    run_denoise(*o, ctx);
  };
}

}  // namespace deepsc::cli
