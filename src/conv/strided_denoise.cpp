#include "deepsc/conv/strided_denoise.h"

#include "deepsc/conv/masked_operator.h"
#include "deepsc/dictlearn/denoising_dictionary.h"
#include "deepsc/sparse/unrolled_pursuit.h"

#include <chrono>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::conv {

namespace {

namespace F = torch::nn::functional;

double seconds_from(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void check_options(const StridedDenoiseOptions& o) {
  const auto finite_at_least = [](double value, double low, const char* name, bool strict) {
    if (!std::isfinite(value) || value < low || (strict && value == low)) {
      std::ostringstream msg;
      msg << name << " must be a finite number " << (strict ? "> " : ">= ") << low << ", got " << value;
      throw std::invalid_argument(msg.str());
    }
  };
  finite_at_least(o.sigma(), 0, "sigma", /*strict=*/true);
  finite_at_least(o.lambda(), 0, "lambda", false);
  finite_at_least(o.lambda_per_sigma(), 0, "lambda_per_sigma", false);
  if (o.max_iter() < 1) throw std::invalid_argument("max_iter must be >= 1, got " + std::to_string(o.max_iter()));
  if (o.debias_iter() < 0)
    throw std::invalid_argument("debias_iter must be >= 0, got " + std::to_string(o.debias_iter()));
}

void check_noisy_images(const torch::Tensor& images) {
  if (!images.defined() || images.dim() != 4 || !images.is_floating_point() || images.numel() == 0) {
    std::ostringstream msg;
    msg << "images must be non-empty floating point [N, C, H, W], got "
        << (images.defined() ? images.sizes() : c10::IntArrayRef{});
    throw std::invalid_argument(msg.str());
  }
  if (!torch::isfinite(images).all().item<bool>()) throw std::invalid_argument("images contain NaN or Inf");
}

/// W [M, C, k, k] with unit-norm atoms, in the images' dtype and device, checked against them.
torch::Tensor unit_atoms(const torch::Tensor& weights, const torch::Tensor& images) {
  if (weights.dim() != 4 || !weights.is_floating_point() || weights.size(0) < 1 ||
      weights.size(1) != images.size(1) || weights.size(2) != weights.size(3)) {
    std::ostringstream msg;
    msg << "dictionary " << weights.sizes() << " does not fit images " << images.sizes()
        << " (needs [M, C, k, k] with C = " << images.size(1) << ", square atoms)";
    throw std::invalid_argument(msg.str());
  }
  if (!torch::isfinite(weights).all().item<bool>()) throw std::invalid_argument("dictionary contains NaN or Inf");
  const auto w = weights.to(images.options());
  const auto norms = w.reshape({w.size(0), -1}).norm(2, {1});
  if (!(norms > 0).all().item<bool>()) throw std::invalid_argument("dictionary has an all-zero atom");
  return (w / norms.view({-1, 1, 1, 1})).contiguous();
}

/// The atoms of one shift's coding: W followed by the constant atom 1/(k√C).
torch::Tensor with_constant_atom(const torch::Tensor& w) {
  const double value = 1.0 / (static_cast<double>(w.size(2)) * std::sqrt(static_cast<double>(w.size(1))));
  return torch::cat({w, torch::full({1, w.size(1), w.size(2), w.size(3)}, value, w.options())}).contiguous();
}

/// A guaranteed ‖D_sᵀD_s‖₂ bound: the code positions split into ⌈k/s⌉² classes (position mod
/// ⌈k/s⌉ per axis) whose atoms do not overlap, each class's synthesis has norm σ_max(W) (W as a
/// [M, C·k²] matrix), and ‖Σ_c D_c z_c‖² ≤ (#classes) Σ_c ‖D_c z_c‖² (Cauchy–Schwarz). The mask
/// (0/1) only lowers the norm. Exact for s = k.
double strided_lipschitz_bound(const torch::Tensor& atoms, int64_t stride) {
  const int64_t k = atoms.size(2), classes_per_axis = (k + stride - 1) / stride;
  const double top = torch::linalg_svdvals(atoms.reshape({atoms.size(0), -1}).to(torch::kDouble))[0].item<double>();
  return static_cast<double>(classes_per_axis * classes_per_axis) * top * top;
}

struct ShiftEstimate {
  torch::Tensor image;  // [N, C, H, W]
  double nonzeros = 0;  // non-zero codes per image
};

/// One shift (a, b) of the stride grid: lasso, refit on the support, the image's window.
ShiftEstimate code_shift(const torch::Tensor& images, const torch::Tensor& atoms, const torch::Tensor& penalty,
                         double lipschitz, int64_t a, int64_t b, const StridedDenoiseOptions& o) {
  const int64_t s = o.stride(), k = atoms.size(2), H = images.size(2), W = images.size(3);
  const int64_t top = k - s + a, left = k - s + b;
  const int64_t rows = (top + H - 1) / s + 1, cols = (left + W - 1) / s + 1;  // code grid
  const int64_t canvas_h = (rows - 1) * s + k, canvas_w = (cols - 1) * s + k;
  const auto pad = F::PadFuncOptions({left, canvas_w - left - W, top, canvas_h - top - H});
  const auto canvas = F::pad(images, pad).contiguous();
  const auto mask = F::pad(torch::ones({1, 1, H, W}, images.options()), pad);

  auto dict = std::make_shared<ConvDictionary>(atoms, ConvOptions().stride(s));
  const MaskedOperator op(dict, mask);
  const double step = 1.0 / lipschitz;
  auto codes = sparse::unrolled_pursuit(op, canvas, sparse::PursuitLambda::per_atom(penalty),
                                        sparse::UnrolledPursuitOptions(step)
                                            .iterations(o.max_iter())
                                            .solver(sparse::UnrolledSolver::Fista)
                                            .nonneg(false));
  if (o.debias_iter() > 0) {
    // FISTA on ½‖M ⊙ (Y − D z)‖² over the codes with the lasso's support (projected gradient).
    const auto support = (codes != 0).to(codes.scalar_type());
    auto previous = codes, extrapolated = codes;
    double t = 1;
    for (int64_t it = 0; it < o.debias_iter(); ++it) {
      auto next = (extrapolated - step * op.adjoint(op.apply(extrapolated) - canvas)) * support;
      const double t_next = (1 + std::sqrt(1 + 4 * t * t)) / 2;
      extrapolated = next + ((t - 1) / t_next) * (next - previous);
      previous = std::move(next);
      t = t_next;
    }
    codes = previous;
  }
  ShiftEstimate estimate;
  estimate.image = dict->apply(codes).narrow(2, top, H).narrow(3, left, W);
  estimate.nonzeros = (codes != 0).sum().item<double>() / static_cast<double>(images.size(0));
  return estimate;
}

/// X̂ of images [N, C, H, W] over the unit atoms W [M, C, k, k]: the mean of the s² shift estimates.
torch::Tensor denoise_with(const torch::Tensor& images, const torch::Tensor& w, double lambda,
                           const StridedDenoiseOptions& o, RestorationResult& result) {
  const auto atoms = with_constant_atom(w);
  auto penalty = torch::full({atoms.size(0)}, lambda, images.options());
  penalty[atoms.size(0) - 1] = 0;
  const double lipschitz = strided_lipschitz_bound(atoms, o.stride());
  auto sum = torch::zeros_like(images);
  double nonzeros = 0;
  for (int64_t a = 0; a < o.stride(); ++a) {
    for (int64_t b = 0; b < o.stride(); ++b) {
      const auto estimate = code_shift(images, atoms, penalty, lipschitz, a, b, o);
      sum += estimate.image;
      nonzeros += estimate.nonzeros;
    }
  }
  const double shifts = static_cast<double>(o.stride() * o.stride());
  result.nonzeros += nonzeros / shifts * static_cast<double>(images.size(0));
  return (sum / shifts).clamp(0, 1);
}

}  // namespace

RestorationResult strided_csc_denoise(const torch::Tensor& images, const torch::Tensor& weights,
                                      const StridedDenoiseOptions& o) {
  check_noisy_images(images);
  check_options(o);
  const int64_t k = weights.defined() ? weights.size(-1) : o.kernel_size();
  if (o.stride() < 1 || o.stride() > k) {
    std::ostringstream msg;
    msg << "stride must be in [1, " << k << "] (the atoms are " << k << "x" << k << "), got " << o.stride();
    throw std::invalid_argument(msg.str());
  }
  if (images.size(2) < k || images.size(3) < k) {
    std::ostringstream msg;
    msg << "images " << images.sizes() << " are smaller than the " << k << "x" << k << " atoms";
    throw std::invalid_argument(msg.str());
  }
  if (!weights.defined() && images.size(1) != 1)
    throw std::invalid_argument("learning the dictionary needs grey images (C = 1), got C = " +
                                std::to_string(images.size(1)) + "; give a dictionary for colour images");
  torch::NoGradGuard no_grad;

  RestorationResult result;
  result.lambda = o.lambda() > 0 ? o.lambda() : o.lambda_per_sigma() * o.sigma();
  result.iterations = o.max_iter() + o.debias_iter();
  if (weights.defined()) {
    result.weights = unit_atoms(weights, images);
    const auto start = std::chrono::steady_clock::now();
    result.image = denoise_with(images, result.weights, result.lambda, o, result);
    result.coding_seconds = seconds_from(start);
  } else {
    // K-SVD denoising learns on each noisy picture's own patches; so does this.
    std::vector<torch::Tensor> denoised;
    result.learned = true;
    for (int64_t i = 0; i < images.size(0); ++i) {
      const auto learning = dictlearn::DenoisingDictionaryOptions(o.sigma())
                                .patch(o.kernel_size())
                                .atoms(o.atoms())
                                .iterations(o.learning_iterations())
                                .seed(o.seed());
      const auto learned = dictlearn::learn_denoising_dictionary(images[i][0], learning);
      result.learning_seconds += learned.seconds;
      result.weights = unit_atoms(learned.atoms.t().reshape({-1, 1, k, k}), images);
      const auto start = std::chrono::steady_clock::now();
      denoised.push_back(denoise_with(images.narrow(0, i, 1), result.weights, result.lambda, o, result));
      result.coding_seconds += seconds_from(start);
    }
    result.image = torch::cat(denoised);
  }
  result.nonzeros /= static_cast<double>(images.size(0));
  // converged stays false: fixed iteration counts, no tolerance is tested.
  return result;
}

}  // namespace deepsc::conv
