#include "deepsc/conv/admm.h"
#include "deepsc/sparse/lasso.h"
#include "deepsc/sparse/proximal_gradient.h"

#include <gtest/gtest.h>

#include <string>

using deepsc::conv::admm;
using deepsc::conv::AdmmOptions;
using deepsc::conv::ConvDictionary;
using deepsc::conv::ConvOptions;
namespace sparse = deepsc::sparse;

namespace {

/// One CSC test problem: unit-norm random atoms W [M, C, k(, k)], signals Y = D X + 0.01·noise
/// with ~5% non-zero codes, λ a fraction of λ_max; all in float64.
struct CscProblem {
  std::shared_ptr<ConvDictionary> dict;
  torch::Tensor y;
  double lambda = 0;
  bool nonneg = false;
  std::string name;
};

CscProblem csc_problem(int64_t channels, int64_t atoms, int64_t size, int64_t padding, int64_t dilation, bool nonneg,
                       int64_t rank = 2, int64_t k = 5) {
  std::vector<int64_t> w_shape{atoms, channels}, y_shape{3, channels};
  for (int64_t i = 0; i < rank; ++i) {
    w_shape.push_back(k);
    y_shape.push_back(size);
  }
  CscProblem p;
  p.dict = std::make_shared<ConvDictionary>(torch::randn(w_shape, torch::kDouble),
                                            ConvOptions().padding(padding).dilation(dilation), /*normalize=*/true);
  auto truth_shape = p.dict->code_shape(y_shape);
  auto truth = torch::randn(truth_shape, torch::kDouble) * (torch::rand(truth_shape, torch::kDouble) < 0.05);
  if (nonneg) truth = truth.abs();
  p.y = p.dict->apply(truth) + 0.01 * torch::randn(y_shape, torch::kDouble);
  p.nonneg = nonneg;
  p.lambda = 0.1 * sparse::lasso_lambda_max(*p.dict, p.y, nonneg).max().item<double>();
  p.name = "C" + std::to_string(channels) + " M" + std::to_string(atoms) + " " + std::to_string(size) + "^" +
           std::to_string(rank) + " p" + std::to_string(padding) + " d" + std::to_string(dilation) +
           (nonneg ? " nonneg" : " signed");
  return p;
}

sparse::SolverResult reference(const CscProblem& p) {
  return sparse::fista(*p.dict, p.y,
                       sparse::ProximalGradientOptions(p.lambda).nonneg(p.nonneg).tol(1e-10).max_iter(100000)
                           .stop_rule(sparse::StopRule::DualityGap).check_every(10));
}

/// Largest violation of the CSC lasso KKT conditions relative to λ, g = Dᵀ(Y − D X):
/// g = λ sign(x) on the support, |g| ≤ λ off it (g ≤ λ off it for X ≥ 0).
double kkt_violation(const CscProblem& p, const torch::Tensor& x) {
  auto g = p.dict->adjoint(p.y - p.dict->apply(x));
  auto active = x != 0;
  auto on = (g - p.lambda * x.sign()).abs().masked_select(active);
  auto off = (p.nonneg ? g - p.lambda : g.abs() - p.lambda).clamp_min(0).masked_select(~active);
  double worst = 0;
  if (on.numel()) worst = std::max(worst, on.max().item<double>());
  if (off.numel()) worst = std::max(worst, off.max().item<double>());
  return worst / p.lambda;
}

std::vector<CscProblem> problems() {
  torch::manual_seed(7);
  return {csc_problem(1, 4, 16, 0, 1, false),      csc_problem(1, 8, 20, 4, 1, true),
          csc_problem(3, 6, 16, 4, 2, false),      csc_problem(3, 4, 24, 0, 2, true),
          csc_problem(1, 5, 48, 4, 2, false, /*rank=*/1)};
}

}  // namespace

