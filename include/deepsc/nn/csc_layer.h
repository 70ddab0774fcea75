#pragma once
/// A convolutional sparse-coding layer (SDNet, Dai et al., "Revisiting sparse convolutional model
/// for visual recognition", NeurIPS 2022): its output is the code map of its input over a learned
/// convolutional dictionary, approximately
///   c* = argmin_c λ‖c‖₁ + ½‖x − D c‖²     (c ≥ 0 when nonneg)
///   D c = conv_transpose2d(c, Ŵ),  Dᵀ r = conv2d(r, Ŵ),  W [M atoms, C, k, k], no bias
/// found by sparse::unrolled_pursuit (a few unrolled ISTA / FISTA / published steps from c⁰ = 0,
/// see unrolled_pursuit.h), so backward is plain autograd through the steps. Step η = step_scale / L
/// with L = ‖DᵀD‖₂ from sparse::LinearOperator's power iteration on the input's code-map size (a
/// constant for autograd); threshold λη. With ≤ 2 iterations every solver gives the published layer
///   c¹ = max(η Dᵀx − λη, 0),  c² = max(c¹ + η Dᵀ(x − D c¹) − λη, 0).
/// With normalize_atoms the dictionary is Ŵ[j] = W[j] / ‖W[j]‖₂ (over C·k·k), computed in every
/// forward with the norms held constant for autograd — the projection of Dai et al. (2022), through
/// which no gradient flows. The forward never rewrites W: reset() starts W with unit-norm atoms and
/// the trainer projects them again after every optimiser step (project_atoms, the published
/// projection moved from the next forward to the step that changed W), so on unit-norm W the
/// gradient with respect to W is the gradient with respect to the dictionary, as published.
///
/// The forward is a function of the input, the parameters and the buffer "power_vector" (the
/// power iteration's warm start, saved so that a resumed run computes the step sizes of an
/// uninterrupted one). In training L is re-estimated every forward (as published) and the warm
/// start advances; in evaluation L is kept while W is the same tensor at the same version (and
/// dtype, device and code size), and the buffer is left alone. Nothing else is kept unless asked:
/// set_record_residual() for last_residual(), set_reuse_analysis() for λ sweeps.

#include <torch/torch.h>

#include "deepsc/sparse/unrolled_pursuit.h"

#include <array>
#include <string>
#include <vector>

namespace deepsc::conv {
class ConvDictionary;
}

namespace deepsc::nn {

/// Which unrolled iteration a CSC layer runs (see sparse/unrolled_pursuit.h).
using CscSolver = sparse::UnrolledSolver;

/// Parses "ista", "fista", "published"; throws std::invalid_argument otherwise.
CscSolver parse_csc_solver(const std::string& name);
const char* csc_solver_name(CscSolver solver);

struct CscLayerOptions {
  /// A template (ModelOptions::csc): the architecture sets in_channels, atoms, kernel_size, stride,
  /// padding and dilation; a layer refuses the zero sizes left here.
  CscLayerOptions() = default;
  CscLayerOptions(int64_t in_channels, int64_t atoms, int64_t kernel_size)
      : in_channels_(in_channels), atoms_(atoms), kernel_size_(kernel_size) {}
  /// C ≥ 1, channels of the input.
  TORCH_ARG(int64_t, in_channels) = 0;
  /// M ≥ 1, atoms = channels of the code map.
  TORCH_ARG(int64_t, atoms) = 0;
  /// k ≥ 1 (square atoms).
  TORCH_ARG(int64_t, kernel_size) = 0;
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
  /// Code over unit-norm atoms Ŵ[j] = W[j] / ‖W[j]‖ (the norms constant for autograd).
  TORCH_ARG(bool, normalize_atoms) = true;
  /// Power-iteration cap ≥ 1 for L, and its stop (sparse::LipschitzOptions): the estimate's
  /// relative growth L_{i+1} − L_i ≤ power_tol·L_{i+1}.
  TORCH_ARG(int64_t, power_iterations) = 50;
  TORCH_ARG(double, power_tol) = 1e-5;
};

/// Throws std::invalid_argument naming the first bad option (sizes included: a template must have
/// its sizes set first).
void check_csc_layer_options(const CscLayerOptions& options);

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

  /// The dictionary the forward codes over: W / ‖W[j]‖ per atom with normalize_atoms (‖W[j]‖
  /// detached: the gradient with respect to W[j] is the dictionary's divided by ‖W[j]‖), else W.
  /// [M, C, k, k]
  torch::Tensor dictionary() const;
  /// Rescales every atom W[j] to unit ℓ2 norm in place: reset(), ResNet's initialisation and the
  /// trainer after every optimiser step call it (train::project_csc_atoms); the forward never does.
  void project_atoms();

