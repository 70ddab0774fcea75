// Tests for patch-based denoising with a given dictionary (deepsc/dictlearn/patch_denoise.h).

#include "support/expect_rejected.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "deepsc/dictlearn/patch_denoise.h"
#include "deepsc/sparse/analytic_dictionaries.h"

using deepsc::dictlearn::patch_denoise;
using deepsc::dictlearn::PatchDenoiseOptions;
using deepsc::sparse::DenseDictionary;

namespace {

using torch::indexing::Slice;

using deepsc::testing::expect_rejected;

const double kSigma25 = 25.0 / 255.0;
const double kPi = std::acos(-1.0);

// PSNR in dB for images in [0, 1] (test_dictlearn does not link deepsc::conv's psnr).
double psnr_of(const torch::Tensor& a, const torch::Tensor& b) {
  return -10 * std::log10((a.to(torch::kDouble) - b.to(torch::kDouble)).square().mean().item<double>());
}

double rmse(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).square().mean().sqrt().item<double>(); }

torch::Tensor noise_like(const torch::Tensor& x, double sigma, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return sigma * torch::randn(x.sizes(), gen, x.options());
}

// A 64 × 64 piecewise-constant picture in [0, 1]: two rectangles and a disk on a grey background.
torch::Tensor cartoon(int64_t size = 64, torch::Dtype dtype = torch::kDouble) {
  auto x = torch::full({size, size}, 0.3, torch::TensorOptions().dtype(dtype));
  x.index_put_({Slice(10 * size / 64, 30 * size / 64), Slice(12 * size / 64, 40 * size / 64)}, 0.8);
  x.index_put_({Slice(35 * size / 64, 55 * size / 64), Slice(5 * size / 64, 25 * size / 64)}, 0.1);
  const auto r = torch::arange(size, x.options()).view({size, 1}), c = torch::arange(size, x.options()).view({1, size});
  const double cr = 44.0 * size / 64, cc = 46.0 * size / 64, rad = 12.0 * size / 64;
  x.masked_fill_((r - cr).square() + (c - cc).square() <= rad * rad, 0.6);
  return x;
}

// The unit-norm, mean-free cosine and sine atoms cos/sin(2π(k_r u + k_c v)/period) on p × p for a
// set of integer wave vectors: a dictionary in which every p × p patch of a sum of such global
// sinusoids is exactly sparse after its mean is removed (two atoms per sinusoid).
torch::Tensor sinusoid_atoms(int64_t p, const std::vector<std::pair<int, int>>& waves, double period) {
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  const auto u = torch::arange(p, opts).view({p, 1}), v = torch::arange(p, opts).view({1, p});
  std::vector<torch::Tensor> cols;
  for (const auto& [kr, kc] : waves) {
    const auto phase = 2 * kPi * (kr * u + kc * v) / period;
    for (const auto& atom : {torch::cos(phase), torch::sin(phase)}) {
      auto a = atom.reshape(-1);
      a = a - a.mean();
      cols.push_back(a / a.norm());
    }
  }
  return torch::stack(cols, 1);
}

std::vector<std::pair<int, int>> wave_set() {
  return {{1, 0}, {0, 1},  {1, 1},  {1, -1}, {2, 0}, {0, 2}, {2, 1},
          {1, 2}, {2, -1}, {-1, 2}, {3, 0},  {0, 3}, {2, 2}, {3, 1}};
}

// The global image whose patches are sparse in sinusoid_atoms: 0.5 + two of those sinusoids.
torch::Tensor sinusoid_image(int64_t size, double period) {
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  const auto r = torch::arange(size, opts).view({size, 1}), c = torch::arange(size, opts).view({1, size});
  return 0.5 + 0.25 * torch::cos(2 * kPi * (2 * r + 1 * c) / period + 0.3) +
         0.2 * torch::sin(2 * kPi * (0 * r + 3 * c) / period + 1.1);
}

}  // namespace

