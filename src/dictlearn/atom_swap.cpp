// Atom swaps for K-SVD and MOD: a move out of the local minima in which one atom blends two
// generating atoms while another atom is spent on little (unused, rarely used, or a near copy of
// its neighbour). The split resembles the codebook splitting of vector quantisation (Linde, Buzo &
// Gray 1980), here with lines through 0 (sign-invariant 2-means, the K-subspaces of Tseng 2000
// with 1-dimensional subspaces):
//
//   part of atom j on its users ω_j:   P_j = R_ω + c_ω,j d_jᵀ   [|ω_j|, n]   (R = Y − C Dᵀ)
//   gain of splitting j:   G_j = (‖P_j‖² − ‖P_j d_j‖²) − min_{a,b} Σ_i (‖p_i‖² − max(⟨p_i,a⟩², ⟨p_i,b⟩²))
//   cost of dropping k:    L_k = Σ_i c_ik² (1 − max_{l≠k} ⟨d_l, d_k⟩²)
//
// (L_k: the energy atom k carries that its closest other atom cannot carry.) While the largest G_j
// exceeds the smallest L_k, atom j becomes a and atom k becomes b. Both estimates are first-order
// (the next coding step decides), so a swap is a proposal the following iterations refine.

#include "learner_internal.h"

#include <algorithm>
#include <numeric>
#include <vector>

