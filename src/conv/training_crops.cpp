#include "deepsc/conv/training_crops.h"

#include "deepsc/conv/image_filters.h"

#include <sstream>
#include <stdexcept>
#include <string>

namespace deepsc::conv {

torch::Tensor highpass_crops(const std::vector<torch::Tensor>& pictures, const TrainingCropOptions& options,
                             torch::Generator gen) {
  const int64_t s = options.crop();
  if (s < 1) throw std::invalid_argument("highpass_crops: crop must be >= 1, got " + std::to_string(s));
  if (options.crops_per_image() < 1)
    throw std::invalid_argument("highpass_crops: crops_per_image must be >= 1, got " + std::to_string(options.crops_per_image()));
  if (!(options.lowpass_sigma() > 0)) throw std::invalid_argument("highpass_crops: lowpass_sigma must be > 0");
  if (pictures.empty()) throw std::invalid_argument("highpass_crops: no pictures");
  const c10::optional<torch::Generator> g = gen.defined() ? c10::optional<torch::Generator>(gen) : c10::nullopt;
  std::vector<torch::Tensor> crops;
  for (const auto& picture : pictures) {
    if (!picture.defined() || picture.dim() != 4 || picture.size(0) != 1 || !picture.is_floating_point() ||
        picture.size(2) < s || picture.size(3) < s) {
      std::ostringstream msg;
      msg << "highpass_crops: pictures must be floating point [1, C, H, W] with H, W >= crop (" << s << "), got "
          << (picture.defined() ? picture.sizes() : c10::IntArrayRef{});
      throw std::invalid_argument(msg.str());
    }
    const auto high = split_frequencies(picture.to(torch::kDouble), options.lowpass_sigma()).high.to(picture.scalar_type());
    for (int64_t c = 0; c < options.crops_per_image(); ++c) {
      const int64_t top = torch::randint(picture.size(2) - s + 1, {1}, g).item<int64_t>();
      const int64_t left = torch::randint(picture.size(3) - s + 1, {1}, g).item<int64_t>();
      crops.push_back(high.narrow(2, top, s).narrow(3, left, s));
    }
  }
  return torch::cat(crops, 0).contiguous();
}

}  // namespace deepsc::conv