TEST(PatchDenoise, ExactlySparseImageIsRecoveredBelowTheNoiseLevel) {
  const double period = 16;
  const DenseDictionary dict(sinusoid_atoms(8, wave_set(), period));
  const auto clean = sinusoid_image(48, period);
  const auto noisy = clean + noise_like(clean, kSigma25, 11);
  const auto result = patch_denoise(noisy, dict, PatchDenoiseOptions(kSigma25));
  ASSERT_EQ(result.image.sizes(), clean.sizes());
  EXPECT_EQ(result.patches, 41 * 41);
  const double gain = psnr_of(result.image, clean) - psnr_of(noisy, clean);
  EXPECT_GT(gain, 8.0) << "PSNR gain " << gain << " dB";
  EXPECT_LT(rmse(result.image, clean), 0.4 * kSigma25);
  // At most four atoms carry a clean patch (fewer where a component is below the noise bound); the
  // noise itself is not coded.
  EXPECT_GE(result.mean_nonzeros, 2.0);
  EXPECT_LE(result.mean_nonzeros, 5.0);
}

TEST(PatchDenoise, DctDictionaryDenoisesAPiecewiseConstantImage) {
  const DenseDictionary dict(deepsc::sparse::overcomplete_dct(8, 11, torch::kDouble));
  const auto clean = cartoon();
  const auto noisy = clean + noise_like(clean, kSigma25, 12);
  const auto result = patch_denoise(noisy, dict, PatchDenoiseOptions(kSigma25));
  const double before = psnr_of(noisy, clean), after = psnr_of(result.image, clean);
  EXPECT_GT(after - before, 6.0) << before << " dB -> " << after << " dB";
  EXPECT_LT(result.mean_nonzeros, 4.0);  // the noise bound keeps the codes sparse
}

TEST(PatchDenoise, TinySigmaReturnsTheImage) {
  const DenseDictionary dict(deepsc::sparse::overcomplete_dct(8, 11, torch::kDouble));
  const auto y = cartoon(24) + noise_like(cartoon(24), 0.02, 13);  // any image
  const double sigma = 1e-5;
  // With the blend, λ = 30 / (255 σ) ≈ 1.2e4 against at most 64 patch estimates, each within
  // 9.2e-5 of y: the noisy image itself comes back to within 64 / (λ + 64) · 9.2e-5 ≈ 5e-7.
  const auto blended = patch_denoise(y, dict, PatchDenoiseOptions(sigma).max_sparsity(64));
  EXPECT_LT((blended.image - y).abs().max().item<double>(), 1e-6);
  // Without it, every patch is coded to ‖r‖ ≤ √n · 1.15 σ ≈ 9.2e-5 (the noisy patches need up to
  // 63 atoms, hence the cap of 64; with the default cap of 32 they stop short of the bound).
  const auto plain = patch_denoise(y, dict, PatchDenoiseOptions(sigma).blend(0).max_sparsity(64));
  EXPECT_LT((plain.image - y).abs().max().item<double>(), 1e-4);
  EXPECT_GT(plain.mean_nonzeros, 10.0);  // the noise had to be coded too
}

