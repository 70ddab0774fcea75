// deepsc learn-conv-dict: convolutional dictionary learning on a folder of natural images
// (grey, high-pass, random crops), checkpointing the atoms after every epoch so that an
// interrupted run resumes with --resume.
#include "command_support.h"
#include "restore_support.h"

#include "deepsc/conv/dictionary_learning.h"
#include "deepsc/conv/image_filters.h"
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

/// Random crop×crop windows of the high-pass grey images, [N, 1, crop, crop].
torch::Tensor training_crops(const LearnOptions& o, Context& ctx) {
  std::vector<torch::Tensor> crops;
  for (const auto& file : restore::image_files(o.images, "--images")) {
    auto grey = restore::load_grey(file, "--images").image;  // [1, 1, H, W]
    if (grey.size(2) < o.crop || grey.size(3) < o.crop) {
      ctx.err << "deepsc: skipping " << file << ": smaller than --crop " << o.crop << "\n";
      continue;
    }
    auto high = conv::split_frequencies(grey.to(torch::kDouble), o.lowpass_sigma).high.to(torch::kFloat);
    for (int64_t c = 0; c < o.crops_per_image; ++c) {
      const int64_t top = torch::randint(grey.size(2) - o.crop + 1, {1}).item<int64_t>();
      const int64_t left = torch::randint(grey.size(3) - o.crop + 1, {1}).item<int64_t>();
      crops.push_back(high.narrow(2, top, o.crop).narrow(3, left, o.crop));
    }
  }
  if (crops.empty()) throw std::invalid_argument("--images " + o.images + ": no image is at least --crop pixels wide");
  return torch::cat(crops, 0).contiguous();
}

void run_learn(const LearnOptions& o, Context& ctx) {
  restore::check_output_path(o.out, "--out");
  const auto device = parse_device(ctx.runtime.device);
  auto images = training_crops(o, ctx).to(device);
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
  if (!o.png.empty()) viz::write_dictionary_png(o.png, result.weights.cpu(), 1, 0, 4);
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
