// Dense dictionary learning: recovery of a planted dictionary, decreasing objectives, unit-norm
// atoms, dead-atom replacement, exact checkpoint/resume, option checks, float32 and float64.
#include "deepsc/dictlearn/dictionary_learning.h"

#include "support/scratch_dir.h"

#include <ATen/CPUGeneratorImpl.h>
#include "support/expect_rejected.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace dl = deepsc::dictlearn;
using dl::Algorithm;
using dl::LearnOptions;

/// Signals Y [count, n] = X Dᵀ (+ noise) from a planted unit-norm Gaussian D [n, m] and codes with
/// exactly k non-zeros per row (random positions and signs, magnitudes uniform in [1, 2]); drawn
/// in float64 from generators of their own (the dictionary from `seed`, the codes and noise from
/// `code_seed`, by default seed + 1000), then cast.
struct Planted {
  torch::Tensor dictionary, signals;
};
Planted planted(int64_t n, int64_t m, int64_t count, int64_t k, double noise, uint64_t seed,
                torch::Dtype dtype = torch::kDouble, uint64_t code_seed = 0) {
  auto dict_gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto d = torch::randn({n, m}, dict_gen, torch::kDouble);
  d = d / d.norm(2, {0}, true);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(code_seed != 0 ? code_seed : seed + 1000);
  const auto support = torch::argsort(torch::rand({count, m}, gen, torch::kDouble), 1, false).narrow(1, 0, k);
  const auto sign = torch::randint(0, 2, {count, k}, gen, torch::kDouble) * 2 - 1;
  const auto values = sign * (1 + torch::rand({count, k}, gen, torch::kDouble));
  const auto x = torch::zeros({count, m}, torch::kDouble).scatter_(1, support, values);
  auto y = x.mm(d.t());
  if (noise > 0) y = y + noise * torch::randn({count, n}, gen, torch::kDouble);
  return {d.to(dtype), y.to(dtype)};
}

/// Fraction of the true atoms matched by some learned atom with |⟨d, d_true⟩| > 0.99.
double recovered_fraction(const torch::Tensor& learned, const torch::Tensor& truth) {
  const auto overlap = torch::mm(truth.t().to(torch::kDouble), learned.to(torch::kDouble)).abs();
  return (std::get<0>(overlap.max(1)) > 0.99).to(torch::kDouble).mean().item<double>();
}

/// Largest deviation of an atom's norm from 1.
double norm_error(const torch::Tensor& d) { return (d.to(torch::kDouble).norm(2, {0}) - 1).abs().max().item<double>(); }

/// Largest |⟨d_i, d_j⟩| over pairs of distinct atoms.
double max_overlap(const torch::Tensor& d) {
  const auto d64 = d.to(torch::kDouble);
  auto g = torch::mm(d64.t(), d64).abs();
  g.fill_diagonal_(0);
  return g.max().item<double>();
}

/// Learner settings for the planted problems (k = 3, magnitudes in [1, 2]): K = 3 for the ℓ0
/// learners; λ = 0.3 (a fifth of the smallest magnitude, so the codes stay 3-sparse) and batches
/// of 128 for the ℓ1 ones.
LearnOptions planted_options(Algorithm algorithm, int64_t iterations, int64_t atoms = 32) {
  auto o = LearnOptions(atoms).algorithm(algorithm).iterations(iterations).seed(7);
  if (algorithm == Algorithm::Ksvd || algorithm == Algorithm::Mod) return o.sparsity(3);
  return o.lambda(0.3).batch_size(128);
}

/// The algorithm's name as a GoogleTest parameter name ('-' is not allowed there).
std::string test_name(Algorithm algorithm) {
  auto name = dl::algorithm_name(algorithm);
  for (auto& ch : name) ch = ch == '-' ? '_' : ch;
  return name;
}

using deepsc::testing::expect_rejected;

// ---------------------------------------------------------------------------------------------
// Recovery of a planted dictionary.

struct RecoveryCase {
  Algorithm algorithm;
  torch::Dtype dtype;
  int64_t iterations;
};

class DictionaryLearningRecovery : public ::testing::TestWithParam<RecoveryCase> {};

// n = 20, m = 40, 4000 noiseless signals. Every learner has local minima in which two atoms share
// one planted atom (their overlap ≈ 0.85–0.95) while another planted atom goes missing; a
// duplicate threshold of 0.9, above the planted dictionary's own coherence (checked), breaks them up.
TEST_P(DictionaryLearningRecovery, FindsAtLeast95PercentOfThePlantedAtoms) {
  const auto c = GetParam();
  const auto data = planted(20, 40, 4000, 3, 0.0, 1, c.dtype);
  ASSERT_LT(max_overlap(data.dictionary), 0.9);
  const auto options = planted_options(c.algorithm, c.iterations, 40).duplicate_threshold(0.9);
  const auto result = dl::learn_dictionary(data.signals, options);
  EXPECT_GE(recovered_fraction(result.dictionary, data.dictionary), 0.95);
  EXPECT_EQ(result.dictionary.scalar_type(), c.dtype);
  EXPECT_LT(norm_error(result.dictionary), c.dtype == torch::kDouble ? 1e-12 : 1e-5);
}

