#include "deepsc/dictlearn/denoising_dictionary.h"

#include "deepsc/data/patches.h"
#include "deepsc/dictlearn/dictionary_learning.h"
#include "deepsc/sparse/analytic_dictionaries.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

namespace deepsc::dictlearn {

int64_t dct_atoms_per_axis(int64_t atoms, int64_t patch) {
  if (atoms < 1) return 0;
  auto k = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(atoms))));
  while (k * k > atoms) --k;
  while ((k + 1) * (k + 1) <= atoms) ++k;
  return k * k == atoms && k >= patch ? k : 0;
}

torch::Tensor dct_start(int64_t patch, int64_t atoms) {
  const int64_t k = dct_atoms_per_axis(atoms, patch);
  if (k == 0)
    throw std::invalid_argument("atoms " + std::to_string(atoms) + ": the DCT start needs a square number of atoms >= patch^2 (" +
                                std::to_string(patch * patch) + ")");
  return sparse::overcomplete_dct(patch, k);
}

DenoisingDictionary learn_denoising_dictionary(const torch::Tensor& noisy, const DenoisingDictionaryOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (!noisy.defined() || noisy.dim() != 2 || !noisy.is_floating_point())
    throw std::invalid_argument("learn_denoising_dictionary: the noisy picture must be floating point [H, W]");
  if (!(o.sigma() > 0) || !std::isfinite(o.sigma()))
    throw std::invalid_argument("learn_denoising_dictionary: sigma must be a finite number > 0, got " + std::to_string(o.sigma()));
  if (o.patch() < 2 || o.patch() > noisy.size(0) || o.patch() > noisy.size(1))
    throw std::invalid_argument("learn_denoising_dictionary: patch must be >= 2 and fit the picture, got " + std::to_string(o.patch()));
  if (o.iterations() < 1 || o.patches() < 1 || !(o.gain() > 0))
    throw std::invalid_argument("learn_denoising_dictionary: iterations and patches must be >= 1 and gain > 0");
  const auto initial = dct_start(o.patch(), o.atoms()).to(noisy.device());

  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed());
  auto patches = data::random_patches(noisy.cpu().unsqueeze(0).unsqueeze(0), o.patch(), o.patches(), gen);
  patches = data::remove_mean(patches).first.to(noisy.device());
  const int64_t n = o.patch() * o.patch();
  DenoisingDictionary learned;
  learned.sparsity = std::clamp<int64_t>(n / 2, 1, std::min(n, o.atoms()));
  learned.error_bound = std::sqrt(static_cast<double>(n)) * o.gain() * o.sigma();
  learned.atoms = learn_dictionary(patches, LearnOptions(o.atoms())
                                                .algorithm(Algorithm::Ksvd)
                                                .sparsity(learned.sparsity)
                                                .error_bound(learned.error_bound)
                                                .iterations(o.iterations())
                                                .initial(initial)
                                                .seed(o.seed())
                                                .swap_atoms(o.swap_atoms()))
                      .dictionary;
  learned.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return learned;
}

}  // namespace deepsc::dictlearn
