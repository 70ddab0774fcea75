#include "deepsc/mlcsc/theorems.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace deepsc::mlcsc {

namespace theorems_detail {

/// μ is rounded; every check uses it inflated by this relative margin (conservative).
constexpr double kCoherenceMargin = 1e-9;

/// One layer's measures of the truth as float64 tensors [N].
struct LayerData {
  CodeMeasures measures;
  double mu = 0;                // μ(D_i) as computed
  double mu_checked = 0;        // μ(D_i)(1 + margin), used in every formula
  torch::Tensor k, kp, mn, mx;  // k_i, k^P_i, |X_i^min|, |X_i^max|
};

void check_unit_atoms(const MlcscModel& model, int64_t layer) {
  torch::Tensor norms;
  if (const auto* d = model.dense_layer(layer)) norms = d->matrix().norm(2, {0});
  else if (const auto* c = model.conv_layer(layer)) norms = c->weights().reshape({c->num_atoms(), -1}).norm(2, {1});
  else throw std::invalid_argument("layer " + std::to_string(layer + 1) + " is neither a dense nor a convolutional dictionary");
  const double lo = norms.min().item<double>(), hi = norms.max().item<double>();
  if (std::abs(lo - 1) > 1e-6 || std::abs(hi - 1) > 1e-6) {
    throw std::invalid_argument("the recovery theorems need unit-norm atoms, but layer " + std::to_string(layer + 1) +
                                " has atom norms in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
}

std::vector<LayerData> layer_data(const MlcscModel& model, const SignalBatch& truth, double zero_tol) {
  const auto measures = measure_layers(model, truth, zero_tol);
  std::vector<LayerData> out;
  for (int64_t i = 0; i < model.depth(); ++i) {
    check_unit_atoms(model, i);
    LayerData d;
    d.measures = measures[static_cast<size_t>(i)];
    d.mu = layer_coherence(model, i);
    d.mu_checked = d.mu * (1 + kCoherenceMargin);
    d.k = d.measures.l0_inf.to(torch::kDouble);
    d.kp = d.measures.l0_patch.to(torch::kDouble);
    d.mn = d.measures.min_abs.to(torch::kDouble);
    d.mx = d.measures.max_abs.to(torch::kDouble);
    out.push_back(std::move(d));
  }
  return out;
}

/// The noise level as [N] float64 on the codes' device.
torch::Tensor noise_vector(const torch::Tensor& noise, const SignalBatch& truth) {
  const auto& y = truth.codes.front();
  const int64_t n = y.size(0);
  if (!noise.defined() || !(noise.numel() == 1 || (noise.dim() == 1 && noise.size(0) == n))) {
    throw std::invalid_argument("noise level must be a scalar or one value per sample [" + std::to_string(n) + "]");
  }
  auto v = noise.to(y.device(), torch::kDouble).reshape({-1}).expand({n}).contiguous();
  if (!torch::isfinite(v).all().item<bool>() || (v < 0).any().item<bool>()) {
    throw std::invalid_argument("noise level must be finite and >= 0");
  }
  return v;
}

/// The Theorem 7 interval (low, high) of layer data `d` with input error `eps`.
std::pair<torch::Tensor, torch::Tensor> beta_interval(const LayerData& d, const torch::Tensor& eps) {
  return {d.k * d.mu_checked * d.mx + eps, d.mn - (d.k - 1) * d.mu_checked * d.mx - eps};
}

/// Per-entry error bound of Theorem 7: ε_{i−1} + μ_i(k_i − 1)|X_i^max| + β_i.
torch::Tensor thresholding_entry_bound(const LayerData& d, const torch::Tensor& eps, double beta) {
  return eps + d.mu_checked * (d.k - 1).clamp_min(0) * d.mx + beta;
}

/// β in the segment covered by the most open intervals (low_j, high_j) (all non-empty), at
/// `position` of it; the lowest such segment on ties.
double deepest_overlap(const torch::Tensor& low, const torch::Tensor& high, double position) {
  auto lows = std::get<0>(low.cpu().sort()), highs = std::get<0>(high.cpu().sort());
  auto ends = std::get<0>(torch::cat({lows, highs}).sort());
  auto a = ends.narrow(0, 0, ends.size(0) - 1), b = ends.narrow(0, 1, ends.size(0) - 1);
  auto mid = (a + b) / 2;
  // Intervals containing mid: low < mid minus high <= mid (every interval has low < high).
  auto cover = torch::searchsorted(lows, mid, false, /*right=*/false) - torch::searchsorted(highs, mid, false, /*right=*/true);
  cover = torch::where(b > a, cover, torch::full_like(cover, -1));
  const int64_t best = cover.argmax().item<int64_t>();  // first maximum: the lowest segment
  const double lo = a[best].item<double>(), hi = b[best].item<double>();
  return lo + position * (hi - lo);
}

LayerGuarantee make_layer(const LayerData& d, double parameter, const torch::Tensor& eps) {
  LayerGuarantee g;
  g.truth = d.measures;
  g.coherence = d.mu;
  g.parameter = parameter;
  g.input_error = eps;
  return g;
}

/// ½(1 + 1/μ) or ⅓(1 + 1/μ) as a per-sample test k < bound (μ = 0: always).
torch::Tensor sparsity_below(const LayerData& d, double fraction) {
  if (d.mu_checked == 0) return torch::ones_like(d.k, torch::kBool);
  return d.k < fraction * (1 + 1 / d.mu_checked);
}

}  // namespace theorems_detail

const char* theorem_name(Theorem theorem) {
  switch (theorem) {
    case Theorem::LayeredThresholding: return "layered thresholding (Theorem 7)";
    case Theorem::LayeredBasisPursuit: return "layered basis pursuit (Theorem 8)";
    case Theorem::StableLayeredBasisPursuit: return "stable layered basis pursuit";
  }
  return "?";
}

Guarantee check_layered_thresholding(const MlcscModel& model, const SignalBatch& truth, const torch::Tensor& noise,
                                     const std::vector<double>& betas, double zero_tol) {
  namespace td = theorems_detail;
  check_layer_values(betas, model.depth(), "betas");
  const auto data = td::layer_data(model, truth, zero_tol);
  auto eps = td::noise_vector(noise, truth);
  auto guaranteed = torch::ones_like(eps, torch::kBool);
  Guarantee out{Theorem::LayeredThresholding, {}};
  for (size_t i = 0; i < data.size(); ++i) {
    const auto& d = data[i];
    auto g = td::make_layer(d, betas[i], eps);
    std::tie(g.beta_low, g.beta_high) = td::beta_interval(d, eps);
    g.sparsity = g.beta_low < g.beta_high;  // (a), multiplied by μ_i|X_i^max|
    g.condition = g.sparsity & (g.beta_low < betas[i]) & (g.beta_high > betas[i]);
    guaranteed = guaranteed & g.condition;
    g.guaranteed = guaranteed;
    g.entry_bound = td::thresholding_entry_bound(d, eps, betas[i]);
    g.error_bound = d.kp.sqrt() * g.entry_bound;
    eps = g.error_bound;
    out.layers.push_back(std::move(g));
  }
  return out;
}

std::vector<double> admissible_thresholds(const MlcscModel& model, const SignalBatch& truth, const torch::Tensor& noise,
                                          double position, double zero_tol) {
  namespace td = theorems_detail;
  if (!(position > 0 && position < 1)) throw std::invalid_argument("position must be in (0, 1), got " + std::to_string(position));
  const auto data = td::layer_data(model, truth, zero_tol);
  auto eps = td::noise_vector(noise, truth);
  auto alive = torch::ones_like(eps, torch::kBool);
  std::vector<double> betas;
  for (const auto& d : data) {
    const auto [low, high] = td::beta_interval(d, eps);
    const auto candidates = alive & (low < high);
    double beta = 0;
    if (candidates.any().item<bool>()) {
      beta = td::deepest_overlap(low.masked_select(candidates), high.masked_select(candidates), position);
    } else {
      auto lows = low.masked_select(torch::isfinite(low));
      if (lows.numel() > 0) beta = std::max(0.0, lows.median().item<double>());
    }
    betas.push_back(beta);
    alive = alive & (low < beta) & (high > beta);
    eps = d.kp.sqrt() * td::thresholding_entry_bound(d, eps, beta);
  }
  return betas;
}

Guarantee check_layered_basis_pursuit(const MlcscModel& model, const SignalBatch& truth, double zero_tol) {
  namespace td = theorems_detail;
  const auto data = td::layer_data(model, truth, zero_tol);
  const auto zero = torch::zeros({truth.codes.front().size(0)}, data.front().k.options());
  auto guaranteed = torch::ones_like(zero, torch::kBool);
  Guarantee out{Theorem::LayeredBasisPursuit, {}};
  for (const auto& d : data) {
    auto g = td::make_layer(d, 0, zero);
    g.sparsity = td::sparsity_below(d, 0.5);
    g.condition = g.sparsity;
    guaranteed = guaranteed & g.condition;
    g.guaranteed = guaranteed;
    g.entry_bound = zero;
    g.error_bound = zero;
    out.layers.push_back(std::move(g));
  }
  return out;
}

Guarantee check_stable_layered_basis_pursuit(const MlcscModel& model, const SignalBatch& truth, const torch::Tensor& noise,
                                             const std::vector<double>& lambdas, double zero_tol) {
  namespace td = theorems_detail;
  check_layer_values(lambdas, model.depth(), "lambdas");
  const auto data = td::layer_data(model, truth, zero_tol);
  auto eps = td::noise_vector(noise, truth);
  auto guaranteed = torch::ones_like(eps, torch::kBool);
  Guarantee out{Theorem::StableLayeredBasisPursuit, {}};
  for (size_t i = 0; i < data.size(); ++i) {
    const auto& d = data[i];
    const double lambda = lambdas[i];
    auto g = td::make_layer(d, lambda, eps);
    g.sparsity = td::sparsity_below(d, 1.0 / 3);
    // λ_i = 4ε' with ε' ≥ ε_{i−1}; the slack absorbs the rounding of a λ computed from the same bound.
    g.condition = g.sparsity & (lambda * (1 + 1e-9) >= 4 * eps);
    guaranteed = guaranteed & g.condition;
    g.guaranteed = guaranteed;
    g.entry_bound = torch::full_like(eps, 7.5 * lambda / 4);
    g.error_bound = g.entry_bound * d.kp.sqrt();
    eps = g.error_bound;
    out.layers.push_back(std::move(g));
  }
  return out;
}

std::vector<double> prescribed_lambdas(const MlcscModel& model, const SignalBatch& truth, const torch::Tensor& noise,
                                       double zero_tol) {
  namespace td = theorems_detail;
  const auto data = td::layer_data(model, truth, zero_tol);
  const auto eps0 = td::noise_vector(noise, truth);
  std::vector<double> lambdas{eps0.numel() ? 4 * eps0.max().item<double>() : 0.0};
  auto alive = torch::ones_like(eps0, torch::kBool);
  for (size_t i = 0; i + 1 < data.size(); ++i) {
    alive = alive & td::sparsity_below(data[i], 1.0 / 3);
    const auto& kp = data[i].kp;
    const auto pool = alive.any().item<bool>() ? kp.masked_select(alive) : kp;
    const double kp_max = pool.numel() ? pool.max().item<double>() : 0.0;
    lambdas.push_back(7.5 * lambdas.back() * std::sqrt(kp_max));  // 4ε_i, ε_i = 7.5(λ_i/4)√(k^P_i)
  }
  return lambdas;
}

std::vector<LayerOutcome> evaluate_predictions(const MlcscModel& model, const Guarantee& guarantee, const SignalBatch& truth,
                                               const std::vector<torch::Tensor>& estimates,
                                               const PredictionTolerance& tolerance) {
  const int64_t depth = model.depth();
  if (static_cast<int64_t>(estimates.size()) != depth || static_cast<int64_t>(guarantee.layers.size()) != depth ||
      static_cast<int64_t>(truth.codes.size()) != depth + 1) {
    throw std::invalid_argument("evaluate_predictions needs " + std::to_string(depth) + " estimates and layer guarantees and " +
                                std::to_string(depth + 1) + " true code tensors, got " + std::to_string(estimates.size()) + ", " +
                                std::to_string(guarantee.layers.size()) + " and " + std::to_string(truth.codes.size()));
  }
  const double tol = tolerance.error_tol(), zero = tolerance.zero_tol();
  if (!(tol >= 0) || !(zero >= 0)) throw std::invalid_argument("tolerances must be >= 0");
  torch::NoGradGuard no_grad;
  std::vector<LayerOutcome> out;
  for (int64_t i = 0; i < depth; ++i) {
    const auto& g = guarantee.layers[static_cast<size_t>(i)];
    const auto& x = truth.codes[static_cast<size_t>(i + 1)];
    const auto& est = estimates[static_cast<size_t>(i)];
    LayerOutcome o;
    o.support_equal = same_support(est, x, zero);  // checks the shapes
    o.support_contained = support_contained(est, x, zero);
    const auto diff = (est.detach() - x).to(torch::kDouble);
    o.error = patch_l2_inf(model, i + 1, diff);
    o.entry_error = diff.abs().reshape({diff.size(0), -1}).amax(1);
    const auto big = x.detach().abs().to(torch::kDouble).reshape({x.size(0), -1}) > g.entry_bound.unsqueeze(1);
    const auto found = est.detach().abs().reshape({est.size(0), -1}) > zero;
    o.large_found = (big & found.logical_not()).any(1).logical_not();
    o.entry_within = o.entry_error <= g.entry_bound + tol;
    o.within_bound = o.error <= g.error_bound + tol;
    if (guarantee.theorem == Theorem::StableLayeredBasisPursuit) {
      o.met = o.support_contained & o.large_found & o.entry_within & o.within_bound;
    } else {
      o.met = o.support_equal & o.within_bound;
    }
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<LayerRates> tabulate(const Guarantee& guarantee, const std::vector<LayerOutcome>& outcomes) {
  if (guarantee.layers.size() != outcomes.size()) {
    throw std::invalid_argument("tabulate needs one outcome per layer: " + std::to_string(guarantee.layers.size()) + " layers, " +
                                std::to_string(outcomes.size()) + " outcomes");
  }
  std::vector<LayerRates> out;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const auto& g = guarantee.layers[i];
    const auto& o = outcomes[i];
    const double n = static_cast<double>(o.met.numel());
    auto rate = [n](const torch::Tensor& b) { return n > 0 ? b.sum().item<double>() / n : 0.0; };
    LayerRates r;
    r.condition = rate(g.condition);
    r.guaranteed = rate(g.guaranteed);
    r.met = rate(o.met);
    const double held = g.guaranteed.sum().item<double>();
    r.met_when_guaranteed = held > 0 ? (g.guaranteed & o.met).sum().item<double>() / held : std::numeric_limits<double>::quiet_NaN();
    r.violations = (g.guaranteed & o.met.logical_not()).sum().item<int64_t>();
    out.push_back(r);
  }
  return out;
}

}  // namespace deepsc::mlcsc
