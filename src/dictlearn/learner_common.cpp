// What the four dictionary learners share: option checks, the random start, the mini-batch order,
// the sparse-coding step, dead-atom replacement and the objective with D fixed.

#include "learner_internal.h"

#include "deepsc/sparse/coordinate_descent.h"
#include "deepsc/sparse/omp.h"
#include "deepsc/sparse/proximal_gradient.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace deepsc::dictlearn {

namespace {

/// Relative duality gap of the codes behind every reported ℓ1 objective: 1e-6, or 1e-5 in float32,
/// whose rounding leaves the gap unresolved below ~1e-6 (the solver would run to its cap).
double objective_gap(const torch::Tensor& signals) { return signals.scalar_type() == torch::kDouble ? 1e-6 : 1e-5; }

[[noreturn]] void fail(const std::string& what) { throw std::invalid_argument(what); }

bool uses_l1(Algorithm a) { return a == Algorithm::OlshausenField || a == Algorithm::Online; }

/// Float32 or float64 matrix with finite entries; `what` names it in the message.
void check_matrix(const torch::Tensor& t, const std::string& what) {
  if (!t.defined() || t.dim() != 2) {
    std::ostringstream msg;
    msg << what << " must be a matrix";
    if (t.defined()) msg << ", got shape " << t.sizes();
    fail(msg.str());
  }
  if (t.scalar_type() != torch::kFloat && t.scalar_type() != torch::kDouble) {
    fail(what + " must be float32 or float64, got " + c10::toString(t.scalar_type()));
  }
  if (t.numel() > 0 && !torch::isfinite(t).all().item<bool>()) fail(what + " has NaN or Inf entries");
}

/// λ for the ℓ1 learners, K for the ℓ0 ones, for signals of length n and m atoms.
void check_coding(const LearnOptions& o, int64_t n, int64_t m) {
  const std::string name = algorithm_name(o.algorithm());
  if (!(o.lambda() >= 0) || !std::isfinite(o.lambda())) fail("lambda must be finite and >= 0");
  if (o.sparsity() < 0) fail("sparsity must be >= 0");
  if (!(o.error_bound() >= 0) || !std::isfinite(o.error_bound())) fail("error bound must be finite and >= 0");
  if (uses_l1(o.algorithm())) {
    if (o.error_bound() > 0) fail(name + " codes with lambda; an error bound applies to ksvd and mod only");
    if (!(o.lambda() > 0)) fail(name + " needs lambda > 0 (the weight of the l1 penalty)");
    if (!(o.coding_tol() > 0) || !std::isfinite(o.coding_tol())) fail("coding tolerance must be finite and > 0");
    return;
  }
  if (o.sparsity() < 1) fail(name + " needs sparsity K >= 1 (non-zeros per code)");
  if (o.sparsity() > std::min(n, m)) {
    std::ostringstream msg;
    msg << "sparsity K = " << o.sparsity() << " exceeds min(n, m) = " << std::min(n, m) << " (signal length " << n
        << ", " << m << " atoms)";
    fail(msg.str());
  }
}

const torch::Tensor& checked_signals(const torch::Tensor& signals, const LearnOptions& o) {
  check_matrix(signals, "signals [N, n]");
  if (signals.size(0) < 1 || signals.size(1) < 1) fail("signals [N, n] must hold at least one signal of length >= 1");
  if (o.atoms() < 1) fail("atoms must be >= 1");
  check_coding(o, signals.size(1), o.atoms());
  if (o.iterations() < 1) fail("iterations must be >= 1");
  if (o.batch_size() < 1) fail("batch size must be >= 1");
  if (!(o.learning_rate() >= 0) || !std::isfinite(o.learning_rate())) fail("learning rate must be finite and >= 0");
  if (o.eval_every() < 1) fail("eval_every must be >= 1");
  if (o.checkpoint_every() < 1) fail("checkpoint_every must be >= 1");
  if (o.resume() && o.checkpoint().empty()) fail("resume needs a checkpoint file");
  if (o.ksvd_power_iterations() < 1) fail("ksvd power iterations must be >= 1");
  if (o.dead_atom_window() < 0) fail("dead-atom window must be >= 0 (0: automatic)");
  if (o.restart_passes() < 0) fail("restart passes must be >= 0 (0: no atom restarts)");
  if (!(o.duplicate_threshold() > 0 && o.duplicate_threshold() <= 1)) fail("duplicate threshold must be in (0, 1]");
  const int64_t n = signals.size(1), m = o.atoms();
  if (o.initial().defined()) {
    check_matrix(o.initial(), "initial dictionary");
    if (o.initial().size(0) != n || o.initial().size(1) != m) {
      std::ostringstream msg;
      msg << "initial dictionary has shape " << o.initial().sizes() << ", expected [" << n << ", " << m << "]";
      fail(msg.str());
    }
    if ((o.initial().norm(2, {0}) == 0).any().item<bool>()) fail("initial dictionary has an all-zero atom");
  }
  if (o.holdout().defined()) {
    check_matrix(o.holdout(), "holdout signals");
    if (o.holdout().size(0) < 1 || o.holdout().size(1) != n) {
      std::ostringstream msg;
      msg << "holdout signals have shape " << o.holdout().sizes() << ", expected [H >= 1, " << n << "]";
      fail(msg.str());
    }
  }
  return signals;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

Algorithm parse_algorithm(const std::string& name) {
  if (name == "olshausen-field") return Algorithm::OlshausenField;
  if (name == "online") return Algorithm::Online;
  if (name == "ksvd") return Algorithm::Ksvd;
  if (name == "mod") return Algorithm::Mod;
  fail("unknown dictionary-learning algorithm '" + name + "' (expected olshausen-field, online, ksvd or mod)");
}

std::string restart_outcome_name(RestartOutcome outcome) {
  switch (outcome) {
    case RestartOutcome::None:
      return "";
    case RestartOutcome::Kept:
      return "kept";
    case RestartOutcome::Rejected:
      return "rejected";
  }
  fail("unknown restart outcome");
}

std::string algorithm_name(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::OlshausenField:
      return "olshausen-field";
    case Algorithm::Online:
      return "online";
    case Algorithm::Ksvd:
      return "ksvd";
    case Algorithm::Mod:
      return "mod";
  }
  fail("unknown dictionary-learning algorithm");
}

double dictionary_objective(const torch::Tensor& dictionary, const torch::Tensor& signals,
                            const LearnOptions& options) {
  check_matrix(dictionary, "dictionary D [n, m]");
  check_matrix(signals, "signals [N, n]");
  const int64_t n = dictionary.size(0), m = dictionary.size(1);
  if (signals.size(0) < 1 || signals.size(1) != n) {
    std::ostringstream msg;
    msg << "signals have shape " << signals.sizes() << ", expected [N >= 1, " << n << "] for a dictionary of shape "
        << dictionary.sizes();
    fail(msg.str());
  }
  check_coding(options, n, m);
  torch::NoGradGuard no_grad;
  const sparse::DenseDictionary dict(dictionary);
  const auto y = signals.to(dictionary.options()).contiguous();
  if (uses_l1(options.algorithm())) {
    return detail::lasso_codes(dict, y, options.lambda(), sparse::StopRule::DualityGap, objective_gap(y)).objective;
  }
  return detail::omp_codes(dict, y, options).objective;
}

namespace detail {

at::Generator generator(uint64_t seed, Stream stream, uint64_t index) {
  const uint64_t mixed = splitmix64(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(stream)) ^ index);
  return at::make_generator<at::CPUGeneratorImpl>(mixed);
}

const torch::Tensor& BatchSampler::permutation(int64_t epoch) {
  const auto slot = static_cast<size_t>(epoch % 2);
  if (cached_epoch_[slot] != epoch) {
    auto gen = generator(seed_, Stream::Order, static_cast<uint64_t>(epoch));
    cached_[slot] = torch::randperm(count_, gen, torch::kLong);
    cached_epoch_[slot] = epoch;
  }
  return cached_[slot];
}

torch::Tensor BatchSampler::indices(int64_t t) {
  const int64_t start = t * batch_, epoch = start / count_, offset = start % count_;
  const auto first = permutation(epoch);
  if (offset + batch_ <= count_) return first.narrow(0, offset, batch_);
  const int64_t head = count_ - offset;
  const auto second = permutation(epoch + 1);  // the other cache slot: `first` stays valid
  return torch::cat({first.narrow(0, offset, head), second.narrow(0, 0, batch_ - head)});
}

Problem::Problem(const torch::Tensor& y, const LearnOptions& o)
    : signals(checked_signals(y, o).contiguous()),
      options(o),
      batch(std::min(o.batch_size(), y.size(0))),
      sampler(y.size(0), std::min(o.batch_size(), y.size(0)), o.seed()) {
  if (o.holdout().defined()) holdout = o.holdout().to(signals.options()).contiguous();
  if (o.dead_atom_window() > 0) {
    window = o.dead_atom_window();
  } else if (o.algorithm() == Algorithm::Ksvd || o.algorithm() == Algorithm::Mod) {
    window = 1;
  } else {
    window = (10 * o.atoms() + batch - 1) / batch;
  }
}

torch::Tensor Problem::batch_signals(int64_t t) {
  return signals.index_select(0, sampler.indices(t).to(signals.device()));
}

void normalize_rows(torch::Tensor& atoms) {
  // An all-zero row divides by the clamp and stays zero; replace_dead_atoms() then replaces it.
  atoms.div_(torch::linalg_vector_norm(atoms, 2, {1}, true, c10::nullopt).clamp_min(1e-30));
}

LearnerState initial_state(const Problem& problem) {
  const auto& o = problem.options;
  const auto& y = problem.signals;
  const int64_t count = y.size(0), n = y.size(1), m = o.atoms();
  LearnerState s;
  if (o.initial().defined()) {
    s.atoms = o.initial().to(y.options()).t().contiguous();
  } else {
    auto gen = generator(o.seed(), Stream::Start, 0);
    auto gauss = torch::randn({m, n}, gen, torch::kDouble).to(y.options());
    if (o.initialization() == Initialization::Signals) {
      const int64_t k = std::min(count, m);
      const auto pick = torch::randperm(count, gen, torch::kLong).narrow(0, 0, k).to(y.device());
      auto rows = y.index_select(0, pick);
      const auto zero = torch::linalg_vector_norm(rows, 2, {1}, true, c10::nullopt) == 0;
      gauss.narrow(0, 0, k).copy_(torch::where(zero, gauss.narrow(0, 0, k), rows));
    }
    s.atoms = gauss.contiguous();
  }
  normalize_rows(s.atoms);
  if (o.algorithm() == Algorithm::Online) {
    s.stats_a = torch::zeros({m, m}, y.options());
    s.stats_b = torch::zeros({m, n}, y.options());
  }
  if (o.algorithm() == Algorithm::OlshausenField && o.learning_rate() == 0) {
    s.power_vector = torch::full({m}, 1.0 / std::sqrt(static_cast<double>(m)), y.options());
  }
  s.usage = torch::zeros({m}, y.options().dtype(torch::kLong));
  return s;
}

std::unique_ptr<sparse::DenseDictionary> dictionary_of(const torch::Tensor& atoms) {
  return std::make_unique<sparse::DenseDictionary>(atoms.t());
}

sparse::SolverResult lasso_codes(const sparse::DenseDictionary& dict, const torch::Tensor& signals, double lambda,
                                 sparse::StopRule rule, double tol, const torch::Tensor& warm) {
  if (dict.matrix().is_cpu()) {
    // Exact coordinate minimisation with an active set: the fastest lasso solver for a few
    // hundred atoms on CPU (docs/performance.md).
    return sparse::coordinate_descent(
        dict, signals,
        sparse::CoordinateDescentOptions(lambda).tol(tol).stop_rule(rule).max_iter(1000).warm_start(warm));
  }
  return sparse::fista(dict, signals,
                       sparse::ProximalGradientOptions(lambda)
                           .tol(tol)
                           .stop_rule(rule)
                           .check_every(rule == sparse::StopRule::DualityGap ? 10 : 1)
                           .max_iter(5000)
                           .warm_start(warm));
}

sparse::SolverResult training_codes(const sparse::DenseDictionary& dict, const torch::Tensor& signals,
                                    const LearnOptions& options) {
  return lasso_codes(dict, signals, options.lambda(), sparse::StopRule::RelativeChange, options.coding_tol());
}

double holdout_objective(const Problem& problem, LearnerState& state) {
  const auto& o = problem.options;
  const auto dict = dictionary_of(state.atoms);
  if (!uses_l1(o.algorithm())) return omp_codes(*dict, problem.holdout, o).objective;
  // A checkpoint of a run with another holdout set carries codes of another shape: start cold.
  const bool warm = state.holdout_codes.defined() && state.holdout_codes.size(0) == problem.holdout.size(0);
  auto coded = lasso_codes(*dict, problem.holdout, o.lambda(), sparse::StopRule::DualityGap,
                           objective_gap(problem.holdout), warm ? state.holdout_codes : torch::Tensor());
  state.holdout_codes = coded.codes;
  return coded.objective;
}

sparse::SolverResult omp_codes(const sparse::DenseDictionary& dict, const torch::Tensor& signals, const LearnOptions& options) {
  return sparse::omp(dict, signals, sparse::OmpOptions().sparsity(options.sparsity()).epsilon(options.error_bound()));
}

void count_usage(LearnerState& state, const torch::Tensor& codes) { state.usage.add_((codes != 0).sum(0)); }

std::vector<int64_t> swap_atoms_if_enabled(const Problem& problem, LearnerState& state, const torch::Tensor& codes,
                                           const torch::Tensor& residual) {
  if (!problem.options.swap_atoms()) return {};
  auto changed = swap_atoms(state.atoms, codes, residual);
  state.swapped += static_cast<int64_t>(changed.size());
  return changed;
}

void replace_dead_atoms(const Problem& problem, LearnerState& state, int64_t t,
                        const std::function<torch::Tensor()>& residuals, const std::vector<int64_t>& spared) {
  if (!problem.options.replace_dead_atoms() || (t + 1) % problem.window != 0) return;
  auto& atoms = state.atoms;
  // |⟨d_i, d_j⟩| for i < j: atom j is a near-duplicate when an earlier atom is that close.
  const auto overlap = torch::mm(atoms, atoms.t()).abs_().triu_(1);
  const auto norms = torch::linalg_vector_norm(atoms, 2, {1}, false, c10::nullopt);
  auto dead = (state.usage == 0) | (overlap > problem.options.duplicate_threshold()).any(0) | (norms < 0.5);
  if (!spared.empty()) {  // atoms just set by a swap: unused so far by construction
    dead.index_fill_(0, torch::tensor(spared, torch::kLong).to(dead.device()), false);
  }
  state.usage.zero_();
  auto index = torch::nonzero(dead).squeeze(1);
  if (index.size(0) == 0) return;
  // The signals the dictionary represents worst; each new atom is the normalised residual of one of
  // them, the direction that most reduces that signal's error (a Gaussian atom if it is zero, and
  // for the dead atoms beyond the number of signals).
  const auto residual = residuals();
  const int64_t count = std::min(index.size(0), residual.size(0));
  const auto worst = std::get<1>(residual.square().sum(1).topk(count));
  auto rows = residual.index_select(0, worst);
  auto gen = generator(problem.options.seed(), Stream::Replace, static_cast<uint64_t>(t));
  const auto gauss = torch::randn(rows.sizes(), gen, torch::kDouble).to(rows.options());
  rows = torch::where(torch::linalg_vector_norm(rows, 2, {1}, true, c10::nullopt) == 0, gauss, rows);
  if (index.size(0) > count) {
    rows = torch::cat({rows, torch::randn({index.size(0) - count, atoms.size(1)}, gen, torch::kDouble).to(rows.options())});
  }
  normalize_rows(rows);
  atoms.index_copy_(0, index, rows);
  if (state.stats_a.defined()) {
    // The statistics of a replaced atom describe the old one: the new atom starts without history.
    state.stats_a.index_fill_(0, index, 0).index_fill_(1, index, 0);
    state.stats_b.index_fill_(0, index, 0);
  }
  state.replaced += index.size(0);
}

}  // namespace detail

}  // namespace deepsc::dictlearn
