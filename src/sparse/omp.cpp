#include "deepsc/sparse/omp.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

// Batch-OMP over a whole batch at once. Per step, every running signal picks its atom, grows its
// Cholesky factor by one row and re-solves on its support in the same few tensor ops; loops run
// only over the support size. A signal that meets its rule has its code written out and is
// masked, and the batch is compacted once a quarter of its rows have stopped. Signals go through
// in chunks so that the O(chunk·K·m) rows of G stay cache-sized on CPU.

namespace deepsc::sparse {

namespace {

/// What stops a signal, resolved from the options once.
struct OmpStopRule {
  int64_t cap = 0;           // most atoms per signal: K, or min(n, m) when only ε is given
  bool by_sparsity = false;  // reaching `cap` is the signal's rule (K was given)
  bool by_error = false;     // ‖r‖ ≤ ε is a rule
  double error_sq = 0;       // ε²
};

OmpStopRule check_omp_options(const DenseDictionary& dict, const OmpOptions& o) {
  if (o.sparsity() < 0) throw std::invalid_argument("omp sparsity must be >= 0, got " + std::to_string(o.sparsity()));
  if (!(o.epsilon() >= 0)) throw std::invalid_argument("omp epsilon must be >= 0, got " + std::to_string(o.epsilon()));
  if (o.sparsity() == 0 && o.epsilon() == 0) throw std::invalid_argument("omp needs --sparsity K or --epsilon");
  const auto type = c10::typeMetaToScalarType(dict.tensor_options().dtype());
  if (type != torch::kFloat && type != torch::kDouble) {
    // The batched triangular solves exist for float32 and float64 only.
    throw std::invalid_argument(std::string("omp needs a float32 or float64 dictionary, got ") + c10::toString(type));
  }
  const int64_t n = dict.signal_dim(), m = dict.num_atoms(), limit = std::min(n, m);
  if (o.sparsity() > limit) {
    // More than min(n, m) atoms cannot be linearly independent, so the Cholesky factor would break.
    std::ostringstream msg;
    msg << "omp sparsity K = " << o.sparsity() << " exceeds min(n, m) = " << limit << " (signal length n = " << n
        << ", atoms m = " << m << ")";
    throw std::invalid_argument(msg.str());
  }
  OmpStopRule rule;
  rule.by_sparsity = o.sparsity() > 0;
  rule.cap = rule.by_sparsity ? o.sparsity() : limit;
  rule.by_error = o.epsilon() > 0;
  rule.error_sq = o.epsilon() * o.epsilon();
  return rule;
}

/// Machine epsilon of the solve's dtype: the tolerances below are relative to rounding.
double dtype_epsilon(torch::ScalarType type) {
  return type == torch::kDouble ? std::numeric_limits<double>::epsilon() : std::numeric_limits<float>::epsilon();
}

/// Support slots the buffers start with; they double when a signal needs more, so an ε rule
/// (cap = min(n, m)) costs memory only for the supports it actually reaches.
int64_t initial_width(const OmpStopRule& rule) { return std::min<int64_t>(rule.cap, 16); }

/// Signals per chunk: the per-signal state is O(width·m) (the rows G_{S,:}), so a chunk is sized
/// to keep it near `budget` elements — cache-sized on CPU, large on GPUs where launches cost.
int64_t chunk_size(const OmpStopRule& rule, int64_t m, bool cpu) {
  const int64_t width = initial_width(rule);
  const int64_t per_signal = width * (m + width) + 4 * m;
  const int64_t budget = cpu ? (int64_t{1} << 21) : (int64_t{1} << 26);
  return std::max<int64_t>(64, budget / per_signal);
}

/// Buffers of one chunk, allocated once and reused by every chunk: on CPU a fresh multi-megabyte
/// tensor per step costs page faults that outweigh the arithmetic.
struct Workspace {
  Workspace(int64_t chunk, int64_t width, int64_t n, int64_t m, const torch::TensorOptions& opts)
      : chunk(chunk),
        m(m),
        opts(opts),
        alpha0(torch::empty({chunk, m}, opts)),
        alpha(torch::empty({chunk, m}, opts)),
        magnitude(torch::empty({chunk, m}, opts)),
        residual(torch::empty({chunk, n}, opts)),
        column(torch::empty({chunk, n}, opts)) {
    allocate_support(width);
  }
  /// (Re)allocates the buffers indexed by support position with `width` slots.
  void allocate_support(int64_t width) {
    chol = torch::zeros({chunk, width, width}, opts);
    support = torch::empty({chunk, width}, opts.dtype(torch::kLong));
    gram_rows = torch::empty({width, chunk, m}, opts);
    z = torch::empty({chunk, width}, opts);
  }
  int64_t width() const { return z.size(1); }