TEST(Admm, MatchesFistaAndMeetsKkt) {
  for (const auto& p : problems()) {
    const auto fista = reference(p);
    ASSERT_TRUE(fista.converged) << p.name;
    const auto res = admm(*p.dict, p.y, AdmmOptions(p.lambda).nonneg(p.nonneg).tol(1e-7).max_iter(5000));
    EXPECT_TRUE(res.converged) << p.name;
    EXPECT_EQ(res.codes.sizes(), fista.codes.sizes()) << p.name;
    EXPECT_NEAR(res.objective, fista.objective, 1e-6 * fista.objective) << p.name;
    const double code_error = ((res.codes - fista.codes).norm() / fista.codes.norm()).item<double>();
    EXPECT_LT(code_error, 1e-4) << p.name;
    EXPECT_LT(kkt_violation(p, res.codes), 1e-5) << p.name;
    if (p.nonneg) {
      EXPECT_GE(res.codes.min().item<double>(), 0) << p.name;
    }
    std::cout << "[ admm ] " << p.name << ": " << res.iterations << " iterations (fista " << fista.iterations
              << "), objective " << res.objective << " vs " << fista.objective << ", codes " << code_error
              << ", kkt " << kkt_violation(p, res.codes) << "\n";
  }
}

TEST(Admm, Float32Converges) {
  torch::manual_seed(8);
  for (bool nonneg : {false, true}) {
    auto p = csc_problem(3, 6, 20, 4, 1, nonneg);
    const auto fista = reference(p);
    ConvDictionary dict32(p.dict->weights().to(torch::kFloat), p.dict->options());
    const auto res = admm(dict32, p.y.to(torch::kFloat), AdmmOptions(p.lambda).nonneg(nonneg).tol(1e-4));
    EXPECT_TRUE(res.converged) << p.name;
    EXPECT_EQ(res.codes.scalar_type(), torch::kFloat);
    EXPECT_NEAR(res.objective, fista.objective, 1e-3 * fista.objective) << p.name;
  }
}

TEST(Admm, WarmStartFromTheSolutionStopsAtOnce) {
  torch::manual_seed(9);
  for (bool nonneg : {false, true}) {
    auto p = csc_problem(3, 4, 16, 4, 1, nonneg);
    const auto cold = admm(*p.dict, p.y, AdmmOptions(p.lambda).nonneg(nonneg).tol(1e-9).max_iter(5000));
    ASSERT_TRUE(cold.converged);
    const auto warm = admm(*p.dict, p.y, AdmmOptions(p.lambda).nonneg(nonneg).tol(1e-6).warm_start(cold.codes));
    EXPECT_TRUE(warm.converged);
    EXPECT_LE(warm.iterations, 3) << "cold start took " << cold.iterations;
    EXPECT_NEAR(warm.objective, cold.objective, 1e-8 * cold.objective);
  }
}

TEST(Admm, HistoryAndTrivialCases) {
  torch::manual_seed(10);
  auto p = csc_problem(1, 4, 16, 2, 1, false);
  const auto res = admm(*p.dict, p.y, AdmmOptions(p.lambda).record_history(true).max_iter(30).tol(0));
  EXPECT_EQ(res.iterations, 30);
  EXPECT_FALSE(res.converged);
  ASSERT_EQ(res.history.size(), 30u);
  EXPECT_NEAR(res.history.back(), res.objective, 1e-12 * res.objective);
  // λ ≥ λ_max: X = 0 is the solution.
  const double lambda_max = sparse::lasso_lambda_max(*p.dict, p.y, false).max().item<double>();
  const auto zero = admm(*p.dict, p.y, AdmmOptions(1.01 * lambda_max).tol(1e-8));
  EXPECT_TRUE(zero.converged);
  EXPECT_EQ(zero.codes.count_nonzero().item<int64_t>(), 0);
  // An empty batch; a zero dictionary (X = 0).
  const auto empty = admm(*p.dict, torch::zeros({0, 1, 16, 16}, torch::kDouble), AdmmOptions(0.1));
  EXPECT_EQ(empty.codes.size(0), 0);
  const auto none = admm(ConvDictionary(torch::zeros({2, 1, 3, 3}, torch::kDouble)), p.y, AdmmOptions(0.1));
  EXPECT_TRUE(none.converged);
  EXPECT_EQ(none.codes.count_nonzero().item<int64_t>(), 0);
}

