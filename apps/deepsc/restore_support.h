#pragma once
// What the restoration and dictionary commands share: grey images from PNG files, the
// convolutional dictionary file, early checks of output paths, the options of both CSC
// restorations, progress lines, and the report parts (quality, dictionary, the summary line).
// Everything here reads, checks or writes; the computing is in deepsc::conv and deepsc::dictlearn.
#include "cli.h"
#include "command_support.h"

#include "deepsc/conv/denoise.h"
#include "deepsc/conv/image_quality.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace deepsc::cli::restore {

/// A picture as a grey image [1, 1, H, W] in [0, 1], and what was done to make it grey.
struct GreyImage {
  torch::Tensor image;
  std::string note;  // empty when the file was grey already
};

/// Reads a PNG (or anything stb decodes); RGB becomes grey by the ITU-R BT.601 weights, and an
/// alpha channel is dropped; both are said in `note`. Errors name the option and the file.
GreyImage load_grey(const std::string& path, const std::string& option);

/// Every PNG/JPEG file of the folder, sorted, so runs are reproducible. Errors name the option.
std::vector<std::string> image_files(const std::string& dir, const std::string& option);

/// The grey pictures of the folder (image_files) that are at least `side` pixels wide and high;
/// the others are skipped with a line each on ctx.err saying `what` they are smaller than. Throws
/// (one line, naming the option) when none is left.
std::vector<torch::Tensor> load_grey_pictures(const std::string& dir, const std::string& option, int64_t side,
                                              const std::string& what, Context& ctx);

/// Throws unless `other` has the size of `reference` (both [1, 1, H, W]).
void check_same_size(const torch::Tensor& reference, const torch::Tensor& other, const std::string& option,
                     const std::string& path);

/// W.npy [M, 1, k, k] for grey images, as float32.
torch::Tensor load_dictionary(const std::string& path);

/// Fails before any work when an output could not be written: its folder must exist. Each pair is
/// (path, option); empty paths are skipped.
void check_output_paths(std::initializer_list<std::pair<std::string, const char*>> outputs);

/// The noisy picture of a restoration and, when there is one, its clean reference.
struct NoisyPicture {
  torch::Tensor noisy;  // [1, 1, H, W]
  torch::Tensor clean;  // [1, 1, H, W], or undefined
  std::string note;     // what load_grey did to the files
};

/// --image is the noisy picture, or with `add_noise` the clean one to which noise of `sigma` (on
/// [0, 1]) is added (conv::add_gaussian_noise, seeded by `seed`); `clean_path` (--clean) names a
/// reference of the same size.
NoisyPicture load_noisy_picture(const std::string& image_path, const std::string& clean_path, bool add_noise,
                                double sigma, uint64_t seed);

/// The flags of both CSC restorations that shape the dictionary learned when no --dict is given.
struct LearningFlags {
  int64_t atoms = conv::SelfLearningOptions().atoms();
  int64_t kernel_size = conv::SelfLearningOptions().kernel_size();
  int64_t crops = conv::SelfLearningOptions().crops();
  int64_t epochs = conv::SelfLearningOptions().epochs();
};

/// The flags csc-denoise and csc-inpaint share: the dictionary, the coding and the outputs.
struct CodingFlags {
  std::string image, dict, out, save_dict;
  double lambda = 0, lowpass_sigma = 0;
  int64_t iters = 0;
  LearningFlags learning;
  bool json = false;
};

/// Registers --dict, --iters, --lowpass-sigma (with `lowpass_help`), the learning flags,
/// --save-dict and --json on `cmd`.
void add_coding_options(CLI::App* cmd, CodingFlags& f, const std::string& lowpass_help);

/// SelfLearningOptions from the flags, seeded by --seed, with terminal progress when `report`.
conv::SelfLearningOptions learning_options(const LearningFlags& f, Context& ctx, bool report);

/// {"psnr": ..., "ssim": ...}.
nlohmann::json quality_json(const conv::ImageQuality& q);

/// With a clean reference: adds {"noisy": quality, "denoised": quality} to `report` and returns the
/// two lines "noisy:    PSNR ..." / "denoised: PSNR ..." to print; without one, returns "".
std::string score_denoising(const NoisyPicture& picture, const torch::Tensor& denoised, nlohmann::json& report);

/// The report keys both CSC restorations give for `picture` [1, 1, H, W] restored into `r`.
nlohmann::json restoration_json(const std::string& command, const CodingFlags& f, const torch::Tensor& picture,
                                const conv::RestorationResult& r, double seconds, const std::string& note);

/// " with 24 atoms 8x8 from W.npy, lambda 0.01, 300 FISTA iterations (iteration cap reached)",
/// lambda with `precision` significant digits.
std::string coding_summary(const conv::RestorationResult& r, const std::string& dict, int precision);

/// Writes the dictionary of `r` (--save-dict) when asked and the restored picture to --out.
void write_restoration(const CodingFlags& f, const conv::RestorationResult& r, const torch::Tensor& restored);

}  // namespace deepsc::cli::restore
