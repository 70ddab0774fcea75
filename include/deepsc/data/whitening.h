#pragma once
/// Whitening of natural-image data before dictionary learning: decorrelating the pixels so that a
/// learner sees the structure of the data beyond its second-order (1/f²) spectrum.
///
///  - ZCA whitening of patch rows (Bell & Sejnowski 1997): with μ the mean patch and
///    C = (1/N) Σ (y − μ)(y − μ)ᵀ = U S Uᵀ the covariance, rows are mapped by
///      z = (y − μ) W,   W = U (S + ε)^{−1/2} Uᵀ,        y = z W⁻¹ + μ,   W⁻¹ = U (S + ε)^{1/2} Uᵀ,
///    the symmetric ("zero-phase") whitening, the one closest to the identity, so whitened patches
///    still look like patches.
///  - Olshausen & Field (1996, Nature 381; 1997, Vision Research 37) whitening of whole images in
///    the Fourier domain with the zero-phase filter R(f) = |f| · exp(−(|f|/f₀)⁴): the |f| ramp
///    flattens the ≈ 1/|f| amplitude spectrum of natural images, the exp(−(|f|/f₀)⁴) roll-off
///    keeps the corner frequencies of the sampling lattice (and their noise) out.
///
/// Patch layout as in data/patches.h (one patch per row).

#include <torch/torch.h>

#include <cstdint>

namespace deepsc::data {

struct ZcaOptions {
  /// ε ≥ 0 added to every eigenvalue of C before the inverse square root; it bounds the gain on
  /// low-variance directions (noise) at 1/√ε. With relative (the default) the ε used is
  /// epsilon · tr(C)/d, a fraction of the mean per-pixel variance, so the default suits patches on
  /// any scale; otherwise it is epsilon itself, in squared data units. ε = 0 requires a
  /// positive-definite C (more rows than d, patches not confined to a subspace).
  TORCH_ARG(double, epsilon) = 1e-2;
  TORCH_ARG(bool, relative) = true;
};

/// A fitted ZCA whitening transform of rows of length d. Tensors are in the dtype and on the
/// device of the patches it was fitted to (the fit itself runs in float64).
struct ZcaWhitening {
  /// Fits μ, C = U S Uᵀ and W, W⁻¹ to patches [N, d] (one patch per row). C is the population
  /// covariance (divisor N), so the fitted patches whiten to covariance (S + ε)⁻¹ S: the identity
  /// for ε = 0.
  /// Requires: patches floating, [N, d] with N ≥ 2 and d ≥ 1, finite; epsilon ≥ 0 and finite;
  /// S + ε > 0 for every eigenvalue. Throws std::invalid_argument otherwise.
  static ZcaWhitening fit(const torch::Tensor& patches, const ZcaOptions& options = {});

  /// z = (y − μ) W for rows y of patches [M, d] (floating; computed in patches' dtype and on
  /// their device). Throws std::invalid_argument on a shape or dtype mismatch.
  torch::Tensor whiten(const torch::Tensor& patches) const;

  /// y = z W⁻¹ + μ for rows z of whitened [M, d]: unwhiten(whiten(y)) = y up to rounding.
  /// Throws std::invalid_argument on a shape or dtype mismatch.
  torch::Tensor unwhiten(const torch::Tensor& whitened) const;

  /// μ [d], the mean patch.
  torch::Tensor mean;
  /// S [d], eigenvalues of C in ascending order, and U [d, d], the matching orthonormal eigenvectors
  /// (columns).
  torch::Tensor eigenvalues;
  torch::Tensor eigenvectors;
  /// W = U (S + ε)^{−1/2} Uᵀ [d, d] and W⁻¹ = U (S + ε)^{1/2} Uᵀ [d, d], both symmetric.
  torch::Tensor whitening;
  torch::Tensor dewhitening;
  /// The absolute ε added to S.
  double epsilon = 0;
};

struct ImageWhiteningOptions {
  /// f₀ of R(f) = |f| exp(−(|f|/f₀)⁴), in cycles per pixel (Nyquist = 0.5), > 0. The default is
  /// Olshausen & Field's f₀ = 0.4·N cycles/picture for N × N pictures (200 cycles/picture on their
  /// 512 × 512 images, ≈ 0.39 cycles/pixel), i.e. 0.8 × Nyquist.
  TORCH_ARG(double, cutoff) = 0.4;
  /// The inverse filter exists only where R is not negligible: R⁻¹(f) = 1/R(f) on the band
  /// B = {f : R(f) ≥ floor · R_max} and 0 elsewhere, with R_max = f₀ e^{−1/4}/√2 the maximum of R
  /// over all f (at |f| = f₀/√2), so B does not depend on the image size. floor in (0, 1). With
  /// the defaults B holds every frequency but DC (R(0) = 0) and the far corners of the spectrum
  /// (|f| ≳ 0.67 cycles/pixel), for images up to ≈ 4500 pixels a side; the largest inverse gain is
  /// 1/(floor · R_max) ≈ 4500.
  TORCH_ARG(double, floor) = 1e-3;
};

/// The filter R(f) = |f| exp(−(|f|/f₀)⁴) sampled on the DFT grid of an height × width image,
/// [height, width] in torch.fft order (index k ↔ frequency k/size, wrapped to [−½, ½)), |f| in
/// cycles per pixel: |f|² = f_row² + f_col². R is real and even, so filtering is zero-phase.
/// Requires height, width ≥ 1 and a valid cutoff; dtype float32 or float64 (options' device).
torch::Tensor whitening_filter(int64_t height, int64_t width, const ImageWhiteningOptions& options = {},
                               const torch::TensorOptions& tensor_options = torch::kDouble);

/// The band B of unwhiten_images, [height, width] bool in the same layout as whitening_filter.
torch::Tensor whitening_band(int64_t height, int64_t width, const ImageWhiteningOptions& options = {},
                             const torch::TensorOptions& tensor_options = torch::kDouble);

/// Whitens each image (and each channel) of images [N, C, H, W] or [N, H, W] with R:
/// out = F⁻¹[R · F[image]], same shape; the mean (DC) of every image becomes 0. Integer images are
/// converted to float32; floating images keep their dtype (float32 or float64) and device.
/// Throws std::invalid_argument on another rank, a complex tensor or bad options.
torch::Tensor whiten_images(const torch::Tensor& images, const ImageWhiteningOptions& options = {});

/// The inverse on the band B: out = F⁻¹[1_B / R · F[whitened]]. unwhiten_images(whiten_images(x))
/// is the band-limited part of x — x itself (up to rounding) when x has no energy outside B, e.g.
/// any zero-mean image whose spectrum avoids the far corners; the DC (mean) of an image cannot be
/// recovered and comes back as 0. Same shapes, dtypes and errors as whiten_images.
torch::Tensor unwhiten_images(const torch::Tensor& whitened, const ImageWhiteningOptions& options = {});

}  // namespace deepsc::data