TEST(PatchDenoise, BlendIsEladAharonsWeightedAverage) {
  const DenseDictionary dict(deepsc::sparse::overcomplete_dct(6, 8, torch::kDouble));
  const auto clean = cartoon(32);
  const auto y = clean + noise_like(clean, 0.05, 14);
  const auto plain = patch_denoise(y, dict, PatchDenoiseOptions(0.05).blend(0));
  const auto mixed = patch_denoise(y, dict, PatchDenoiseOptions(0.05).blend(30).data_range(1.0));
  const double lambda = 30.0 / (255.0 * 0.05);
  EXPECT_NEAR(mixed.blend_lambda, lambda, 1e-12);
  EXPECT_EQ(plain.blend_lambda, 0);
  // Pixel coverage of 6 × 6 patches at stride 1 on 32 × 32: min(i + 1, 6, 32 − i) per axis.
  const auto axis =
      torch::minimum(torch::minimum(torch::arange(1, 33, torch::kDouble), torch::full({32}, 6.0, torch::kDouble)),
                     torch::arange(32, 0, -1, torch::kDouble));
  const auto count = axis.view({32, 1}) * axis.view({1, 32});
  const auto expected = (lambda * y + count * plain.image) / (lambda + count);
  EXPECT_TRUE(torch::allclose(mixed.image, expected, 0, 1e-12));
  // On the 8-bit scale the same σ gives the same λ.
  const auto scaled = patch_denoise(255 * y, dict, PatchDenoiseOptions(255 * 0.05).data_range(255));
  EXPECT_NEAR(scaled.blend_lambda, lambda, 1e-12);
  EXPECT_TRUE(torch::allclose(scaled.image / 255, mixed.image, 0, 1e-10));
}

TEST(PatchDenoise, ChunkingDoesNotChangeTheResult) {
  const DenseDictionary dict(deepsc::sparse::overcomplete_dct(8, 11, torch::kDouble));
  const auto clean = cartoon(48);
  const auto y = clean + noise_like(clean, kSigma25, 15);
  for (const int64_t stride : {1, 3}) {
    const auto whole =
        patch_denoise(y, dict, PatchDenoiseOptions(kSigma25).stride(stride).chunk_size(int64_t{1} << 30));
    for (const int64_t chunk : {1000, 1}) {
      const auto parts = patch_denoise(y, dict, PatchDenoiseOptions(kSigma25).stride(stride).chunk_size(chunk));
      EXPECT_TRUE(torch::allclose(parts.image, whole.image, 0, 1e-12)) << "stride " << stride << " chunk " << chunk;
      EXPECT_DOUBLE_EQ(parts.mean_nonzeros, whole.mean_nonzeros);
      EXPECT_EQ(parts.patches, whole.patches);
    }
  }
}

TEST(PatchDenoise, StrideLeavesUncoveredPixelsNoisy) {
  const DenseDictionary dict(deepsc::sparse::overcomplete_dct(8, 11, torch::kDouble));
  const auto clean = cartoon(40);
  const auto y = clean + noise_like(clean, kSigma25, 16);
  // Corners 0, 3, …, 30: the last patch covers up to pixel 37, so rows and columns 38, 39 are uncovered.
  const auto r = patch_denoise(y, dict, PatchDenoiseOptions(kSigma25).stride(3).blend(0));
  EXPECT_EQ(r.patches, 11 * 11);
  EXPECT_TRUE(torch::equal(r.image.index({Slice(38, 40)}), y.index({Slice(38, 40)})));
  EXPECT_TRUE(torch::equal(r.image.index({Slice(), Slice(38, 40)}), y.index({Slice(), Slice(38, 40)})));
  const auto inner = Slice(0, 38);
  EXPECT_GT(psnr_of(r.image.index({inner, inner}), clean.index({inner, inner})),
            psnr_of(y.index({inner, inner}), clean.index({inner, inner})) + 3.0);
}

TEST(PatchDenoise, ShapesAndDtypes) {
  const auto dict64 = deepsc::sparse::overcomplete_dct(6, 8, torch::kDouble);
  const DenseDictionary dict(dict64);
  const auto clean = cartoon(32);
  const auto y = clean + noise_like(clean, kSigma25, 17);
  const auto grey = patch_denoise(y, dict, PatchDenoiseOptions(kSigma25));
  const auto single = patch_denoise(y.unsqueeze(0), dict, PatchDenoiseOptions(kSigma25));
  EXPECT_EQ(single.image.sizes(), (std::vector<int64_t>{1, 32, 32}));
  EXPECT_TRUE(torch::allclose(single.image[0], grey.image, 0, 1e-14));
  // float32 image with the float64 dictionary (converted): float32 result, the same picture.
  const auto f32 = patch_denoise(y.to(torch::kFloat), dict, PatchDenoiseOptions(kSigma25));
  EXPECT_EQ(f32.image.scalar_type(), torch::kFloat);
  EXPECT_NEAR(psnr_of(f32.image.to(torch::kDouble), clean), psnr_of(grey.image, clean), 0.1);
}