namespace deepsc::dictlearn::detail {

namespace {

/// Unit vector along the top eigenvector of PᵀP, by `steps` power steps from `start`.
torch::Tensor top_direction(const torch::Tensor& p, torch::Tensor start, int64_t steps) {
  for (int64_t s = 0; s < steps; ++s) {
    auto next = torch::mv(p.t(), torch::mv(p, start));
    const double norm = torch::linalg_vector_norm(next, 2, c10::nullopt, false, c10::nullopt).item<double>();
    if (!(norm > 0)) break;
    start = next / norm;
  }
  return start;
}

struct Split {
  torch::Tensor a, b;  // unit directions
  double gain = 0;     // G_j
};

/// The best two lines through 0 for the rows of P [r, n], started from the top two principal
/// directions' bisectors, refined by 10 rounds of assignment and refit.
Split split_part(const torch::Tensor& p, const torch::Tensor& atom) {
  const auto energy = p.square().sum().item<double>();
  const double one_line = energy - torch::mv(p, atom).square().sum().item<double>();
  const auto gram = torch::mm(p.t(), p).to(torch::kDouble);
  const auto eig = torch::linalg_eigh(gram);  // ascending eigenvalues
  const auto vectors = std::get<1>(eig).to(p.scalar_type());
  const int64_t n = p.size(1);
  Split s;
  if (n < 2) return s;
  const auto v1 = vectors.select(1, n - 1), v2 = vectors.select(1, n - 2);
  auto a = (v1 + v2) / std::sqrt(2.0), b = (v1 - v2) / std::sqrt(2.0);
  for (int round = 0; round < 10; ++round) {
    const auto closer_a = torch::mv(p, a).abs() >= torch::mv(p, b).abs();
    const auto rows_a = p.index({closer_a}), rows_b = p.index({~closer_a});
    if (rows_a.size(0) > 0) a = top_direction(rows_a, a, 3);
    if (rows_b.size(0) > 0) b = top_direction(rows_b, b, 3);
  }
  const double two_lines = energy - torch::maximum(torch::mv(p, a).square(), torch::mv(p, b).square()).sum().item<double>();
  s.a = a, s.b = b, s.gain = one_line - two_lines;
  return s;
}

}  // namespace

torch::Tensor drop_costs(const torch::Tensor& atoms, const torch::Tensor& codes) {
  auto closeness = torch::mm(atoms, atoms.t()).square_();
  closeness.fill_diagonal_(0);
  const auto nearest = std::get<0>(closeness.max(1));
  return (codes.square().sum(0) * (1 - nearest)).to(torch::kDouble).contiguous();
}

std::vector<int64_t> swap_atoms(torch::Tensor& atoms, const torch::Tensor& codes, const torch::Tensor& residual) {
  const int64_t m = atoms.size(0);
  const int64_t max_swaps = std::max<int64_t>(1, m / 10);
  torch::NoGradGuard no_grad;
  const auto loss = drop_costs(atoms, codes).cpu();
  // The one-line error of every atom, ‖P_j‖² − ‖P_j d_j‖², from the non-zeros (i, j, c):
  //   ‖p‖² = ‖r_i‖² + 2c⟨r_i, d_j⟩ + c²,  ⟨p, d_j⟩ = ⟨r_i, d_j⟩ + c.
  const auto entries = codes.t().nonzero();  // [nnz, 2] (atom, row), grouped by atom
  if (entries.size(0) == 0) return {};
  const auto atom_of = entries.select(1, 0), row_of = entries.select(1, 1);
  const auto c = codes.index({row_of, atom_of});
  const auto r_dot_d = (residual.index_select(0, row_of) * atoms.index_select(0, atom_of)).sum(1);
  const auto r_norm2 = residual.square().sum(1).index_select(0, row_of);
  const auto p_norm2 = r_norm2 + 2 * c * r_dot_d + c.square();
  const auto per_entry = (p_norm2 - (r_dot_d + c).square()).to(torch::kDouble);
  const auto one_line = torch::zeros({m}, torch::kDouble).index_add_(0, atom_of.cpu(), per_entry.cpu());
  const auto users = torch::bincount(atom_of.cpu(), {}, m);
  std::vector<int64_t> offset(static_cast<size_t>(m) + 1, 0);
  const auto* count = users.data_ptr<int64_t>();
  for (int64_t j = 0; j < m; ++j) offset[j + 1] = offset[j] + count[j];

  // G_j ≤ one-line error: split only the atoms with the largest one-line errors, and none whose
  // one-line error is below the cheapest atom's cost (no split of it could pay for a swap).
  const double cheapest_cost = loss.min().item<double>();
  std::vector<int64_t> order(static_cast<size_t>(m));
  std::iota(order.begin(), order.end(), 0);
  const auto* err = one_line.data_ptr<double>();
  std::sort(order.begin(), order.end(), [err](int64_t x, int64_t y) { return err[x] > err[y]; });
  std::vector<Split> splits(static_cast<size_t>(m));
  std::vector<int64_t> candidates;
  for (int64_t j : order) {
    if (static_cast<int64_t>(candidates.size()) >= 2 * max_swaps) break;
    if (err[j] <= cheapest_cost) break;  // sorted: the rest cannot pay either
    if (count[j] < 4) continue;          // too few users to tell two directions apart
    const auto rows = row_of.narrow(0, offset[j], count[j]);
    const auto p = residual.index_select(0, rows).addr(c.narrow(0, offset[j], count[j]), atoms[j]);
    splits[static_cast<size_t>(j)] = split_part(p, atoms[j]);
    candidates.push_back(j);
  }
  std::sort(candidates.begin(), candidates.end(),
            [&splits](int64_t x, int64_t y) { return splits[static_cast<size_t>(x)].gain > splits[static_cast<size_t>(y)].gain; });
  std::vector<int64_t> cheapest(static_cast<size_t>(m));
  std::iota(cheapest.begin(), cheapest.end(), 0);
  const auto* cost = loss.data_ptr<double>();
  std::sort(cheapest.begin(), cheapest.end(), [cost](int64_t x, int64_t y) { return cost[x] < cost[y]; });

  std::vector<char> taken(static_cast<size_t>(m), 0);
  std::vector<int64_t> changed;
  size_t next_cheap = 0;
  for (int64_t j : candidates) {
    if (static_cast<int64_t>(changed.size()) >= 2 * max_swaps) break;
    if (taken[j]) continue;
    while (next_cheap < cheapest.size() && (taken[cheapest[next_cheap]] || cheapest[next_cheap] == j)) ++next_cheap;
    if (next_cheap == cheapest.size()) break;
    const int64_t k = cheapest[next_cheap];
    const auto& s = splits[static_cast<size_t>(j)];
    if (!(s.gain > cost[k])) break;  // candidates come in decreasing gain, atoms in increasing cost
    atoms[j].copy_(s.a);
    atoms[k].copy_(s.b);
    taken[j] = taken[k] = 1;
    changed.push_back(j);
    changed.push_back(k);
  }
  return changed;
}

}  // namespace deepsc::dictlearn::detail
