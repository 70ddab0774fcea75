#include "deepsc/mlcsc/encode_check.h"

#include "report_format.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace deepsc::mlcsc {

namespace report_detail {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t count_true(const torch::Tensor& flags) { return flags.sum().item<int64_t>(); }

/// The largest entry of `values` where `mask` holds, NaN when it never does.
double masked_max(const torch::Tensor& values, const torch::Tensor& mask) {
  return mask.any().item<bool>() ? values.masked_select(mask).max().item<double>() : kNaN;
}

void check_codes(const MlcscModel& model, const std::vector<std::vector<int64_t>>& shapes, const std::vector<torch::Tensor>& codes,
                 const char* what) {
  if (static_cast<int64_t>(codes.size()) != model.depth()) {
    throw std::invalid_argument(std::string("the check needs ") + std::to_string(model.depth()) + " " + what + " X1 … X" +
                                std::to_string(model.depth()) + ", got " + std::to_string(codes.size()));
  }
  for (size_t i = 0; i < codes.size(); ++i) {
    if (!codes[i].defined() || codes[i].sizes().vec() != shapes[i + 1]) {
      throw std::invalid_argument(std::string(what) + " X" + std::to_string(i + 1) + " has shape " +
                                  (codes[i].defined() ? dims_text(codes[i].sizes().vec()) : "none") + " but layer " +
                                  std::to_string(i + 1) + " gives codes " + dims_text(shapes[i + 1]));
    }
  }
}

bool all_nonneg(const SignalBatch& truth, double zero_tol) {
  for (size_t i = 1; i < truth.codes.size(); ++i) {
    if ((truth.codes[i] < -zero_tol).any().item<bool>()) return false;
  }
  return true;
}

/// The theorem that speaks about this pursuit and request, or a note saying why none does.
struct Applicable {
  bool any = false;
  Theorem theorem = Theorem::LayeredThresholding;
  std::string note;
};

Applicable applicable(Pursuit pursuit, const PursuitRequest& request, bool nonneg_truth) {
  const auto s = request.shrinkage();
  bool all_zero = true;
  for (double v : request.values()) all_zero = all_zero && v == 0;
  const bool soft_or_nonneg = s == sparse::Shrinkage::Soft || (s == sparse::Shrinkage::NonNegSoft && nonneg_truth);
  const std::string nonneg_note = "non-negative shrinkage but the true codes have negative entries: no theorem";
  if (pursuit == Pursuit::Thresholding) {
    if (s == sparse::Shrinkage::Hard) return {false, {}, "Theorem 7 is stated for soft thresholding: measures only"};
    if (!soft_or_nonneg) return {false, {}, nonneg_note};
    return {true, Theorem::LayeredThresholding, ""};
  }
  if (pursuit == Pursuit::LayeredBp) {
    if (all_zero) {
      if (!soft_or_nonneg) return {false, {}, nonneg_note};
      return {true, Theorem::LayeredBasisPursuit, ""};
    }
    if (s != sparse::Shrinkage::Soft) return {false, {}, "the stable layered BP is stated for the soft lasso: measures only"};
    return {true, Theorem::StableLayeredBasisPursuit, ""};
  }
  return {false, {}, std::string("no recovery theorem is checked for ") + pursuit_name(pursuit) + ": measures only"};
}

}  // namespace report_detail