  /// With reuse on and autograd off, a forward given the very tensor of the previous forward
  /// (same object, unmodified, same weights) reuses its analysis Dᵀx: a λ sweep pays that
  /// convolution once per batch. Off by default; turning it off drops the kept Dᵀx.
  void set_reuse_analysis(bool reuse);

  /// With recording on, each forward keeps its input, codes and dictionary (detached) for
  /// last_residual(). Off by default (a forward keeps nothing); turning it off drops them.
  void set_record_residual(bool record);
  bool record_residual() const { return record_residual_; }

  /// Sets the scalar λ ≥ 0 (and every atom's learnable λ, when learnable). Permanent.
  void set_lambda(double lambda);
  /// Per-sample λ [N] (≥ 0) used instead of the layer's λ by the next forwards, whose batch must
  /// have N samples, until clear_lambda_override().
  void set_lambda(const torch::Tensor& per_sample);
  void clear_lambda_override();
  /// The per-sample override, or an undefined tensor.
  const torch::Tensor& lambda_override() const { return lambda_override_; }

  /// ‖x − D c‖² per sample [N] for the last recorded forward's input x and codes c (detached;
  /// computed on call). Throws std::logic_error when no forward was recorded (see
  /// set_record_residual).
  torch::Tensor last_residual() const;
  /// L = ‖DᵀD‖₂ and η of the last forward.
  double last_lipschitz() const { return last_lipschitz_; }
  double last_step() const { return options.step_scale() / last_lipschitz_; }

  /// Forgets the warm start: the next forward's power iteration starts from the fixed start
  /// vector, as a freshly built layer does (for bit-identical comparisons).
  void restart_power_iteration();

  CscLayerOptions options;
  /// W [M, C, k, k].
  torch::Tensor weight;
  /// Per-atom λ [M] when learnable_lambda, else undefined.
  torch::Tensor lambda;

 private:
  /// L for the signals `x` under `dict` (see the file comment for when it is recomputed).
  double lipschitz(const conv::ConvDictionary& dict, const torch::Tensor& x, const std::vector<int64_t>& code_shape);

  torch::Tensor lambda_override_;
  /// Warm start of the power iteration [1, M, H', W'] (buffer "power_vector", saved with the
  /// weights; empty before the first training forward).
  torch::Tensor power_vector_;
  double last_lipschitz_ = 0;
  /// Evaluation's L and what it was computed for: W (the tensor itself, its version and storage),
  /// its dtype and device, and the code size of one sample. Not saved: a copy recomputes it from
  /// the same warm start and gets the same value.
  struct LipschitzKey {
    torch::Tensor weight;
    int64_t version = -1;
    const void* data = nullptr;
    c10::ScalarType dtype = c10::ScalarType::Undefined;
    c10::Device device{c10::kCPU};
    std::vector<int64_t> code_dims;
    bool matches(const torch::Tensor& w, const std::vector<int64_t>& dims) const;
  };
  LipschitzKey lipschitz_key_;
  /// Buffer "lipschitz", always empty: earlier versions kept L in it, and checkpoints name their
  /// buffers, so registering it keeps those checkpoints loadable (a loaded value is ignored).
  torch::Tensor legacy_lipschitz_;
  double cached_lipschitz_ = 0;
  bool reuse_analysis_ = false;
  /// Dᵀx of the kept input (its object and version) under W (its version); see set_reuse_analysis.
  torch::Tensor analysis_input_, analysis_;
  int64_t analysis_input_version_ = -1, analysis_weight_version_ = -1;
  bool record_residual_ = false;
  torch::Tensor last_input_, last_codes_, last_dictionary_;
  std::array<int64_t, 2> last_output_padding_{0, 0};
};

TORCH_MODULE(CscLayer);

/// Residual recording switched on for some layers during a scope (a λ sweep, an evaluation that
/// reports residuals); each layer's previous setting is restored at the end.
class ResidualRecording {
 public:
  explicit ResidualRecording(std::vector<CscLayer> layers);
  ~ResidualRecording();
  ResidualRecording(const ResidualRecording&) = delete;
  ResidualRecording& operator=(const ResidualRecording&) = delete;

 private:
  std::vector<CscLayer> layers_;
  std::vector<bool> previous_;
};

}  // namespace deepsc::nn
