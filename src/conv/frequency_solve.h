#pragma once
// Internal to the FFT-domain ADMM (admm.cpp): the DFT grid on which circular convolution equals
// the full linear convolution, and the dictionary diagonalised on it with its per-frequency solve
//   (γ D̂ᴴD̂ + I) x̂ = r̂,   D̂ [C, M] at every frequency
// (Wohlberg, IEEE TIP 2016, sec. III: Sherman–Morrison for C = 1, its Woodbury form for C > 1).
// Frequency tensors are [N, channels, F] complex, F the flattened half spectrum of rfftn.
// The iteration writes into buffers it owns (`out` arguments): fresh multi-megabyte tensors cost
// more in page faults than the arithmetic on them (docs/performance.md).

#include <torch/torch.h>

#include <vector>

namespace deepsc::conv::detail {

/// Real FFTs over the trailing `sizes.size()` axes on a fixed grid.
struct FrequencyGrid {
  std::vector<int64_t> sizes;  // G per spatial axis
  std::vector<int64_t> dims;   // the spatial axes: {-1} or {-2, -1}
  int64_t points = 1;          // ∏ G

  explicit FrequencyGrid(std::vector<int64_t> grid_sizes) : sizes(std::move(grid_sizes)) {
    const int64_t rank = static_cast<int64_t>(sizes.size());
    for (int64_t i = 0; i < rank; ++i) {
      dims.push_back(i - rank);
      points *= sizes[i];
    }
  }
  /// Number of frequencies F kept by rfftn (the last axis is halved).
  int64_t frequencies() const { return points / sizes.back() * (sizes.back() / 2 + 1); }

  /// t̂ = rfftn(t): t [N, ch, G…] → out [N, ch, F].
  void forward(torch::Tensor& out, const torch::Tensor& t) const {
    auto spectrum_out = spectrum(out);
    at::fft_rfftn_out(spectrum_out, t, sizes, dims);
  }
  /// t = irfftn(t̂): t̂ [N, ch, F] → out [N, ch, G…].
  void inverse(torch::Tensor& out, const torch::Tensor& t_hat) const {
    at::fft_irfftn_out(out, spectrum(t_hat), sizes, dims);
  }
  /// ‖t‖² per sample ([N] real) from t̂ [N, ch, F], by Parseval: every bin of the halved last axis
  /// but the first (and the middle one for even G) stands for itself and its mirror image.
  torch::Tensor norm_sq(const torch::Tensor& t_hat) const {
    const auto sq = [](const torch::Tensor& t) {
      return torch::linalg_vector_norm(torch::view_as_real(t), 2, std::vector<int64_t>{1, 2, -1}).square();
    };
    auto t = t_hat.view({t_hat.size(0), t_hat.size(1), -1, sizes.back() / 2 + 1});
    auto sum = 2 * sq(t.flatten(2)) - sq(t.select(3, 0));
    if (sizes.back() % 2 == 0) sum = sum - sq(t.select(3, sizes.back() / 2));
    return sum / double(points);
  }

 private:
  /// [N, ch, F] viewed as rfftn's [N, ch, G…, G_last/2 + 1].
  torch::Tensor spectrum(const torch::Tensor& t_hat) const {
    std::vector<int64_t> shape{t_hat.size(0), t_hat.size(1)};
    shape.insert(shape.end(), sizes.begin(), sizes.end() - 1);
    shape.push_back(sizes.back() / 2 + 1);
    return t_hat.view(shape);
  }
};

/// The dictionary on the grid: D̂ [C, M, F] of the dilated atoms, and, once factor(γ) has run,
/// B̂ = K⁻¹D̂ with K = γ⁻¹I + D̂D̂ᴴ [C, C] per frequency, so that by Woodbury
///   (γ D̂ᴴD̂ + I)⁻¹ = I − D̂ᴴ K⁻¹ D̂      and      D̂ (γ D̂ᴴD̂ + I)⁻¹ = γ⁻¹ K⁻¹ D̂.
class FrequencyDictionary {
 public:
  /// weights W [M, C, k…] placed with dilation d at the grid's origin.
  FrequencyDictionary(const torch::Tensor& weights, int64_t dilation, const FrequencyGrid& grid) {
    using torch::indexing::Slice;
    const int64_t m = weights.size(0), c = weights.size(1);
    std::vector<int64_t> shape{m, c};
    shape.insert(shape.end(), grid.sizes.begin(), grid.sizes.end());
    auto atoms = torch::zeros(shape, weights.options());  // [M, C, G…], zero between dilated taps
    std::vector<torch::indexing::TensorIndex> taps{Slice(), Slice()};
    for (int64_t i = 2; i < weights.dim(); ++i) taps.emplace_back(Slice(0, dilation * (weights.size(i) - 1) + 1, dilation));
    atoms.index_put_(taps, weights);
    auto d_hat = torch::empty({m, c, grid.frequencies()}, weights.options().dtype(c10::toComplexType(weights.scalar_type())));
    grid.forward(d_hat, atoms);
    d_hat_ = d_hat.transpose(0, 1).contiguous();  // [C, M, F]
    d_conj_ = d_hat_.conj().resolve_conj();
    if (c == 1) {
      gram_ = torch::view_as_real(d_hat_).square().sum(-1).sum(1, /*keepdim=*/true);  // ‖d̂‖² [1, 1, F]
      lipschitz_ = gram_.max().item<double>();
    } else {
      auto d = d_hat_.permute({2, 0, 1});                  // [F, C, M]
      gram_ = torch::matmul(d, d.conj().transpose(1, 2));  // D̂D̂ᴴ [F, C, C]
      lipschitz_ = torch::linalg_eigvalsh(gram_).max().item<double>();
    }
  }

