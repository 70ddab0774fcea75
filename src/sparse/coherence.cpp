#include "deepsc/sparse/coherence.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace deepsc::sparse {

namespace {

/// Gram entries per block: columns [start, start + block) against the columns from start on,
/// so the memory stays O(block·m) however many atoms there are.
constexpr int64_t kBlockEntries = int64_t{1} << 22;

/// D with unit-norm columns, in float64 so that μ of nearly coherent dictionaries is not
/// rounded to 1 (float32 inner products near 1 carry errors ~1e-7).
torch::Tensor normalized_columns(const torch::Tensor& atoms) {
  if (!atoms.defined() || atoms.dim() != 2) {
    std::ostringstream msg;
    msg << "mutual coherence needs a matrix D [n, m] (columns are atoms)";
    if (atoms.defined()) msg << ", got shape " << atoms.sizes();
    throw std::invalid_argument(msg.str());
  }
  if (!atoms.is_floating_point()) throw std::invalid_argument("mutual coherence needs a float32 or float64 dictionary");
  if (atoms.size(1) < 2) {
    throw std::invalid_argument("mutual coherence needs at least 2 atoms, got m = " + std::to_string(atoms.size(1)));
  }
  if (atoms.size(0) == 0) throw std::invalid_argument("mutual coherence needs atoms of length n >= 1, got n = 0");
  auto d = atoms.to(torch::kDouble);
  if (!torch::isfinite(d).all().item<bool>()) throw std::invalid_argument("dictionary has NaN or Inf entries");
  const auto norms = d.norm(2, {0}, /*keepdim=*/true);
  const auto zero = torch::nonzero(norms.squeeze(0) == 0);
  if (zero.size(0) > 0) {
    throw std::invalid_argument("atom " + std::to_string(zero[0][0].item<int64_t>()) +
                                " is all zeros; its coherence is undefined");
  }
  return d / norms;
}

}  // namespace

double mutual_coherence(const torch::Tensor& atoms) {
  torch::NoGradGuard no_grad;
  const auto d = normalized_columns(atoms);
  const int64_t m = d.size(1);
  const int64_t block = std::max<int64_t>(1, kBlockEntries / m);
  auto mu = torch::zeros({}, d.options());  // the running max stays on the device: one sync at the end
  for (int64_t start = 0; start < m; start += block) {
    const int64_t len = std::min(block, m - start);
    // |d̂_iᵀ d̂_j| for i in the block and j ≥ start: the Gram matrix is symmetric, so the part left
    // of the block was covered by earlier blocks.
    auto inner = torch::mm(d.narrow(1, start, len).t(), d.narrow(1, start, m - start)).abs_();
    inner.diagonal().zero_();  // |d̂_iᵀ d̂_i| = 1 is not a coherence
    mu = torch::maximum(mu, inner.max());
  }
  // Rounding can push a duplicated atom's |cos| a hair above 1.
  return std::min(mu.item<double>(), 1.0);
}

double recovery_bound(double mu) {
  if (!(mu >= 0 && mu <= 1)) {
    throw std::invalid_argument("mutual coherence must be in [0, 1], got " + std::to_string(mu));
  }
  // μ = 0 (orthonormal atoms): every support is recoverable.
  if (mu == 0) return std::numeric_limits<double>::infinity();
  return 0.5 * (1 + 1 / mu);
}

int64_t guaranteed_support_size(double mu, int64_t atoms) {
  if (atoms < 0) throw std::invalid_argument("atoms must be >= 0, got " + std::to_string(atoms));
  const double bound = recovery_bound(mu);
  if (!std::isfinite(bound)) return atoms;
  return std::min<int64_t>(atoms, static_cast<int64_t>(std::ceil(bound) - 1));
}

std::vector<RecoveryCheck> check_recovery(const torch::Tensor& codes, double mu, double zero_tol) {
  const double bound = recovery_bound(mu);
  if (!(zero_tol >= 0)) throw std::invalid_argument("zero_tol must be >= 0, got " + std::to_string(zero_tol));
  if (!codes.defined() || codes.dim() < 1 || codes.dim() > 2) {
    std::ostringstream msg;
    msg << "check_recovery needs codes [N, m] or [m]";
    if (codes.defined()) msg << ", got shape " << codes.sizes();
    throw std::invalid_argument(msg.str());
  }
  torch::NoGradGuard no_grad;
  const auto rows = codes.dim() == 1 ? codes.unsqueeze(0) : codes;
  const auto mag = rows.to(torch::kCPU, torch::kDouble).abs();
  if (!torch::isfinite(mag).all().item<bool>()) throw std::invalid_argument("codes have NaN or Inf entries");

  const auto nonzero = mag > zero_tol;
  const auto support = nonzero.sum(1).contiguous();
  const auto largest = std::get<0>(mag.max(1)).contiguous();
  const auto smallest =
      std::get<0>(torch::where(nonzero, mag, std::numeric_limits<double>::infinity()).min(1)).contiguous();

  const auto* k = support.data_ptr<int64_t>();
  const auto* hi = largest.data_ptr<double>();
  const auto* lo = smallest.data_ptr<double>();
  std::vector<RecoveryCheck> reports(static_cast<size_t>(rows.size(0)));
  for (size_t i = 0; i < reports.size(); ++i) {
    auto& r = reports[i];
    r.support_size = k[i];
    r.bound = bound;
    r.bp_omp_guaranteed = static_cast<double>(r.support_size) < bound;
    // The thresholding bound shrinks with the dynamic range |x_min|/|x_max| of the support; an
    // empty code has nothing to recover, so it gets the BP/OMP bound.
    const double range = r.support_size > 0 ? lo[i] / hi[i] : 1.0;
    r.threshold_bound = mu == 0 ? bound : 0.5 * (1 + range / mu);
    r.threshold_guaranteed = static_cast<double>(r.support_size) < r.threshold_bound;
  }
  return reports;
}

}  // namespace deepsc::sparse
