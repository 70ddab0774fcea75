// Batch-OMP: recovery below the coherence bound, where recovery stops, least-squares optimality on
// the support, agreement with a naive per-signal OMP, the ε rule and frozen signals.
#include "deepsc/sparse/coherence.h"
#include "deepsc/sparse/omp.h"

#include "support/random_problems.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace {

using deepsc::sparse::DenseDictionary;
using deepsc::sparse::mutual_coherence;
using deepsc::sparse::omp;
using deepsc::sparse::OmpOptions;
using deepsc::sparse::recovery_bound;

using deepsc::testing::gaussian_dictionary;
using deepsc::testing::identity_hadamard;
using deepsc::testing::random_sparse_codes;

/// Per-signal ‖y − D x‖.
torch::Tensor residual_norms(const DenseDictionary& dict, const torch::Tensor& y, const torch::Tensor& x) {
  return (y - dict.apply(x)).norm(2, {1});
}

/// Runs `fn`, expecting std::invalid_argument whose message contains every string of `needles`.
template <class Fn>
void expect_invalid_all(Fn fn, const std::vector<std::string>& needles) {
  try {
    fn();
    ADD_FAILURE() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    for (const auto& needle : needles) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "message: " << e.what();
    }
  }
}

/// OMP spelled out for one signal at a time: pick the atom most correlated with the residual, then
/// refit all coefficients by least squares on the support. Float64 throughout.
torch::Tensor reference_omp(const torch::Tensor& d, const torch::Tensor& y, int64_t k) {
  const auto d64 = d.to(torch::kDouble), y64 = y.to(torch::kDouble);
  auto codes = torch::zeros({y64.size(0), d64.size(1)}, torch::kDouble);
  for (int64_t i = 0; i < y64.size(0); ++i) {
    const auto signal = y64[i];
    auto residual = signal.clone();
    std::vector<int64_t> support;
    torch::Tensor coef;
    for (int64_t t = 0; t < k; ++t) {
      auto scores = torch::mv(d64.t(), residual).abs();
      for (auto s : support) scores[s] = -1;
      support.push_back(scores.argmax().item<int64_t>());
      const auto atoms = d64.index_select(1, torch::tensor(support, torch::kLong));
      coef = std::get<0>(torch::linalg_lstsq(atoms, signal.unsqueeze(1))).squeeze(1);
      residual = signal - torch::mv(atoms, coef);
    }
    for (size_t s = 0; s < support.size(); ++s) codes[i][support[s]] = coef[static_cast<int64_t>(s)];
  }
  return codes;
}

/// Tolerance for coefficient comparisons in the solve's dtype.
double coef_tol(torch::ScalarType type) { return type == torch::kDouble ? 1e-9 : 2e-4; }

// ---------------------------------------------------------------------------------------------
// (a) Exact support recovery below ½(1 + 1/μ), both stop rules, both dtypes.

class OmpRecovery : public ::testing::TestWithParam<std::tuple<torch::ScalarType, bool>> {};

TEST_P(OmpRecovery, RecoversSupportBelowCoherenceBound) {
  const auto [type, by_error] = GetParam();
  torch::manual_seed(10);
  const int64_t n = 64, k = 4;
  const auto d = identity_hadamard(n, type);
  const double mu = mutual_coherence(d);
  ASSERT_NEAR(mu, 1.0 / 8, 1e-6);
  ASSERT_LT(k, recovery_bound(mu));  // 4 < 4.5: the theorem applies
  const DenseDictionary dict(d);

  // Enough signals to span several of omp()'s internal chunks.
  const auto truth = random_sparse_codes(3000, d.size(1), k, type);
  const auto y = dict.apply(truth);
  OmpOptions options;
  if (by_error) {
    // Every partial fit misses an entry of magnitude ≥ 1, so any small ε stops exactly at k.
    options.epsilon(type == torch::kDouble ? 1e-6 : 1e-2);
  } else {
    options.sparsity(k);
  }
  const auto result = omp(dict, y, options);

  ASSERT_EQ(result.codes.sizes(), truth.sizes());
  EXPECT_EQ(result.codes.scalar_type(), type);
  EXPECT_TRUE(torch::equal(result.codes != 0, truth != 0)) << "supports differ";
  EXPECT_LT((result.codes - truth).abs().max().item<double>(), coef_tol(type));
  EXPECT_EQ(result.iterations, k);
  EXPECT_TRUE(result.converged);
  EXPECT_LT(result.objective, type == torch::kDouble ? 1e-18 : 1e-8);
}