TEST(PatchDenoise, ColourChannelsAreCodedJointly) {
  // Atoms living in one channel each: the DCT of 6 × 6 patches repeated for 3 channels, n = 108.
  const auto dct = deepsc::sparse::overcomplete_dct(6, 8, torch::kDouble);  // [36, 64]
  const auto atoms = torch::kron(torch::eye(3, torch::kDouble), dct);       // [108, 192], block diagonal
  const DenseDictionary dict(atoms);
  const auto base = cartoon(32);
  const auto clean = torch::stack({base, 1 - base, 0.5 * base + 0.2});
  const auto y = clean + noise_like(clean, kSigma25, 18);
  const auto r = patch_denoise(y, dict, PatchDenoiseOptions(kSigma25));
  ASSERT_EQ(r.image.sizes(), (std::vector<int64_t>{3, 32, 32}));
  EXPECT_GT(psnr_of(r.image, clean) - psnr_of(y, clean), 4.0);
  // A grey image does not fit atoms of length 3·p².
  expect_rejected([&] { patch_denoise(base, dict, PatchDenoiseOptions(kSigma25)); }, "C·p²");
}

TEST(PatchDenoise, RejectsBadInput) {
  const DenseDictionary dict(deepsc::sparse::overcomplete_dct(8, 11, torch::kDouble));
  const auto y = cartoon(32);
  const PatchDenoiseOptions ok(0.1);
  expect_rejected([&] { patch_denoise(y.view({-1}), dict, ok); }, "[H, W]");
  expect_rejected([&] { patch_denoise(y.view({1, 1, 32, 32}), dict, ok); }, "[H, W]");
  expect_rejected([&] { patch_denoise(y.to(torch::kLong), dict, ok); }, "float32 or float64");
  expect_rejected([&] { patch_denoise(y.index({Slice(0, 6)}), dict, ok); }, "smaller");
  auto bad = y.clone();
  bad.index_put_({2, 3}, std::nan(""));
  expect_rejected([&] { patch_denoise(bad, dict, ok); }, "finite");
  expect_rejected([&] { patch_denoise(y, dict, PatchDenoiseOptions(0)); }, "sigma");
  expect_rejected([&] { patch_denoise(y, dict, PatchDenoiseOptions(0.1).stride(0)); }, "stride");
  expect_rejected([&] { patch_denoise(y, dict, PatchDenoiseOptions(0.1).gain(0)); }, "gain");
  expect_rejected([&] { patch_denoise(y, dict, PatchDenoiseOptions(0.1).max_sparsity(65)); }, "max_sparsity");
  expect_rejected([&] { patch_denoise(y, dict, PatchDenoiseOptions(0.1).blend(-1)); }, "blend");
  expect_rejected([&] { patch_denoise(y, dict, PatchDenoiseOptions(0.1).data_range(0)); }, "data_range");
  expect_rejected([&] { patch_denoise(y, dict, PatchDenoiseOptions(0.1).chunk_size(0)); }, "chunk_size");
  const DenseDictionary odd(torch::randn({50, 60}, torch::kDouble), true);  // 50 is not p²
  expect_rejected([&] { patch_denoise(y, odd, ok); }, "C·p²");
  const DenseDictionary unnormalised(2 * deepsc::sparse::overcomplete_dct(8, 11, torch::kDouble));
  expect_rejected([&] { patch_denoise(y, unnormalised, ok); }, "unit");
}
