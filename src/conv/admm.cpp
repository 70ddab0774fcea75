#include "deepsc/conv/admm.h"

#include "deepsc/sparse/lasso.h"
#include "frequency_solve.h"

#include <sstream>
#include <stdexcept>

namespace deepsc::conv {

namespace {

void check_admm_options(const ConvDictionary& dict, const AdmmOptions& o) {
  if (dict.options().stride() != 1) {
    throw std::invalid_argument("admm needs a dictionary with stride 1 (the FFT diagonalises only stride-1 "
                                "convolutions), got stride " + std::to_string(dict.options().stride()) +
                                "; use fista for strided dictionaries");
  }
  if (!(o.lambda() >= 0)) throw std::invalid_argument("lambda must be >= 0");
  if (!(o.rho() >= 0)) throw std::invalid_argument("rho must be > 0 (or 0 for the default 1/gamma)");
  if (!(o.gamma() >= 0)) throw std::invalid_argument("gamma (data/code penalty ratio) must be > 0 (or 0 for the default)");
  if (!(o.alpha() > 0 && o.alpha() < 2)) throw std::invalid_argument("alpha (over-relaxation) must be in (0, 2)");
  if (o.max_iter() < 1) throw std::invalid_argument("max_iter must be >= 1");
  if (o.rho_period() < 1) throw std::invalid_argument("rho_period must be >= 1");
  if (!(o.tol() >= 0)) throw std::invalid_argument("tol must be >= 0");
}

/// Residual balancing (Boyd et al. 2011, sec. 3.4.1) on the relative residuals, with the
/// adaptive factor of Wohlberg ("ADMM penalty parameter selection by residual balancing", 2017):
/// when r/ε_pri and s/ε_dual are more than μ apart, ρ is multiplied by τ = √(ratio), τ ∈ [1/τ_max, τ_max].
constexpr double kBalanceMu = 10, kBalanceTauMax = 10;

/// out = S_β(v) = v − clamp(v, −β, β), or S⁺_β(v) = max(v − β, 0), with β per sample [N, 1, …];
/// written into `out` (a view of the codes' grid buffer) without temporaries of v's size.
void shrink_into(torch::Tensor& out, const torch::Tensor& v, const torch::Tensor& beta, bool nonneg) {
  if (nonneg) {
    at::sub_out(out, v, beta).clamp_min_(0);
  } else {
    at::clamp_out(out, v, -beta, beta);
    at::sub_out(out, v, out);
  }
}

}  // namespace

sparse::SolverResult admm(const ConvDictionary& dict, const torch::Tensor& signals, const AdmmOptions& o) {
  check_admm_options(dict, o);
  dict.check_signals(signals);
  torch::NoGradGuard no_grad;

  const auto code_shape = dict.code_shape(signals.sizes());
  const int64_t n = code_shape[0], rank = dict.spatial_dims(), p = dict.options().padding();
  const auto real = signals.options();
  sparse::SolverResult result;
  if (n == 0) {
    result.codes = torch::zeros(code_shape, real);
    result.converged = true;
    return result;
  }

  // Grid G = H + 2p per axis: the full convolution of an H'-sample code with a span d(k − 1) + 1
  // atom has exactly G samples, so it never wraps. The data window P is [p, p + H) on every axis.
  std::vector<int64_t> grid_sizes, per_sample{n, 1}, sample_dims{1};
  for (int64_t i = 0; i < rank; ++i) {
    grid_sizes.push_back(signals.size(2 + i) + 2 * p);
    per_sample.push_back(1);
    sample_dims.push_back(2 + i);
  }
  const detail::FrequencyGrid grid(grid_sizes);
  detail::FrequencyDictionary fdict(dict.weights(), dict.options().dilation(), grid);
  if (!(fdict.lipschitz() > 0)) {  // D = 0: every X has the same fit, X = 0 minimises λ‖X‖₁.
    result.codes = torch::zeros(code_shape, real);
    result.converged = true;
    result.objective = (0.5 * signals.square().sum() / n).item<double>();
    return result;
  }
  // Scale-invariant defaults: γ = 2/‖D̃‖² (the X-update's conditioning does not depend on the
  // atoms' scale) and ρ₁ = γρ = 1 (the curvature of the data term ½‖PS − Y‖²).
  const double gamma = o.gamma() > 0 ? o.gamma() : 2 / fdict.lipschitz();
  fdict.factor(gamma);
  const double alpha = o.alpha();
  auto rho = torch::full({n}, o.rho() > 0 ? o.rho() : 1 / gamma, real);             // ρ per signal
  const auto per = [&](const torch::Tensor& v) { return v.view(per_sample); };      // [N] → [N, 1, 1(, 1)]
  const auto per_hat = [&](const torch::Tensor& v) { return v.view({n, 1, 1}); };  // [N] → [N, 1, 1]
  const auto window = [&](const torch::Tensor& t) {  // grid [N, C, G…] → window [N, C, H, W]
    auto out = t;
    for (int64_t i = 0; i < rank; ++i) out = out.narrow(2 + i, p, signals.size(2 + i));
    return out;
  };
  const auto support = [&](const torch::Tensor& t) {  // grid [N, M, G…] → codes [N, M, H', W']
    auto out = t;
    for (int64_t i = 0; i < rank; ++i) out = out.narrow(2 + i, 0, code_shape[2 + i]);
    return out;
  };

  // Buffers, allocated once. On the grid (real): Z (zero off the support), the data correction
  // (zero off the window) and the two inverse transforms. Spectra [N, ·, F] (complex).
  const auto on_grid = [&](int64_t channels) {
    std::vector<int64_t> shape{n, channels};
    shape.insert(shape.end(), grid_sizes.begin(), grid_sizes.end());
    return shape;
  };
  const int64_t m = dict.num_atoms(), c = dict.channels(), f = grid.frequencies();
  auto z_grid = torch::zeros(on_grid(m), real), fit_grid = torch::zeros(on_grid(c), real);
  auto vz_grid = torch::empty(on_grid(m), real), vs_grid = torch::empty(on_grid(c), real);
  auto z = support(z_grid), fit = window(fit_grid);
  const auto spectrum = real.dtype(c10::toComplexType(signals.scalar_type()));
  auto z_hat = torch::empty({n, m, f}, spectrum), uz_hat = torch::empty_like(z_hat), x_hat = torch::empty_like(z_hat),
       q = torch::empty_like(z_hat), q_next = torch::empty_like(z_hat), dh_us = torch::empty_like(z_hat),
       scratch = torch::empty_like(z_hat);
  auto s_hat = torch::empty({n, c, f}, spectrum), us_hat = torch::empty_like(s_hat), dx_hat = torch::empty_like(s_hat),
       fit_hat = torch::empty_like(s_hat);

  // Start: Ẑ, Ŝ = D̂Ẑ, and duals consistent with Z (the fixed-point relations of the S- and
  // X-updates): U_S = Pᵀ(D Z − Y)/ρ₁, U_Z = −γ D̃ᵀ U_S. Q = γD̂ᴴŜ + Ẑ and D̂ᴴÛ_S are kept, so that
  // the X-update's right-hand side is Q − γD̂ᴴÛ_S − Û_Z and the dual residual is ρ ΔQ.
  if (o.warm_start().defined()) {
    if (o.warm_start().sizes() != c10::IntArrayRef(code_shape)) {
      std::ostringstream msg;
      msg << "warm start has shape " << o.warm_start().sizes() << ", expected " << c10::IntArrayRef(code_shape);
      throw std::invalid_argument(msg.str());
    }
    z.copy_(o.warm_start());
    if (o.nonneg()) z.clamp_min_(0);
  }
  grid.forward(z_hat, z_grid);
  fdict.synthesis(s_hat, z_hat, scratch);
  grid.inverse(vs_grid, s_hat);
  at::sub_out(fit, window(vs_grid), signals).div_(per(gamma * rho));
  grid.forward(us_hat, fit_grid);
  fdict.analysis(dh_us, us_hat);
  uz_hat.copy_(dh_us).mul_(-gamma);
  fdict.analysis(q, s_hat);
  q.mul_(gamma).add_(z_hat);
  // ‖Y‖ floors the primal scale, which vanishes with the codes when X = 0 is the solution.
  const auto signal_norm_sq = torch::linalg_vector_norm(signals, 2, sample_dims).square();

  for (int64_t it = 1; it <= o.max_iter(); ++it) {
    // X-update per frequency, then the relaxed points V = α A x + (1 − α) z + U, written over U.
    at::sub_out(x_hat, q, uz_hat).add_(dh_us, -gamma);
    fdict.solve(x_hat, dx_hat, scratch);
    uz_hat.add_(x_hat, alpha).add_(z_hat, 1 - alpha);   // V_Z
    us_hat.add_(dx_hat, alpha).add_(s_hat, 1 - alpha);  // V_S

    // Z-update: shrink on the support (Z stays 0 elsewhere on the grid); U_Z = V_Z − Z.
    grid.inverse(vz_grid, uz_hat);
    shrink_into(z, support(vz_grid), per(o.lambda() / rho), o.nonneg());
    grid.forward(z_hat, z_grid);
    uz_hat.sub_(z_hat);
    // S-update: S = V_S + Pᵀ(Y − P V_S)/(1 + ρ₁); U_S = V_S − S.
    grid.inverse(vs_grid, us_hat);
    at::sub_out(fit, signals, window(vs_grid)).div_(per(1 + gamma * rho));
    grid.forward(fit_hat, fit_grid);
    at::add_out(s_hat, us_hat, fit_hat);
    at::neg_out(us_hat, fit_hat);
    fdict.analysis(q_next, s_hat);
    q_next.mul_(gamma).add_(z_hat);
    fdict.analysis(dh_us, us_hat);

    // Residuals per signal (Parseval on the grid) of the constraint √γ(D̃X − S) = 0, X − Z = 0 (the
    // split with one penalty ρ): r = (√γ(D̃X − S), X − Z), s/ρ = ΔQ; both scale like the codes.
    auto primal =
        (gamma * grid.norm_sq(at::sub_out(fit_hat, dx_hat, s_hat)) + grid.norm_sq(at::sub_out(scratch, x_hat, z_hat))).sqrt();
    auto primal_scale = (gamma * torch::maximum(grid.norm_sq(s_hat), signal_norm_sq) +
                         torch::linalg_vector_norm(z, 2, sample_dims).square())
                            .sqrt();
    auto dual = grid.norm_sq(at::sub_out(scratch, q_next, q)).sqrt();
    auto dual_scale = grid.norm_sq(uz_hat).sqrt();
    std::swap(q, q_next);

    result.iterations = it;
    if (o.record_history()) result.history.push_back(sparse::lasso_objective(dict, signals, z, o.lambda()).mean().item<double>());
    if (((primal <= o.tol() * primal_scale) & (dual <= o.tol() * dual_scale)).all().item<bool>()) {
      result.converged = true;
      break;
    }
    if (o.adaptive_rho() && it % o.rho_period() == 0) {
      auto ratio = (primal / primal_scale.clamp_min(1e-30)) / (dual / dual_scale.clamp_min(1e-30)).clamp_min(1e-30);
      auto factor = torch::where((ratio > kBalanceMu) | (ratio < 1 / kBalanceMu),
                                 ratio.sqrt().clamp(1 / kBalanceTauMax, kBalanceTauMax), torch::ones_like(ratio));
      rho.mul_(factor);  // the scaled duals U = y/ρ shrink as ρ grows
      const auto inverse = per_hat(factor.reciprocal());
      us_hat.mul_(inverse);
      uz_hat.mul_(inverse);
      dh_us.mul_(inverse);
    }
  }
  result.codes = z.contiguous();
  result.objective = sparse::lasso_objective(dict, signals, z, o.lambda()).mean().item<double>();
  return result;
}

}  // namespace deepsc::conv