INSTANTIATE_TEST_SUITE_P(DtypesAndRules, OmpRecovery,
                         ::testing::Combine(::testing::Values(torch::kFloat, torch::kDouble), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) == torch::kDouble ? "Float64" : "Float32") +
                                  (std::get<1>(info.param) ? "Epsilon" : "Sparsity");
                         });

// ---------------------------------------------------------------------------------------------
// (b) Past the bound, recovery is no longer guaranteed and does fail more and more often.

TEST(Omp, RecoveryRateFallsPastTheBound) {
  torch::manual_seed(11);
  const DenseDictionary dict(gaussian_dictionary(32, 128, torch::kDouble));
  const double bound = recovery_bound(mutual_coherence(dict.matrix()));
  ASSERT_LT(bound, 2.0);  // a random 32×128 dictionary guarantees only 1-sparse codes

  const std::vector<int64_t> ks = {1, 2, 4, 8, 12, 16};
  std::vector<double> rate;
  for (auto k : ks) {
    const auto truth = random_sparse_codes(400, 128, k, torch::kDouble);
    const auto result = omp(dict, dict.apply(truth), OmpOptions().sparsity(k));
    const auto same = (result.codes != 0).eq(truth != 0).all(1);
    rate.push_back(same.to(torch::kDouble).mean().item<double>());
  }
  const std::string rates = [&] {
    std::string s;
    for (size_t i = 0; i < ks.size(); ++i) s += "k=" + std::to_string(ks[i]) + ": " + std::to_string(rate[i]) + "  ";
    return s;
  }();
  EXPECT_EQ(rate.front(), 1.0) << rates;  // k = 1 < bound: guaranteed
  EXPECT_GE(rate[1], 0.9) << rates;       // still easy in practice
  for (size_t i = 1; i < rate.size(); ++i) EXPECT_LE(rate[i], rate[i - 1] + 0.05) << rates;
  EXPECT_LT(rate.back(), 0.2) << rates;  // k = 16 = n/2: clearly failing
}

// ---------------------------------------------------------------------------------------------
// (c) Least-squares optimality: the residual is orthogonal to every selected atom.

class OmpDtype : public ::testing::TestWithParam<torch::ScalarType> {};

TEST_P(OmpDtype, ResidualIsOrthogonalToSelectedAtoms) {
  const auto type = GetParam();
  torch::manual_seed(12);
  const DenseDictionary dict(gaussian_dictionary(32, 128, type));
  const auto y = torch::randn({300, 32}, torch::kDouble).to(type);
  const int64_t k = 6;
  const auto result = omp(dict, y, OmpOptions().sparsity(k));

  const auto support = result.codes != 0;
  EXPECT_TRUE(torch::all(support.sum(1) == k).item<bool>());  // generic signals use all K atoms
  const auto correlations = dict.adjoint(y - dict.apply(result.codes));  // Dᵀr [N, m]
  const auto on_support = correlations.masked_fill(~support, 0).abs().max().item<double>();
  const auto off_support = correlations.masked_fill(support, 0).abs().max().item<double>();
  EXPECT_LT(on_support, type == torch::kDouble ? 1e-12 : 1e-5);
  EXPECT_GT(off_support, 1e-2);  // not trivially zero everywhere: the residual is far from 0

  // The reported objective is the mean of ½‖r‖².
  const double objective = (0.5 * residual_norms(dict, y, result.codes).square()).mean().item<double>();
  EXPECT_NEAR(result.objective, objective, 1e-5 * objective);
  EXPECT_EQ(result.iterations, k);
  EXPECT_TRUE(result.converged);
}

// ---------------------------------------------------------------------------------------------
// (d) Agreement with the naive per-signal OMP.