INSTANTIATE_TEST_SUITE_P(DictionaryLearning, DictionaryLearningRecovery,
                         ::testing::Values(RecoveryCase{Algorithm::Ksvd, torch::kDouble, 60},
                                           RecoveryCase{Algorithm::Ksvd, torch::kFloat, 60},
                                           RecoveryCase{Algorithm::Online, torch::kDouble, 3000},
                                           RecoveryCase{Algorithm::Online, torch::kFloat, 3000},
                                           RecoveryCase{Algorithm::Mod, torch::kDouble, 60},
                                           RecoveryCase{Algorithm::OlshausenField, torch::kDouble, 2000}),
                         [](const auto& info) {
                           return test_name(info.param.algorithm) +
                                  (info.param.dtype == torch::kDouble ? "_float64" : "_float32");
                         });

// The synthetic experiment of Aharon, Elad & Bruckstein (2006, section V-A): a random 20 × 50
// dictionary, 1,500 signals of 3 atoms with i.i.d. coefficients uniform in [−1, 1] at random
// positions, white Gaussian noise at an SNR of 30, 20 or 10 dB (or none), 80 iterations of K = 3
// from data signals; an atom is found when a learned one has 1 − |⟨d, d̂⟩| < 0.01.

/// The experiment's signals Y [1500, 20] and dictionary D [20, 50] for `seed`; snr_db < 0: no noise.
Planted aharon_experiment(uint64_t seed, double snr_db) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto d = torch::randn({20, 50}, gen, torch::kDouble);
  d = d / d.norm(2, {0}, true);
  const int64_t count = 1500;
  const auto support = torch::argsort(torch::rand({count, 50}, gen, torch::kDouble), 1, false).narrow(1, 0, 3);
  const auto values = torch::rand({count, 3}, gen, torch::kDouble) * 2 - 1;
  auto y = torch::zeros({count, 50}, torch::kDouble).scatter_(1, support, values).mm(d.t());
  if (snr_db >= 0) {
    const double noise_power = y.square().mean().item<double>() / std::pow(10.0, snr_db / 10);
    y = y + std::sqrt(noise_power) * torch::randn({count, 20}, gen, torch::kDouble);
  }
  return {d, y};
}

struct AharonCase {
  Algorithm algorithm;
  double snr_db;
  double mean = 0.96, worst = 0.90;  // the goal of the issue that asked for the experiment
};

class AharonExperiment : public ::testing::TestWithParam<AharonCase> {};

// With atom swaps and restarts (the defaults) K-SVD and MOD find ≥ 96% of the atoms on average over
// 4 seeds and ≥ 90% at every seed at every noise level (the learners as published stall at 76–96%;
// the next tests show what each move adds).
TEST_P(AharonExperiment, KsvdAndModFindTheGeneratingAtoms) {
  const auto c = GetParam();
  double sum = 0, worst = 1;
  for (uint64_t seed = 0; seed < 4; ++seed) {
    const auto data = aharon_experiment(seed, c.snr_db);
    const auto options = LearnOptions(50).algorithm(c.algorithm).sparsity(3).iterations(80).seed(seed);
    const double found = recovered_fraction(dl::learn_dictionary(data.signals, options).dictionary, data.dictionary);
    sum += found, worst = std::min(worst, found);
  }
  EXPECT_GE(sum / 4, c.mean);
  EXPECT_GE(worst, c.worst);
}

INSTANTIATE_TEST_SUITE_P(DictionaryLearning, AharonExperiment,
                         ::testing::Values(AharonCase{Algorithm::Ksvd, -1}, AharonCase{Algorithm::Ksvd, 30},
                                           AharonCase{Algorithm::Ksvd, 20}, AharonCase{Algorithm::Ksvd, 10},
                                           AharonCase{Algorithm::Mod, -1}, AharonCase{Algorithm::Mod, 30},
                                           AharonCase{Algorithm::Mod, 20}, AharonCase{Algorithm::Mod, 10}),
                         [](const auto& info) {
                           const double snr = info.param.snr_db;
                           return test_name(info.param.algorithm) +
                                  (snr < 0 ? std::string("_noiseless") : "_snr" + std::to_string(static_cast<int>(snr)));
                         });

// Swaps find atoms: without them (and without restarts) K-SVD stalls in local minima where one atom
// blends two generating atoms, and on the noiseless experiment finds fewer atoms at some seed.
TEST(AharonExperimentSwaps, WithoutSwapsKsvdStallsWhereWithThemItDoesNot) {
  double with = 0, without = 0;
  for (uint64_t seed = 0; seed < 4; ++seed) {
    const auto data = aharon_experiment(seed, -1);
    auto options = LearnOptions(50).algorithm(Algorithm::Ksvd).sparsity(3).iterations(80).seed(seed).restart_passes(0);
    const auto swapped = dl::learn_dictionary(data.signals, options);
    with += recovered_fraction(swapped.dictionary, data.dictionary);
    without += recovered_fraction(dl::learn_dictionary(data.signals, options.swap_atoms(false)).dictionary,
                                  data.dictionary);
    EXPECT_GT(swapped.swapped_atoms, 0);
    EXPECT_EQ(swapped.swapped_atoms % 2, 0) << "atoms change in pairs";
  }
  EXPECT_GT(with, without);
}

