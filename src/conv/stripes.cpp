#include "deepsc/conv/stripes.h"

#include "deepsc/sparse/coherence.h"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "../support/text.h"

namespace deepsc::conv {

namespace {

using deepsc::detail::str;

/// Span n = d(k − 1) + 1 of the (dilated) atoms along spatial dimension `dim`.
int64_t atom_span(const ConvDictionary& dict, int64_t dim) {
  return dict.options().dilation() * (dict.weights().size(2 + dim) - 1) + 1;
}

/// Checks that `codes` are [N, M, …] codes of a stride-1 `dict` with at least one full patch inside
/// the signal; returns the number of patches P = H' − 2p per spatial dimension.
std::vector<int64_t> patch_counts(const torch::Tensor& codes, const ConvDictionary& dict) {
  const auto& o = dict.options();
  if (o.stride() != 1 || o.output_padding() != 0) {
    throw std::invalid_argument("stripes and the l0,inf norm need a dictionary with stride 1 and output padding 0, got stride " +
                                std::to_string(o.stride()) + " and output padding " + std::to_string(o.output_padding()));
  }
  const int64_t dims = dict.spatial_dims();
  if (!codes.defined() || codes.dim() != dims + 2 || codes.size(1) != dict.num_atoms()) {
    throw std::invalid_argument("codes must be " + std::string(dims == 2 ? "[N, M, H', W']" : "[N, M, L']") + " with M = " +
                                std::to_string(dict.num_atoms()) + " atoms of the dictionary " + str(dict.weights().sizes()) +
                                ", got " + (codes.defined() ? str(codes.sizes()) : std::string("nothing")));
  }
  if (!codes.is_floating_point()) throw std::invalid_argument("codes must be float32 or float64, got " + str(codes.scalar_type()));
  if (!torch::isfinite(codes).all().item<bool>()) throw std::invalid_argument("codes have NaN or Inf entries");
  std::vector<int64_t> patches;
  for (int64_t d = 0; d < dims; ++d) {
    const int64_t count = codes.size(2 + d) - 2 * o.padding();
    if (count < 1) {
      throw std::invalid_argument("codes " + str(codes.sizes()) + " with padding " + std::to_string(o.padding()) +
                                  " describe a signal smaller than one atom of span " + std::to_string(atom_span(dict, d)) +
                                  ": it has no patch");
    }
    patches.push_back(count);
  }
  return patches;
}

/// Σ of `x` along `dim` over the windows [c − r, c + r] (clipped to the tensor) for the centres
/// c = first … first + count − 1, by prefix sums: O(1) per window whatever its width.
torch::Tensor box_sum(const torch::Tensor& x, int64_t dim, int64_t radius, int64_t first, int64_t count) {
  const int64_t len = x.size(dim);
  auto zero_shape = x.sizes().vec();
  zero_shape[dim] = 1;
  auto prefix = torch::cat({torch::zeros(zero_shape, x.options()), x.cumsum(dim)}, dim);  // prefix[j] = Σ_{t<j} x[t]
  auto centres = torch::arange(first, first + count, x.options().dtype(torch::kLong));
  auto hi = (centres + radius + 1).clamp_max(len);
  auto lo = (centres - radius).clamp_min(0);
  return prefix.index_select(dim, hi) - prefix.index_select(dim, lo);
}

}  // namespace

torch::Tensor stripe(const torch::Tensor& codes, const ConvDictionary& dict, c10::IntArrayRef position) {
  const auto patches = patch_counts(codes, dict);
  const int64_t dims = dict.spatial_dims();
  if (static_cast<int64_t>(position.size()) != dims) {
    throw std::invalid_argument("stripe position must have " + std::to_string(dims) + " coordinates, got " + str(position));
  }
  // Zero-pad the code map by n − 1 so every window has the full (2n − 1) width.
  std::vector<int64_t> pads;
  for (int64_t d = dims - 1; d >= 0; --d) pads.insert(pads.end(), 2, atom_span(dict, d) - 1);
  auto out = torch::constant_pad_nd(codes, pads, 0);
  for (int64_t d = 0; d < dims; ++d) {
    if (position[d] < 0 || position[d] >= patches[d]) {
      throw std::invalid_argument("stripe position " + str(position) + " is outside the signal's patches [0, " +
                                  str(c10::IntArrayRef(patches)) + ")");
    }
    // Patch i covers signal entries i … i + n − 1, reached by the code positions
    // i + p − (n − 1) … i + p + (n − 1); in the padded map these start at i + p.
    const int64_t n = atom_span(dict, d);
    out = out.narrow(2 + d, position[d] + dict.options().padding(), 2 * n - 1);
  }
  return out;
}

torch::Tensor stripe_nonzeros(const torch::Tensor& codes, const ConvDictionary& dict, double zero_tol) {
  if (!(zero_tol >= 0)) throw std::invalid_argument("zero_tol must be >= 0, got " + std::to_string(zero_tol));
  const auto patches = patch_counts(codes, dict);
  torch::NoGradGuard no_grad;
  // Non-zeros per code position over the M atoms, then the window sums per spatial dimension.
  auto counts = (codes.abs() > zero_tol).sum(1);  // [N, H', W'] int64
  for (int64_t d = 0; d < dict.spatial_dims(); ++d) {
    counts = box_sum(counts, 1 + d, atom_span(dict, d) - 1, dict.options().padding(), patches[d]);
  }
  return counts;  // [N, P_h, P_w]
}

torch::Tensor l0_inf_norm(const torch::Tensor& codes, const ConvDictionary& dict, double zero_tol) {
  auto counts = stripe_nonzeros(codes, dict, zero_tol);
  if (counts.size(0) == 0) return torch::zeros({0}, counts.options());
  return std::get<0>(counts.flatten(1).max(1));
}

double mutual_coherence(const ConvDictionary& dict) {
  const auto& o = dict.options();
  if (o.padding() != 0) {
    throw std::invalid_argument("convolutional coherence needs padding 0, got " + std::to_string(o.padding()) +
                                ": with padding the global dictionary's boundary atoms are cropped");
  }
  torch::NoGradGuard no_grad;
  const int64_t dims = dict.spatial_dims(), m = dict.num_atoms();
  auto w = dict.weights().to(torch::kDouble);
  auto norms = w.reshape({m, -1}).norm(2, {1});
  if ((norms == 0).any().item<bool>()) throw std::invalid_argument("convolutional dictionary has a zero atom; its coherence is undefined");
  std::vector<int64_t> norm_shape(w.dim(), 1);
  norm_shape[0] = m;
  w = w / norms.view(norm_shape);

  // The dilated atoms as dense kernels of span n (zeros between the taps).
  auto spread_shape = w.sizes().vec();
  for (int64_t d = 0; d < dims; ++d) spread_shape[2 + d] = atom_span(dict, d);
  auto atoms = torch::zeros(spread_shape, w.options());
  auto taps = atoms;
  for (int64_t d = 0; d < dims; ++d) taps = taps.slice(2 + d, 0, spread_shape[2 + d], o.dilation());
  taps.copy_(w);

  // corr[a, b, δ + n − 1] = ⟨atom a shifted by −δ, atom b⟩ for every shift |δ| ≤ n − 1, summed over channels.
  std::vector<int64_t> pad;
  for (int64_t d = 0; d < dims; ++d) pad.push_back(spread_shape[2 + d] - 1);
  auto corr = dims == 2 ? torch::conv2d(atoms, atoms, {}, 1, pad) : torch::conv1d(atoms, atoms, {}, 1, pad);
  // An atom against itself at shift 0 is a column's norm, not a coherence.
  auto self = corr.diagonal(0, 0, 1);  // [2n − 1, …, M]
  for (int64_t d = 0; d < dims; ++d) self = self.select(0, pad[d]);
  self.zero_();
  // Columns of the global dictionary sit at multiples of the stride.
  for (int64_t d = 0; d < dims; ++d) corr = corr.slice(2 + d, pad[d] % o.stride(), corr.size(2 + d), o.stride());
  // Rounding can push a duplicated atom's |cos| a hair above 1.
  return std::min(corr.abs().max().item<double>(), 1.0);
}

torch::Tensor satisfies_l0inf_condition(const torch::Tensor& codes, const ConvDictionary& dict, double zero_tol) {
  auto l0_inf = l0_inf_norm(codes, dict, zero_tol);
  const double bound = sparse::recovery_bound(mutual_coherence(dict));  // ½(1 + 1/μ(D)), +∞ for μ = 0
  // μ is rounded: for dictionaries whose exact bound is an integer (μ = 1/13 gives 7) a rounded-down
  // μ would admit ‖X‖_{0,∞} = 7. A relative margin far above rounding keeps the answer conservative.
  return l0_inf.to(torch::kDouble) < bound * (1 - 1e-9);
}

}  // namespace deepsc::conv
