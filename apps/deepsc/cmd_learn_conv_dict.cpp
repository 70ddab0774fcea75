// deepsc learn-conv-dict: convolutional dictionary learning on a folder of natural images
// (grey, high-pass, random crops: conv/training_crops.h), checkpointing the atoms after every epoch so that an
// interrupted run resumes with --resume.
#include "command_support.h"
#include "restore_support.h"

#include "deepsc/conv/dictionary_learning.h"
#include "deepsc/conv/training_crops.h"
#include "deepsc/data/npy_tensor.h"
#include "deepsc/viz/image_grid.h"

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <memory>

namespace deepsc::cli {

namespace {

struct LearnOptions {
  std::string images, out, png;
  int64_t atoms = 32, kernel = 8, epochs = 20, batch = 0, crop = 64, crops_per_image = 4, coding_iters = 30,
          dictionary_iters = 5;
  double lambda = 0.1, lowpass_sigma = 3.0;
  bool resume = false, json = false;
};

void run_learn(const LearnOptions& o, Context& ctx) {
  restore::check_output_paths({{o.out, "--out"}});
  const auto device = parse_device(ctx.runtime.device);
  const auto pictures = restore::load_grey_pictures(o.images, "--images", o.crop, "--crop", ctx);
  const auto crop_options =
      conv::TrainingCropOptions().crop(o.crop).crops_per_image(o.crops_per_image).lowpass_sigma(o.lowpass_sigma);
  auto images = conv::highpass_crops(pictures, crop_options).to(device);
  auto opts = conv::DictionaryLearningOptions(o.atoms, o.kernel)
                  .lambda(o.lambda)
                  .epochs(o.epochs)
                  .batch_size(o.batch)
                  .coding_iters(o.coding_iters)
                  .dictionary_iters(o.dictionary_iters)
                  .seed(static_cast<uint64_t>(ctx.runtime.seed));
  if (o.resume && std::filesystem::exists(o.out)) {
    opts.initial(load_float_array(o.out, "--out (resumed)", 4).to(torch::kFloat));
    ctx.err << "deepsc: resuming from " << o.out << "\n";
  }
  Stopwatch clock;
  opts.on_epoch([&](const conv::LearningProgress& p) {
    data::save_npy(o.out, p.weights->cpu());  // atomic: an interrupted run leaves the last epoch's atoms
    if (!o.json) {
      ctx.out << "epoch " << p.epoch << "/" << o.epochs << ": objective " << std::setprecision(6) << p.objective << ", "
              << std::setprecision(4) << p.nonzeros << " non-zeros per crop, " << std::setprecision(3) << clock.seconds()
              << " s\n";
      ctx.out.flush();
    }
  });
  auto result = conv::learn_conv_dictionary(images, opts);
  if (!o.png.empty()) viz::write_dictionary_png(o.png, result.weights.cpu(), 1, 0, viz::visible_scale(result.weights.size(-1)));
  if (o.json) {
    ctx.out << nlohmann::json{{"atoms", o.atoms},          {"kernel", o.kernel},
                              {"crops", images.size(0)},   {"crop", o.crop},
                              {"lambda", o.lambda},        {"epochs", o.epochs},
                              {"objective", result.objective}, {"seconds", clock.seconds()},
                              {"out", o.out},              {"png", o.png}}
                   .dump()
            << "\n";
  } else {
    ctx.out << "learned " << o.atoms << " atoms of " << o.kernel << "x" << o.kernel << " from " << images.size(0)
            << " crops -> " << o.out << (o.png.empty() ? "" : ", " + o.png) << "\n";
  }
}

}  // namespace

Action add_learn_conv_dict_command(CLI::App& app) {
  auto o = std::make_shared<LearnOptions>();
  auto* cmd = app.add_subcommand("learn-conv-dict", "Learn a convolutional dictionary W [M, 1, k, k] from a folder of images");
  cmd->add_option("--images", o->images, "Folder of .png/.jpg images (made grey, high-passed, cropped)")->required();
  cmd->add_option("--out", o->out, "Atoms W.npy [M, 1, k, k], rewritten atomically after every epoch")->required();
  cmd->add_option("--png", o->png, "Picture of the learned atoms");
  cmd->add_option("--atoms", o->atoms, "M, number of atoms")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--kernel", o->kernel, "k, atoms are k x k")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--lambda", o->lambda, "weight of the l1 penalty of the codes")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--epochs", o->epochs, "passes over the crops")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--batch", o->batch, "crops per dictionary update (0 = all: batch learning)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--crop", o->crop, "crop size in pixels")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--crops-per-image", o->crops_per_image, "random crops taken from each image")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--coding-iters", o->coding_iters, "FISTA iterations per coding step")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--dictionary-iters", o->dictionary_iters, "projected-gradient steps per dictionary update")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--lowpass-sigma", o->lowpass_sigma, "Gaussian low-pass removed before learning (pixels)")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_flag("--resume", o->resume, "start from the atoms in --out if it exists");
  cmd->add_flag("--json", o->json, "print a JSON summary");
  return [o](Context& ctx) { run_learn(*o, ctx); };
}

}  // namespace deepsc::cli
