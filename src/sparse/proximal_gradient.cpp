#include "deepsc/sparse/proximal_gradient.h"

#include "deepsc/sparse/lasso.h"
#include "proximal_update.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace deepsc::sparse {

StopRule parse_stop_rule(const std::string& name) {
  if (name == "change") return StopRule::RelativeChange;
  if (name == "gap") return StopRule::DualityGap;
  throw std::invalid_argument("unknown stop rule '" + name + "' (use change or gap)");
}

namespace {

void check_options(const ProximalGradientOptions& o) {
  if (!(o.lambda() >= 0)) throw std::invalid_argument("lambda must be >= 0");
  if (o.max_iter() < 1) throw std::invalid_argument("max_iter must be >= 1");
  if (!(o.tol() >= 0)) throw std::invalid_argument("tol must be >= 0");
  if (o.check_every() < 1) throw std::invalid_argument("check_every must be >= 1");
  if (o.block_rows() < 0) throw std::invalid_argument("block_rows must be >= 0 (0 = automatic)");
  if (!(o.step_scale() > 0 && o.step_scale() < 2))
    throw std::invalid_argument("step_scale must be in (0, 2); the step is step_scale / L");
}

/// Outcome of iterating one block of rows to its own stop.
struct BlockOutcome {
  int64_t iterations = 0;
  bool converged = false;
};

/// ISTA/FISTA on the rows `signals` [B, ...] from `x` [B, ...] (overwritten with the result).
/// ISTA is FISTA without extrapolation.
BlockOutcome solve_block(const LinearOperator& op, const torch::Tensor& signals, torch::Tensor& x, double step,
                         const ProximalGradientOptions& o, bool accelerate, std::vector<double>* history) {
  const int64_t n = x.size(0);
  const auto gradient_step = op.gradient_step(signals, step);
  auto z = accelerate ? x.clone() : x;  // ISTA steps from X itself
  auto v = torch::empty_like(x);
  const auto stats = x.options().dtype(torch::kDouble);
  auto t = torch::ones({n}, stats);
  auto change_sq = torch::empty({n}, stats);
  auto norm_sq = torch::empty({n}, stats);

  detail::ProximalUpdate update;
  update.threshold = o.lambda() * step;
  update.nonneg = o.nonneg();
  update.accelerate = accelerate;
  update.restart = accelerate && o.adaptive_restart();
  update.fused = o.fused();

  BlockOutcome outcome;
  const auto rows = [n](const torch::Tensor& a) { return a.view({n, -1}); };
  for (int64_t it = 1; it <= o.max_iter(); ++it) {
    (*gradient_step)(z, v);  // v = Z − η∇f(Z), written in place
    auto v2 = rows(v), x2 = rows(x), z2 = rows(z);
    detail::proximal_update(update, v2, x2, z2, t, change_sq, norm_sq);
    std::swap(x, v);  // x ← X^{l+1}; the old X's storage is the next step's buffer
    if (!accelerate) z = x;
    outcome.iterations = it;
    if (history) history->push_back(lasso_objective(op, signals, x, o.lambda()).mean().item<double>());

    if (it % o.check_every() == 0) {
      bool done;
      if (o.stop_rule() == StopRule::RelativeChange) {
        done = (change_sq <= (o.tol() * o.tol()) * norm_sq).all().item<bool>();
      } else {
        auto terms = lasso_terms(op, signals, x, o.lambda(), o.nonneg());
        done = (terms.gap <= o.tol() * terms.objective.abs().clamp_min(1e-30)).all().item<bool>();
      }
      if (done) {
        outcome.converged = true;
        break;
      }
    }
  }
  return outcome;
}

/// Rows per block. On CPU the batch is cut into blocks that are solved one after the other, each
/// to its own stop (rows are independent problems), so the iterates of a block stay in cache and
/// an easy block stops early. The blocks run in sequence, each op using every thread: Debian's
/// OpenMP OpenBLAS serialises GEMMs issued from several threads at once, so blocks in parallel
/// gain nothing. Other devices take the batch whole.
int64_t rows_per_block(const ProximalGradientOptions& o, const torch::Tensor& x, bool single_block) {
  const int64_t n = x.size(0);
  if (single_block || !x.device().is_cpu()) return n;
  if (o.block_rows() > 0) return std::min(n, o.block_rows());
  const int64_t row_bytes = std::max<int64_t>(1, x.numel() / std::max<int64_t>(n, 1) * x.element_size());
  return std::clamp<int64_t>((int64_t{4} << 20) / row_bytes, 256, n);  // ~4 MiB per iterate
}

SolverResult proximal_gradient(const LinearOperator& op, const torch::Tensor& signals,
                               const ProximalGradientOptions& o, bool accelerate) {
  check_options(o);
  op.check_signals(signals);
  torch::NoGradGuard no_grad;

  const auto code_shape = op.code_shape(signals.sizes());
  const int64_t n = code_shape[0];
  const auto opts = signals.options();
  SolverResult result;
  if (n == 0) {
    result.codes = torch::zeros(code_shape, opts);
    result.converged = true;
    return result;
  }

  const double lipschitz = op.lipschitz(signals.sizes(), o.lipschitz());
  if (!(lipschitz > 0)) {  // D = 0: every X has the same fit, X = 0 minimises λ‖X‖₁.
    result.codes = torch::zeros(code_shape, opts);
    result.converged = true;
    result.objective = (0.5 * signals.square().sum() / n).item<double>();
    return result;
  }
  const double step = o.step_scale() / lipschitz;

  torch::Tensor x;
  if (o.warm_start().defined()) {
    if (o.warm_start().sizes() != c10::IntArrayRef(code_shape)) {
      std::ostringstream msg;
      msg << "warm start has shape " << o.warm_start().sizes() << ", expected " << c10::IntArrayRef(code_shape);
      throw std::invalid_argument(msg.str());
    }
    x = o.warm_start().to(opts).clone(at::MemoryFormat::Contiguous);
    if (o.nonneg()) x.clamp_min_(0);
  } else {
    x = torch::zeros(code_shape, opts);
  }

  // History is an objective over the whole batch per iteration, so it needs one block.
  const int64_t block = rows_per_block(o, x, o.record_history());
  auto y = signals.contiguous();
  result.converged = true;
  for (int64_t begin = 0; begin < n; begin += block) {
    const int64_t rows = std::min(block, n - begin);
    // solve_block swaps its buffers, so the block's result is copied back rather than aliased.
    auto xb = x.narrow(0, begin, rows).clone();
    const auto outcome = solve_block(op, y.narrow(0, begin, rows), xb, step, o, accelerate,
                                     o.record_history() ? &result.history : nullptr);
    x.narrow(0, begin, rows).copy_(xb);
    result.iterations = std::max(result.iterations, outcome.iterations);
    result.converged = result.converged && outcome.converged;
  }
  result.codes = x;
  result.objective = lasso_objective(op, signals, x, o.lambda()).mean().item<double>();
  return result;
}

}  // namespace

SolverResult ista(const LinearOperator& op, const torch::Tensor& signals, const ProximalGradientOptions& options) {
  return proximal_gradient(op, signals, options, /*accelerate=*/false);
}

SolverResult fista(const LinearOperator& op, const torch::Tensor& signals, const ProximalGradientOptions& options) {
  return proximal_gradient(op, signals, options, /*accelerate=*/true);
}

}  // namespace deepsc::sparse