EncodeCheck check_encoding(const MlcscModel& model, const torch::Tensor& signals, const std::vector<torch::Tensor>& true_codes,
                           Pursuit pursuit, const PursuitRequest& request, const std::vector<torch::Tensor>& estimates,
                           const EncodeCheckOptions& options) {
  using namespace report_detail;
  torch::NoGradGuard no_grad;
  const auto shapes = model.shapes(signals.sizes());
  check_codes(model, shapes, true_codes, "true codes");
  check_codes(model, shapes, estimates, "estimates");
  check_layer_values(request.values(), model.depth(), takes_thresholds(pursuit) ? "betas" : "lambdas");
  const bool wide = signals.scalar_type() == torch::kDouble;
  const double zero_tol = options.zero_tol() >= 0 ? options.zero_tol() : wide ? 1e-9 : 1e-5;
  const double error_tol = options.error_tol() >= 0 ? options.error_tol() : wide ? 1e-5 : 1e-3;
  const double noise_tol = options.noise_tol() >= 0 ? options.noise_tol() : wide ? 1e-9 : 1e-5;

  SignalBatch truth;
  truth.codes.push_back(model.layer(0).apply(true_codes.front().to(signals.options())));
  for (const auto& x : true_codes) truth.codes.push_back(x.to(signals.options()));
  const auto noise = patch_l2_inf(model, 0, signals - truth.codes.front()).to(torch::kDouble);

  EncodeCheck check;
  check.pursuit = pursuit_name(pursuit);
  check.samples = signals.size(0);
  check.max_noise = check.samples ? noise.max().item<double>() : 0;
  check.mean_noise = check.samples ? noise.mean().item<double>() : 0;
  const auto& values = request.values();
  const auto which = applicable(pursuit, request, all_nonneg(truth, zero_tol));
  check.note = which.note;

  Guarantee guarantee;
  std::vector<LayerOutcome> outcomes;
  if (which.any) {
    if (which.theorem == Theorem::LayeredThresholding) {
      guarantee = check_layered_thresholding(model, truth, noise, values, zero_tol);
    } else if (which.theorem == Theorem::LayeredBasisPursuit) {
      guarantee = check_layered_basis_pursuit(model, truth, zero_tol);
      // Theorem 8 assumes E = 0: a noisy sample meets no layer's hypotheses.
      const auto clean = noise <= noise_tol * patch_l2_inf(model, 0, signals).to(torch::kDouble);
      guarantee.layers.front().condition = guarantee.layers.front().condition & clean;
      for (auto& g : guarantee.layers) g.guaranteed = g.guaranteed & clean;
    } else {
      guarantee = check_stable_layered_basis_pursuit(model, truth, noise, values, zero_tol);
    }
    check.theorem = theorem_name(guarantee.theorem);
    outcomes = evaluate_predictions(model, guarantee, truth, estimates,
                                    PredictionTolerance().zero_tol(zero_tol).error_tol(error_tol));
  }
  const auto measures = measure_layers(model, truth, zero_tol);
  for (int64_t i = 0; i < model.depth(); ++i) {
    const auto u = static_cast<size_t>(i);
    const auto& x = truth.codes[u + 1];
    const auto& m = measures[u];
    EncodeCheckLayer row;
    row.layer = i + 1;
    row.code_shape = shapes[u + 1];
    row.coherence = layer_coherence(model, i);
    row.value = values[u];
    row.mean_l0_inf = m.l0_inf.to(torch::kDouble).mean().item<double>();
    row.max_l0_inf = m.l0_inf.max().item<int64_t>();
    row.max_l0_patch = m.l0_patch.max().item<int64_t>();
    const auto has = m.max_abs > 0;
    row.min_nonzero = has.any().item<bool>() ? m.min_abs.masked_select(has).min().item<double>() : 0.0;
    row.max_abs = m.max_abs.max().item<double>();

    const auto est = estimates[u].to(x.options());
    const auto error = patch_l2_inf(model, i + 1, est - x).to(torch::kDouble);
    const auto scale = patch_l2_inf(model, i + 1, x).to(torch::kDouble);
    row.support_equal = count_true(same_support(est, x, zero_tol));
    row.support_contained = count_true(support_contained(est, x, zero_tol));
    row.mean_error = error.mean().item<double>();
    row.max_error = error.max().item<double>();
    row.max_relative_error = masked_max(error / scale.clamp_min(1e-300), scale > 0);
    if (std::isnan(row.max_relative_error)) row.max_relative_error = 0;

    row.beta_low = row.beta_high = row.max_error_bound = kNaN;
    if (which.any) {
      const auto& g = guarantee.layers[u];
      const auto& o = outcomes[u];
      row.condition = count_true(g.condition);
      row.guaranteed = count_true(g.guaranteed);
      row.max_error_bound = masked_max(g.error_bound, g.guaranteed);
      row.met = count_true(g.guaranteed & o.met);
      row.violations = count_true(g.guaranteed & o.met.logical_not());
      if (guarantee.theorem == Theorem::LayeredThresholding) {
        row.beta_low = g.beta_low.max().item<double>();
        row.beta_high = g.beta_high.min().item<double>();
        row.beta_inside = count_true((g.beta_low < values[u]) & (g.beta_high > values[u]));
      }
    }
    check.layers.push_back(std::move(row));
  }
  return check;
}

