#include "deepsc/conv/denoise.h"

#include "deepsc/conv/image_filters.h"
#include "deepsc/conv/lipschitz_bound.h"
#include "deepsc/conv/masked_operator.h"
#include "deepsc/sparse/analytic_dictionaries.h"
#include "deepsc/sparse/proximal_gradient.h"
#include "mask_check.h"
#include "restoration_support.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::conv {

namespace {

using detail::check_images;
using detail::seconds_since;

void check_nonnegative(double value, const char* name) {
  if (!(value >= 0) || !std::isfinite(value))
    throw std::invalid_argument(std::string(name) + " must be a finite number >= 0, got " + std::to_string(value));
}

void check_iterations(int64_t max_iter, double tol) {
  if (max_iter < 1) throw std::invalid_argument("max_iter must be >= 1, got " + std::to_string(max_iter));
  check_nonnegative(tol, "tol");
}

void check_learning(const SelfLearningOptions& o) {
  if (o.atoms() < 1) throw std::invalid_argument("learning: atoms must be >= 1");
  if (o.kernel_size() < 1) throw std::invalid_argument("learning: kernel_size must be >= 1");
  if (o.crops() < 1) throw std::invalid_argument("learning: crops must be >= 1");
  if (o.crop_size() < o.kernel_size())
    throw std::invalid_argument("learning: crop_size must be >= kernel_size (" + std::to_string(o.kernel_size()) + ")");
  if (o.epochs() < 1) throw std::invalid_argument("learning: epochs must be >= 1");
  if (o.coding_iters() < 1) throw std::invalid_argument("learning: coding_iters must be >= 1");
  check_nonnegative(o.lambda(), "learning: lambda");
}

/// The given dictionary in the images' dtype/device with unit-norm atoms (zero atoms stay zero),
/// after checking it fits the images.
torch::Tensor prepare_weights(const torch::Tensor& weights, const torch::Tensor& images) {
  if (weights.dim() != 4 || !weights.is_floating_point()) {
    std::ostringstream msg;
    msg << "dictionary must be floating point [M, C, k, k], got " << weights.sizes();
    throw std::invalid_argument(msg.str());
  }
  if (weights.size(1) != images.size(1) || weights.size(2) != weights.size(3) || weights.size(0) < 1) {
    std::ostringstream msg;
    msg << "dictionary " << weights.sizes() << " does not fit images " << images.sizes()
        << " (needs [M, C, k, k] with C = " << images.size(1) << ", square atoms)";
    throw std::invalid_argument(msg.str());
  }
  if (weights.size(2) > images.size(2) || weights.size(3) > images.size(3)) {
    std::ostringstream msg;
    msg << "dictionary atoms " << weights.sizes() << " are larger than the images " << images.sizes();
    throw std::invalid_argument(msg.str());
  }
  if (!torch::isfinite(weights).all().item<bool>()) throw std::invalid_argument("dictionary contains NaN or Inf");
  auto w = weights.to(images.options());
  const auto norms = w.reshape({w.size(0), -1}).norm(2, {1}).clamp_min(1e-12);
  return (w / norms.view({-1, 1, 1, 1})).contiguous();
}

/// Up to `count` random crops [count', C, s, s] of images [N, C, H, W], s = min(size, H, W): no
/// more than cover the images twice over, and the images themselves when a crop is a whole image.
torch::Tensor random_crops(const torch::Tensor& images, int64_t count, int64_t size, uint64_t seed) {
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  const int64_t s = std::min({size, h, w});
  if (s == h && s == w) return images.contiguous();
  count = std::min(count, std::max<int64_t>(1, (2 * n * h * w + s * s - 1) / (s * s)));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto index = torch::randint(n, {count}, gen, torch::kLong);
  const auto top = torch::randint(h - s + 1, {count}, gen, torch::kLong);
  const auto left = torch::randint(w - s + 1, {count}, gen, torch::kLong);
  std::vector<torch::Tensor> crops;
  for (int64_t c = 0; c < count; ++c) {
    crops.push_back(images[index[c].item<int64_t>()]
                        .narrow(1, top[c].item<int64_t>(), s)
                        .narrow(2, left[c].item<int64_t>(), s));
  }
  return torch::stack(crops).contiguous();
}

/// The given dictionary prepared, or one learned from `high`; fills the result's weights/learned.
void choose_dictionary(const torch::Tensor& weights, const torch::Tensor& images, const torch::Tensor& high,
                       const SelfLearningOptions& learning, double lambda, RestorationResult& result) {
  if (weights.defined()) {
    result.weights = prepare_weights(weights, images);
    return;
  }
  check_learning(learning);
  if (learning.kernel_size() > images.size(2) || learning.kernel_size() > images.size(3)) {
    std::ostringstream msg;
    msg << "learning: " << learning.kernel_size() << "x" << learning.kernel_size() << " atoms do not fit images "
        << images.sizes();
    throw std::invalid_argument(msg.str());
  }
  const auto start = std::chrono::steady_clock::now();
  result.weights = prepare_weights(learn_dictionary_from_image(high, learning, lambda), images);
  result.learned = true;
  result.learning_seconds = seconds_since(start);
}

sparse::ProximalGradientOptions coding_options(double lambda, int64_t max_iter, double tol) {
  return sparse::ProximalGradientOptions(lambda).max_iter(max_iter).tol(tol);
}

/// D with "full" codes (padding k − 1, stride 1) and its FFT bound as Lipschitz constant: a safe
/// step without a power iteration over code maps the size of the images.
std::shared_ptr<KnownLipschitzOperator> full_conv_operator(const torch::Tensor& weights, c10::IntArrayRef signal_shape) {
  auto dict = std::make_shared<ConvDictionary>(weights, ConvOptions().padding(weights.size(2) - 1));
  const double bound = conv_lipschitz_bound(*dict, signal_shape);
  return std::make_shared<KnownLipschitzOperator>(dict, bound);
}

void record_codes(const sparse::SolverResult& r, int64_t images, RestorationResult& result) {
  result.iterations = r.iterations;
  result.converged = r.converged;
  result.objective = r.objective;
  result.nonzeros = (r.codes != 0).sum().item<double>() / static_cast<double>(images);
}

}  // namespace

