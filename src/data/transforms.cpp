#include "deepsc/data/transforms.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

#include "../support/text.h"

namespace deepsc::data {
namespace {

namespace F = torch::nn::functional;

using deepsc::detail::shape_string;

void check_image(const char* who, const torch::Tensor& image) {
  if (!image.defined() || image.dim() != 3 || !image.is_floating_point())
    throw std::invalid_argument(std::string(who) + ": expected a floating-point image [C, H, W], got " +
                                (image.defined() ? std::string(c10::toString(image.scalar_type())) +
                                                       " " + shape_string(image)
                                                 : std::string("an undefined tensor")));
}

// Random draws from a torch CPU generator (mt19937 inside).
uint64_t next_u64(torch::Generator& gen) {
  auto* impl = at::check_generator<at::CPUGeneratorImpl>(gen);
  std::lock_guard<std::mutex> lock(gen.mutex());
  return impl->random64();
}

// Uniform in [0, 1) with 53 random bits.
double uniform01(torch::Generator& gen) {
  return static_cast<double>(next_u64(gen) >> 11) * (1.0 / 9007199254740992.0);
}

double uniform(torch::Generator& gen, double lo, double hi) { return lo + (hi - lo) * uniform01(gen); }

// Uniform integer in [lo, hi] (requires lo <= hi), without modulo bias.
int64_t uniform_int(torch::Generator& gen, int64_t lo, int64_t hi) {
  const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
  if (range == 0) return static_cast<int64_t>(next_u64(gen));  // the full 64-bit range
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % range;
  uint64_t x = next_u64(gen);
  while (x >= limit) x = next_u64(gen);
  return lo + static_cast<int64_t>(x % range);
}

// The h×w window of `image` whose top-left corner is (y0, x0), which may reach outside the image:
// the outside is zero. A view when the window lies inside.
torch::Tensor crop_zero_fill(const torch::Tensor& image, int64_t y0, int64_t x0, int64_t h, int64_t w) {
  const int64_t H = image.size(1), W = image.size(2);
  if (y0 >= 0 && x0 >= 0 && y0 + h <= H && x0 + w <= W)
    return image.slice(1, y0, y0 + h).slice(2, x0, x0 + w);
  torch::Tensor out = torch::zeros({image.size(0), h, w}, image.options());
  const int64_t ys = std::max<int64_t>(y0, 0), ye = std::min(y0 + h, H);
  const int64_t xs = std::max<int64_t>(x0, 0), xe = std::min(x0 + w, W);
  if (ys < ye && xs < xe)
    out.slice(1, ys - y0, ye - y0).slice(2, xs - x0, xe - x0).copy_(image.slice(1, ys, ye).slice(2, xs, xe));
  return out;
}

torch::Tensor resize_to(const torch::Tensor& image, int64_t h, int64_t w) {
  if (image.size(1) == h && image.size(2) == w) return image;
  const bool shrink = h < image.size(1) || w < image.size(2);
  return F::interpolate(image.unsqueeze(0), F::InterpolateFuncOptions()
                                                .size(std::vector<int64_t>{h, w})
                                                .mode(torch::kBilinear)
                                                .align_corners(false)
                                                .antialias(shrink))
      .squeeze(0);
}

class Normalize : public Transform {
 public:
  Normalize(std::vector<double> mean, std::vector<double> std) {
    if (mean.empty() || mean.size() != std.size())
      throw std::invalid_argument("normalize: need one mean and one std per channel (or one of each), got " +
                                  std::to_string(mean.size()) + " means and " +
                                  std::to_string(std.size()) + " stds");
    for (const double s : std)
      if (!(s > 0)) throw std::invalid_argument("normalize: every std must be > 0, got " + std::to_string(s));
    const auto n = static_cast<int64_t>(mean.size());
    mean_ = torch::tensor(mean, torch::kDouble).to(torch::kFloat).view({n, 1, 1});
    std_ = torch::tensor(std, torch::kDouble).to(torch::kFloat).view({n, 1, 1});
  }
  torch::Tensor operator()(torch::Tensor image, torch::Generator&) const override {
    check_image("normalize", image);
    const int64_t n = mean_.size(0);
    if (n != 1 && n != image.size(0))
      throw std::invalid_argument("normalize: image " + shape_string(image) + " has " +
                                  std::to_string(image.size(0)) + " channels but " +
                                  std::to_string(n) + " means and stds were given");
    return image.sub(mean_.to(image.scalar_type())).div_(std_.to(image.scalar_type()));
  }

