// The shared reading, checking and writing of the restoration commands (see restore_support.h).
#include "restore_support.h"

#include "deepsc/conv/image_filters.h"
#include "deepsc/conv/restoration_benchmark.h"
#include "deepsc/data/image_folder.h"
#include "deepsc/data/npy_tensor.h"
#include "deepsc/viz/image_grid.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace deepsc::cli::restore {

GreyImage load_grey(const std::string& path, const std::string& option) {
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

std::vector<std::string> image_files(const std::string& dir, const std::string& option) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw std::invalid_argument(option + " " + dir + ": not a directory");
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && data::is_image_file(entry.path().string())) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::invalid_argument(option + " " + dir + ": no .png or .jpg files");
  return files;
}

std::vector<torch::Tensor> load_grey_pictures(const std::string& dir, const std::string& option, int64_t side,
                                              const std::string& what, Context& ctx) {
  std::vector<torch::Tensor> pictures;
  std::string skipped;  // said only when some picture is kept: otherwise the error is the one line
  for (const auto& file : image_files(dir, option)) {
    auto grey = load_grey(file, option).image;  // [1, 1, H, W]
    if (grey.size(2) < side || grey.size(3) < side)
      skipped += "deepsc: skipping " + file + ": smaller than " + what + " " + std::to_string(side) + "\n";
    else
      pictures.push_back(grey);
  }
  if (pictures.empty())
    throw std::invalid_argument(option + " " + dir + ": no picture is at least " + what + " (" + std::to_string(side) +
                                ") pixels wide");
  ctx.err << skipped;
  return pictures;
}

void check_same_size(const torch::Tensor& reference, const torch::Tensor& other, const std::string& option,
                     const std::string& path) {
  if (other.size(2) != reference.size(2) || other.size(3) != reference.size(3)) {
    std::ostringstream msg;
    msg << option << " " << path << " is " << other.size(3) << "x" << other.size(2) << " but --image is "
        << reference.size(3) << "x" << reference.size(2);
    throw std::invalid_argument(msg.str());
  }
}

torch::Tensor load_dictionary(const std::string& path) {
  auto w = load_float_array(path, "--dict", 4);
  if (w.size(1) != 1 || w.size(2) != w.size(3)) {
    std::ostringstream msg;
    msg << "--dict " << path << ": expected grey atoms [M, 1, k, k], found " << w.sizes();
    throw std::invalid_argument(msg.str());
  }
  return w.to(torch::kFloat);
}

void check_output_paths(std::initializer_list<std::pair<std::string, const char*>> outputs) {
  for (const auto& [path, option] : outputs) {
    if (path.empty()) continue;
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty() && !std::filesystem::is_directory(parent))
      throw std::invalid_argument(std::string(option) + " " + path + ": folder " + parent.string() + " does not exist");
    if (std::filesystem::is_directory(path)) throw std::invalid_argument(std::string(option) + " " + path + " is a folder");
  }
}

NoisyPicture load_noisy_picture(const std::string& image_path, const std::string& clean_path, bool add_noise,
                                double sigma, uint64_t seed) {
  auto input = load_grey(image_path, "--image");
  NoisyPicture p{input.image, {}, input.note};
  if (add_noise) {
    p.clean = input.image;
    p.noisy = conv::add_gaussian_noise(p.clean, sigma, seed);
  } else if (!clean_path.empty()) {
    auto reference = load_grey(clean_path, "--clean");
    check_same_size(p.noisy, reference.image, "--clean", clean_path);
    p.clean = reference.image;
    if (!reference.note.empty()) p.note += (p.note.empty() ? "" : "; ") + reference.note;
  }
  return p;
}

namespace {

/// Progress lines with an ETA for the dictionary learning, on an interactive terminal only (so
/// pipes, logs and the in-process tests stay clean).
std::function<void(const conv::LearningProgress&)> learning_progress(Context& ctx, int64_t epochs) {
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

}  // namespace

void add_coding_options(CLI::App* cmd, CodingFlags& f, const std::string& lowpass_help) {
  cmd->add_option("--dict", f.dict, "Convolutional dictionary W.npy [M, 1, k, k] (default: learn one from the picture)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--iters", f.iters, "FISTA iteration cap")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--lowpass-sigma", f.lowpass_sigma, lowpass_help)->check(CLI::PositiveNumber)->capture_default_str();
  auto& l = f.learning;
  cmd->add_option("--atoms", l.atoms, "Learning: number of atoms")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--kernel-size", l.kernel_size, "Learning: atom side k")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--crops", l.crops, "Learning: random crops of the picture")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--epochs", l.epochs, "Learning: passes over the crops")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--save-dict", f.save_dict, "Also write the dictionary used as W.npy [M, 1, k, k]");
  cmd->add_flag("--json", f.json, "Print a JSON summary instead of text");
}

conv::SelfLearningOptions learning_options(const LearningFlags& f, Context& ctx, bool report) {
  auto learning =
      conv::SelfLearningOptions().atoms(f.atoms).kernel_size(f.kernel_size).crops(f.crops).epochs(f.epochs).seed(ctx.runtime.seed);
  if (report) learning.on_epoch(learning_progress(ctx, f.epochs));
  return learning;
}

nlohmann::json quality_json(const conv::ImageQuality& q) { return {{"psnr", q.psnr}, {"ssim", q.ssim}}; }

std::string score_denoising(const NoisyPicture& picture, const torch::Tensor& denoised, nlohmann::json& report) {
  if (!picture.clean.defined()) return "";
  const auto noisy = conv::image_quality(picture.noisy, picture.clean);
  const auto restored = conv::image_quality(denoised, picture.clean);
  report.update({{"noisy", quality_json(noisy)}, {"denoised", quality_json(restored)}});
  return "noisy:    " + conv::to_string(noisy) + "\ndenoised: " + conv::to_string(restored) + "\n";
}

nlohmann::json restoration_json(const std::string& command, const CodingFlags& f, const torch::Tensor& picture,
                                const conv::RestorationResult& r, double seconds, const std::string& note) {
  return {{"command", command},
          {"image", f.image},
          {"out", f.out},
          {"height", picture.size(2)},
          {"width", picture.size(3)},
          {"lambda", r.lambda},
          {"lowpass_sigma", f.lowpass_sigma},
          {"iterations", r.iterations},
          {"converged", r.converged},
          {"nonzeros", r.nonzeros},
          {"coding_seconds", r.coding_seconds},
          {"seconds", seconds},
          {"threads", at::get_num_threads()},
          {"note", note},
          {"dictionary", r.learned ? std::string("learned from the image") : f.dict},
          {"atoms", r.weights.size(0)},
          {"kernel_size", r.weights.size(2)},
          {"learning_seconds", r.learning_seconds}};
}

std::string coding_summary(const conv::RestorationResult& r, const std::string& dict, int precision) {
  std::ostringstream s;
  s << std::setprecision(precision) << " with " << r.weights.size(0) << " atoms " << r.weights.size(2) << "x"
    << r.weights.size(2) << (r.learned ? " learned from the image" : " from " + dict) << ", lambda " << r.lambda << ", "
    << r.iterations << " FISTA iterations" << (r.converged ? "" : " (iteration cap reached)");
  return s.str();
}

void write_restoration(const CodingFlags& f, const conv::RestorationResult& r, const torch::Tensor& restored) {
  if (!f.save_dict.empty()) data::save_npy(f.save_dict, r.weights.to(torch::kCPU));
  viz::write_png(f.out, restored[0]);
}

}  // namespace deepsc::cli::restore
