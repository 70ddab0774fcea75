#pragma once
/// Random ML-CSC models and signals for the recovery theorems (the lecture, Zhang, "From sparse
/// coding to deep learning", 2024, Definitions 5–6; Papyan, Romano & Elad 2017), reproducible
/// from a seed: every draw is made on the CPU in float64 from an
/// at::CPUGeneratorImpl seeded with the given seed, then converted to the requested dtype/device.
///
/// The model (double sparsity, Rubinstein, Zibulevsky & Elad 2010): D₁ is an incoherent analytic
/// or random dictionary, and every deeper D_i (i ≥ 2) is *sparse*: each atom has exactly s_i
/// non-zeros ±1/√s_i (unit norm), on supports drawn so that two atoms (and, for convolutional
/// layers, two atoms at any relative shift, an atom and its own shifts included) share at most one
/// position whenever the greedy random search finds such a support — then μ(D_i) ≤ 1/s_i, with
/// equality as soon as two atoms overlap. Signals are synthesised top-down from a deepest code X_K
/// of controlled sparsity and dynamic range: X_{i−1} = D_i X_i, Y = X₀ (+ noise).

#include "deepsc/mlcsc/measures.h"
#include "deepsc/mlcsc/model.h"

#include <vector>

namespace deepsc::mlcsc {

/// The first layer of a dense random model.
enum class FirstLayer {
  /// [I, H/√n₀] (sparse::identity_hadamard_dictionary): μ = 1/√n₀; needs n₁ = 2n₀, n₀ a power of two.
  IdentityHadamard,
  /// n₁ unit-norm Gaussian columns.
  Gaussian,
};

struct GeneratorOptions {
  /// A 1-D convolutional model (signals [N, C, L]) instead of a dense one (signals [N, n₀]).
  TORCH_ARG(bool, convolutional) = false;
  /// Dense: {n₀, n₁, …, n_K}; D_i is [n_{i−1}, n_i].
  TORCH_ARG(std::vector<int64_t>, dims) = {};
  /// Convolutional: {M₀ = C, M₁, …, M_K}; W_i is [M_i, M_{i−1}, k_i] (stride 1, no padding).
  TORCH_ARG(std::vector<int64_t>, channels) = {};
  /// Convolutional: {k₁, …, k_K}, the taps of every layer's atoms.
  TORCH_ARG(std::vector<int64_t>, kernel_sizes) = {};
  /// Convolutional: the signal length L that sample_signals() draws.
  TORCH_ARG(int64_t, signal_length) = 0;
  /// s_i, the non-zeros of every atom of D_i for i = 2 … K: K − 1 values, or one for every layer.
  TORCH_ARG(std::vector<int64_t>, atom_nonzeros) = {};
  /// D₁ of a dense model (a convolutional D₁ has unit-norm Gaussian atoms).
  TORCH_ARG(FirstLayer, first_layer) = FirstLayer::IdentityHadamard;
  /// k_K: dense, ‖X_K‖₀ = k exactly; convolutional, ‖X_K‖_{0,∞} = k exactly (see sample_signals).
  TORCH_ARG(int64_t, deepest_nonzeros) = 1;
  /// r ∈ (0, 1]: the magnitudes of X_K are uniform in [r, 1], one of them r and one 1 whenever
  /// X_K has two non-zeros or more, so |X_K^min| / |X_K^max| = r exactly (one non-zero: it is 1).
  TORCH_ARG(double, min_max_ratio) = 1.0;
  /// Non-negative D_i (i ≥ 2) and X_K, hence X_i ≥ 0 for every i ≥ 1: the setting in which layered
  /// thresholding with S⁺ is a ReLU network. Otherwise signs are random.
  TORCH_ARG(bool, nonneg) = false;
  /// The model's dtype (draws are float64, then converted) and device.
  TORCH_ARG(torch::Dtype, dtype) = torch::kDouble;
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  /// Seed of random_model().
  TORCH_ARG(uint64_t, seed) = 0;
};

/// A random model as described above. Throws std::invalid_argument naming the option for
/// inconsistent sizes (fewer than two dims/channels, kernel sizes not one per layer, n₁ ≠ 2n₀
/// for IdentityHadamard, s_i < 1 or more than an atom has entries, values ≤ 0).
MlcscModel random_model(const GeneratorOptions& options);

/// Clean signals and their true codes.
struct SignalBatch {
  /// {X₀ = Z (the clean signal), X₁, …, X_K}: K + 1 entries, codes[i] the codes of layer i, so the
  /// paper's 1-based index is the vector index; X_{i−1} = D_i X_i exactly (model.synthesize).
  std::vector<torch::Tensor> codes;
};

/// `trials` signals of the model (batched; no loop over trials), drawn from `seed`:
///   dense: X_K [N, n_K] has exactly k = deepest_nonzeros non-zeros at uniformly random positions;
///   convolutional: X_K [N, M_K, L_K] (L_K from signal_length through the layers) is cut into
///     blocks of 4n − 3 positions (n = d(k_K − 1) + 1, the span of D_K's atoms), and the first
///     2n − 1 positions of every block that fits hold k non-zeros at distinct random (atom,
///     position) pairs; the blocks' non-zeros are ≥ 2n − 1 positions apart, so no stripe sees two
///     blocks and ‖X_K‖_{0,∞} = k exactly (needs L_K ≥ 2n − 1 and k ≤ M_K(2n − 1)).
/// Magnitudes and signs as GeneratorOptions says (deepest_nonzeros, min_max_ratio, nonneg are read
/// from `options`; the sizes come from `model`). Tensors have the model's dtype and device.
SignalBatch sample_signals(const MlcscModel& model, const GeneratorOptions& options, int64_t trials, uint64_t seed);

/// Gaussian noise E shaped like `clean` (X₀ of a SignalBatch), each sample rescaled so that
/// ‖E‖^P_{2,∞} (patch_l2_inf at level 0: the patches of D₁'s atoms) equals eps0 exactly (to
/// rounding); eps0 = 0 gives zeros. Y = clean + E is the noisy signal of Theorem 7 with ε₀ = eps0.
torch::Tensor noise_with_patch_norm(const MlcscModel& model, const torch::Tensor& clean, double eps0, uint64_t seed);

/// measure_codes() of every layer's true codes X₁ … X_K (K entries).
std::vector<CodeMeasures> measure_layers(const MlcscModel& model, const SignalBatch& batch, double zero_tol = 0);

}  // namespace deepsc::mlcsc
