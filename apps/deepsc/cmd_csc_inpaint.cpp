// deepsc csc-inpaint: fill the missing pixels of a grey picture by convolutional sparse coding
// with a mask (conv/denoise.h): FISTA on M ⊙ D X against the known high-pass, plus the masked
// low-pass. The mask comes from a PNG (white = known) or, for a reproducible benchmark, from
// --missing FRACTION random pixels dropped from a clean --image (seeded by --seed).
#include "restore_support.h"

#include "deepsc/data/npy_tensor.h"

#include <memory>

namespace deepsc::cli {

namespace {

struct InpaintCommand {
  std::string image, mask, dict, clean, out, corrupted_out, save_dict;
  double missing = -1;
  double lambda = conv::InpaintOptions().lambda();
  double lowpass_sigma = conv::InpaintOptions().lowpass_sigma();
  int64_t iters = conv::InpaintOptions().max_iter();
  restore::LearningFlags learning;
  bool json = false;
};

void run_inpaint(const InpaintCommand& o, Context& ctx) {
  if (o.mask.empty() == (o.missing < 0))
    throw std::invalid_argument("csc-inpaint needs exactly one of --mask mask.png or --missing FRACTION");
  restore::check_output_path(o.out, "--out");
  restore::check_output_path(o.corrupted_out, "--corrupted-out");
  restore::check_output_path(o.save_dict, "--save-dict");
  const auto device = parse_device(ctx.runtime.device);

  auto input = restore::load_grey(o.image, "--image");
  torch::Tensor image = input.image, mask, clean;
  std::string note = input.note;
  if (o.missing >= 0) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(ctx.runtime.seed);
    mask = (torch::rand(image.sizes(), gen, image.options()) >= o.missing).to(image.scalar_type());
    clean = image;
  } else {
    auto m = restore::load_grey(o.mask, "--mask");
    restore::check_same_size(image, m.image, "--mask", o.mask);
    mask = (m.image > 0.5).to(image.scalar_type());
    if (!(mask > 0).any().item<bool>())
      throw std::invalid_argument("--mask " + o.mask + " has no known pixel (white = known, black = missing)");
    if (!o.clean.empty()) {
      auto reference = restore::load_grey(o.clean, "--clean");
      restore::check_same_size(image, reference.image, "--clean", o.clean);
      clean = reference.image;
    }
  }
  const auto corrupted = image * mask;  // what the method may see; missing pixels shown black
  torch::Tensor weights;
  if (!o.dict.empty()) weights = restore::load_dictionary(o.dict).to(device);

  const auto learning = restore::learning_options(o.learning, ctx, !weights.defined() && !o.json);
  const auto options = conv::InpaintOptions()
                           .lambda(o.lambda)
                           .lowpass_sigma(o.lowpass_sigma)
                           .max_iter(o.iters)
                           .learning(learning);

  Stopwatch clock;
  const auto result = conv::csc_inpaint(corrupted.to(device), mask.to(device), weights, options);
  synchronize(device);
  const double seconds = clock.seconds();

  const auto inpainted = result.image.to(torch::kCPU);
  if (!o.save_dict.empty()) data::save_npy(o.save_dict, result.weights.to(torch::kCPU));
  if (!o.corrupted_out.empty()) viz::write_png(o.corrupted_out, corrupted[0]);
  viz::write_png(o.out, inpainted[0]);

  const double missing = 1 - mask.mean().item<double>();
  nlohmann::json report{{"command", "csc-inpaint"},
                        {"image", o.image},
                        {"out", o.out},
                        {"height", image.size(2)},
                        {"width", image.size(3)},
                        {"missing_fraction", missing},
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
    // The baseline at its best blur for this picture and mask (it sees the clean one: an oracle,
    // so the comparison favours the baseline).
    double best_fill = 0;
    for (double fill : {0.5, 0.7, 1.0, 1.5, 2.0, 3.0}) {
      auto q = restore::quality(conv::inpaint_baseline(corrupted, mask, fill), clean);
      if (best_fill == 0 || q["psnr"].get<double>() > report["baseline"]["psnr"].get<double>()) {
        report["baseline"] = q;
        best_fill = fill;
      }
    }
    report["baseline"]["fill_sigma"] = best_fill;
    report["inpainted"] = restore::quality(inpainted, clean);
  }
  if (o.json) {
    ctx.out << report.dump() << "\n";
    return;
  }
  if (!note.empty()) ctx.out << "note: " << note << "\n";
  ctx.out << std::setprecision(3) << "inpainted " << o.image << " (" << image.size(3) << "x" << image.size(2) << ", "
          << 100 * missing << "% missing) with " << result.weights.size(0) << " atoms " << result.weights.size(2) << "x"
          << result.weights.size(2) << (result.learned ? " learned from the image" : " from " + o.dict) << ", lambda "
          << result.lambda << ", " << result.iterations << " FISTA iterations"
          << (result.converged ? "" : " (iteration cap reached)") << ", " << seconds << " s -> " << o.out << "\n";
  if (clean.defined()) {
    ctx.out << "baseline (normalised convolution, blur sigma " << report["baseline"]["fill_sigma"].get<double>()
            << "): " << restore::quality_text(report["baseline"]) << "\n"
            << "inpainted: " << restore::quality_text(report["inpainted"]) << "\n";
  }
}

}  // namespace

Action add_csc_inpaint_command(CLI::App& app) {
  auto o = std::make_shared<InpaintCommand>();
  auto* cmd = app.add_subcommand(
      "csc-inpaint", "Fill missing pixels of a grey picture by convolutional sparse coding with a mask");
  cmd->add_option("--image", o->image, "Picture with missing pixels (PNG; RGB is converted to grey), or a clean one with --missing")
      ->required()
      ->check(CLI::ExistingFile);
  auto* mask = cmd->add_option("--mask", o->mask, "Mask picture of the same size: white = known, black = missing")
                   ->check(CLI::ExistingFile);
  auto* missing = cmd->add_option("--missing", o->missing,
                                  "Drop this fraction of the pixels of the clean --image at random (seeded by --seed) "
                                  "and score against it")
                      ->check(CLI::Range(0.0, 0.99));
  mask->excludes(missing);
  cmd->add_option("--out", o->out, "Inpainted picture, grey PNG (written atomically)")->required();
  cmd->add_option("--dict", o->dict, "Convolutional dictionary W.npy [M, 1, k, k] (default: learn one from the picture)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--clean", o->clean, "Clean reference picture: report PSNR/SSIM (with --mask)")
      ->check(CLI::ExistingFile)
      ->excludes(missing);
  cmd->add_option("--lambda", o->lambda, "Weight of ||X||_1 on the [0, 1] scale")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--iters", o->iters, "FISTA iteration cap")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--lowpass-sigma", o->lowpass_sigma, "Masked Gaussian low-pass standard deviation, pixels")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  restore::add_learning_options(cmd, o->learning);
  cmd->add_option("--corrupted-out", o->corrupted_out, "Also write the input with its missing pixels black");
  cmd->add_option("--save-dict", o->save_dict, "Also write the dictionary used as W.npy [M, 1, k, k]");
  cmd->add_flag("--json", o->json, "Print a JSON summary instead of text");
  return [o](Context& ctx) { run_inpaint(*o, ctx); };
}

}  // namespace deepsc::cli