/// The trials in a history: each is judged restart_passes passes after it began; kept, its
/// objective is below the one of the pass it began at (the objective of the atoms it would fall
/// back to); rejected, the judging pass ran from exactly those atoms (the same objective) and no
/// trial follows. `kept` restarts in all.
void check_restart_trials(const std::vector<dl::LearnProgress>& history, int64_t passes, int64_t kept) {
  int64_t began = -1, kept_seen = 0;
  bool over = false;
  for (int64_t i = 0; i < static_cast<int64_t>(history.size()); ++i) {
    const auto& p = history[static_cast<size_t>(i)];
    if (p.restart_outcome != dl::RestartOutcome::None) {
      ASSERT_GE(began, 0) << "pass " << i + 1 << " judges a trial that never began";
      EXPECT_EQ(i - began, passes) << "pass " << i + 1;
      const double reference = history[static_cast<size_t>(began)].objective;
      if (p.restart_outcome == dl::RestartOutcome::Kept) {
        EXPECT_LT(p.objective, reference) << "pass " << i + 1;
        ++kept_seen;
      } else {
        EXPECT_NEAR(p.objective, reference, 1e-12 * reference) << "pass " << i + 1;
        over = true;
      }
      began = -1;
    }
    if (p.restart_started) {
      EXPECT_FALSE(over) << "pass " << i + 1 << ": a trial after a rejected one";
      EXPECT_EQ(began, -1) << "pass " << i + 1 << ": a trial inside a trial";
      began = i;
    }
  }
  EXPECT_EQ(kept_seen, kept);
}

