// deepsc csc-inpaint: fill the missing pixels of a grey picture by convolutional sparse coding
// with a mask (conv/denoise.h): FISTA on M ⊙ D X against the known high-pass, plus the masked
// low-pass. The mask comes from a PNG (white = known) or, for a reproducible benchmark, from
// --missing FRACTION random pixels dropped from a clean --image (conv/restoration_benchmark.h,
// seeded by --seed).
#include "restore_support.h"

#include "deepsc/conv/restoration_benchmark.h"

#include <iomanip>
#include <memory>

namespace deepsc::cli {

namespace {

struct InpaintCommand {
  restore::CodingFlags f;
  std::string mask, clean, corrupted_out;
  double missing = -1;
};

/// The picture, its mask (1 = known) and, when there is one, the clean reference.
struct MaskedPicture {
  torch::Tensor image, mask, clean;
  std::string note;
};

MaskedPicture load_masked_picture(const InpaintCommand& o, uint64_t seed) {
  auto input = restore::load_grey(o.f.image, "--image");
  MaskedPicture p{input.image, {}, {}, input.note};
  if (o.missing >= 0) {
    p.mask = conv::random_pixel_mask(p.image, o.missing, seed);
    p.clean = p.image;
    return p;
  }
  auto m = restore::load_grey(o.mask, "--mask");
  restore::check_same_size(p.image, m.image, "--mask", o.mask);
  p.mask = (m.image > 0.5).to(p.image.scalar_type());
  if (!(p.mask > 0).any().item<bool>())
    throw std::invalid_argument("--mask " + o.mask + " has no known pixel (white = known, black = missing)");
  if (!o.clean.empty()) {
    auto reference = restore::load_grey(o.clean, "--clean");
    restore::check_same_size(p.image, reference.image, "--clean", o.clean);
    p.clean = reference.image;
  }
  return p;
}

void run_inpaint(const InpaintCommand& o, Context& ctx) {
  const auto& f = o.f;
  if (o.mask.empty() == (o.missing < 0))
    throw std::invalid_argument("csc-inpaint needs exactly one of --mask mask.png or --missing FRACTION");
  restore::check_output_paths({{f.out, "--out"}, {o.corrupted_out, "--corrupted-out"}, {f.save_dict, "--save-dict"}});
  const auto device = parse_device(ctx.runtime.device);
  const auto picture = load_masked_picture(o, ctx.runtime.seed);
  const auto corrupted = picture.image * picture.mask;  // what the method may see; missing pixels shown black
  const torch::Tensor weights = f.dict.empty() ? torch::Tensor() : restore::load_dictionary(f.dict).to(device);
  const auto options = conv::InpaintOptions()
                           .lambda(f.lambda)
                           .lowpass_sigma(f.lowpass_sigma)
                           .max_iter(f.iters)
                           .learning(restore::learning_options(f.learning, ctx, !weights.defined() && !f.json));

  Stopwatch clock;
  const auto result = conv::csc_inpaint(corrupted.to(device), picture.mask.to(device), weights, options);
  synchronize(device);
  const double seconds = clock.seconds();

  const auto inpainted = result.image.to(torch::kCPU);
  if (!o.corrupted_out.empty()) viz::write_png(o.corrupted_out, corrupted[0]);
  restore::write_restoration(f, result, inpainted);

  const double missing = 1 - picture.mask.mean().item<double>();
  auto report = restore::restoration_json("csc-inpaint", f, picture.image, result, seconds, picture.note);
  report["missing_fraction"] = missing;
  conv::InpaintBaselineScore baseline;
  conv::ImageQuality quality;
  if (picture.clean.defined()) {
    baseline = conv::best_inpaint_baseline(corrupted, picture.mask, picture.clean);
    quality = conv::image_quality(inpainted, picture.clean);
    report["baseline"] = restore::quality_json(baseline.quality);
    report["baseline"]["fill_sigma"] = baseline.fill_sigma;
    report["inpainted"] = restore::quality_json(quality);
  }
  if (f.json) {
    ctx.out << report.dump() << "\n";
    return;
  }
  if (!picture.note.empty()) ctx.out << "note: " << picture.note << "\n";
  ctx.out << std::setprecision(3) << "inpainted " << f.image << " (" << picture.image.size(3) << "x"
          << picture.image.size(2) << ", " << 100 * missing << "% missing)" << restore::coding_summary(result, f.dict, 3)
          << ", " << seconds << " s -> " << f.out << "\n";
  if (picture.clean.defined()) {
    ctx.out << "baseline (normalised convolution, blur sigma " << baseline.fill_sigma
            << "): " << conv::to_string(baseline.quality) << "\n"
            << "inpainted: " << conv::to_string(quality) << "\n";
  }
}

}  // namespace

Action add_csc_inpaint_command(CLI::App& app) {
  auto o = std::make_shared<InpaintCommand>();
  const auto defaults = conv::InpaintOptions();
  o->f.lambda = defaults.lambda();
  o->f.lowpass_sigma = defaults.lowpass_sigma();
  o->f.iters = defaults.max_iter();
  auto* cmd = app.add_subcommand(
      "csc-inpaint", "Fill missing pixels of a grey picture by convolutional sparse coding with a mask");
  cmd->add_option("--image", o->f.image, "Picture with missing pixels (PNG; RGB is converted to grey), or a clean one with --missing")
      ->required()
      ->check(CLI::ExistingFile);
  auto* mask = cmd->add_option("--mask", o->mask, "Mask picture of the same size: white = known, black = missing")
                   ->check(CLI::ExistingFile);
  auto* missing = cmd->add_option("--missing", o->missing,
                                  "Drop this fraction of the pixels of the clean --image at random (seeded by --seed) "
                                  "and score against it")
                      ->check(CLI::Range(0.0, 0.99));
  mask->excludes(missing);
  cmd->add_option("--out", o->f.out, "Inpainted picture, grey PNG (written atomically)")->required();
  cmd->add_option("--clean", o->clean, "Clean reference picture: report PSNR/SSIM (with --mask)")
      ->check(CLI::ExistingFile)
      ->excludes(missing);
  cmd->add_option("--lambda", o->f.lambda, "Weight of ||X||_1 on the [0, 1] scale")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  restore::add_coding_options(cmd, o->f, "Masked Gaussian low-pass standard deviation, pixels");
  cmd->add_option("--corrupted-out", o->corrupted_out, "Also write the input with its missing pixels black");
  return [o](Context& ctx) { run_inpaint(*o, ctx); };
}

}  // namespace deepsc::cli