torch::Tensor dct_dictionary(int64_t atoms, int64_t channels, int64_t k, const torch::TensorOptions& options) {
  if (atoms < 1 || channels < 1 || k < 1)
    throw std::invalid_argument("dct_dictionary: atoms, channels and kernel size must be >= 1");
  const auto per_axis = std::max<int64_t>(k, static_cast<int64_t>(std::ceil(std::sqrt(double(atoms + 1)))));
  const auto frame = sparse::overcomplete_dct(k, per_axis, torch::kDouble);  // [k², q²], column i·q + j
  std::vector<std::pair<int64_t, int64_t>> order;  // (rank key, column)
  for (int64_t i = 0; i < per_axis; ++i)
    for (int64_t j = 0; j < per_axis; ++j)
      if (i + j > 0) order.emplace_back((i + j) * 4 * per_axis + std::abs(i - j), i * per_axis + j);
  std::stable_sort(order.begin(), order.end());
  std::vector<int64_t> columns;
  for (int64_t a = 0; a < atoms; ++a) columns.push_back(order[a].second);
  auto w = frame.index_select(1, torch::tensor(columns, torch::kLong)).t().reshape({atoms, 1, k, k});
  w = w.expand({atoms, channels, k, k}) / std::sqrt(double(channels));
  return w.contiguous().to(options);
}

torch::Tensor learn_dictionary_from_image(const torch::Tensor& high, const SelfLearningOptions& o, double lambda) {
  check_images(high);
  check_learning(o);
  check_nonnegative(lambda, "lambda");
  const auto crops = random_crops(high, o.crops(), o.crop_size(), o.seed());
  const auto options = DictionaryLearningOptions(o.atoms(), o.kernel_size())
                           .lambda(o.lambda() > 0 ? o.lambda() : lambda)
                           .epochs(o.epochs())
                           .coding_iters(o.coding_iters())
                           .initial(dct_dictionary(o.atoms(), high.size(1), o.kernel_size(), high.options()))
                           .seed(o.seed())
                           .on_epoch(o.on_epoch());
  return learn_conv_dictionary(crops, options).weights;
}

