#pragma once
// What `deepsc csc-denoise` and `deepsc csc-inpaint` share: grey images from PNG files, the
// dictionary file, early checks of output paths, progress lines and the quality report.
#include "cli.h"
#include "command_support.h"

#include "deepsc/conv/denoise.h"
#include "deepsc/conv/image_filters.h"
#include "deepsc/conv/image_quality.h"
#include "deepsc/viz/image_grid.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace deepsc::cli::restore {

/// A picture as a grey image [1, 1, H, W] in [0, 1], and what was done to make it grey.
struct GreyImage {
  torch::Tensor image;
  std::string note;  // empty when the file was grey already
};

/// Reads a PNG (or anything stb decodes); RGB becomes grey by the ITU-R BT.601 weights, and an
/// alpha channel is dropped; both are said in `note`. Errors name the option and the file.
inline GreyImage load_grey(const std::string& path, const std::string& option) {
  torch::Tensor chw;
  try {
    chw = viz::read_png(path);
  } catch (const std::exception& e) {
    throw std::invalid_argument(option + " " + path + ": not a readable image (" + e.what() + ")");
  }
  GreyImage g;
  const int64_t c = chw.size(0);
  auto batch = chw.unsqueeze(0);
  if (c == 2 || c == 4) {
    batch = batch.narrow(1, 0, c - 1);
    g.note = option + " " + path + " has an alpha channel; ignored";
  }
  if (batch.size(1) == 3) {
    batch = conv::rgb_to_grey(batch);
    g.note += std::string(g.note.empty() ? "" : "; ") + option + " " + path +
              " is RGB; converted to grey (ITU-R 601 weights 0.299 R + 0.587 G + 0.114 B)";
  }
  g.image = batch.contiguous();
  return g;
}

/// Every PNG/JPEG file of the folder, sorted, so runs are reproducible. Errors name the option.
inline std::vector<std::string> image_files(const std::string& dir, const std::string& option) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw std::invalid_argument(option + " " + dir + ": not a directory");
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    auto ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (entry.is_regular_file() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg")) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::invalid_argument(option + " " + dir + ": no .png or .jpg files");
  return files;
}

/// Throws unless `other` has the size of `reference` (both [1, 1, H, W]).
inline void check_same_size(const torch::Tensor& reference, const torch::Tensor& other, const std::string& option,
                            const std::string& path) {
  if (other.size(2) != reference.size(2) || other.size(3) != reference.size(3)) {
    std::ostringstream msg;
    msg << option << " " << path << " is " << other.size(3) << "x" << other.size(2) << " but --image is "
        << reference.size(3) << "x" << reference.size(2);
    throw std::invalid_argument(msg.str());
  }
}

/// W.npy [M, 1, k, k] for grey images, as float32.
inline torch::Tensor load_dictionary(const std::string& path) {
  auto w = load_float_array(path, "--dict", 4);
  if (w.size(1) != 1 || w.size(2) != w.size(3)) {
    std::ostringstream msg;
    msg << "--dict " << path << ": expected grey atoms [M, 1, k, k], found " << w.sizes();
    throw std::invalid_argument(msg.str());
  }
  return w.to(torch::kFloat);
}

/// Fails before any work when an output could not be written: its folder must exist.
inline void check_output_path(const std::string& path, const std::string& option) {
  if (path.empty()) return;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::is_directory(parent))
    throw std::invalid_argument(option + " " + path + ": folder " + parent.string() + " does not exist");
  if (std::filesystem::is_directory(path)) throw std::invalid_argument(option + " " + path + " is a folder");
}

/// Gaussian noise of standard deviation sigma from a generator of its own seeded with `seed`, so
/// a benchmark is reproducible from the clean picture and the seed alone. Not clipped.
inline torch::Tensor add_gaussian_noise(const torch::Tensor& image, double sigma, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return image + sigma * torch::randn(image.sizes(), gen, image.options().device(torch::kCPU)).to(image.device());
}

/// The noisy picture of a restoration and, when there is one, its clean reference.
struct NoisyPicture {
  torch::Tensor noisy;  // [1, 1, H, W]
  torch::Tensor clean;  // [1, 1, H, W], or undefined
  std::string note;     // what load_grey did to the files
};