  int64_t channels() const { return d_hat_.size(0); }
  int64_t atoms() const { return d_hat_.size(1); }
  /// ‖D̃‖² = max over frequencies of the largest eigenvalue of D̂D̂ᴴ (0 for zero atoms).
  double lipschitz() const { return lipschitz_; }

  /// Factors (γ D̂ᴴD̂ + I) for solve(), γ > 0.
  void factor(double gamma) {
    gamma_ = gamma;
    if (channels() == 1) {  // Sherman–Morrison: K = γ⁻¹ + ‖d̂‖²
      b_hat_ = d_hat_ / (gram_ + 1.0 / gamma);
    } else {  // Woodbury: one batched C×C solve per frequency
      auto k = gram_ + torch::eye(channels(), gram_.options()) / gamma;
      b_hat_ = torch::linalg_solve(k, d_hat_.permute({2, 0, 1})).permute({1, 2, 0}).contiguous();  // [C, M, F]
    }
  }

  /// out = D̂ x̂: x̂ [N, M, F] → out [N, C, F]; `scratch` is an [N, M, F] buffer.
  void synthesis(torch::Tensor& out, const torch::Tensor& x_hat, torch::Tensor& scratch) const {
    contract_atoms(out, d_hat_, x_hat, scratch);
  }
  /// out = D̂ᴴ ŝ: ŝ [N, C, F] → out [N, M, F].
  void analysis(torch::Tensor& out, const torch::Tensor& s_hat) const {
    at::mul_out(out, d_conj_[0], s_hat.narrow(1, 0, 1));
    for (int64_t c = 1; c < channels(); ++c) out.addcmul_(d_conj_[c], s_hat.narrow(1, c, 1));
  }
  /// Solves (γ D̂ᴴD̂ + I) x̂ = r̂ in place (r̂ → x̂, [N, M, F]) and writes D̂x̂ into dx [N, C, F].
  void solve(torch::Tensor& x_hat, torch::Tensor& dx, torch::Tensor& scratch) const {
    contract_atoms(dx, b_hat_, x_hat, scratch);  // K⁻¹ D̂ r̂
    for (int64_t c = 0; c < channels(); ++c) x_hat.addcmul_(d_conj_[c], dx.narrow(1, c, 1), -1);
    dx.div_(gamma_);
  }

 private:
  /// out[:, c] = Σ_m A[c, m] x̂_m per frequency, one channel at a time (C is small).
  static void contract_atoms(torch::Tensor& out, const torch::Tensor& a, const torch::Tensor& x_hat,
                             torch::Tensor& scratch) {
    for (int64_t c = 0; c < a.size(0); ++c) {
      at::mul_out(scratch, a[c], x_hat);
      auto row = out.select(1, c);
      at::sum_out(row, scratch, std::vector<int64_t>{1});
    }
  }

  double gamma_ = 1, lipschitz_ = 0;
  torch::Tensor gram_;    // D̂D̂ᴴ: [1, 1, F] for C = 1, [F, C, C] otherwise
  torch::Tensor d_hat_;   // [C, M, F]
  torch::Tensor d_conj_;  // conj(D̂) [C, M, F]
  torch::Tensor b_hat_;   // K⁻¹ D̂ [C, M, F]
};

}  // namespace deepsc::conv::detail