 private:
  torch::Tensor mean_, std_;
};

class RandomCrop : public Transform {
 public:
  RandomCrop(int64_t size, int64_t padding) : size_(size), padding_(padding) {
    if (size < 1) throw std::invalid_argument("random_crop: size must be >= 1, got " + std::to_string(size));
    if (padding < 0)
      throw std::invalid_argument("random_crop: padding must be >= 0, got " + std::to_string(padding));
  }
  torch::Tensor operator()(torch::Tensor image, torch::Generator& gen) const override {
    check_image("random_crop", image);
    const int64_t H = image.size(1) + 2 * padding_, W = image.size(2) + 2 * padding_;
    if (H < size_ || W < size_)
      throw std::invalid_argument("random_crop: image " + shape_string(image) + " padded by " +
                                  std::to_string(padding_) + " is smaller than the crop size " +
                                  std::to_string(size_));
    const int64_t top = uniform_int(gen, 0, H - size_);
    const int64_t left = uniform_int(gen, 0, W - size_);
    return crop_zero_fill(image, top - padding_, left - padding_, size_, size_);
  }

 private:
  int64_t size_, padding_;
};

class RandomHorizontalFlip : public Transform {
 public:
  explicit RandomHorizontalFlip(double p) : p_(p) {
    if (!(p >= 0 && p <= 1))
      throw std::invalid_argument("random_horizontal_flip: p must be in [0, 1], got " + std::to_string(p));
  }
  torch::Tensor operator()(torch::Tensor image, torch::Generator& gen) const override {
    check_image("random_horizontal_flip", image);
    return uniform01(gen) < p_ ? image.flip({2}) : image;
  }

 private:
  double p_;
};

class RandomResizedCrop : public Transform {
 public:
  RandomResizedCrop(int64_t size, std::pair<double, double> scale, std::pair<double, double> ratio)
      : size_(size), scale_(scale), ratio_(ratio) {
    if (size < 1)
      throw std::invalid_argument("random_resized_crop: size must be >= 1, got " + std::to_string(size));
    if (!(scale.first > 0 && scale.first <= scale.second && scale.second <= 1))
      throw std::invalid_argument("random_resized_crop: scale must satisfy 0 < min <= max <= 1, got (" +
                                  std::to_string(scale.first) + ", " + std::to_string(scale.second) + ")");
    if (!(ratio.first > 0 && ratio.first <= ratio.second))
      throw std::invalid_argument("random_resized_crop: ratio must satisfy 0 < min <= max, got (" +
                                  std::to_string(ratio.first) + ", " + std::to_string(ratio.second) + ")");
  }
  torch::Tensor operator()(torch::Tensor image, torch::Generator& gen) const override {
    check_image("random_resized_crop", image);
    const int64_t H = image.size(1), W = image.size(2);
    const double area = static_cast<double>(H) * static_cast<double>(W);
    const double log_lo = std::log(ratio_.first), log_hi = std::log(ratio_.second);
    for (int attempt = 0; attempt < 10; ++attempt) {
      const double target = area * uniform(gen, scale_.first, scale_.second);
      const double aspect = std::exp(uniform(gen, log_lo, log_hi));
      const auto w = static_cast<int64_t>(std::llround(std::sqrt(target * aspect)));
      const auto h = static_cast<int64_t>(std::llround(std::sqrt(target / aspect)));
      if (w > 0 && w <= W && h > 0 && h <= H) {
        const int64_t top = uniform_int(gen, 0, H - h);
        const int64_t left = uniform_int(gen, 0, W - w);
        return resize_to(crop_zero_fill(image, top, left, h, w), size_, size_);
      }
    }
    // Fallback: the largest centred crop whose aspect ratio lies in `ratio`.
    const double in_ratio = static_cast<double>(W) / static_cast<double>(H);
    int64_t w = W, h = H;
    if (in_ratio < ratio_.first) {
      h = std::max<int64_t>(1, std::llround(static_cast<double>(W) / ratio_.first));
    } else if (in_ratio > ratio_.second) {
      w = std::max<int64_t>(1, std::llround(static_cast<double>(H) * ratio_.second));
    }
    h = std::min(h, H);
    w = std::min(w, W);
    return resize_to(crop_zero_fill(image, (H - h) / 2, (W - w) / 2, h, w), size_, size_);
  }

