#pragma once
/// A learned, strided convolutional-sparse-coding denoiser: the lecture's reading of a network as
/// unrolled pursuit (Zhang 2024; Gregor & LeCun 2010) applied to restoration, after CSCNet (Simon &
/// Elad, "Rethinking the CSC model for natural images", NeurIPS 2019) and CDLNet (Janjušević,
/// Kokkinos & Selesnick 2022).
///
/// For a noisy image y = x + e with noise level σ, the code z of the mean-removed image
/// y_c = y − mean(y) under a strided convolutional dictionary solves approximately
///   z* = argmin_z ½‖y_c − B z‖² + Σ_j τ_j(σ)‖z_j‖₁,
/// by K unrolled ISTA steps with separate analysis and synthesis filters (Gregor & LeCun's LISTA):
///   z⁰ = S_τ⁰(Aᵀ y_c),   zᵗ⁺¹ = S_τᵗ⁺¹(zᵗ − Aᵀ(B zᵗ − y_c)),   x̂ = D z^K + mean(y),
/// where A, B, D are convolutional dictionaries W [M, C, k, k] with stride s (conv::ConvDictionary:
/// Aᵀ r = conv2d(r, A, stride s), B z = conv_transpose2d(z, B, stride s)), S_τ is soft shrinkage
/// per atom, and every threshold is noise-adaptive (CDLNet):
///   τ_jᵗ(σ) = max(τ0_jᵗ + σ · τ1_jᵗ, 0),   t = 0..K, j = 1..M,
/// so one model serves a range of σ. With stride s > 1 a single coding is not shift-invariant;
/// forward averages the estimates of the s² shifted codings (Simon & Elad's MMSE approximation)
/// when `shift_average` is set, and codes one shift otherwise (training, where random crops vary
/// the shift anyway). Images are reflect-padded by k − 1 + s on every side first, so borders are
/// coded like the interior; they must be larger than that padding.
///
/// Parameters: "analysis" A, "synthesis" B, "decoder" D [M, C, k, k] and "threshold_base" τ0,
/// "threshold_slope" τ1 [K + 1, M]: 3·M·C·k² + 2·(K + 1)·M numbers. reset() starts A = B = D = the
/// DCT atoms of conv::dct_dictionary divided by √L (L = ‖BᵀB‖₂ for the stride, by power iteration),
/// so the first unrolled steps are ISTA with step 1 on a unit-norm operator, and τ0 = 0,
/// τ1 = threshold_init / √L.

#include <torch/torch.h>

namespace deepsc::nn {

struct CscDenoiserOptions {
  /// C ≥ 1, image channels.
  TORCH_ARG(int64_t, channels) = 1;
  /// The defaults are CSCNet's shape (175 atoms of 11 × 11, stride 8, 12 steps): on the pictures of
  /// docs/convolutional-sparse-coding.md a training step took a quarter of the time of 64 atoms of
  /// 7 × 7 at stride 2 with 10 steps, and after 600–800 steps both scored within 0.3 dB of each other
  /// on two held-out pictures at σ₂₅₅ = 25 (one run each).
  /// M ≥ 1, atoms (code channels).
  TORCH_ARG(int64_t, atoms) = 175;
  /// k ≥ 1, atoms are k × k.
  TORCH_ARG(int64_t, kernel_size) = 11;
  /// s ≥ 1, the codes are s× coarser than the image; 1 ≤ s ≤ k.
  TORCH_ARG(int64_t, stride) = 8;
  /// K ≥ 0 unrolled steps after the first thresholding.
  TORCH_ARG(int64_t, iterations) = 12;
  /// τ1's initial value times √L: the first thresholds are threshold_init · σ on unit-norm atoms.
  TORCH_ARG(double, threshold_init) = 1.0;
};

/// Throws std::invalid_argument naming the first bad option.
void check_csc_denoiser_options(const CscDenoiserOptions& options);

class CscDenoiserImpl : public torch::nn::Cloneable<CscDenoiserImpl> {
 public:
  explicit CscDenoiserImpl(const CscDenoiserOptions& options = {});

  void reset() override;
  void pretty_print(std::ostream& stream) const override;

  /// noisy [N, C, H, W] (any range; the mean is removed per image and channel), sigma [N] or a
  /// scalar tensor (the noise's standard deviation on the images' scale) → estimate [N, C, H, W].
  /// `shift` picks the single coding's shift (dy, dx) ∈ [0, s)² when shift_average is false.
  /// Throws std::invalid_argument for wrong ranks or channels, σ of the wrong size or negative, and
  /// images not larger than the padding k − 1 + s.
  torch::Tensor forward(const torch::Tensor& noisy, const torch::Tensor& sigma, bool shift_average = true,
                        std::array<int64_t, 2> shift = {0, 0});

  /// Thresholds τ(σ) [N, K + 1, M] for noise levels σ [N] (what forward uses).
  torch::Tensor thresholds(const torch::Tensor& sigma) const;

  /// Number of learned numbers (3·M·C·k² + 2·(K + 1)·M).
  int64_t parameter_count() const;

  CscDenoiserOptions options;
  torch::Tensor analysis, synthesis, decoder;   // [M, C, k, k]
  torch::Tensor threshold_base, threshold_slope;  // [K + 1, M]
  /// Buffer "architecture" [5] (int64, or the model's dtype after Module::to): channels, atoms, kernel_size, stride, iterations — saved with
  /// the weights so that a model file says how to rebuild its network (options_from_architecture).
  torch::Tensor architecture;

 private:
  /// The network on images already padded and shifted, sizes fitting the stride: [B, C, H', W'].
  torch::Tensor code_and_decode(const torch::Tensor& padded, const torch::Tensor& tau) const;
};

TORCH_MODULE(CscDenoiser);

/// The options that built a model whose "architecture" buffer is `architecture` (threshold_init
/// left at its default: it only shapes reset()). Throws std::invalid_argument for a tensor that is
/// not 5 valid integers.
CscDenoiserOptions options_from_architecture(const torch::Tensor& architecture);

}  // namespace deepsc::nn
