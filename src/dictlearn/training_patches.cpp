#include "deepsc/dictlearn/training_patches.h"

#include "deepsc/data/patches.h"
#include "deepsc/data/whitening.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <stdexcept>

namespace deepsc::dictlearn {

namespace {

/// `samples` p × p patches from the pictures, each picture giving a share proportional to its
/// number of patch positions (the last one takes the rounding), [samples, p²].
torch::Tensor draw_patches(const std::vector<torch::Tensor>& pictures, int64_t patch, int64_t samples,
                           torch::Generator& gen) {
  std::vector<double> positions;
  double total = 0;
  for (const auto& pic : pictures) {
    positions.push_back(static_cast<double>((pic.size(2) - patch + 1) * (pic.size(3) - patch + 1)));
    total += positions.back();
  }
  std::vector<torch::Tensor> drawn;
  int64_t left = samples;
  for (size_t i = 0; i < pictures.size() && left > 0; ++i) {
    const int64_t count = i + 1 == pictures.size()
                              ? left
                              : std::min(left, static_cast<int64_t>(std::llround(samples * positions[i] / total)));
    if (count > 0) drawn.push_back(data::random_patches(pictures[i], patch, count, gen));
    left -= count;
  }
  return torch::cat(drawn, 0);
}

void check_pictures(const std::vector<torch::Tensor>& pictures, int64_t patch) {
  if (pictures.empty()) throw std::invalid_argument("pictures: none given");
  for (const auto& p : pictures) {
    if (!p.defined() || p.dim() != 4 || p.size(0) != 1 || p.size(1) != 1 || !p.is_floating_point())
      throw std::invalid_argument("pictures must be grey floating point [1, 1, H, W]");
    if (p.size(2) < patch || p.size(3) < patch)
      throw std::invalid_argument("pictures: one is smaller than the patch side " + std::to_string(patch));
  }
}

}  // namespace

PatchWhitening parse_patch_whitening(const std::string& name) {
  if (name == "none") return PatchWhitening::None;
  if (name == "of") return PatchWhitening::OlshausenField;
  if (name == "zca") return PatchWhitening::Zca;
  throw std::invalid_argument("whitening '" + name + "': expected none, of or zca");
}

TrainingPatches split_holdout(const torch::Tensor& patches, double holdout_fraction, const torch::Tensor& holdout) {
  if (!patches.defined() || patches.dim() != 2) throw std::invalid_argument("patches must be a matrix [N, n]");
  const auto all = patches.to(torch::kFloat).contiguous();
  TrainingPatches out;
  if (holdout.defined()) {
    if (holdout.dim() != 2 || holdout.size(1) != all.size(1))
      throw std::invalid_argument("holdout: rows of length " + std::to_string(holdout.dim() == 2 ? holdout.size(1) : 0) +
                                  " but the patches have " + std::to_string(all.size(1)));
    out.train = all;
    out.holdout = holdout.to(torch::kFloat).contiguous();
    return out;
  }
  if (!(holdout_fraction >= 0 && holdout_fraction < 1))
    throw std::invalid_argument("holdout_fraction must be in [0, 1), got " + std::to_string(holdout_fraction));
  const auto held = static_cast<int64_t>(std::floor(holdout_fraction * static_cast<double>(all.size(0))));
  if (all.size(0) - held < 1) throw std::invalid_argument("no training patches left after the held-out fraction");
  out.train = all.narrow(0, 0, all.size(0) - held).contiguous();
  if (held > 0) out.holdout = all.narrow(0, all.size(0) - held, held).contiguous();
  return out;
}

TrainingPatches patches_from_pictures(const std::vector<torch::Tensor>& pictures, const TrainingPatchOptions& o,
                                      const torch::Tensor& holdout) {
  if (o.patch() < 1) throw std::invalid_argument("patch must be >= 1, got " + std::to_string(o.patch()));
  if (o.samples() < 1) throw std::invalid_argument("samples must be >= 1, got " + std::to_string(o.samples()));
  check_pictures(pictures, o.patch());
  std::vector<torch::Tensor> prepared;
  for (const auto& picture : pictures) {
    prepared.push_back(o.whitening() == PatchWhitening::OlshausenField
                           ? data::whiten_images(picture.to(torch::kDouble), data::ImageWhiteningOptions()).to(torch::kFloat)
                           : picture.to(torch::kFloat));
  }
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed());
  auto all = draw_patches(prepared, o.patch(), o.samples(), gen);
  all = all.index_select(0, torch::randperm(all.size(0), gen, torch::kLong));
  all = data::remove_mean(all, o.contrast()).first;
  auto out = split_holdout(all, o.holdout_fraction(), holdout);

  // Transforms fitted on the training rows only, applied to both.
  if (o.whitening() == PatchWhitening::Zca) {
    const auto zca = data::ZcaWhitening::fit(out.train);
    out.train = zca.whiten(out.train);
    if (out.holdout.defined()) out.holdout = zca.whiten(out.holdout);
  }
  const double mean_norm = out.train.norm(2, {1}).mean().item<double>();
  if (!(mean_norm > 0)) throw std::invalid_argument("every patch is flat");
  out.train.div_(mean_norm);
  if (out.holdout.defined()) out.holdout.div_(mean_norm);
  return out;
}

}  // namespace deepsc::dictlearn