// Restarts find the atoms swaps cannot: at 10 dB, with swaps alone MOD stalls with generating atoms
// spread over several learned atoms' users (84% found at seed 1); a restart along the residual's
// top principal direction is kept only when the objective is lower restart_passes passes later,
// so every kept restart lowers it, and the runs with restarts find more atoms in all.
TEST(AharonExperimentRestarts, KeptRestartsFindTheAtomsSwapsLeaveSpread) {
  double with = 0, without = 0;
  int64_t kept = 0;
  for (uint64_t seed = 0; seed < 4; ++seed) {
    const auto data = aharon_experiment(seed, 10);
    const auto options = LearnOptions(50).algorithm(Algorithm::Mod).sparsity(3).iterations(80).seed(seed);
    const auto restarted = dl::learn_dictionary(data.signals, options);
    const auto plain = dl::learn_dictionary(data.signals, LearnOptions(options).restart_passes(0));
    with += recovered_fraction(restarted.dictionary, data.dictionary);
    without += recovered_fraction(plain.dictionary, data.dictionary);
    kept += restarted.restarted_atoms;
    EXPECT_EQ(plain.restarted_atoms, 0);
    check_restart_trials(restarted.history, options.restart_passes(), restarted.restarted_atoms);
    // Every pass before the first trial is the same in both runs.
    EXPECT_EQ(restarted.history.front().objective, plain.history.front().objective);
    // Kept restarts lower the objective and a rejected one brings back the atoms of before it, so
    // the run with them ends no worse (up to the 0.1% by which a stalled pass may still move).
    EXPECT_LE(dl::dictionary_objective(restarted.dictionary, data.signals, options),
              dl::dictionary_objective(plain.dictionary, data.signals, options) * (1 + 1e-3))
        << "seed " << seed;
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(with, without);
}

// With an error bound the objective sits at the bound and cannot judge a restart: none is tried,
// and the run is that of restart_passes = 0 bit for bit.
TEST(AharonExperimentRestarts, NoneWithAnErrorBound) {
  const auto data = aharon_experiment(1, 10);
  const auto options = LearnOptions(50).algorithm(Algorithm::Mod).sparsity(3).error_bound(0.3).iterations(60).seed(1);
  const auto a = dl::learn_dictionary(data.signals, options);
  const auto b = dl::learn_dictionary(data.signals, LearnOptions(options).restart_passes(0));
  EXPECT_EQ(a.restarted_atoms, 0);
  EXPECT_TRUE(torch::equal(a.dictionary, b.dictionary));
}

// Error-constrained coding (Elad & Aharon): signals of 1 and of 4 planted atoms (n = 64, m = 96, a
// regime where OMP finds the planted supports) plus noise σ, coded to ‖r‖₂ ≤ ε = 1.3·√n·σ with a
// cap K = 8 well above both. Started, as Elad & Aharon start from the DCT, from a guess near the
// truth (the planted atoms perturbed: none within 0.99), K-SVD finds the planted atoms and ends
// coding to the bound: the mean ½‖r‖² is ≤ ½ε², and about the noise the planted atoms leave
// (½(n − k)σ²) — the codes stop at the noise level. With a fixed K = 8 they fit the noise instead.
TEST(DictionaryLearningErrorBound, KsvdCodesToTheBoundAndFindsMixedSparsities) {
  const double sigma = 0.01;
  const int64_t n = 64, m = 96;
  const auto one = planted(n, m, 2000, 1, sigma, 21, torch::kDouble, 5001);
  const auto four = planted(n, m, 2000, 4, sigma, 21, torch::kDouble, 5002);
  ASSERT_TRUE(torch::equal(one.dictionary, four.dictionary));
  const auto y = torch::cat({one.signals, four.signals});
  auto gen = at::make_generator<at::CPUGeneratorImpl>(33);
  auto start = one.dictionary + 0.05 * torch::randn({n, m}, gen, torch::kDouble);
  start = start / start.norm(2, {0}, true);
  ASSERT_EQ(recovered_fraction(start, one.dictionary), 0.0);
  const double epsilon = 1.3 * sigma * std::sqrt(static_cast<double>(n));
  const auto options =
      LearnOptions(m).algorithm(Algorithm::Ksvd).sparsity(8).error_bound(epsilon).iterations(20).initial(start).seed(7);
  const auto result = dl::learn_dictionary(y, options);
  EXPECT_GE(recovered_fraction(result.dictionary, one.dictionary), 0.95);
  // The noise left after the planted atoms (1 or 4 of them): ½(n − k)σ², on average 0.96·½nσ².
  const double noise = 0.5 * static_cast<double>(n) * sigma * sigma;
  // The learner's own coding in its last pass: to the bound, not to K atoms.
  EXPECT_LE(result.history.back().objective, 0.5 * epsilon * epsilon);
  EXPECT_GT(result.history.back().objective, 0.8 * noise);
  const double bounded = dl::dictionary_objective(result.dictionary, y, options);
  EXPECT_LE(bounded, 0.5 * epsilon * epsilon);
  EXPECT_GT(bounded, 0.8 * noise);  // the codes stop at the noise level
  const double fixed = dl::dictionary_objective(result.dictionary, y, LearnOptions(options).error_bound(0));
  EXPECT_LT(fixed, 0.8 * noise);  // eight atoms for every signal fit part of the noise
}

// ---------------------------------------------------------------------------------------------
// Objectives.

/// Held-out objective at a random Gaussian start, after learning, and of the planted dictionary
/// itself (the value learning should approach), for an ℓ1 learner.
struct HoldoutRun {
  double start, end, planted;
};
HoldoutRun holdout_run(Algorithm algorithm, int64_t iterations) {
  const auto train = planted(16, 32, 3000, 3, 0.01, 1);
  const auto held = planted(16, 32, 500, 3, 0.01, 1, torch::kDouble, 2);  // same dictionary, other codes
  auto gen = at::make_generator<at::CPUGeneratorImpl>(99);
  auto start = torch::randn({16, 32}, gen, torch::kDouble);
  start = start / start.norm(2, {0}, true);
  const auto options = planted_options(algorithm, iterations).initial(start).holdout(held.signals).eval_every(50);
  HoldoutRun run;
  run.start = dl::dictionary_objective(start, held.signals, options);
  run.planted = dl::dictionary_objective(train.dictionary, held.signals, options);
  run.end = dl::learn_dictionary(train.signals, options).history.back().holdout_objective;
  return run;
}

// The held-out objective closes most of the distance from a random start to the planted
// dictionary's value (the ℓ1 objective cannot reach 0: λ‖x‖₁ stays).
TEST(DictionaryLearningObjective, OnlineHeldOutObjectiveApproachesThePlantedDictionarys) {
  const auto run = holdout_run(Algorithm::Online, 1000);
  EXPECT_LT(run.end - run.planted, 0.1 * (run.start - run.planted))
      << "start " << run.start << " end " << run.end << " planted " << run.planted;
}

TEST(DictionaryLearningObjective, OlshausenFieldHeldOutObjectiveApproachesThePlantedDictionarys) {
  const auto run = holdout_run(Algorithm::OlshausenField, 1000);
  EXPECT_LT(run.end - run.planted, 0.1 * (run.start - run.planted))
      << "start " << run.start << " end " << run.end << " planted " << run.planted;
}

// Each K-SVD / MOD pass lowers the objective: the dictionary step minimises it for the codes, and
// the next codes are OMP's, which is not an exact minimiser (hence a small tolerance). Atom
// replacement, swaps and restarts are off here: replacing an atom that some signals still use, a
// swap (judged by first-order estimates) or a restart's trial may cost a little at the pass where
// it happens.
TEST(DictionaryLearningObjective, KsvdAndModDecreaseEveryPass) {
  const auto data = planted(20, 40, 4000, 3, 0.01, 3);
  for (const auto algorithm : {Algorithm::Ksvd, Algorithm::Mod}) {
    const auto result =
        dl::learn_dictionary(data.signals, planted_options(algorithm, 20, 40).replace_dead_atoms(false).swap_atoms(false).restart_passes(0));
    ASSERT_EQ(result.history.size(), 20u);
    for (size_t i = 1; i < result.history.size(); ++i) {
      EXPECT_LE(result.history[i].objective, result.history[i - 1].objective * (1 + 1e-3))
          << dl::algorithm_name(algorithm) << " pass " << i + 1;
    }
    EXPECT_LT(result.history.back().objective, 0.2 * result.history.front().objective) << dl::algorithm_name(algorithm);
  }
}

TEST(DictionaryLearningObjective, HoldoutIsEvaluatedEveryEvalEveryIterationsAndAtTheEnd) {
  const auto data = planted(16, 32, 1000, 3, 0.01, 4);
  const auto held = planted(16, 32, 200, 3, 0.01, 4, torch::kDouble, 5);
  auto options = planted_options(Algorithm::Online, 11).holdout(held.signals).eval_every(4);
  std::vector<int64_t> seen;
  options.on_progress([&](const dl::LearnProgress& p) { seen.push_back(p.iteration); });
  const auto result = dl::learn_dictionary(data.signals, options);
  ASSERT_EQ(result.history.size(), 11u);
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  for (const auto& p : result.history) {
    const bool evaluated = p.iteration % 4 == 0 || p.iteration == 11;
    EXPECT_EQ(std::isnan(p.holdout_objective), !evaluated) << "iteration " << p.iteration;
    EXPECT_EQ(p.total, 11);
    EXPECT_TRUE(std::isfinite(p.objective));
  }
  // Warm-started from the previous evaluation but solved to the same duality gap (1e-6).
  const double fresh = dl::dictionary_objective(result.dictionary, held.signals, options);
  EXPECT_NEAR(result.history.back().holdout_objective, fresh, 2e-6 * fresh);
}

TEST(DictionaryLearningObjective, DictionaryObjectiveMatchesClosedFormsForTheIdentity) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  const auto y = torch::randn({50, 8}, gen, torch::kDouble);
  const auto identity = torch::eye(8, torch::kDouble);
  // ℓ0 with K = n: exact fit.
  EXPECT_NEAR(dl::dictionary_objective(identity, y, LearnOptions(8).algorithm(Algorithm::Mod).sparsity(8)), 0, 1e-12);
  // ℓ0 with K = 2: the 6 smallest |y_i| are left out.
  const auto sorted = std::get<0>(y.abs().sort(1));
  const double left_out = (0.5 * sorted.narrow(1, 0, 6).square().sum(1)).mean().item<double>();
  EXPECT_NEAR(dl::dictionary_objective(identity, y, LearnOptions(8).algorithm(Algorithm::Ksvd).sparsity(2)), left_out,
              1e-12);
  // ℓ1: soft thresholding, per entry ½y² if |y| ≤ λ, else λ|y| − ½λ².
  const double lambda = 0.3;
  const auto a = y.abs();
  const auto per_entry = torch::where(a <= lambda, 0.5 * a.square(), lambda * a - 0.5 * lambda * lambda);
  EXPECT_NEAR(dl::dictionary_objective(identity, y, LearnOptions(8).lambda(lambda)),
              per_entry.sum(1).mean().item<double>(), 1e-6);
}

