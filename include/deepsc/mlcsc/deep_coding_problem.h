#pragma once
/// The deep coding problems of the lecture (Zhang, "From sparse coding to deep learning", 2024)
/// as feasibility checks of a set of codes {X_i} for a signal Y:
///   DCP_λ       (Definition 5):  Y = D₁X₁, X_{i−1} = D_iX_i,        ‖X_i‖_{0,∞} ≤ λ_i
///   DCP_λ^ε     (Definition 6):  ‖X_{i−1} − D_iX_i‖₂ ≤ ε_{i−1},     ‖X_i‖_{0,∞} ≤ λ_i   (X₀ = Y)
///   DCP_{0,λ}^ε (Li, Feng & Zhou 2024, Definition 9): the same with the global ‖X_i‖₀ ≤ λ_i.
/// ‖·‖_{0,∞} is the stripe norm of convolutional layers (measures.h); for a dense layer the stripe is
/// the whole code, so the ℓ0,∞ and the global ℓ0 versions coincide there. DCP_λ is DCP_λ^ε with
/// ε = 0 (checked to a rounding tolerance the caller gives).

#include "deepsc/mlcsc/model.h"

#include <vector>

namespace deepsc::mlcsc {

/// Which sparsity measure bounds the codes.
enum class SparsityMeasure { StripeL0Inf, GlobalL0 };

/// Per layer and sample: residual, sparsity and whether both constraints hold.
struct DeepCodingCheck {
  std::vector<torch::Tensor> residual;  // ‖X_{i−1} − D_iX_i‖₂, [N] per layer
  std::vector<torch::Tensor> sparsity;  // ‖X_i‖_{0,∞} or ‖X_i‖₀, [N] int64 per layer
  std::vector<torch::Tensor> feasible;  // residual ≤ ε_{i−1} and sparsity ≤ λ_i, [N] bool per layer
  torch::Tensor all_feasible;           // every layer feasible, [N] bool
};

/// Checks codes X₁ … X_K (the shapes of model.shapes(Y)) against DCP_λ^ε with sparsity limits λ
/// and tolerances ε (one per layer each; ε = 0 for DCP_λ). Entries with |x| ≤ zero_tol are zeros.
/// Throws std::invalid_argument for counts that do not match the layers, negative limits, or codes
/// of the wrong shape (naming the layer).
DeepCodingCheck check_deep_coding_problem(const MlcscModel& model, const torch::Tensor& signals,
                                          const std::vector<torch::Tensor>& codes, const std::vector<double>& sparsity_limits,
                                          const std::vector<double>& tolerances,
                                          SparsityMeasure measure = SparsityMeasure::StripeL0Inf, double zero_tol = 0);

}  // namespace deepsc::mlcsc
