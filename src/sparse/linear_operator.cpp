#include "deepsc/sparse/linear_operator.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::sparse {

torch::Tensor LinearOperator::normal(const torch::Tensor& codes) const { return adjoint(apply(codes)); }

torch::Tensor LinearOperator::scaled_adjoint(const torch::Tensor& signals, double scale, const torch::Tensor& bias) const {
  auto out = adjoint(signals) * scale;
  if (!bias.defined()) return out;
  if (bias.dim() != 1 || out.dim() < 2 || bias.size(0) != out.size(1)) {
    std::ostringstream msg;
    msg << "scaled_adjoint bias must be [" << (out.dim() >= 2 ? out.size(1) : 0) << "] (one per code channel), got "
        << bias.sizes();
    throw std::invalid_argument(msg.str());
  }
  std::vector<int64_t> shape(static_cast<size_t>(out.dim()), 1);
  shape[1] = bias.size(0);
  return out + bias.view(shape);
}

namespace {
/// Generic z − η Dᵀ(D z − y) through apply/adjoint; works for any operator.
class GenericGradientStep final : public GradientStep {
 public:
  GenericGradientStep(const LinearOperator& op, torch::Tensor signals, double step)
      : op_(op), signals_(std::move(signals)), step_(step) {}
  torch::Tensor operator()(const torch::Tensor& z, torch::Tensor out) const override {
    auto grad = op_.adjoint(op_.apply(z) - signals_);
    if (out.defined()) return torch::sub_out(out, z, grad, step_);
    return z - step_ * grad;
  }

 private:
  const LinearOperator& op_;
  torch::Tensor signals_;
  double step_;
};
}  // namespace

std::unique_ptr<GradientStep> LinearOperator::gradient_step(const torch::Tensor& signals, double step) const {
  return std::make_unique<GenericGradientStep>(*this, signals, step);
}

void LinearOperator::check_signals(const torch::Tensor& signals, const char* what) const {
  if (!signals.defined()) throw std::invalid_argument(std::string(what) + " is undefined");
  const auto opts = tensor_options();
  if (signals.scalar_type() != c10::typeMetaToScalarType(opts.dtype())) {
    std::ostringstream msg;
    msg << what << " have dtype " << signals.scalar_type() << " but the dictionary has "
        << c10::typeMetaToScalarType(opts.dtype()) << "; convert one of them";
    throw std::invalid_argument(msg.str());
  }
  if (signals.device() != opts.device()) {
    std::ostringstream msg;
    msg << what << " are on " << signals.device() << " but the dictionary is on " << opts.device();
    throw std::invalid_argument(msg.str());
  }
  (void)code_shape(signals.sizes());
}

double LinearOperator::power_iteration(torch::Tensor& v, const LipschitzOptions& options) const {
  torch::NoGradGuard no_grad;
  v = v / v.norm().clamp_min(1e-30);
  double estimate = 0;
  for (int64_t it = 0; it < options.max_iter(); ++it) {
    auto w = normal(v);
    const double next = w.norm().item<double>();
    if (next == 0) return 0;  // D = 0 (or v in its null space at the first step, vanishingly rare)
    v = w / next;
    // ‖DᵀD v‖ never decreases along the iteration in exact arithmetic (DᵀD is symmetric, so
    // ‖A²v‖ ≥ ‖Av‖² for unit v by Cauchy–Schwarz): a step that does not grow it by more than tol
    // (relative) has converged, and a decrease is rounding at convergence.
    if (next - estimate <= options.tol() * next) return std::max(next, estimate);
    estimate = next;
  }
  return estimate;
}

torch::Tensor LinearOperator::power_start(c10::IntArrayRef signal_shape) const {
  auto shape = code_shape(signal_shape);
  shape[0] = 1;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(20240611);
  return torch::randn(shape, gen, torch::TensorOptions().dtype(torch::kDouble))
      .to(tensor_options().device(), c10::typeMetaToScalarType(tensor_options().dtype()));
}

double LinearOperator::lipschitz_uncached(c10::IntArrayRef signal_shape, const LipschitzOptions& options) const {
  auto v = power_start(signal_shape);
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cached_vector_.defined() && cached_vector_.sizes() == v.sizes()) v = cached_vector_.clone();
  }
  const double value = power_iteration(v, options);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  cached_vector_ = v;
  return value;
}

double LinearOperator::lipschitz(c10::IntArrayRef signal_shape, const LipschitzOptions& options) const {
  auto shape = code_shape(signal_shape);
  shape[0] = 1;
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cached_lipschitz_ > 0 && cached_shape_ == shape) return cached_lipschitz_;
  }
  const double value = lipschitz_uncached(signal_shape, options);
  std::lock_guard<std::mutex> lock(cache_mutex_);
  cached_shape_ = shape;
  cached_lipschitz_ = value;
  return value;
}

void LinearOperator::invalidate_lipschitz() const {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  cached_lipschitz_ = 0;
  cached_shape_.clear();
}

}  // namespace deepsc::sparse