// ---------------------------------------------------------------------------------------------
// Atoms: unit norm, dead-atom replacement.

TEST(DictionaryLearningAtoms, AreUnitNormForEveryAlgorithmInBothDtypes) {
  for (const auto dtype : {torch::kDouble, torch::kFloat}) {
    const auto data = planted(16, 32, 600, 3, 0.05, 6, dtype);
    for (const auto algorithm : {Algorithm::OlshausenField, Algorithm::Online, Algorithm::Ksvd, Algorithm::Mod}) {
      const auto result = dl::learn_dictionary(data.signals, planted_options(algorithm, 5));
      EXPECT_EQ(result.dictionary.sizes(), (std::vector<int64_t>{16, 32}));
      EXPECT_EQ(result.dictionary.scalar_type(), dtype);
      EXPECT_LT(norm_error(result.dictionary), dtype == torch::kDouble ? 1e-12 : 1e-5) << dl::algorithm_name(algorithm);
      EXPECT_TRUE(torch::isfinite(result.dictionary).all().item<bool>());
    }
  }
}

TEST(DictionaryLearningAtoms, DuplicatedStartingAtomsAreReplaced) {
  const auto data = planted(16, 32, 1000, 3, 0.01, 8);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(12);
  auto start = torch::randn({16, 32}, gen, torch::kDouble);
  for (int64_t j = 1; j <= 4; ++j) start.select(1, j).copy_(start.select(1, 0));  // atoms 1–4 = atom 0
  for (const auto algorithm : {Algorithm::OlshausenField, Algorithm::Online, Algorithm::Ksvd, Algorithm::Mod}) {
    // One dead-atom window: the duplicates are caught at its end (swaps off: they would take the
    // unused copies first).
    const auto result = dl::learn_dictionary(
        data.signals, planted_options(algorithm, 1).initial(start).dead_atom_window(1).swap_atoms(false));
    // OMP picks one of identical atoms, so the ℓ0 learners leave all four copies unused; coordinate
    // descent may spread a code over copies, which the update then moves apart.
    const bool l0 = algorithm == Algorithm::Ksvd || algorithm == Algorithm::Mod;
    EXPECT_GE(result.replaced_atoms, l0 ? 4 : 1) << dl::algorithm_name(algorithm);
    EXPECT_LT(max_overlap(result.dictionary), 0.99) << dl::algorithm_name(algorithm);
    const auto kept = dl::learn_dictionary(
        data.signals, planted_options(algorithm, 1).initial(start).dead_atom_window(1).replace_dead_atoms(false));
    EXPECT_EQ(kept.replaced_atoms, 0);
  }
}

TEST(DictionaryLearningAtoms, AnUnusedAtomIsReplacedByADirectionOfTheData) {
  // The signals live in the first n − 1 coordinates; atom 31 is e_n, orthogonal to all of them, so
  // no code uses it. After one K-SVD pass it must have been replaced by a unit atom inside the
  // data's subspace (a normalised residual of a training signal).
  auto data = planted(16, 32, 1000, 3, 0.01, 9);
  data.signals.select(1, 15).zero_();
  auto start = data.dictionary.clone();
  start.select(0, 15).zero_();
  start = start / start.norm(2, {0}, true);
  start.select(1, 31).zero_();
  start[15][31] = 1;
  const auto result =
      dl::learn_dictionary(data.signals, planted_options(Algorithm::Ksvd, 1).initial(start).swap_atoms(false));
  EXPECT_GE(result.replaced_atoms, 1);
  const auto atom = result.dictionary.select(1, 31);
  EXPECT_NEAR(atom[15].item<double>(), 0, 1e-12);
  EXPECT_NEAR(atom.norm().item<double>(), 1, 1e-12);
  EXPECT_LT(max_overlap(result.dictionary), 0.99);
  // With swaps the unused atom (it costs nothing to drop) takes half of a split atom instead: also a
  // direction of the data.
  const auto swapped = dl::learn_dictionary(data.signals, planted_options(Algorithm::Ksvd, 1).initial(start));
  EXPECT_GE(swapped.swapped_atoms, 2);
  const auto taken = swapped.dictionary.select(1, 31);
  EXPECT_NEAR(taken[15].item<double>(), 0, 1e-12);
  EXPECT_NEAR(taken.norm().item<double>(), 1, 1e-12);
}