TEST_P(OmpDtype, AgreesWithNaiveReference) {
  const auto type = GetParam();
  torch::manual_seed(13);
  const auto d = gaussian_dictionary(20, 50, type);
  const DenseDictionary dict(d);
  const auto y = torch::randn({200, 20}, torch::kDouble).to(type);
  for (int64_t k : {1, 3, 7}) {
    const auto expected = reference_omp(d, y, k);
    const auto got = omp(dict, y, OmpOptions().sparsity(k)).codes.to(torch::kDouble);
    const auto same_support = (got != 0).eq(expected != 0).all(1);
    if (type == torch::kDouble) {
      EXPECT_TRUE(same_support.all().item<bool>()) << "k = " << k;
      EXPECT_LT((got - expected).abs().max().item<double>(), 1e-9) << "k = " << k;
    } else {
      // float32 may break a near-tie of |Dᵀr| the other way for an occasional signal.
      EXPECT_GE(same_support.to(torch::kDouble).mean().item<double>(), 0.97) << "k = " << k;
      const auto rows = torch::nonzero(same_support).squeeze(1);
      EXPECT_LT((got.index_select(0, rows) - expected.index_select(0, rows)).abs().max().item<double>(), 1e-3)
          << "k = " << k;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// (e) ε mode: every residual meets ε, and no shorter OMP path would have.

TEST_P(OmpDtype, EpsilonModeMeetsTolerance) {
  const auto type = GetParam();
  torch::manual_seed(14);
  const DenseDictionary dict(gaussian_dictionary(32, 128, type));
  const auto y = torch::randn({400, 32}, torch::kDouble).to(type);  // ‖y‖ ≈ 5.7
  const double eps = 1.5;
  const auto result = omp(dict, y, OmpOptions().epsilon(eps));
  EXPECT_TRUE(result.converged);

  // ‖r‖² is tracked as ‖y‖² − ‖z‖², so float32 resolves ‖r‖ ≈ ε only to ~1e-6 relative.
  const double rel = type == torch::kDouble ? 1e-9 : 1e-4;
  const auto norms = residual_norms(dict, y, result.codes).to(torch::kDouble);
  EXPECT_LE(norms.max().item<double>(), eps * (1 + rel));
  const auto sizes = (result.codes != 0).sum(1);
  EXPECT_EQ(result.iterations, sizes.max().item<int64_t>());
  EXPECT_GT(sizes.min().item<int64_t>(), 0);
  EXPECT_GT(sizes.max().item<int64_t>(), sizes.min().item<int64_t>());  // the rule is per signal

  // OMP paths are nested, so stopping one atom earlier must leave ‖r‖ > ε: the support is minimal.
  std::map<int64_t, std::vector<int64_t>> by_size;
  const auto sizes_cpu = sizes.to(torch::kCPU);
  for (int64_t i = 0; i < sizes_cpu.size(0); ++i) by_size[sizes_cpu[i].item<int64_t>()].push_back(i);
  for (const auto& [size, rows] : by_size) {
    if (size < 2) continue;
    const auto subset = y.index_select(0, torch::tensor(rows, torch::kLong));
    const auto shorter = omp(dict, subset, OmpOptions().sparsity(size - 1));
    EXPECT_GT(residual_norms(dict, subset, shorter.codes).min().item<double>(), eps * (1 - rel)) << "size " << size;
  }

  // Both rules: K caps signals that have not reached ε yet.
  const auto capped = omp(dict, y, OmpOptions().epsilon(eps).sparsity(3));
  EXPECT_LE((capped.codes != 0).sum(1).max().item<int64_t>(), 3);
  EXPECT_TRUE(capped.converged);  // reaching K is meeting the rule
}

TEST_P(OmpDtype, LongSupportsMatchNaiveReference) {
  // Supports from a handful of atoms up to n = 40 in one ε-mode batch: signals stop at many
  // different steps, and the longest ones outgrow omp()'s initial support buffers.
  const auto type = GetParam();
  torch::manual_seed(21);
  const auto d = gaussian_dictionary(40, 80, type);
  const DenseDictionary dict(d);
  const auto y = torch::randn({60, 40}, torch::kDouble).to(type) * (torch::rand({60, 1}).to(type) * 3 + 0.1);
  const auto result = omp(dict, y, OmpOptions().epsilon(0.3));
  EXPECT_TRUE(result.converged);
  const auto sizes = (result.codes != 0).sum(1).to(torch::kCPU);
  ASSERT_GT(sizes.max().item<int64_t>(), 32);
  ASSERT_LT(sizes.min().item<int64_t>(), 16);

  std::map<int64_t, std::vector<int64_t>> by_size;
  for (int64_t i = 0; i < sizes.size(0); ++i) by_size[sizes[i].item<int64_t>()].push_back(i);
  int64_t agree = 0;
  for (const auto& [size, rows] : by_size) {
    const auto index = torch::tensor(rows, torch::kLong);
    const auto expected = reference_omp(d, y.index_select(0, index), size);
    const auto got = result.codes.index_select(0, index).to(torch::kDouble);
    const auto same = (got != 0).eq(expected != 0).all(1);
    agree += same.sum().item<int64_t>();
    if (type == torch::kDouble) {
      EXPECT_LT((got - expected).abs().max().item<double>(), 1e-7) << "size " << size;
    }
  }
  // float32 may break a near-tie the other way somewhere along a 40-step path.
  EXPECT_GE(agree, type == torch::kDouble ? 60 : 50);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, OmpDtype, ::testing::Values(torch::kFloat, torch::kDouble),
                         [](const auto& info) { return info.param == torch::kDouble ? "Float64" : "Float32"; });

TEST(Omp, UnreachableEpsilonIsNotConverged) {
  torch::manual_seed(15);
  // m < n: the atoms span only a subspace, so generic signals can never get within a small ε.
  const DenseDictionary dict(gaussian_dictionary(16, 6, torch::kDouble));
  const auto y = torch::randn({10, 16}, torch::kDouble);
  const auto result = omp(dict, y, OmpOptions().epsilon(1e-3));
  EXPECT_FALSE(result.converged);
  EXPECT_EQ(result.iterations, 6);
}

// ---------------------------------------------------------------------------------------------
// (f) Bad inputs.

TEST(Omp, BadInputsThrow) {
  torch::manual_seed(16);
  const DenseDictionary dict(gaussian_dictionary(8, 16, torch::kFloat));
  const auto y = torch::randn({3, 8});
  expect_invalid_all([&] { omp(dict, y, OmpOptions()); }, {"omp needs --sparsity K or --epsilon"});
  expect_invalid_all([&] { omp(dict, y, OmpOptions().sparsity(9)); }, {"9", "min(n, m) = 8"});
  const DenseDictionary tall(gaussian_dictionary(16, 5, torch::kFloat));
  expect_invalid_all([&] { omp(tall, torch::randn({2, 16}), OmpOptions().sparsity(6)); }, {"6", "min(n, m) = 5"});
  expect_invalid_all([&] { omp(dict, y, OmpOptions().sparsity(-1)); }, {"sparsity", "-1"});
  expect_invalid_all([&] { omp(dict, y, OmpOptions().epsilon(-0.5)); }, {"epsilon"});
  expect_invalid_all([&] { omp(dict, y, OmpOptions().epsilon(std::nan(""))); }, {"epsilon"});
  expect_invalid_all([&] { omp(dict, torch::randn({3, 7}), OmpOptions().sparsity(2)); }, {"[N, 8]"});
  expect_invalid_all([&] { omp(dict, torch::randn({8}), OmpOptions().sparsity(2)); }, {"[N, 8]"});
  expect_invalid_all([&] { omp(dict, y.to(torch::kDouble), OmpOptions().sparsity(2)); }, {"dtype"});
  const DenseDictionary half(gaussian_dictionary(8, 16, torch::kHalf));
  expect_invalid_all([&] { omp(half, y.to(torch::kHalf), OmpOptions().sparsity(2)); }, {"float32 or float64"});
}

TEST(Omp, FullSupportReconstructsExactly) {
  // K = min(n, m) is allowed: n independent atoms span every signal.
  torch::manual_seed(22);
  const DenseDictionary dict(gaussian_dictionary(8, 16, torch::kDouble));
  const auto y = torch::randn({20, 8}, torch::kDouble);
  const auto result = omp(dict, y, OmpOptions().sparsity(8));
  EXPECT_LT(residual_norms(dict, y, result.codes).max().item<double>(), 1e-9);
  EXPECT_LT(result.objective, 1e-18);
  EXPECT_TRUE(result.converged);
}

// ---------------------------------------------------------------------------------------------
// (g) Frozen signals: a signal that has met its rule stops changing while the others continue.

TEST(Omp, FrozenSignalsKeepTheirSupport) {
  torch::manual_seed(20);
  const DenseDictionary dict(identity_hadamard(64, torch::kDouble));
  auto truth = torch::zeros({2, 128}, torch::kDouble);
  truth[0][70] = 1.5;  // 1-sparse
  truth[1].index_put_({torch::tensor({3, 40, 77, 120}, torch::kLong)},
                      torch::tensor({1.0, -2.0, 1.5, -1.2}, torch::kDouble));
  // Noise of norm 1e-3 < ε: the correlations never vanish, so only the ε rule can stop a signal,
  // and the 1-sparse one must stay frozen while the other needs three more steps.
  auto noise = torch::randn({2, 64}, torch::kDouble);
  noise = 1e-3 * noise / noise.norm(2, {1}, true);
  const auto y = dict.apply(truth) + noise;
  const auto result = omp(dict, y, OmpOptions().epsilon(1e-2));
  const auto sizes = (result.codes != 0).sum(1);
  EXPECT_EQ(sizes[0].item<int64_t>(), 1);
  EXPECT_EQ(sizes[1].item<int64_t>(), 4);
  EXPECT_TRUE(torch::equal(result.codes != 0, truth != 0));
  EXPECT_LT((result.codes - truth).abs().max().item<double>(), 1e-2);
  EXPECT_EQ(result.iterations, 4);
  EXPECT_TRUE(result.converged);
}

TEST(Omp, BatchedResultsEqualOneSignalAtATime) {
  torch::manual_seed(17);
  const DenseDictionary dict(identity_hadamard(64, torch::kDouble));
  // Sparsities 1..4 (all below the bound 4.5), a zero signal and one already within ε, so that
  // signals stop at every step and the batch is compacted along the way.
  std::vector<torch::Tensor> parts;
  for (int64_t k = 1; k <= 4; ++k) parts.push_back(random_sparse_codes(6, 128, k, torch::kDouble));
  auto truth = torch::cat(parts, 0);
  truth = truth.index_select(0, torch::randperm(truth.size(0)));
  const int64_t count = truth.size(0);
  const auto y = torch::cat(
      {dict.apply(truth), torch::zeros({1, 64}, torch::kDouble), torch::full({1, 64}, 1e-5, torch::kDouble)}, 0);
  const auto options = OmpOptions().epsilon(1e-4);
  const auto batched = omp(dict, y, options);
  for (int64_t i = 0; i < y.size(0); ++i) {
    const auto alone = omp(dict, y.narrow(0, i, 1), options).codes[0];
    EXPECT_TRUE(torch::equal(batched.codes[i] != 0, alone != 0)) << "signal " << i;
    EXPECT_LT((batched.codes[i] - alone).abs().max().item<double>(), 1e-12) << "signal " << i;
  }
  EXPECT_TRUE(torch::equal(batched.codes.narrow(0, 0, count) != 0, truth != 0));
  EXPECT_EQ(batched.codes[count].count_nonzero().item<int64_t>(), 0);      // zero signal
  EXPECT_EQ(batched.codes[count + 1].count_nonzero().item<int64_t>(), 0);  // ‖y‖ ≤ ε already
  EXPECT_EQ(batched.iterations, 4);
}

TEST(Omp, ExactlySparseSignalsStopEarlyInSparsityMode) {
  // K = 6 but the signals are 2-sparse: once r = 0 the correlations vanish and the pursuit stops
  // instead of adding atoms with zero coefficients.
  torch::manual_seed(18);
  const DenseDictionary dict(identity_hadamard(16, torch::kDouble));
  const auto truth = random_sparse_codes(50, 32, 2, torch::kDouble);
  auto y = torch::cat({dict.apply(truth), torch::zeros({1, 16}, torch::kDouble)}, 0);
  const auto result = omp(dict, y, OmpOptions().sparsity(6));
  EXPECT_TRUE(torch::equal(result.codes.narrow(0, 0, 50) != 0, truth != 0));
  EXPECT_EQ(result.codes[50].count_nonzero().item<int64_t>(), 0);
  EXPECT_EQ(result.iterations, 2);
  EXPECT_TRUE(result.converged);
}

TEST(Omp, EmptyBatch) {
  const DenseDictionary dict(identity_hadamard(8, torch::kFloat));
  const auto result = omp(dict, torch::zeros({0, 8}), OmpOptions().sparsity(2));
  EXPECT_EQ(result.codes.sizes(), (c10::IntArrayRef{0, 16}));
  EXPECT_TRUE(result.converged);
  EXPECT_EQ(result.iterations, 0);
}

TEST(Omp, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(19);
  for (auto type : {torch::kFloat, torch::kDouble}) {
    const auto d = gaussian_dictionary(32, 128, type);
    const auto truth = random_sparse_codes(500, 128, 3, type);
    const DenseDictionary cpu(d), gpu(d.to(torch::kCUDA));
    const auto y = cpu.apply(truth) + 0.01 * torch::randn({500, 32}, torch::kDouble).to(type);
    for (const auto& options : {OmpOptions().sparsity(5), OmpOptions().epsilon(0.05)}) {
      const auto a = omp(cpu, y, options);
      const auto b = omp(gpu, y.to(torch::kCUDA), options);
      ASSERT_TRUE(b.codes.is_cuda());
      const auto same_support = (a.codes != 0).eq(b.codes.cpu() != 0).all(1).to(torch::kDouble).mean();
      EXPECT_GE(same_support.item<double>(), 0.99);
      EXPECT_NEAR(a.objective, b.objective, 1e-3 * a.objective + 1e-9);
    }
  }
}

}  // namespace