 private:
  int64_t size_;
  std::pair<double, double> scale_, ratio_;
};

class Resize : public Transform {
 public:
  explicit Resize(int64_t shorter) : shorter_(shorter) {
    if (shorter < 1) throw std::invalid_argument("resize: shorter side must be >= 1, got " + std::to_string(shorter));
  }
  torch::Tensor operator()(torch::Tensor image, torch::Generator&) const override {
    check_image("resize", image);
    const int64_t H = image.size(1), W = image.size(2);
    if (H < 1 || W < 1) throw std::invalid_argument("resize: empty image " + shape_string(image));
    int64_t h = shorter_, w = shorter_;
    if (H <= W) {
      w = std::max<int64_t>(1, shorter_ * W / H);
    } else {
      h = std::max<int64_t>(1, shorter_ * H / W);
    }
    return resize_to(image, h, w);
  }

 private:
  int64_t shorter_;
};

class CenterCrop : public Transform {
 public:
  explicit CenterCrop(int64_t size) : size_(size) {
    if (size < 1) throw std::invalid_argument("center_crop: size must be >= 1, got " + std::to_string(size));
  }
  torch::Tensor operator()(torch::Tensor image, torch::Generator&) const override {
    check_image("center_crop", image);
    const auto offset = [&](int64_t extent) {
      return extent >= size_ ? (extent - size_) / 2 : -((size_ - extent) / 2);
    };
    return crop_zero_fill(image, offset(image.size(1)), offset(image.size(2)), size_, size_);
  }

 private:
  int64_t size_;
};

class Compose : public Transform {
 public:
  explicit Compose(std::vector<std::shared_ptr<Transform>> steps) : steps_(std::move(steps)) {
    for (size_t i = 0; i < steps_.size(); ++i)
      if (!steps_[i]) throw std::invalid_argument("compose: step " + std::to_string(i) + " is null");
  }
  torch::Tensor operator()(torch::Tensor image, torch::Generator& gen) const override {
    for (const auto& s : steps_) image = (*s)(image, gen);
    return image;
  }

 private:
  std::vector<std::shared_ptr<Transform>> steps_;
};

}  // namespace

torch::Generator cpu_generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

std::shared_ptr<Transform> normalize(std::vector<double> mean, std::vector<double> std) {
  return std::make_shared<Normalize>(std::move(mean), std::move(std));
}
std::shared_ptr<Transform> random_crop(int64_t size, int64_t padding) {
  return std::make_shared<RandomCrop>(size, padding);
}
std::shared_ptr<Transform> random_horizontal_flip(double p) { return std::make_shared<RandomHorizontalFlip>(p); }
std::shared_ptr<Transform> random_resized_crop(int64_t size, std::pair<double, double> scale,
                                               std::pair<double, double> ratio) {
  return std::make_shared<RandomResizedCrop>(size, scale, ratio);
}
std::shared_ptr<Transform> resize(int64_t shorter_side) { return std::make_shared<Resize>(shorter_side); }
std::shared_ptr<Transform> center_crop(int64_t size) { return std::make_shared<CenterCrop>(size); }
std::shared_ptr<Transform> compose(std::vector<std::shared_ptr<Transform>> steps) {
  return std::make_shared<Compose>(std::move(steps));
}

}  // namespace deepsc::data