TEST(DictionaryLearningAtoms, FewerSignalsThanAtomsStillGiveAFullDictionary) {
  const auto data = planted(16, 32, 10, 3, 0.01, 10);
  for (const auto algorithm : {Algorithm::Online, Algorithm::Ksvd}) {
    const auto result = dl::learn_dictionary(data.signals, planted_options(algorithm, 3));
    EXPECT_EQ(result.dictionary.sizes(), (std::vector<int64_t>{16, 32}));
    EXPECT_LT(norm_error(result.dictionary), 1e-12);
  }
}

TEST(DictionaryLearningAtoms, MoreDeadAtomsThanSignalsAreReplacedToo) {
  // 6 atoms, 2 signals (or 5 all-zero ones): most atoms are unused every pass and only as many
  // can come from signals' residuals as there are signals; the rest must still be unit atoms.
  const auto f64 = torch::TensorOptions().dtype(torch::kDouble);
  for (const auto& signals : {torch::randn({2, 8}, f64), torch::zeros({5, 8}, f64)}) {
    for (const auto algorithm : {Algorithm::Mod, Algorithm::Ksvd}) {
      const auto result = dl::learn_dictionary(signals, LearnOptions(6).algorithm(algorithm).sparsity(1).iterations(3));
      EXPECT_LT(norm_error(result.dictionary), 1e-12) << dl::algorithm_name(algorithm);
      // The dictionary is a valid start for another run.
      EXPECT_NO_THROW(dl::learn_dictionary(signals, LearnOptions(6).algorithm(algorithm).sparsity(1).iterations(1)
                                                          .initial(result.dictionary)));
    }
  }
}

TEST(DictionaryLearningAtoms, TheSameSeedGivesTheSameDictionary) {
  const auto data = planted(16, 32, 800, 3, 0.01, 13);
  const auto a = dl::learn_dictionary(data.signals, planted_options(Algorithm::Online, 8));
  const auto b = dl::learn_dictionary(data.signals, planted_options(Algorithm::Online, 8));
  const auto c = dl::learn_dictionary(data.signals, planted_options(Algorithm::Online, 8).seed(8));
  EXPECT_TRUE(torch::equal(a.dictionary, b.dictionary));
  EXPECT_FALSE(torch::equal(a.dictionary, c.dictionary));
}

// ---------------------------------------------------------------------------------------------
// Checkpoints.

class DictionaryLearningCheckpoint : public ::testing::TestWithParam<Algorithm> {};

/// Thrown from on_progress to stop a run as if the process had been killed.
struct Interrupted {};

TEST_P(DictionaryLearningCheckpoint, AResumedRunEqualsAnUninterruptedOne) {
  const auto algorithm = GetParam();
  // Signals and atoms in the first 15 coordinates but atom 1 = e_16, which no code can use: it gets
  // replaced on the way, and with a dead-atom window of 2 the usage counts saved at iteration 3
  // are mid-window.
  auto data = planted(16, 32, 700, 3, 0.01, 14);
  data.signals.select(1, 15).zero_();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(15);
  auto start = torch::randn({16, 32}, gen, torch::kDouble);
  start.select(0, 15).zero_();
  start.select(1, 1).zero_();
  start[15][1] = 1;
  const auto dir = deepsc::testing::fresh_dir("dictlearn_checkpoint_" + test_name(algorithm));
  const std::string path = (dir / "run.pt").string();
  const auto held = planted(16, 32, 50, 3, 0.01, 14, torch::kDouble, 18).signals;
  const auto base =
      planted_options(algorithm, 9).initial(start).batch_size(64).dead_atom_window(2).holdout(held).eval_every(2);

  const auto whole = dl::learn_dictionary(data.signals, base);

  // Killed during iteration 7: the checkpoint of iteration 6 (every 3) is what is left.
  auto killed = base;
  killed.checkpoint(path).checkpoint_every(3).on_progress([](const dl::LearnProgress& p) {
    if (p.iteration == 7) throw Interrupted{};
  });
  EXPECT_THROW(dl::learn_dictionary(data.signals, killed), Interrupted);
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const auto resumed =
      dl::learn_dictionary(data.signals, LearnOptions(base).checkpoint(path).checkpoint_every(3).resume(true));

  // A run asked for 4 iterations, then extended to 9.
  std::filesystem::remove(path);
  dl::learn_dictionary(data.signals, LearnOptions(base).iterations(4).checkpoint(path).checkpoint_every(100));
  const auto extended = dl::learn_dictionary(data.signals, LearnOptions(base).checkpoint(path).resume(true));

  for (const auto* run : {&resumed, &extended}) {
    EXPECT_TRUE(torch::equal(run->dictionary, whole.dictionary));
    EXPECT_EQ(run->replaced_atoms, whole.replaced_atoms);
    EXPECT_EQ(run->swapped_atoms, whole.swapped_atoms);
    ASSERT_EQ(run->history.size(), whole.history.size());
    for (size_t i = 0; i < whole.history.size(); ++i) {
      EXPECT_EQ(run->history[i].iteration, whole.history[i].iteration);
      EXPECT_EQ(run->history[i].objective, whole.history[i].objective) << "iteration " << i + 1;
      // Held-out codes are warm-started from the previous evaluation, which the checkpoint keeps.
      if (whole.history[i].iteration % 2 == 0) {
        EXPECT_EQ(run->history[i].holdout_objective, whole.history[i].holdout_objective) << "iteration " << i + 1;
      }
    }
  }
  EXPECT_GE(whole.replaced_atoms + whole.swapped_atoms, 1);  // the state being resumed includes them
}

