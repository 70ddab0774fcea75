#pragma once
/// "Working locally, thinking globally" (Papyan, Sulam & Elad 2017; Zhang 2024, section 2): the
/// local measure of sparsity of convolutional sparse coding and its recovery guarantee.
///
/// A signal Y = D X of a stride-1 ConvDictionary (atoms of span n = d(k − 1) + 1 per spatial
/// dimension, dilation d) has patches a_i = R_i Y of the atoms' size; a_i = Ω γ_i where the stripe
/// γ_i holds every code entry whose atom overlaps the patch: the (2n − 1) code positions centred on
/// the patch (per dimension: (2n − 1)×(2n − 1) in 2-D) times the M atoms, γ_i ∈ R^{(2n−1)m}.
///   Definition 3:  ‖X‖_{0,∞} = max_i ‖γ_i‖₀
///   Theorem 4:     Y = D X with ‖X‖_{0,∞} < ½(1 + 1/μ(D))  ⇒  BP and OMP recover X,
/// a bound on the non-zeros *per stripe* rather than in all of X.
/// Codes are [N, M, H', W'] (or [N, M, L'] for 1-D dictionaries). The patches are those lying fully
/// inside the signal, so with padding p the stripes are centred on code positions p … H' − 1 − p.
/// Stride 1 only (a strided dictionary's stripes have varying widths; rejected).

#include "deepsc/conv/conv_dictionary.h"

namespace deepsc::conv {

/// γ_i for the signal patch whose first (top-left) entry is `position` ({i} or {i, j}, signal
/// coordinates, 0 ≤ i ≤ H − n): codes [N, M, H', W'] → [N, M, 2n_h − 1, 2n_w − 1], zeros where the
/// window leaves the code map (flatten(1) gives the lecture's γ_i per sample).
/// Throws std::invalid_argument for codes that do not fit `dict`, stride ≠ 1 or a position
/// outside the signal.
torch::Tensor stripe(const torch::Tensor& codes, const ConvDictionary& dict, c10::IntArrayRef position);

/// ‖γ_i‖₀ of every stripe: [N, P_h, P_w] (or [N, P]) int64, P = H − n + 1 patches per dimension,
/// entries with |x| ≤ zero_tol counting as zeros. Counts the non-zeros of each code position
/// over the atoms, then box-sums them over windows of 2n − 1 positions (prefix sums, separable,
/// O(1) per position): no loop over positions.
torch::Tensor stripe_nonzeros(const torch::Tensor& codes, const ConvDictionary& dict, double zero_tol = 0);

/// ‖X‖_{0,∞} = max_i ‖γ_i‖₀ per sample: [N] int64, on the codes' device.
torch::Tensor l0_inf_norm(const torch::Tensor& codes, const ConvDictionary& dict, double zero_tol = 0);

/// μ(D) of the global convolutional dictionary: max |⟨d̂_i, d̂_j⟩| over distinct columns, i.e. every
/// atom against every shift of every atom (itself at non-zero shifts), from the cross-correlations
/// of the unit-norm atoms (conv of the atoms with the atoms, padding n − 1), in float64, never
/// forming D. Shifts are the multiples of the stride, so strided and dilated dictionaries are
/// exact too. Equals sparse::mutual_coherence(dense_matrix(dict, shape)) for signals of at least
/// 2n − 1 entries per dimension (smaller signals miss some shifts: then it is an upper bound).
/// Throws std::invalid_argument for padding ≠ 0 (boundary atoms of the global dictionary are then
/// cropped, so its coherence is not the atoms') and for zero atoms.
double mutual_coherence(const ConvDictionary& dict);

/// Per sample, whether Theorem 4 guarantees recovery: ‖X‖_{0,∞} < ½(1 + 1/μ(D)) (bound from
/// sparse::recovery_bound). [N] bool, on the codes' device. Same requirements as l0_inf_norm()
/// and mutual_coherence(). Conservative by a relative 1e-9 on the bound, so a rounded μ never
/// admits ‖X‖_{0,∞} equal to an integer bound (the Barker-13 atom: μ = 1/13, bound exactly 7).
torch::Tensor satisfies_l0inf_condition(const torch::Tensor& codes, const ConvDictionary& dict, double zero_tol = 0);

}  // namespace deepsc::conv
