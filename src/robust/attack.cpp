#include "deepsc/robust/attack.h"

#include "deepsc/data/number_text.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::robust {

namespace F = torch::nn::functional;

Norm parse_norm(const std::string& name) {
  if (name == "linf") return Norm::Linf;
  if (name == "l2") return Norm::L2;
  throw std::invalid_argument("unknown norm '" + name + "' (use linf or l2)");
}

const char* norm_name(Norm norm) { return norm == Norm::Linf ? "linf" : "l2"; }

namespace {

/// Reads the whole of `text` as a number (no blanks, nothing after it); false if it is not one.
bool parse_number(const std::string& text, double& value) {
  const auto parsed = data::parse_double(text);
  if (parsed) value = *parsed;
  return parsed.has_value();
}

/// Per-sample ℓ2 norms of x [N, ...] as [N, 1, ..., 1] (broadcasts against x).
torch::Tensor sample_norms(const torch::Tensor& x) {
  std::vector<int64_t> shape(x.dim(), 1);
  shape[0] = x.size(0);
  return x.reshape({x.size(0), -1}).norm(2, 1).view(shape);
}

/// δ projected onto the ε-ball of `norm` (per sample).
torch::Tensor project(const torch::Tensor& delta, Norm norm, double eps) {
  if (norm == Norm::Linf) return delta.clamp(-eps, eps);
  const auto n = sample_norms(delta);
  return delta * (eps / n.clamp_min(1e-30)).clamp_max(1.0);
}

/// A uniformly random point of the ε-ball around every sample (see AttackOptions::random_start),
/// drawn on the CPU from `seed` and moved to the images' device.
torch::Tensor random_start(const torch::Tensor& images, Norm norm, double eps, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto cpu = torch::TensorOptions().dtype(images.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat);
  torch::Tensor delta;
  if (norm == Norm::Linf) {
    delta = (torch::rand(images.sizes(), gen, cpu) * 2 - 1) * eps;
  } else {
    const int64_t n = images.size(0), d = images.numel() / std::max<int64_t>(n, 1);
    const auto direction = torch::randn(images.sizes(), gen, cpu);
    const auto radius = torch::rand({n}, gen, cpu).pow(1.0 / static_cast<double>(d)) * eps;
    std::vector<int64_t> shape(images.dim(), 1);
    shape[0] = n;
    delta = direction / sample_norms(direction).clamp_min(1e-30) * radius.view(shape);
  }
  return delta.to(images.device(), images.scalar_type());
}

void check_inputs(const torch::Tensor& images, const torch::Tensor& labels) {
  if (!images.defined() || images.dim() < 2 || images.size(0) < 1 || images.numel() == 0) {
    throw std::invalid_argument("attack: images must be a non-empty batch [N, ...]");
  }
  if (!images.is_floating_point()) throw std::invalid_argument("attack: images must be floating point");
  if (!labels.defined() || labels.dim() != 1 || labels.size(0) != images.size(0)) {
    std::ostringstream msg;
    msg << "attack: labels must be [N] = [" << images.size(0) << "]";
    if (labels.defined()) msg << ", got " << labels.sizes();
    throw std::invalid_argument(msg.str());
  }
  if (labels.scalar_type() != torch::kLong) throw std::invalid_argument("attack: labels must be int64 class indices");
  if (labels.device() != images.device()) throw std::invalid_argument("attack: labels and images on different devices");
  const auto range = torch::stack({images.min(), images.max()}).to(torch::kCPU, torch::kDouble);
  const double lo = range[0].item<double>(), hi = range[1].item<double>();
  if (!(lo >= 0 && hi <= 1)) {
    throw std::invalid_argument("attack: images must lie in [0, 1] (found values in [" + std::to_string(lo) + ", " +
                                std::to_string(hi) + "])");
  }
}

}  // namespace

double parse_fraction(const std::string& text) {
  double value = 0;
  const auto slash = text.find('/');
  bool ok = false;
  if (slash == std::string::npos) {
    ok = parse_number(text, value);
  } else {
    double numerator = 0, denominator = 0;
    ok = parse_number(text.substr(0, slash), numerator) && parse_number(text.substr(slash + 1), denominator) &&
         denominator != 0;
    if (ok) value = numerator / denominator;
  }
  if (!ok || !std::isfinite(value)) {
    throw std::invalid_argument("'" + text + "' is not a number or a fraction such as 8/255");
  }
  return value;
}

void check_attack_options(const AttackOptions& o) {
  if (!(o.eps() >= 0) || !std::isfinite(o.eps()))
    throw std::invalid_argument("eps must be finite and >= 0, got " + std::to_string(o.eps()));
  if (o.steps() < 1) throw std::invalid_argument("steps must be >= 1, got " + std::to_string(o.steps()));
  if (!std::isfinite(o.step_size()))
    throw std::invalid_argument("step_size must be finite (<= 0 for 2.5 eps / steps), got " +
                                std::to_string(o.step_size()));
}

double resolved_step_size(const AttackOptions& o) {
  return o.step_size() > 0 ? o.step_size() : 2.5 * o.eps() / static_cast<double>(o.steps());
}

torch::Tensor pgd(const Logits& model, const torch::Tensor& images, const torch::Tensor& labels,
                  const AttackOptions& o) {
  check_attack_options(o);
  check_inputs(images, labels);
  if (!model) throw std::invalid_argument("attack: no model given");
  const auto original = images.detach();
  if (o.eps() == 0) return original.clone();
  const double eps = o.eps(), alpha = resolved_step_size(o);

  torch::AutoGradMode grad_mode(true);
  auto x = original;
  if (o.random_start()) x = (original + random_start(original, o.norm(), eps, o.seed())).clamp(0, 1);
  for (int64_t step = 0; step < o.steps(); ++step) {
    x = x.detach().requires_grad_(true);
    const auto logits = model(x);
    if (!logits.defined() || logits.dim() != 2 || logits.size(0) != images.size(0)) {
      std::ostringstream msg;
      msg << "attack: the model must return logits [N = " << images.size(0) << ", K]";
      if (logits.defined()) msg << ", got " << logits.sizes();
      throw std::invalid_argument(msg.str());
    }
    // Summed, not averaged: each sample's gradient is its own loss's, whatever the batch size.
    const auto loss = F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kSum));
    const auto gradient = torch::autograd::grad({loss}, {x})[0].detach();
    torch::NoGradGuard no_grad;
    const auto ascent = o.norm() == Norm::Linf ? gradient.sign()
                                               : gradient / sample_norms(gradient).clamp_min(1e-30);
    x = (original + project(x.detach() + alpha * ascent - original, o.norm(), eps)).clamp(0, 1);
  }
  return x.detach();
}

torch::Tensor fgsm(const Logits& model, const torch::Tensor& images, const torch::Tensor& labels, double eps,
                   Norm norm) {
  return pgd(model, images, labels, AttackOptions().norm(norm).eps(eps).steps(1).step_size(eps).random_start(false));
}

}  // namespace deepsc::robust