// A checkpoint written while a restart trial runs holds it (the atoms before it, their objective,
// the passes left): resumed, the run ends exactly as the uninterrupted one. A run that ends inside
// a trial returns the better of the trial's atoms and those before it.
TEST(DictionaryLearningCheckpointRestart, ARunResumedInsideARestartTrialEqualsAnUninterruptedOne) {
  const auto data = aharon_experiment(1, 10);
  const auto dir = deepsc::testing::fresh_dir("dictlearn_checkpoint_restart");
  const std::string path = (dir / "run.pt").string();
  const auto options = LearnOptions(50).algorithm(Algorithm::Mod).sparsity(3).iterations(80).seed(1);
  const auto whole = dl::learn_dictionary(data.signals, options);
  ASSERT_GT(whole.restarted_atoms, 0);

  // Every pass's checkpoint kept; the first two taken inside a trial are resumed.
  auto saving = LearnOptions(options).checkpoint(path).checkpoint_every(1);
  saving.on_progress([&](const dl::LearnProgress& p) {
    std::filesystem::copy_file(path, (dir / ("pass" + std::to_string(p.iteration) + ".pt")).string());
  });
  dl::learn_dictionary(data.signals, saving);
  int resumed_inside = 0;
  for (int64_t pass = 1; pass < 80 && resumed_inside < 2; ++pass) {
    const auto saved = (dir / ("pass" + std::to_string(pass) + ".pt")).string();
    torch::serialize::InputArchive archive;
    archive.load_from(saved);
    torch::Tensor fallback;
    if (!archive.try_read("restart_fallback", fallback)) continue;
    ++resumed_inside;
    const auto resumed = dl::learn_dictionary(data.signals, LearnOptions(options).checkpoint(saved).resume(true));
    EXPECT_TRUE(torch::equal(resumed.dictionary, whole.dictionary)) << "resumed after pass " << pass;
    EXPECT_EQ(resumed.restarted_atoms, whole.restarted_atoms);
    ASSERT_EQ(resumed.history.size(), whole.history.size());
    for (size_t i = 0; i < whole.history.size(); ++i) {
      EXPECT_EQ(resumed.history[i].objective, whole.history[i].objective) << "pass " << i + 1;
    }
    // Stopped after this pass, the run returns atoms no worse than those before the trial.
    const auto stopped = dl::learn_dictionary(data.signals, LearnOptions(options).iterations(pass));
    EXPECT_LE(dl::dictionary_objective(stopped.dictionary, data.signals, options),
              dl::dictionary_objective(fallback.t(), data.signals, options))
        << "stopped after pass " << pass;
  }
  EXPECT_EQ(resumed_inside, 2);
}

INSTANTIATE_TEST_SUITE_P(DictionaryLearning, DictionaryLearningCheckpoint,
                         ::testing::Values(Algorithm::OlshausenField, Algorithm::Online, Algorithm::Ksvd,
                                           Algorithm::Mod),
                         [](const auto& info) { return test_name(info.param); });

TEST(DictionaryLearningCheckpointFile, IsRejectedByARunWithOtherOptions) {
  const auto data = planted(16, 32, 300, 3, 0.01, 16);
  const auto dir = deepsc::testing::fresh_dir("dictlearn_checkpoint_mismatch");
  const std::string path = (dir / "run.pt").string();
  const auto base = planted_options(Algorithm::Online, 2).checkpoint(path);
  dl::learn_dictionary(data.signals, base);
  expect_rejected([&] { dl::learn_dictionary(data.signals, LearnOptions(base).seed(8).resume(true)); }, "seed");
  expect_rejected([&] { dl::learn_dictionary(data.signals, LearnOptions(base).lambda(0.1).resume(true)); }, "lambda");
  expect_rejected([&] { dl::learn_dictionary(data.signals.narrow(0, 0, 200), LearnOptions(base).resume(true)); },
                 "number of signals");
  std::filesystem::remove(path);
  {
    std::ofstream junk(path);
    junk << "not a checkpoint";
  }
  expect_rejected([&] { dl::learn_dictionary(data.signals, LearnOptions(base).resume(true)); }, path);
  // No file yet: resume starts afresh and gives the plain run's dictionary.
  std::filesystem::remove(path);
  const auto fresh = dl::learn_dictionary(data.signals, LearnOptions(base).resume(true));
  const auto plain = dl::learn_dictionary(data.signals, planted_options(Algorithm::Online, 2));
  EXPECT_TRUE(torch::equal(fresh.dictionary, plain.dictionary));
}