TEST(Admm, WoodburyMatchesShermanMorrison) {
  // A second, all-zero channel changes nothing in the problem: the C×C Woodbury solve must give
  // the iterates of the scalar Sherman–Morrison one.
  torch::manual_seed(12);
  auto p = csc_problem(1, 6, 18, 4, 1, false);
  ConvDictionary two(torch::cat({p.dict->weights(), torch::zeros_like(p.dict->weights())}, 1), p.dict->options());
  auto y2 = torch::cat({p.y, torch::zeros_like(p.y)}, 1);
  const auto opts = AdmmOptions(p.lambda).tol(1e-8).max_iter(5000);
  const auto one_channel = admm(*p.dict, p.y, opts), two_channels = admm(two, y2, opts);
  EXPECT_TRUE(one_channel.converged);
  EXPECT_NEAR(two_channels.iterations, one_channel.iterations, 2);
  EXPECT_LT((two_channels.codes - one_channel.codes).abs().max().item<double>(), 1e-7);
}

TEST(Admm, DefaultsAreScaleInvariant) {
  // W → cW, λ → cλ has the solution X/c; γ = 2/‖D̃‖² and ρ₁ = 1 make ADMM take the same path.
  torch::manual_seed(13);
  auto p = csc_problem(3, 4, 16, 2, 1, true);
  const double c = 4;
  ConvDictionary scaled(p.dict->weights() * c, p.dict->options());
  const auto base = admm(*p.dict, p.y, AdmmOptions(p.lambda).nonneg(true).tol(1e-6));
  const auto other = admm(scaled, p.y, AdmmOptions(c * p.lambda).nonneg(true).tol(1e-6));
  EXPECT_TRUE(base.converged);
  EXPECT_NEAR(other.iterations, base.iterations, 1);
  EXPECT_LT((other.codes * c - base.codes).abs().max().item<double>(), 1e-8 * (1 + base.codes.abs().max().item<double>()));
}

TEST(Admm, BadInputsGiveClearErrors) {
  ConvDictionary dict(torch::randn({4, 3, 5, 5}));
  auto y = torch::randn({2, 3, 16, 16});
  auto message = [](auto&& call) {
    try {
      call();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  ConvDictionary strided(torch::randn({4, 3, 5, 5}), ConvOptions().stride(2).output_padding(1));
  EXPECT_NE(message([&] { admm(strided, y, AdmmOptions(0.1)); }).find("stride"), std::string::npos);
  EXPECT_NE(message([&] { admm(dict, y, AdmmOptions(-1)); }).find("lambda"), std::string::npos);
  EXPECT_NE(message([&] { admm(dict, y, AdmmOptions(0.1).alpha(2)); }).find("alpha"), std::string::npos);
  EXPECT_NE(message([&] { admm(dict, y, AdmmOptions(0.1).rho(-1)); }).find("rho"), std::string::npos);
  EXPECT_NE(message([&] { admm(dict, torch::randn({2, 1, 16, 16}), AdmmOptions(0.1)); }).find("channels"),
            std::string::npos);
  EXPECT_NE(message([&] { admm(dict, torch::randn({2, 3, 16}), AdmmOptions(0.1)); }).find("[N, C, H, W]"),
            std::string::npos);
  EXPECT_NE(message([&] { admm(dict, y.to(torch::kDouble), AdmmOptions(0.1)); }), "no error");
  EXPECT_NE(message([&] { admm(dict, y, AdmmOptions(0.1).warm_start(torch::zeros({2, 4, 3, 3}))); }).find("warm start"),
            std::string::npos);
}