/// --image is the noisy picture, or with `add_noise` the clean one to which noise of `sigma` (on
/// [0, 1]) is added, seeded by `seed`; `clean_path` (--clean) names a reference of the same size.
inline NoisyPicture load_noisy_picture(const std::string& image_path, const std::string& clean_path, bool add_noise,
                                       double sigma, uint64_t seed) {
  auto input = load_grey(image_path, "--image");
  NoisyPicture p{input.image, {}, input.note};
  if (add_noise) {
    p.clean = input.image;
    p.noisy = add_gaussian_noise(p.clean, sigma, seed);
  } else if (!clean_path.empty()) {
    auto reference = load_grey(clean_path, "--clean");
    check_same_size(p.noisy, reference.image, "--clean", clean_path);
    p.clean = reference.image;
    if (!reference.note.empty()) p.note += (p.note.empty() ? "" : "; ") + reference.note;
  }
  return p;
}

/// Progress lines with an ETA for the dictionary learning, on an interactive terminal only (so
/// pipes, logs and the in-process tests stay clean).
inline std::function<void(const conv::LearningProgress&)> learning_progress(Context& ctx, int64_t epochs) {
  if (&ctx.err != &std::cerr || !::isatty(STDERR_FILENO)) return nullptr;
  auto clock = std::make_shared<Stopwatch>();
  return [&err = ctx.err, epochs, clock](const conv::LearningProgress& p) {
    const double elapsed = clock->seconds();
    const double eta = elapsed / static_cast<double>(p.epoch) * static_cast<double>(epochs - p.epoch);
    err << "\rlearning the dictionary: epoch " << p.epoch << "/" << epochs << ", objective " << std::setprecision(4)
        << p.objective << ", " << std::fixed << std::setprecision(1) << elapsed << " s, ETA " << eta << " s"
        << std::defaultfloat << (p.epoch == epochs ? "\n" : "") << std::flush;
  };
}

/// The flags of both restorations that shape the dictionary learned when no --dict is given.
struct LearningFlags {
  int64_t atoms = conv::SelfLearningOptions().atoms();
  int64_t kernel_size = conv::SelfLearningOptions().kernel_size();
  int64_t crops = conv::SelfLearningOptions().crops();
  int64_t epochs = conv::SelfLearningOptions().epochs();
};

inline void add_learning_options(CLI::App* cmd, LearningFlags& f) {
  cmd->add_option("--atoms", f.atoms, "Learning: number of atoms")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--kernel-size", f.kernel_size, "Learning: atom side k")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--crops", f.crops, "Learning: random crops of the picture")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--epochs", f.epochs, "Learning: passes over the crops")->check(CLI::PositiveNumber)->capture_default_str();
}

/// SelfLearningOptions from the flags, seeded by --seed, with terminal progress when `report`.
inline conv::SelfLearningOptions learning_options(const LearningFlags& f, Context& ctx, bool report) {
  auto learning =
      conv::SelfLearningOptions().atoms(f.atoms).kernel_size(f.kernel_size).crops(f.crops).epochs(f.epochs).seed(ctx.runtime.seed);
  if (report) learning.on_epoch(learning_progress(ctx, f.epochs));
  return learning;
}

/// PSNR (dB) and SSIM of `image` against `clean`, both [1, 1, H, W] in [0, 1].
inline nlohmann::json quality(const torch::Tensor& image, const torch::Tensor& clean) {
  const auto a = image.to(torch::kCPU, torch::kDouble), b = clean.to(torch::kCPU, torch::kDouble);
  const double p = conv::psnr(a, b).item<double>();
  return {{"psnr", p}, {"ssim", conv::ssim(a, b).item<double>()}};
}

/// "PSNR 28.12 dB, SSIM 0.8123".
inline std::string quality_text(const nlohmann::json& q) {
  std::ostringstream s;
  s << std::fixed << "PSNR " << std::setprecision(2) << q["psnr"].get<double>() << " dB, SSIM " << std::setprecision(4)
    << q["ssim"].get<double>();
  return s.str();
}

/// The dictionary part of the JSON report.
inline nlohmann::json dictionary_json(const conv::RestorationResult& r, const std::string& path) {
  return {{"dictionary", r.learned ? std::string("learned from the image") : path},
          {"atoms", r.weights.size(0)},
          {"kernel_size", r.weights.size(2)},
          {"learning_seconds", r.learning_seconds}};
}

}  // namespace deepsc::cli::restore
