#include "deepsc/data/whitening.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

namespace deepsc::data {

namespace {

[[noreturn]] void fail(const char* fn, const std::string& what) {
  throw std::invalid_argument(std::string(fn) + ": " + what);
}

std::string shape_of(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

void check_rows(const torch::Tensor& t, const char* fn, const char* name) {
  if (!t.defined()) fail(fn, std::string(name) + " tensor is undefined");
  if (t.dim() != 2) fail(fn, std::string(name) + " must have shape [N, d], got " + shape_of(t));
  if (!t.is_floating_point())
    fail(fn, std::string(name) + " must be floating point, got " + std::string(c10::toString(t.scalar_type())));
}

void check_image_options(const ImageWhiteningOptions& o, const char* fn) {
  if (!(o.cutoff() > 0) || !std::isfinite(o.cutoff()))
    fail(fn, "cutoff must be positive and finite, got " + std::to_string(o.cutoff()));
  if (!(o.floor() > 0 && o.floor() < 1)) fail(fn, "floor must lie in (0, 1), got " + std::to_string(o.floor()));
}

// |f| in cycles per pixel on the DFT grid: [height, width] (full) or [height, width/2 + 1] (the
// half spectrum of rfft2 when `half`).
torch::Tensor radial_frequency(int64_t height, int64_t width, bool half, const torch::TensorOptions& opts) {
  const torch::Tensor fr = torch::fft::fftfreq(height, 1.0, opts).view({height, 1});
  const torch::Tensor fc = half ? torch::fft::rfftfreq(width, 1.0, opts) : torch::fft::fftfreq(width, 1.0, opts);
  return (fr.square() + fc.view({1, -1}).square()).sqrt();
}

torch::Tensor filter_of(const torch::Tensor& f, double cutoff) { return f * torch::exp(-(f / cutoff).pow(4)); }

double filter_peak(double cutoff) { return cutoff * std::exp(-0.25) / std::sqrt(2.0); }

torch::Tensor band_of(const torch::Tensor& r, const ImageWhiteningOptions& o) {
  return r >= o.floor() * filter_peak(o.cutoff());
}

// Images as a floating tensor whose last two dimensions are H, W.
torch::Tensor as_images(const torch::Tensor& images, const char* fn) {
  if (!images.defined()) fail(fn, "images tensor is undefined");
  if (images.dim() != 3 && images.dim() != 4)
    fail(fn, "images must have shape [N, C, H, W] or [N, H, W], got " + shape_of(images));
  if (images.is_complex()) fail(fn, "images must be real, got a complex tensor");
  if (images.size(-1) < 1 || images.size(-2) < 1) fail(fn, "images must be at least 1x1, got " + shape_of(images));
  torch::Tensor x = images.is_floating_point() ? images : images.to(torch::kFloat);
  if (x.scalar_type() != torch::kFloat && x.scalar_type() != torch::kDouble) x = x.to(torch::kFloat);
  return x;
}

// F⁻¹[gain · F[x]] over the last two dimensions; gain is the half spectrum [H, W/2 + 1].
torch::Tensor filter_images(const torch::Tensor& x, const torch::Tensor& gain) {
  const int64_t H = x.size(-2), W = x.size(-1);
  const torch::Tensor spectrum = torch::fft::rfft2(x, c10::nullopt, {-2, -1});
  return torch::fft::irfft2(spectrum * gain, std::vector<int64_t>{H, W}, {-2, -1});
}

}  // namespace

ZcaWhitening ZcaWhitening::fit(const torch::Tensor& patches, const ZcaOptions& options) {
  const char* fn = "ZcaWhitening::fit";
  check_rows(patches, fn, "patches");
  const int64_t N = patches.size(0), d = patches.size(1);
  if (N < 2) fail(fn, "patches must have at least 2 rows to estimate a covariance, got " + std::to_string(N));
  if (d < 1) fail(fn, "patches must have at least one column");
  if (!(options.epsilon() >= 0) || !std::isfinite(options.epsilon()))
    fail(fn, "epsilon must be >= 0 and finite, got " + std::to_string(options.epsilon()));
  torch::NoGradGuard no_grad;
  const torch::Tensor x = patches.to(torch::kDouble);
  if (!torch::isfinite(x).all().item<bool>()) fail(fn, "patches must be finite");

  const torch::Tensor mu = x.mean(0);
  const torch::Tensor centred = x - mu;
  torch::Tensor cov = centred.t().mm(centred) / static_cast<double>(N);
  cov = 0.5 * (cov + cov.t());
  auto [s, u] = torch::linalg_eigh(cov, "L");
  const double eps =
      options.relative() ? options.epsilon() * cov.trace().item<double>() / static_cast<double>(d) : options.epsilon();
  const torch::Tensor shifted = s + eps;
  const double smallest = shifted.min().item<double>();
  // Eigenvalues of a singular C come out as ± rounding noise of size ~ d·ε_mach·‖C‖, not as 0.
  const double noise = static_cast<double>(d) * std::numeric_limits<double>::epsilon() * s.abs().max().item<double>();
  if (!(smallest > noise)) {
    std::ostringstream msg;
    msg << "the covariance is singular (smallest eigenvalue + epsilon = " << smallest
        << "); use epsilon > 0 or more, less degenerate patches";
    fail(fn, msg.str());
  }

  const auto opts = patches.options();
  ZcaWhitening z;
  z.mean = mu.to(opts);
  z.eigenvalues = s.to(opts);
  z.eigenvectors = u.to(opts);
  z.whitening = (u * shifted.rsqrt()).mm(u.t()).to(opts);
  z.dewhitening = (u * shifted.sqrt()).mm(u.t()).to(opts);
  z.epsilon = eps;
  return z;
}

torch::Tensor ZcaWhitening::whiten(const torch::Tensor& patches) const {
  check_rows(patches, "ZcaWhitening::whiten", "patches");
  if (!whitening.defined()) fail("ZcaWhitening::whiten", "the transform is not fitted (use ZcaWhitening::fit)");
  if (patches.size(1) != whitening.size(0))
    fail("ZcaWhitening::whiten",
         "patches must have " + std::to_string(whitening.size(0)) + " columns, got " + shape_of(patches));
  const auto opts = patches.options();
  return (patches - mean.to(opts)).mm(whitening.to(opts));
}

torch::Tensor ZcaWhitening::unwhiten(const torch::Tensor& whitened) const {
  check_rows(whitened, "ZcaWhitening::unwhiten", "whitened");
  if (!dewhitening.defined()) fail("ZcaWhitening::unwhiten", "the transform is not fitted (use ZcaWhitening::fit)");
  if (whitened.size(1) != dewhitening.size(0))
    fail("ZcaWhitening::unwhiten",
         "whitened must have " + std::to_string(dewhitening.size(0)) + " columns, got " + shape_of(whitened));
  const auto opts = whitened.options();
  return whitened.mm(dewhitening.to(opts)) + mean.to(opts);
}

torch::Tensor whitening_filter(int64_t height, int64_t width, const ImageWhiteningOptions& options,
                               const torch::TensorOptions& tensor_options) {
  check_image_options(options, "whitening_filter");
  if (height < 1 || width < 1)
    fail("whitening_filter",
         "height and width must be >= 1, got " + std::to_string(height) + "x" + std::to_string(width));
  return filter_of(radial_frequency(height, width, false, tensor_options), options.cutoff());
}

torch::Tensor whitening_band(int64_t height, int64_t width, const ImageWhiteningOptions& options,
                             const torch::TensorOptions& tensor_options) {
  check_image_options(options, "whitening_band");
  if (height < 1 || width < 1)
    fail("whitening_band",
         "height and width must be >= 1, got " + std::to_string(height) + "x" + std::to_string(width));
  return band_of(filter_of(radial_frequency(height, width, false, tensor_options), options.cutoff()), options);
}

torch::Tensor whiten_images(const torch::Tensor& images, const ImageWhiteningOptions& options) {
  check_image_options(options, "whiten_images");
  const torch::Tensor x = as_images(images, "whiten_images");
  const auto r = filter_of(radial_frequency(x.size(-2), x.size(-1), true, x.options()), options.cutoff());
  return filter_images(x, r);
}

torch::Tensor unwhiten_images(const torch::Tensor& whitened, const ImageWhiteningOptions& options) {
  check_image_options(options, "unwhiten_images");
  const torch::Tensor x = as_images(whitened, "unwhiten_images");
  const auto r = filter_of(radial_frequency(x.size(-2), x.size(-1), true, x.options()), options.cutoff());
  // 1/R is infinite at DC, but masked_fill replaces every entry outside B, DC included.
  const auto gain = r.reciprocal().masked_fill(band_of(r, options).logical_not(), 0);
  return filter_images(x, gain);
}

}  // namespace deepsc::data
