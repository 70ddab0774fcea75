// Olshausen & Field 1996 (Nature 381:607–609), "Emergence of simple-cell receptive field
// properties by learning a sparse code for natural images", in its mini-batch form:
// per mini-batch Y [B, n], sparse inference X = argmin ½‖Y − X Dᵀ‖² + λ‖X‖₁ (lasso, D fixed), then
// one gradient step on the mean reconstruction error and renormalised atoms:
//   D ← D + η (Y − X Dᵀ)ᵀ X / B,   d_j ← d_j/‖d_j‖₂.
// Default step (learning_rate 0): η_t = 1/L_t, L_t = ‖XᵀX‖₂/B the Lipschitz constant of the
// batch's gradient in D, estimated by power iteration on XᵀX warm-started from the previous
// batch's eigenvector (30 steps on the first batch, 3 after); no host synchronisation.

#include "learner_internal.h"

namespace deepsc::dictlearn::detail {

namespace {

/// L = ‖XᵀX‖₂/B by `steps` power iterations from `vector` (updated); a 0-dim tensor.
torch::Tensor batch_lipschitz(const torch::Tensor& x, torch::Tensor& vector, int64_t steps) {
  const auto xt = x.t();
  torch::Tensor norm;
  for (int64_t s = 0; s < steps; ++s) {
    const auto w = torch::mv(xt, torch::mv(x, vector));
    norm = torch::linalg_vector_norm(w, 2, c10::nullopt, false, c10::nullopt);
    // All-zero codes give w = 0: keep the vector so later batches can still converge.
    vector.copy_(torch::where(norm > 0, w / norm.clamp_min(1e-30), vector));
  }
  return norm / static_cast<double>(x.size(0));
}

}  // namespace

double olshausen_field_step(Problem& problem, LearnerState& state, int64_t t) {
  const auto& o = problem.options;
  const auto y = problem.batch_signals(t);
  const auto coded = training_codes(*dictionary_of(state.atoms), y, o);
  const auto& x = coded.codes;
  count_usage(state, x);

  const auto residual = torch::addmm(y, x, state.atoms, 1, -1);  // Y − X Dᵀ  [B, n]
  auto step = torch::mm(x.t(), residual);                        // B·(−∇_D)ᵀ  [m, n]
  if (o.learning_rate() > 0) {
    step.mul_(o.learning_rate() / static_cast<double>(x.size(0)));
  } else {
    const auto lipschitz = batch_lipschitz(x, state.power_vector, t == 0 ? 30 : 3);
    // With all codes zero the gradient is zero too; the clamp keeps 0·(1/L) finite.
    step.div_(lipschitz.clamp_min(1e-30) * static_cast<double>(x.size(0)));
  }
  state.atoms.add_(step);
  normalize_rows(state.atoms);

  replace_dead_atoms(problem, state, t, [&] { return residual; });
  return coded.objective;
}

}  // namespace deepsc::dictlearn::detail