std::string encode_check_table(const EncodeCheck& c) {
  using namespace report_detail;
  const bool theorem = !c.theorem.empty();
  const bool interval = theorem && !c.layers.empty() && !std::isnan(c.layers.front().beta_low);
  const std::string n = "/" + std::to_string(c.samples);
  std::ostringstream out;
  out << "check of " << c.pursuit << " against the true codes: " << (theorem ? c.theorem : c.note) << "; " << c.samples
      << " signals, noise eps0 = ||Y - D1 X1||^P_2,inf max " << number(c.max_noise) << ", mean " << number(c.mean_noise)
      << "\n";
  out << pad("layer", 5) << pad("k mean", 8) << pad("k max", 6) << pad("kP max", 7) << pad("|Xmin|", 10) << pad("|Xmax|", 10)
      << pad("mu", 9) << pad(theorem && c.theorem.find("Theorem 7") != std::string::npos ? "beta" : "value", 10);
  if (interval) out << pad("beta interval", 22) << pad("beta in", 9);
  if (theorem) out << pad("hyp.", 9) << pad("guar.", 9);
  out << pad("supp =", 9) << pad("supp in", 9) << pad("max err", 10) << pad("max rel", 9);
  if (theorem) out << pad("max bound", 10) << pad("met", 9) << pad("viol.", 6);
  out << "\n";
  for (const auto& r : c.layers) {
    out << pad(std::to_string(r.layer), 5) << pad(number(r.mean_l0_inf, 3), 8) << pad(std::to_string(r.max_l0_inf), 6)
        << pad(std::to_string(r.max_l0_patch), 7) << pad(number(r.min_nonzero), 10) << pad(number(r.max_abs), 10)
        << pad(number(r.coherence), 9) << pad(number(r.value), 10);
    if (interval) {
      out << pad("(" + number(r.beta_low) + ", " + number(r.beta_high) + ")", 22) << pad(std::to_string(r.beta_inside) + n, 9);
    }
    if (theorem) out << pad(std::to_string(r.condition) + n, 9) << pad(std::to_string(r.guaranteed) + n, 9);
    out << pad(std::to_string(r.support_equal) + n, 9) << pad(std::to_string(r.support_contained) + n, 9)
        << pad(number(r.max_error), 10) << pad(number(r.max_relative_error, 3), 9);
    if (theorem) {
      out << pad(std::isnan(r.max_error_bound) ? "-" : number(r.max_error_bound), 10)
          << pad(std::to_string(r.met) + "/" + std::to_string(r.guaranteed), 9) << pad(std::to_string(r.violations), 6);
    }
    out << "\n";
  }
  return out.str();
}

nlohmann::json encode_check_json(const EncodeCheck& c) {
  using namespace report_detail;
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& r : c.layers) {
    nlohmann::json j{{"layer", r.layer},
                     {"code_shape", r.code_shape},
                     {"coherence", r.coherence},
                     {"value", r.value},
                     {"mean_l0_inf", r.mean_l0_inf},
                     {"max_l0_inf", r.max_l0_inf},
                     {"max_l0_patch", r.max_l0_patch},
                     {"min_nonzero", r.min_nonzero},
                     {"max_abs", r.max_abs},
                     {"support_equal", r.support_equal},
                     {"support_contained", r.support_contained},
                     {"mean_error", r.mean_error},
                     {"max_error", r.max_error},
                     {"max_relative_error", r.max_relative_error}};
    if (!c.theorem.empty()) {
      j["condition"] = r.condition;
      j["guaranteed"] = r.guaranteed;
      j["max_error_bound"] = r.max_error_bound;  // NaN → null
      j["met"] = r.met;
      j["violations"] = r.violations;
      if (!std::isnan(r.beta_low)) {
        j["beta_low"] = r.beta_low;
        j["beta_high"] = r.beta_high;
        j["beta_inside"] = r.beta_inside;
      }
    }
    layers.push_back(std::move(j));
  }
  return {{"pursuit", c.pursuit},
          {"theorem", c.theorem},
          {"note", c.note},
          {"samples", c.samples},
          {"noise", {{"max", c.max_noise}, {"mean", c.mean_noise}}},
          {"layers", layers}};
}

}  // namespace deepsc::mlcsc