  int64_t chunk, m;
  torch::TensorOptions opts;
  torch::Tensor alpha0, alpha, magnitude;
  torch::Tensor residual, column;          // [chunk, n] for rebuilding residuals in emit()
  torch::Tensor chol, support, gram_rows, z;  // `width` support slots
};

/// The pursuit state of one chunk. Row a of every per-signal tensor belongs to chunk signal
/// rows[a]; a row whose signal has stopped stays (masked by `alive`, its code already written
/// out) until enough rows have stopped to make dropping them worth a copy.
struct Pursuit {
  torch::Tensor rows;       // [A] int64, positions in the chunk
  torch::Tensor alive;      // [A] bool
  torch::Tensor alpha0;     // [A, m] DᵀY
  torch::Tensor alpha;      // [A, m] Dᵀr = α⁰ − G_{:,S} x_S, zeroed on the support
  torch::Tensor magnitude;  // [A, m] scratch for |α|
  torch::Tensor chol;       // [A, w, w] L with L Lᵀ = G_{S,S}; row k is filled at step k
  torch::Tensor support;    // [A, w] int64, atom selected at each step
  torch::Tensor gram_rows;  // [w, A, m] G_{S,:}: slice k = G[support[:, k], :], contiguous
  torch::Tensor z;          // [A, w] L⁻¹ α⁰_S
  torch::Tensor x;          // [A, k] coefficients on the support
  torch::Tensor residual;   // [A] ‖r‖² = ‖y‖² − x_Sᵀ α⁰_S
  torch::Tensor alpha_tol;  // [A] below this max |α| is rounding noise: r ⟂ every atom
  torch::Tensor met;        // [A] bool, ‖r‖ ≤ ε after the last step
  int64_t live = 0;         // number of alive rows (kept on the host to size compactions)
};

/// Moves rows `index` of `buf` (along `dim`) to its front and returns that prefix; only the first
/// `used` entries along `inner` are meaningful, so only those are copied.
torch::Tensor keep_rows(const torch::Tensor& buf, const torch::Tensor& index, int64_t dim, int64_t inner,
                        int64_t used) {
  const auto kept = buf.narrow(dim, 0, index.size(0));
  if (used > 0) kept.narrow(inner, 0, used).copy_(buf.narrow(inner, 0, used).index_select(dim, index));
  return kept;
}

/// Drops the stopped rows (k atoms selected so far), compacting the buffers in place.
void compact(Pursuit& p, int64_t k) {
  const auto index = torch::nonzero(p.alive).squeeze(1);
  p.rows = p.rows.index_select(0, index);
  p.alive = p.alive.index_select(0, index);
  p.alpha0 = keep_rows(p.alpha0, index, 0, 1, p.alpha0.size(1));
  // α and |α| are recomputed before they are read again.
  p.alpha = p.alpha.narrow(0, 0, index.size(0));
  p.magnitude = p.magnitude.narrow(0, 0, index.size(0));
  p.chol = keep_rows(p.chol, index, 0, 1, k);  // rows ≥ k are still all zero for every signal
  p.support = keep_rows(p.support, index, 0, 1, k);
  p.gram_rows = keep_rows(p.gram_rows, index, 1, 0, k);
  p.z = keep_rows(p.z, index, 0, 1, k);
  p.x = p.x.index_select(0, index);
  p.residual = p.residual.index_select(0, index);
  p.alpha_tol = p.alpha_tol.index_select(0, index);
  p.met = p.met.index_select(0, index);
}

/// Doubles the support slots (up to cap) before step k writes slot k, keeping the k filled ones.
void widen(Workspace& work, Pursuit& p, int64_t k, int64_t cap) {
  const int64_t a = p.z.size(0);
  const auto chol = p.chol, support = p.support, gram_rows = p.gram_rows, z = p.z;  // old buffers
  work.allocate_support(std::min(cap, 2 * work.width()));
  p.chol = work.chol.narrow(0, 0, a);
  p.chol.narrow(1, 0, k).narrow(2, 0, k).copy_(chol.narrow(1, 0, k).narrow(2, 0, k));
  p.support = work.support.narrow(0, 0, a);
  p.support.narrow(1, 0, k).copy_(support.narrow(1, 0, k));
  p.gram_rows = work.gram_rows.narrow(1, 0, a);
  p.gram_rows.narrow(0, 0, k).copy_(gram_rows.narrow(0, 0, k));
  p.z = work.z.narrow(0, 0, a);
  p.z.narrow(1, 0, k).copy_(z.narrow(1, 0, k));
}

/// Where finished signals go: their codes, and the sum of ½‖y − D x‖² over them.
struct Sink {
  torch::Tensor codes;    // [chunk, m], zeros on entry
  torch::Tensor signals;  // [chunk, n]
  torch::Tensor atoms;    // Dᵀ [m, n], contiguous so that an atom is a row
  torch::Tensor energy;   // float64 scalar
};

/// Writes the codes of the rows flagged in `which` (support size k) and adds their ½‖r‖². The
/// residual is rebuilt from the k atoms, O(k·n) per signal instead of a dense O(m·n) product.
void emit(const Pursuit& p, const torch::Tensor& which, int64_t k, Workspace& work, Sink& sink) {
  const auto index = torch::nonzero(which).squeeze(1);
  const int64_t count = index.size(0);
  const auto rows = p.rows.index_select(0, index);
  auto residual = work.residual.narrow(0, 0, count);
  torch::index_select_out(residual, sink.signals, 0, rows);
  if (k > 0) {
    const auto atoms = p.support.narrow(1, 0, k).index_select(0, index);
    const auto values = p.x.index_select(0, index);
    // The chunk's codes are contiguous rows: one flat index per entry.
    sink.codes.put_(rows.unsqueeze(1) * sink.codes.size(1) + atoms, values);
    auto column = work.column.narrow(0, 0, count);
    for (int64_t s = 0; s < k; ++s) {
      torch::index_select_out(column, sink.atoms, 0, atoms.select(1, s));
      residual.addcmul_(column, values.narrow(1, s, 1), -1);
    }
  }
  // Per-signal norms in the solve's dtype, their sum in float64: float32 would lose digits over
  // thousands of signals.
  const auto norms = torch::linalg_vector_norm(residual, 2, {1}, false, c10::nullopt);
  sink.energy += 0.5 * norms.to(torch::kDouble).square().sum();
}

/// α = α⁰ − G_{:,S} x_S: k row updates of O(A·m) each, so the cost is O(A·k·m) with no
/// [A, k, m] temporary (a batched 1×k·k×m GEMM runs one tiny BLAS call per signal on CPU).
void update_correlations(Pursuit& p, int64_t k) {
  p.alpha.copy_(p.alpha0);
  for (int64_t s = 0; s < k; ++s) p.alpha.addcmul_(p.gram_rows[s], p.x.narrow(1, s, 1), -1);
  // In exact arithmetic α_S = 0 (the residual is orthogonal to the support); zeroing it also
  // keeps an already selected atom from being picked again.
  p.alpha.scatter_(1, p.support.narrow(1, 0, k), 0);
}

struct ChunkOutcome {
  int64_t max_support = 0;
  bool all_met = true;
};

/// Batch-OMP on one chunk of signals; hands every signal to `sink` once it stops.
ChunkOutcome pursue(const DenseDictionary& dict, const torch::Tensor& signals, const OmpStopRule& rule,
                    Workspace& work, Sink& sink) {
  const auto& gram = dict.gram();
  const auto diag = gram.diagonal();
  const auto opts = signals.options();
  const int64_t batch = signals.size(0), cap = rule.cap;
  const double eps = dtype_epsilon(signals.scalar_type());
  // sin² of the angle between the new atom and span(D_S) below which L is numerically singular.
  const double dependent_tol = 16 * eps;
  const double max_atom_norm = diag.max().sqrt().item<double>();

  Pursuit p;
  p.rows = torch::arange(batch, opts.dtype(torch::kLong));
  p.alive = torch::ones({batch}, opts.dtype(torch::kBool));
  p.alpha0 = work.alpha0.narrow(0, 0, batch);
  torch::mm_out(p.alpha0, signals, dict.matrix());  // DᵀY, one signal per row
  p.alpha = work.alpha.narrow(0, 0, batch).copy_(p.alpha0);
  p.magnitude = work.magnitude.narrow(0, 0, batch);
  p.chol = work.chol.narrow(0, 0, batch).zero_();
  p.support = work.support.narrow(0, 0, batch);
  p.gram_rows = work.gram_rows.narrow(1, 0, batch);
  p.z = work.z.narrow(0, 0, batch);
  p.x = torch::zeros({batch, 0}, opts);
  p.residual = torch::linalg_vector_norm(signals, 2, {1}, false, c10::nullopt).square();
  p.alpha_tol = p.residual.sqrt() * (64 * eps * max_atom_norm);
  // Signals already within ε of 0 need no atom.
  p.met = rule.by_error ? p.residual <= rule.error_sq : torch::zeros({batch}, opts.dtype(torch::kBool));
  p.live = batch;

  ChunkOutcome out;
  for (int64_t k = 0; k < cap; ++k) {
    // Select the atom most correlated with the residual.
    torch::abs_out(p.magnitude, p.alpha);
    const auto best = p.magnitude.max(1);
    const auto& peak = std::get<0>(best);
    auto atom = std::get<1>(best);  // [A]
    const int64_t a = atom.size(0);

    // New Cholesky row: L w = G_{S,j}, diagonal √(G_jj − wᵀw).
    const auto gjj = diag.index_select(0, atom);
    auto w = torch::zeros({a, k}, opts);
    auto d2 = gjj;
    if (k > 0) {
      // G_{S,j}: column j of the stored rows G_{S,:}.
      const auto g_sj = p.gram_rows.narrow(0, 0, k).gather(2, atom.view({1, a, 1}).expand({k, a, 1}));
      const auto lower = p.chol.narrow(1, 0, k).narrow(2, 0, k);
      w = torch::linalg_solve_triangular(lower, g_sj.permute({1, 0, 2}), /*upper=*/false).squeeze(2);
      d2 = gjj - w.square().sum(1);
    }

    // Stop: rule met at the previous step, residual orthogonal to every atom, or the chosen atom
    // (numerically) in the span of the support — in exact arithmetic that only happens with α = 0.
    const auto stop = p.alive & (p.met | (peak <= p.alpha_tol) | (d2 <= dependent_tol * gjj));
    const int64_t stopped = stop.sum().item<int64_t>();
    if (stopped > 0) {
      emit(p, stop, k, work, sink);
      p.alive = p.alive & ~stop;
      p.live -= stopped;
      if (p.live == 0) return out;
      if (4 * p.live <= 3 * a) {
        const auto keep = torch::nonzero(p.alive).squeeze(1);
        atom = atom.index_select(0, keep);
        w = w.index_select(0, keep);
        d2 = d2.index_select(0, keep);
        compact(p, k);
      }
    }
    // Stopped rows still in the batch get a harmless identity row so their arithmetic stays finite.
    const auto dead = ~p.alive;
    w.masked_fill_(dead.unsqueeze(1), 0);
    const auto d = d2.masked_fill(dead, 1).sqrt();

    // Append atom j to the support and the factor.
    if (k == p.z.size(1)) widen(work, p, k, cap);
    p.chol.select(1, k).narrow(1, 0, k).copy_(w);
    p.chol.select(1, k).select(1, k).copy_(d);
    p.support.select(1, k).copy_(atom);
    auto slot = p.gram_rows[k];  // contiguous [A, m]: G's rows are gathered straight into it
    torch::index_select_out(slot, gram, 0, atom);

    // L Lᵀ x_S = α⁰_S. L's leading block and α⁰_S's leading entries do not change when the support
    // grows, so z = L⁻¹ α⁰_S only gains its last entry; the back substitution is redone.
    const auto b = p.alpha0.gather(1, atom.unsqueeze(1)).squeeze(1);
    const auto zk = (b - (w * p.z.narrow(1, 0, k)).sum(1)) / d;
    p.z.select(1, k).copy_(zk);
    const auto lower = p.chol.narrow(1, 0, k + 1).narrow(2, 0, k + 1);
    p.x = torch::linalg_solve_triangular(lower.transpose(1, 2), p.z.narrow(1, 0, k + 1).unsqueeze(2), /*upper=*/true)
              .squeeze(2);
    update_correlations(p, k + 1);
    // ‖r‖² = ‖y‖² − x_Sᵀ α⁰_S = ‖y‖² − ‖z‖² since α⁰_S = L z and Lᵀ x_S = z.
    p.residual = p.residual - zk.square();
    out.max_support = k + 1;
    if (rule.by_error) p.met = p.residual <= rule.error_sq;
  }
  // The rest have `cap` atoms: their rule is met if cap is K, or if they reached ε anyway.
  emit(p, p.alive, cap, work, sink);
  if (!rule.by_sparsity) out.all_met = !(p.alive & ~p.met).any().item<bool>();
  return out;
}

}  // namespace

SolverResult omp(const DenseDictionary& dict, const torch::Tensor& signals, const OmpOptions& options) {
  const OmpStopRule rule = check_omp_options(dict, options);
  dict.check_signals(signals);
  torch::NoGradGuard no_grad;

  const auto y = signals.contiguous();
  const int64_t batch = y.size(0), m = dict.num_atoms();
  SolverResult result;
  result.codes = torch::zeros({batch, m}, y.options());
  result.converged = true;
  if (batch == 0) return result;

  // Chunks bound the working memory; each chunk's steps are whole-batch tensor ops.
  const int64_t chunk = std::min(batch, chunk_size(rule, m, y.is_cpu()));
  const int64_t chunks = (batch + chunk - 1) / chunk;
  Workspace work(chunk, initial_width(rule), dict.signal_dim(), m, y.options());
  Sink sink;
  sink.atoms = dict.matrix().t().contiguous();
  sink.energy = torch::zeros({}, y.options().dtype(torch::kDouble));
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t start = c * chunk, len = std::min(chunk, batch - start);
    sink.codes = result.codes.narrow(0, start, len);
    sink.signals = y.narrow(0, start, len);
    const auto outcome = pursue(dict, sink.signals, rule, work, sink);
    result.iterations = std::max(result.iterations, outcome.max_support);
    result.converged = result.converged && outcome.all_met;
  }
  result.objective = sink.energy.item<double>() / static_cast<double>(batch);
  return result;
}

}  // namespace deepsc::sparse
