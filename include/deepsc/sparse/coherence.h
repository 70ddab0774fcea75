#pragma once
/// Mutual coherence and the uniqueness / recovery bounds of the lecture (Zhang 2024), section 1 (Definition 1,
/// Theorem 2; Donoho & Elad 2003, Donoho, Elad & Temlyakov 2006):
///   μ(D) = max_{i≠j} |d̂_iᵀ d̂_j|,  d̂_i = d_i / ‖d_i‖₂,
///   BP, OMP (and ISTA, which solves BP) recover X* when ‖X*‖₀ < ½(1 + 1/μ(D)).
/// One-step thresholding (Papyan et al. 2017a, the lecture's Theorem 7 with one layer, ε = 0) recovers
/// the support when ‖X‖₀ < ½(1 + (1/μ)·|x_min|/|x_max|).

#include "deepsc/sparse/dense_dictionary.h"

namespace deepsc::sparse {

/// μ(D) for D [n, m] (columns normalised internally), accumulated in float64 over blocks of the
/// Gram matrix so memory stays O(block·m). Throws std::invalid_argument unless D is a finite
/// floating-point matrix with m ≥ 2 atoms, none of them all zeros.
double mutual_coherence(const torch::Tensor& atoms);

/// ½(1 + 1/μ): supports of size strictly below this are recoverable by BP and OMP. μ must be in
/// [0, 1] (std::invalid_argument otherwise); μ = 0 (orthonormal atoms) gives +infinity.
double recovery_bound(double mu);

/// The largest support size strictly below recovery_bound(μ) — how many non-zeros BP and OMP are
/// guaranteed to recover — capped at the atom count m (μ = 0: every support).
int64_t guaranteed_support_size(double mu, int64_t atoms);

/// Report on one code X against the coherence bound.
struct RecoveryCheck {
  int64_t support_size = 0;         // ‖X‖₀
  double bound = 0;                 // ½(1 + 1/μ)
  bool bp_omp_guaranteed = false;   // ‖X‖₀ < bound
  double threshold_bound = 0;       // ½(1 + (1/μ)·|x_min|/|x_max|)
  bool threshold_guaranteed = false;
};

/// Checks each row of codes [N, m] (or a single [m] code) against μ; entries with |x| ≤ zero_tol
/// count as zeros. Returns one report per row (an all-zero row gets threshold_bound = bound).
/// Throws std::invalid_argument for μ outside [0, 1], zero_tol < 0, other ranks or non-finite codes.
std::vector<RecoveryCheck> check_recovery(const torch::Tensor& codes, double mu, double zero_tol = 0);

}  // namespace deepsc::sparse
