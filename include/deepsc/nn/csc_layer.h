#pragma once
/// A convolutional sparse-coding layer (SDNet, Dai et al., NeurIPS 2022): its output is the code
/// map of its input over a learned convolutional dictionary, approximately
///   c* = argmin_c λ‖c‖₁ + ½‖x − D c‖²     (c ≥ 0 when nonneg)
///   D c = conv_transpose2d(c, W),  Dᵀ r = conv2d(r, W),  W [M atoms, C, k, k], no bias
/// found by a few unrolled proximal-gradient steps from c⁰ = 0, each a differentiable op, so
/// backward is plain autograd through the steps. Step η = step_scale / L with L = ‖DᵀD‖₂ from a
/// power iteration on the current input's code-map size (a constant for autograd); threshold λη:
///   c¹     = S(η Dᵀx)                                          (S = S⁺_{λη} or S_{λη})
///   ISTA      c^{l+1} = S(c^l + η Dᵀ(x − D c^l))
///   FISTA     z^l = c^l + (t_{l−1} − 1)/t_l (c^l − c^{l−1}),  c^{l+1} = S(z^l + η Dᵀ(x − D z^l))
///   Published z^l as FISTA,                                   c^{l+1} = S(z^l + η Dᵀ(x − D c^l))
/// with t₀ = 1, t_l = (1 + √(1 + 4t_{l−1}²))/2. "Published" is the authors' code: momentum
/// extrapolates, but the gradient is taken at c^l, not at z^l. With ≤ 2 iterations the three
/// coincide (the first momentum coefficient is 0): the published layer
///   c¹ = max(η Dᵀx − λη, 0),  c² = max(c¹ + η Dᵀ(x − D c¹) − λη, 0).
/// Before every forward (train and eval) each atom W[j] is projected to unit ℓ2 norm over C·k·k.

#include <torch/torch.h>

#include <array>
#include <string>

namespace deepsc::conv {
class ConvDictionary;
}

namespace deepsc::nn {

/// Which unrolled iteration a CSC layer runs (see the file comment).
enum class CscSolver { Ista, Fista, Published };

/// Parses "ista", "fista", "published"; throws std::invalid_argument otherwise.
CscSolver parse_csc_solver(const std::string& name);
const char* csc_solver_name(CscSolver solver);

struct CscLayerOptions {
  CscLayerOptions(int64_t in_channels, int64_t atoms, int64_t kernel_size)
      : in_channels_(in_channels), atoms_(atoms), kernel_size_(kernel_size) {}
  /// C ≥ 1, channels of the input.
  TORCH_ARG(int64_t, in_channels);
  /// M ≥ 1, atoms = channels of the code map.
  TORCH_ARG(int64_t, atoms);
  /// k ≥ 1 (square atoms).
  TORCH_ARG(int64_t, kernel_size);
  TORCH_ARG(int64_t, stride) = 1;
  /// Zero padding of the input on every side.
  TORCH_ARG(int64_t, padding) = 0;
  TORCH_ARG(int64_t, dilation) = 1;
  /// λ ≥ 0, weight of ‖c‖₁ (the initial value of every atom's λ when learnable).
  TORCH_ARG(double, lambda) = 0.1;
  /// Learn one λ per atom: a parameter "lambda" [M], used as max(λ, 0) so that training cannot
  /// make a threshold negative.
  TORCH_ARG(bool, learnable_lambda) = false;
  /// Unrolled steps ≥ 1 (the first one from c⁰ = 0).
  TORCH_ARG(int64_t, iterations) = 2;
  TORCH_ARG(CscSolver, solver) = CscSolver::Published;
  /// Codes c ≥ 0 (shrinkage S⁺) or signed (soft shrinkage S).
  TORCH_ARG(bool, nonneg) = true;
  /// η = step_scale / L, in (0, 2).
  TORCH_ARG(double, step_scale) = 0.9;
  /// Project every atom to unit ℓ2 norm before every forward.
  TORCH_ARG(bool, normalize_atoms) = true;
  /// Power-iteration cap ≥ 1 for L, and its stop: ‖v_{i+1} − v_i‖² ≤ power_tol.
  TORCH_ARG(int64_t, power_iterations) = 50;
  TORCH_ARG(double, power_tol) = 1e-5;
};

class CscLayerImpl : public torch::nn::Cloneable<CscLayerImpl> {
 public:
  CscLayerImpl(int64_t in_channels, int64_t atoms, int64_t kernel_size)
      : CscLayerImpl(CscLayerOptions(in_channels, atoms, kernel_size)) {}
  /// Throws std::invalid_argument naming the first bad option.
  explicit CscLayerImpl(const CscLayerOptions& options);

