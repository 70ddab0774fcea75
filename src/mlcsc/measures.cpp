#include "deepsc/mlcsc/measures.h"

#include "deepsc/conv/stripes.h"
#include "deepsc/sparse/coherence.h"

#include <limits>
#include <stdexcept>
#include <string>

#include "../support/text.h"

namespace deepsc::mlcsc {

namespace measures_detail {

using deepsc::detail::shape_string;

std::string layer_name(int64_t layer) { return "layer " + std::to_string(layer + 1); }

void check_layer_index(const MlcscModel& model, int64_t layer) {
  if (layer < 0 || layer >= model.depth()) {
    throw std::invalid_argument("layer index " + std::to_string(layer) + " is outside [0, " + std::to_string(model.depth()) +
                                ") for a model of " + std::to_string(model.depth()) + " layers");
  }
}

/// The convolutional layer `layer` if it is one, after checking that its local measures exist
/// (stride 1, no output padding); nullptr for a dense layer; throws for any other operator.
const conv::ConvDictionary* local_layer(const MlcscModel& model, int64_t layer) {
  if (model.dense_layer(layer)) return nullptr;
  const auto* c = model.conv_layer(layer);
  if (!c) throw std::invalid_argument(layer_name(layer) + " is neither a dense nor a convolutional dictionary: it has no local measures");
  if (c->options().stride() != 1 || c->options().output_padding() != 0) {
    throw std::invalid_argument(layer_name(layer) + " has stride " + std::to_string(c->options().stride()) +
                                " and output padding " + std::to_string(c->options().output_padding()) +
                                ": the stripe and patch measures need stride 1 and output padding 0");
  }
  return c;
}

/// The layer whose atoms define the patches of X_level: D_{level+1}, or D_K for the deepest codes.
int64_t patch_layer(const MlcscModel& model, int64_t level) {
  if (level < 0 || level > model.depth()) {
    throw std::invalid_argument("level " + std::to_string(level) + " is outside [0, " + std::to_string(model.depth()) +
                                "] (0 is the signal, i the codes of layer i)");
  }
  return level < model.depth() ? level : model.depth() - 1;
}

/// Checks that `v` is shaped like X_level: the signal of D_{level+1} (level < K) or the codes of
/// D_K (level = K).
void check_level_shape(const MlcscModel& model, int64_t level, const torch::Tensor& v, const char* what) {
  if (!v.defined() || !v.is_floating_point() || v.dim() < 2) {
    throw std::invalid_argument(std::string(what) + " must be a floating-point batch [N, ...], got " +
                                (v.defined() ? shape_string(v) + " " + std::string(c10::toString(v.scalar_type())) : "nothing"));
  }
  try {
    if (level < model.depth()) {
      (void)model.layer(level).code_shape(v.sizes());
    } else {
      const auto* c = model.conv_layer(model.depth() - 1);
      const int64_t atoms = c ? c->num_atoms() : model.dense_layer(model.depth() - 1)->num_atoms();
      const int64_t rank = c ? c->spatial_dims() + 2 : 2;
      if (v.dim() != rank || v.size(1) != atoms) {
        throw std::invalid_argument("codes of layer " + std::to_string(model.depth()) + " must have rank " +
                                    std::to_string(rank) + " and " + std::to_string(atoms) + " atoms in dimension 1");
      }
    }
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string(what) + " " + shape_string(v) + " is not shaped like X_" + std::to_string(level) +
                                ": " + e.what());
  }
}

/// Σ of `energy` [N, S...] over every window of the atom span of `dict` that lies inside the map
/// (stride 1; a map shorter than the span gives one window, the whole axis): [N, P...].
torch::Tensor window_sums(const torch::Tensor& energy, const conv::ConvDictionary& dict) {
  const int64_t dims = dict.spatial_dims();
  std::vector<int64_t> window;
  int64_t area = 1;
  for (int64_t d = 0; d < dims; ++d) {
    const int64_t span = dict.options().dilation() * (dict.weights().size(2 + d) - 1) + 1;
    window.push_back(std::min(span, energy.size(1 + d)));
    area *= window.back();
  }
  auto x = energy.unsqueeze(1);  // [N, 1, S...]: avg_pool wants a channel axis
  auto mean = dims == 2 ? torch::avg_pool2d(x, window, /*stride=*/1) : torch::avg_pool1d(x, window, /*stride=*/1);
  return mean.squeeze(1) * static_cast<double>(area);
}

/// max over patches of Σ_{entries in patch} f, for f [N, C, S...] already reduced per entry.
torch::Tensor max_patch_sum(const MlcscModel& model, int64_t level, const torch::Tensor& per_entry) {
  const int64_t n = per_entry.size(0);
  const auto* c = local_layer(model, patch_layer(model, level));
  if (!c) return per_entry.sum(1);  // dense: the whole vector is the patch
  if (n == 0) return torch::zeros({0}, per_entry.options());
  auto sums = window_sums(per_entry.sum(1), *c);
  return std::get<0>(sums.reshape({n, -1}).max(1));
}

std::pair<torch::Tensor, torch::Tensor> supports(const torch::Tensor& estimate, const torch::Tensor& truth, double zero_tol) {
  if (!estimate.defined() || !truth.defined() || estimate.sizes() != truth.sizes() || estimate.dim() < 1) {
    throw std::invalid_argument("estimate " + (estimate.defined() ? shape_string(estimate) : std::string("(none)")) +
                                " and truth " + (truth.defined() ? shape_string(truth) : std::string("(none)")) +
                                " must be batches [N, ...] of one shape");
  }
  if (!(zero_tol >= 0)) throw std::invalid_argument("zero_tol must be >= 0, got " + std::to_string(zero_tol));
  const int64_t n = estimate.size(0);
  return {(estimate.detach().abs() > zero_tol).reshape({n, -1}), (truth.detach().abs() > zero_tol).reshape({n, -1})};
}

}  // namespace measures_detail

