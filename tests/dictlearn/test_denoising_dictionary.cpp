// The adaptive dictionary of K-SVD denoising (dictlearn/denoising_dictionary.h): the DCT start,
// the coding rule shared with patch_denoise, and that learning on the noisy picture pays off.
#include "deepsc/dictlearn/denoising_dictionary.h"
#include "deepsc/dictlearn/patch_denoise.h"
#include "deepsc/sparse/analytic_dictionaries.h"

#include "support/expect_rejected.h"
#include "support/synthetic_images.h"

#include <gtest/gtest.h>

#include <cmath>

namespace dl = deepsc::dictlearn;
using deepsc::testing::expect_rejected;

TEST(DenoisingDictionary, DctStartNeedsASquareNumberOfAtomsAtLeastPatchSquared) {
  EXPECT_EQ(dl::dct_atoms_per_axis(256, 8), 16);
  EXPECT_EQ(dl::dct_atoms_per_axis(64, 8), 8);
  EXPECT_EQ(dl::dct_atoms_per_axis(200, 8), 0);  // not a square
  EXPECT_EQ(dl::dct_atoms_per_axis(49, 8), 0);   // 7 < 8 frequencies per axis
  EXPECT_EQ(dl::dct_atoms_per_axis(0, 8), 0);
  EXPECT_TRUE(torch::equal(dl::dct_start(6, 100), deepsc::sparse::overcomplete_dct(6, 10)));
  expect_rejected([] { dl::dct_start(8, 200); }, "atoms 200");
}

TEST(DenoisingDictionary, LearnedOnTheNoisyPictureCodesItSparserAndDenoisesBetterThanTheStart) {
  const auto clean = deepsc::testing::synthetic_picture(48)[0][0];  // [48, 48] float64
  const double sigma = 25.0 / 255;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(4);
  const auto noisy = clean + sigma * torch::randn(clean.sizes(), gen, torch::kDouble);
  const auto options = dl::DenoisingDictionaryOptions(sigma).patch(6).atoms(64).iterations(3).patches(1500).seed(1);
  const auto learned = dl::learn_denoising_dictionary(noisy, options);
  ASSERT_EQ(learned.atoms.sizes(), (std::vector<int64_t>{36, 64}));
  EXPECT_TRUE(torch::allclose(learned.atoms.norm(2, {0}), torch::ones({64}, learned.atoms.options()), 1e-6, 1e-6));
  EXPECT_EQ(learned.sparsity, 18);                                // ⌊36 / 2⌋
  EXPECT_NEAR(learned.error_bound, 6 * 1.15 * sigma, 1e-12);  // √n · g σ
  EXPECT_GT(learned.seconds, 0);
  EXPECT_TRUE(torch::equal(learned.atoms, dl::learn_denoising_dictionary(noisy, options).atoms));

  // K-SVD minimises the atoms needed at the error bound: the learned dictionary codes the noisy
  // patches with fewer atoms than the DCT it started from, and denoises better (measured: 1.40 vs
  // 1.80 atoms per patch, 27.33 vs 26.90 dB).
  const auto denoise = [&](const torch::Tensor& atoms) {
    return dl::patch_denoise(noisy, deepsc::sparse::DenseDictionary(atoms.to(torch::kDouble)), dl::PatchDenoiseOptions(sigma));
  };
  const auto with_dct = denoise(dl::dct_start(6, 64)), with_learned = denoise(learned.atoms);
  const auto psnr = [&](const torch::Tensor& x) { return -10 * std::log10((x.clamp(0, 1) - clean).square().mean().item<double>()); };
  EXPECT_LT(with_learned.mean_nonzeros, 0.9 * with_dct.mean_nonzeros);
  EXPECT_GT(psnr(with_learned.image), psnr(with_dct.image) + 0.2);

  expect_rejected([&] { dl::learn_denoising_dictionary(noisy, dl::DenoisingDictionaryOptions(sigma).atoms(50)); }, "atoms");
  expect_rejected([&] { dl::learn_denoising_dictionary(noisy, dl::DenoisingDictionaryOptions(0)); }, "sigma");
  expect_rejected([&] { dl::learn_denoising_dictionary(noisy.unsqueeze(0), options); }, "[H, W]");
}