  /// (Re)creates W (Kaiming-uniform like torch::nn::Conv2d) and the learnable λ.
  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  /// x [N, C, H, W] → codes [N, M, H', W'], H' = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1. For stride > 1
  /// the synthesis gets, per axis, the output padding that gives back H × W.
  torch::Tensor forward(const torch::Tensor& x);

  /// With reuse on and autograd off, a forward given the very tensor of the previous forward
  /// (same object, unmodified, same weights) reuses its analysis Dᵀx: a λ sweep pays that
  /// convolution once per batch. Off by default; turning it off drops the kept Dᵀx.
  void set_reuse_analysis(bool reuse);

  /// Sets the scalar λ ≥ 0 (and every atom's learnable λ, when learnable). Permanent.
  void set_lambda(double lambda);
  /// Per-sample λ [N] (≥ 0) used instead of the layer's λ by the next forwards, whose batch must
  /// have N samples, until clear_lambda_override().
  void set_lambda(const torch::Tensor& per_sample);
  void clear_lambda_override();
  /// The per-sample override, or an undefined tensor.
  const torch::Tensor& lambda_override() const { return lambda_override_; }

  /// ‖x − D c‖² per sample [N] for the last forward's input x and codes c (detached; computed on
  /// call from the kept input, codes and a copy of W). Throws std::logic_error before a forward.
  torch::Tensor last_residual() const;
  /// L = ‖DᵀD‖₂ and η of the last forward.
  double last_lipschitz() const { return last_lipschitz_; }
  double last_step() const { return options.step_scale() / last_lipschitz_; }

  /// Forgets the warm start: the next forward's power iteration starts from the fixed start
  /// vector, as a freshly built layer does (for bit-identical comparisons).
  void restart_power_iteration() {
    torch::NoGradGuard no_grad;
    power_vector_.set_();
    lipschitz_state_.set_();
  }

  CscLayerOptions options;
  /// W [M, C, k, k].
  torch::Tensor weight;
  /// Per-atom λ [M] when learnable_lambda, else undefined.
  torch::Tensor lambda;

 private:
  /// L for codes of `shape` (batch taken as 1), warm-started from power_vector_.
  double power_iteration(const conv::ConvDictionary& dict, std::vector<int64_t> shape);

  torch::Tensor lambda_override_;
  /// Warm start of the power iteration [1, M, H', W'] (buffer "power_vector", saved with the
  /// weights; empty before the first forward).
  torch::Tensor power_vector_;
  double last_lipschitz_ = 0;
  /// [L, Σw, Σw², H', W']: L and what it was computed for (a fingerprint of W in float64 and the
  /// code size of one sample). Buffer "lipschitz", saved and cloned with the weights, so that a
  /// copy decides as the original does: in evaluation, while the fingerprint and size match, the
  /// power iteration is skipped. Empty before the first forward.
  torch::Tensor lipschitz_state_;
  bool reuse_analysis_ = false;
  /// Dᵀx of the kept input (its object and version) under W (its version); see set_reuse_analysis.
  torch::Tensor analysis_input_, analysis_;
  int64_t analysis_input_version_ = -1, analysis_weight_version_ = -1;
  torch::Tensor last_input_, last_codes_, last_weight_;
  std::array<int64_t, 2> last_output_padding_{0, 0};
};

TORCH_MODULE(CscLayer);

}  // namespace deepsc::nn