CodeMeasures measure_codes(const MlcscModel& model, int64_t layer, const torch::Tensor& codes, double zero_tol) {
  measures_detail::check_layer_index(model, layer);
  if (!(zero_tol >= 0)) throw std::invalid_argument("zero_tol must be >= 0, got " + std::to_string(zero_tol));
  const auto* c = measures_detail::local_layer(model, layer);
  measures_detail::check_level_shape(model, layer + 1, codes, "codes");
  torch::NoGradGuard no_grad;
  CodeMeasures out;
  const auto flat = codes.detach().abs().reshape({codes.size(0), -1});
  const auto nonzero = flat > zero_tol;
  out.l0_inf = c ? conv::l0_inf_norm(codes.detach(), *c, zero_tol) : nonzero.sum(1);
  out.l0_patch = patch_l0_inf(model, layer + 1, codes, zero_tol);
  const double inf = std::numeric_limits<double>::infinity();
  if (codes.size(0) == 0 || flat.size(1) == 0) {
    out.min_abs = torch::zeros({codes.size(0)}, codes.options());
    out.max_abs = torch::zeros({codes.size(0)}, codes.options());
    return out;
  }
  auto smallest = std::get<0>(torch::where(nonzero, flat, torch::full({}, inf, flat.options())).min(1));
  out.min_abs = torch::where(nonzero.any(1), smallest, torch::zeros_like(smallest));
  out.max_abs = std::get<0>(torch::where(nonzero, flat, torch::zeros({}, flat.options())).max(1));
  return out;
}

torch::Tensor patch_l2_inf(const MlcscModel& model, int64_t level, const torch::Tensor& v) {
  (void)measures_detail::patch_layer(model, level);
  measures_detail::check_level_shape(model, level, v, "v");
  return measures_detail::max_patch_sum(model, level, v.square()).clamp_min(0).sqrt();  // clamp: window sums may round below 0
}

torch::Tensor patch_l0_inf(const MlcscModel& model, int64_t level, const torch::Tensor& v, double zero_tol) {
  if (!(zero_tol >= 0)) throw std::invalid_argument("zero_tol must be >= 0, got " + std::to_string(zero_tol));
  (void)measures_detail::patch_layer(model, level);
  measures_detail::check_level_shape(model, level, v, "v");
  torch::NoGradGuard no_grad;
  // Counts as float64 through the window sums, exact for any realistic window (< 2⁵³ entries).
  auto counts = (v.detach().abs() > zero_tol).to(torch::kDouble);
  return measures_detail::max_patch_sum(model, level, counts).round().to(torch::kLong);
}

double layer_coherence(const MlcscModel& model, int64_t layer) {
  measures_detail::check_layer_index(model, layer);
  if (const auto* d = model.dense_layer(layer)) return sparse::mutual_coherence(d->matrix());
  const auto* c = model.conv_layer(layer);
  if (!c) throw std::invalid_argument(measures_detail::layer_name(layer) + " is neither a dense nor a convolutional dictionary: no coherence");
  try {
    return conv::mutual_coherence(*c);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(measures_detail::layer_name(layer) + ": " + e.what());
  }
}

torch::Tensor same_support(const torch::Tensor& estimate, const torch::Tensor& truth, double zero_tol) {
  const auto [e, t] = measures_detail::supports(estimate, truth, zero_tol);
  return (e == t).all(1);
}

torch::Tensor support_contained(const torch::Tensor& estimate, const torch::Tensor& truth, double zero_tol) {
  const auto [e, t] = measures_detail::supports(estimate, truth, zero_tol);
  return (e.logical_and(t.logical_not())).any(1).logical_not();
}

}  // namespace deepsc::mlcsc