RestorationResult csc_denoise(const torch::Tensor& images, const torch::Tensor& weights, const DenoiseOptions& o) {
  check_images(images);
  check_nonnegative(o.sigma(), "sigma");
  check_nonnegative(o.lambda(), "lambda");
  check_nonnegative(o.lambda_per_sigma(), "lambda_per_sigma");
  check_iterations(o.max_iter(), o.tol());
  torch::NoGradGuard no_grad;

  RestorationResult result;
  const auto split = split_frequencies(images, o.lowpass_sigma());
  result.lowpass = split.low;
  result.lambda = o.lambda() > 0 ? o.lambda() : o.lambda_per_sigma() * o.sigma();
  choose_dictionary(weights, images, split.high, o.learning(), result.lambda, result);

  const auto start = std::chrono::steady_clock::now();
  const auto dict = full_conv_operator(result.weights, images.sizes());
  const auto codes = sparse::fista(*dict, split.high.contiguous(), coding_options(result.lambda, o.max_iter(), o.tol()));
  result.image = (dict->apply(codes.codes) + split.low).clamp(0, 1);
  result.coding_seconds = seconds_since(start);
  record_codes(codes, images.size(0), result);
  return result;
}

torch::Tensor inpaint_baseline(const torch::Tensor& images, const torch::Tensor& mask, double fill_sigma) {
  check_images(images);
  const auto fill = masked_lowpass(images, mask, fill_sigma);
  const auto m = mask.to(images.options());
  return (m * images + (1 - m) * fill).clamp(0, 1);
}

RestorationResult csc_inpaint(const torch::Tensor& images, const torch::Tensor& mask, const torch::Tensor& weights,
                              const InpaintOptions& o) {
  check_images(images);
  detail::check_mask_values(mask, 4, "mask");
  detail::check_mask_broadcasts(mask, images.sizes(), "mask");
  if (!(mask > 0).any().item<bool>()) throw std::invalid_argument("mask has no known pixel (all zero)");
  check_nonnegative(o.lambda(), "lambda");
  check_iterations(o.max_iter(), o.tol());
  torch::NoGradGuard no_grad;

  RestorationResult result;
  const auto m = mask.to(images.options());
  result.lowpass = masked_lowpass(images, m, o.lowpass_sigma());
  result.lambda = o.lambda();
  const auto high = (m * (images - result.lowpass)).contiguous();
  // One masked solve with the atoms W [M, C, k, k]; fills result.image and the solver fields.
  const auto solve = [&](const torch::Tensor& w) {
    const auto start = std::chrono::steady_clock::now();
    const auto dict = full_conv_operator(w, images.sizes());
    const MaskedOperator op(dict, m, /*inner_bound=*/true);
    const auto codes = sparse::fista(op, high, coding_options(result.lambda, o.max_iter(), o.tol()));
    auto restored = dict->apply(codes.codes) + result.lowpass;
    if (o.keep_observed()) restored = m * images + (1 - m) * restored;
    result.image = restored.clamp(0, 1);
    result.coding_seconds += seconds_since(start);
    record_codes(codes, images.size(0), result);
  };

  if (!weights.defined()) {
    // The atoms cannot be learned from the masked high-pass (they would learn the mask's dots),
    // nor well from a blurred fill: a first pass with the DCT atoms gives the complete image they
    // are learned from, and the second pass uses them.
    check_learning(o.learning());
    const auto& l = o.learning();
    solve(dct_dictionary(l.atoms(), images.size(1), l.kernel_size(), images.options()));
    const auto first = split_frequencies(result.image, o.lowpass_sigma()).high.contiguous();
    choose_dictionary(weights, images, first, l, result.lambda, result);
  } else {
    choose_dictionary(weights, images, high, o.learning(), result.lambda, result);
  }
  solve(result.weights);
  return result;
}

}  // namespace deepsc::conv