// ---------------------------------------------------------------------------------------------
// Option checks.

TEST(DictionaryLearningOptions, BadOptionsAndDataThrowInvalidArgument) {
  const auto y = planted(16, 32, 100, 3, 0.01, 17).signals;
  const auto ok = planted_options(Algorithm::Online, 1);
  const auto ksvd = planted_options(Algorithm::Ksvd, 1);
  auto learn = [&](const torch::Tensor& signals, const LearnOptions& o) { dl::learn_dictionary(signals, o); };
  expect_rejected([&] { learn(y, LearnOptions(0).lambda(0.1)); }, "atoms");
  expect_rejected([&] { learn(y, LearnOptions(32)); }, "lambda");
  expect_rejected([&] { learn(y, LearnOptions(32).algorithm(Algorithm::OlshausenField)); }, "lambda");
  expect_rejected([&] { learn(y, LearnOptions(32).algorithm(Algorithm::Ksvd)); }, "sparsity");
  expect_rejected([&] { learn(y, LearnOptions(32).algorithm(Algorithm::Mod).lambda(0.1)); }, "sparsity");
  expect_rejected([&] { learn(y, LearnOptions(ksvd).sparsity(17)); }, "sparsity");
  expect_rejected([&] { learn(y, LearnOptions(ok).lambda(-1)); }, "lambda");
  expect_rejected([&] { learn(y, LearnOptions(ok).iterations(0)); }, "iterations");
  expect_rejected([&] { learn(y, LearnOptions(ok).batch_size(0)); }, "batch");
  expect_rejected([&] { learn(y, LearnOptions(ok).learning_rate(-0.1)); }, "learning rate");
  expect_rejected([&] { learn(y, LearnOptions(ok).eval_every(0)); }, "eval_every");
  expect_rejected([&] { learn(y, LearnOptions(ok).checkpoint_every(0)); }, "checkpoint_every");
  expect_rejected([&] { learn(y, LearnOptions(ok).resume(true)); }, "checkpoint");
  expect_rejected([&] { learn(y, LearnOptions(ok).coding_tol(0)); }, "tolerance");
  expect_rejected([&] { learn(y, LearnOptions(ksvd).ksvd_power_iterations(0)); }, "power iterations");
  expect_rejected([&] { learn(y, LearnOptions(ksvd).restart_passes(-1)); }, "restart passes");
  expect_rejected([&] { learn(y, LearnOptions(ksvd).error_bound(-0.1)); }, "error bound");
  expect_rejected([&] { learn(y, LearnOptions(ksvd).error_bound(std::numeric_limits<double>::infinity())); }, "error bound");
  expect_rejected([&] { learn(y, LearnOptions(ok).error_bound(0.1)); }, "error bound");  // an l1 learner
  expect_rejected([&] { learn(y, LearnOptions(ok).initial(torch::randn({16, 31}, torch::kDouble))); }, "initial");
  expect_rejected([&] { learn(y, LearnOptions(ok).initial(torch::zeros({16, 32}, torch::kDouble))); }, "all-zero");
  expect_rejected([&] { learn(y, LearnOptions(ok).holdout(torch::randn({5, 15}, torch::kDouble))); }, "holdout");
  expect_rejected([&] { learn(y.flatten(), ok); }, "signals");
  expect_rejected([&] { learn(y.narrow(0, 0, 0), ok); }, "signals");
  expect_rejected([&] { learn(y.to(torch::kLong), ok); }, "float32 or float64");
  auto bad = y.clone();
  bad[3][4] = std::numeric_limits<double>::quiet_NaN();
  expect_rejected([&] { learn(bad, ok); }, "NaN");
  bad[3][4] = std::numeric_limits<double>::infinity();
  expect_rejected([&] { learn(bad, ok); }, "Inf");
  auto bad_holdout = y.narrow(0, 0, 5).clone();
  bad_holdout[0][0] = std::numeric_limits<double>::quiet_NaN();
  expect_rejected([&] { learn(y, LearnOptions(ok).holdout(bad_holdout)); }, "holdout");

  const auto d = torch::eye(16, torch::kDouble);
  expect_rejected([&] { dl::dictionary_objective(d, y.narrow(1, 0, 15), ok); }, "signals");
  expect_rejected([&] { dl::dictionary_objective(d.flatten(), y, ok); }, "dictionary");
  expect_rejected([&] { dl::dictionary_objective(d, y, LearnOptions(16)); }, "lambda");
  expect_rejected([&] { dl::dictionary_objective(d, y, LearnOptions(16).algorithm(Algorithm::Ksvd)); }, "sparsity");
}

TEST(DictionaryLearningOptions, AlgorithmNamesRoundTrip) {
  for (const auto algorithm : {Algorithm::OlshausenField, Algorithm::Online, Algorithm::Ksvd, Algorithm::Mod}) {
    EXPECT_EQ(dl::parse_algorithm(dl::algorithm_name(algorithm)), algorithm);
  }
  EXPECT_EQ(dl::algorithm_name(Algorithm::OlshausenField), "olshausen-field");
  for (const auto* name : {"olshausen-field", "online", "ksvd", "mod"}) {
    expect_rejected([] { dl::parse_algorithm("k-svd"); }, name);
  }
}

}  // namespace
