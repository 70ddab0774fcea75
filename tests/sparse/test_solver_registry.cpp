// The solver registry: every solver run through it gives the codes of its own function, the
// capability flags are enforced with clear errors, and unknown names list the known ones.
#include "deepsc/conv/admm.h"
#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/conv/solver_registry.h"
#include "deepsc/sparse/coordinate_descent.h"
#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/omp.h"
#include "deepsc/sparse/proximal_gradient.h"
#include "deepsc/sparse/solver_comparison.h"
#include "deepsc/sparse/solver_registry.h"
#include "deepsc/sparse/thresholding.h"

#include "support/random_problems.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

using namespace deepsc::sparse;
using deepsc::conv::ConvDictionary;
using deepsc::conv::ConvOptions;

namespace {

/// The message of the std::invalid_argument that `f` throws ("" when it throws none).
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

struct Problems {
  DenseDictionary dense;
  torch::Tensor y;
  ConvDictionary conv;
  torch::Tensor images;
};

Problems make_problems() {
  torch::manual_seed(11);
  auto p = deepsc::testing::lasso_problem(16, 40, 12, torch::kDouble);
  auto w = torch::randn({4, 1, 3, 3}, torch::kDouble);
  return {DenseDictionary(p.d), p.y, ConvDictionary(w, ConvOptions().padding(1), /*normalize=*/true),
          torch::randn({2, 1, 9, 9}, torch::kDouble)};
}

}  // namespace

TEST(SolverRegistry, EverySolverGivesTheCodesOfItsOwnFunction) {
  auto p = make_problems();
  const auto& registry = deepsc::conv::solver_registry();
  const auto request = SolverRequest().lambda(0.1).beta(0.2).sparsity(4).max_iter(50).tol(1e-8);
  const auto proximal = ProximalGradientOptions(0.1).max_iter(50).tol(1e-8);
  std::set<std::string> covered;
  auto expect_same = [&](const std::string& name, const LinearOperator& op, const torch::Tensor& y,
                         const SolverResult& direct) {
    const auto run = registry.run(name, op, y, request);
    EXPECT_TRUE(torch::equal(run.result.codes, direct.codes)) << name;
    EXPECT_EQ(run.result.iterations, direct.iterations) << name;
    EXPECT_DOUBLE_EQ(run.result.objective, direct.objective) << name;
    EXPECT_GT(run.seconds, 0) << name;
    EXPECT_GT((direct.codes != 0).sum().item<int64_t>(), 0) << name << ": a test of all-zero codes proves nothing";
    covered.insert(name);
  };
  expect_same("threshold", p.dense, p.y, threshold(p.dense, p.y, ThresholdingOptions(0.2).sparsity(4)));
  expect_same("ista", p.dense, p.y, ista(p.dense, p.y, proximal));
  expect_same("fista", p.dense, p.y, fista(p.dense, p.y, proximal));
  expect_same("cd", p.dense, p.y,
              coordinate_descent(p.dense, p.y,
                                 CoordinateDescentOptions(0.1).max_iter(50).tol(1e-8).stop_rule(StopRule::RelativeChange)));
  expect_same("omp", p.dense, p.y, omp(p.dense, p.y, OmpOptions().sparsity(4)));
  expect_same("admm", p.conv, p.images, deepsc::conv::admm(p.conv, p.images, deepsc::conv::AdmmOptions(0.1).max_iter(50).tol(1e-8)));
  // The generic solvers run on the convolutional operator as well.
  expect_same("fista", p.conv, p.images, fista(p.conv, p.images, proximal));
  const auto names = registry.names();
  EXPECT_EQ(covered, std::set<std::string>(names.begin(), names.end()))
      << "a registered solver is not compared with its own function";
}

TEST(SolverRegistry, FixedIterationsAreTwoIstaStepsAndTheStepIsReported) {
  auto p = make_problems();
  const auto run = solver_registry().run("ista", p.dense, p.y, SolverRequest().lambda(0.1).iters(2).tol(1));
  EXPECT_EQ(run.result.iterations, 2);
  const auto& d = p.dense.matrix();
  const double l = torch::linalg_matrix_norm(d, 2).square().item<double>();
  EXPECT_NEAR(run.lipschitz, l, 1e-6 * l);
  EXPECT_DOUBLE_EQ(run.step, 1 / run.lipschitz);
  const double eta = run.step;
  auto shrink = [&](const torch::Tensor& v) { return torch::sign(v) * torch::relu(v.abs() - 0.1 * eta); };
  auto x1 = shrink(eta * p.y.mm(d));
  auto x2 = shrink(x1 + eta * (p.y - x1.mm(d.t())).mm(d));
  EXPECT_TRUE(torch::allclose(run.result.codes, x2, 1e-10, 1e-12));
  // Solvers without a step report none.
  EXPECT_EQ(solver_registry().run("omp", p.dense, p.y, SolverRequest().sparsity(2)).step, 0);
}

TEST(SolverRegistry, UnsupportedCombinationsAreRefusedByName) {
  auto p = make_problems();
  const auto& registry = deepsc::conv::solver_registry();
  auto error = [&](const std::string& name, const LinearOperator& op, const torch::Tensor& y, const SolverRequest& r) {
    return error_of([&] { registry.run(name, op, y, r); });
  };
  EXPECT_NE(error("cd", p.conv, p.images, {}).find("needs a DenseDictionary operator; use threshold, ista, fista or admm"),
            std::string::npos);
  EXPECT_NE(error("omp", p.conv, p.images, SolverRequest().sparsity(2)).find("DenseDictionary"), std::string::npos);
  EXPECT_NE(error("admm", p.dense, p.y, {}).find("solver admm does not run on a DenseDictionary"), std::string::npos);
  EXPECT_NE(error("omp", p.dense, p.y, SolverRequest().sparsity(2).nonneg(true)).find("nonneg"), std::string::npos);
  EXPECT_NE(error("omp", p.dense, p.y, SolverRequest().sparsity(2).iters(3)).find("use ista or fista"),
            std::string::npos);
  EXPECT_NE(error("admm", p.conv, p.images, SolverRequest().iters(3)).find("iters"), std::string::npos);
  EXPECT_NE(error("omp", p.dense, p.y, {}).find("sparsity K > 0 or epsilon"), std::string::npos);
  EXPECT_NE(error("threshold", p.dense, p.y, SolverRequest().warm_start(torch::zeros({12, 40}, torch::kDouble)))
                .find("warm start"),
            std::string::npos);
  ConvDictionary strided(torch::randn({4, 1, 3, 3}, torch::kDouble), ConvOptions().stride(2).padding(1));
  EXPECT_NE(error("admm", strided, torch::randn({2, 1, 9, 9}, torch::kDouble), {}).find("stride"), std::string::npos);
  // The flags say what the checks enforce.
  EXPECT_TRUE(registry.find("cd").supports.cpu_only);
  EXPECT_FALSE(registry.find("omp").supports.nonneg);
  EXPECT_TRUE(registry.find("admm").supports.stride_one);
  EXPECT_EQ(registry.names_where([](const SolverCapabilities& c) { return c.fixed_iterations; }),
            (std::vector<std::string>{"ista", "fista"}));
  EXPECT_EQ(registry.find("omp").supports.control, SparsityControl::Support);
}

TEST(SolverRegistry, WarmStartFromASolutionStopsAtOnce) {
  auto p = make_problems();
  const auto request = SolverRequest().lambda(0.1).tol(1e-10).max_iter(5000).stop_rule(StopRule::DualityGap);
  for (const std::string name : {"fista", "cd"}) {
    const auto cold = solver_registry().run(name, p.dense, p.y, request);
    auto warm_request = request;
    warm_request.warm_start(cold.result.codes);
    const auto warm = solver_registry().run(name, p.dense, p.y, warm_request);
    EXPECT_LT(warm.result.iterations, cold.result.iterations) << name;
    EXPECT_TRUE(torch::allclose(warm.result.codes, cold.result.codes, 1e-6, 1e-8)) << name;
  }
}

TEST(SolverRegistry, UnknownNamesListTheKnownOnes) {
  const auto message = error_of([] { deepsc::conv::find_solver("magic"); });
  EXPECT_NE(message.find("unknown solver 'magic'"), std::string::npos) << message;
  for (const auto& name : deepsc::conv::solver_names()) EXPECT_NE(message.find(name), std::string::npos) << name;
  EXPECT_EQ(solver_registry().names(), (std::vector<std::string>{"threshold", "ista", "fista", "cd", "omp"}));
  EXPECT_EQ(deepsc::conv::solver_names().back(), "admm");
  SolverRegistry registry = solver_registry();
  EXPECT_NE(error_of([&] { registry.add({"ista", "again", {}, registry.find("ista").solve}); }).find("already"),
            std::string::npos);
  EXPECT_EQ(join_names({"a", "b", "c"}), "a, b or c");
  EXPECT_EQ(join_names({"a"}), "a");
}

// "auto" runs coordinate descent on a dense dictionary on CPU and FISTA on a convolutional one or
// for a fixed number of iterations — with the very codes of the solver it stands for.
TEST(SolverRegistry, AutoRunsTheFastestLassoSolverForTheProblem) {
  auto p = make_problems();
  const auto& registry = deepsc::conv::solver_registry();
  const auto request = SolverRequest().lambda(0.05).tol(1e-10);
  const auto dense = registry.run("auto", p.dense, p.y, request);
  EXPECT_EQ(dense.solver, "cd");
  EXPECT_TRUE(torch::equal(dense.result.codes, registry.run("cd", p.dense, p.y, request).result.codes));
  const auto conv = registry.run("auto", p.conv, p.images, request);
  EXPECT_EQ(conv.solver, "fista");
  EXPECT_TRUE(torch::equal(conv.result.codes, registry.run("fista", p.conv, p.images, request).result.codes));
  EXPECT_EQ(registry.run("auto", p.dense, p.y, SolverRequest(request).iters(3)).solver, "fista");
  EXPECT_EQ(deepsc::sparse::choose_lasso_solver(/*dense=*/true, /*cpu=*/false, 0), "fista");
  EXPECT_EQ(registry.run("ista", p.dense, p.y, request).solver, "ista");
}

TEST(SolverComparison, RowsReportTheFitAndSparsityOfEachTrial) {
  auto p = make_problems();
  auto dict = std::make_shared<const DenseDictionary>(p.dense.matrix());
  const std::vector<SolverTrial> trials = {{"omp K=3", "omp", SolverRequest().sparsity(3), dict},
                                           {"fista", "fista", SolverRequest().lambda(0.05).tol(1e-8), dict}};
  const auto rows = compare_solvers(solver_registry(), p.y, trials, /*data_range=*/2.0);
  ASSERT_EQ(rows.size(), 2u);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& codes = rows[i].run.result.codes;
    const double mse = (p.y - codes.mm(p.dense.matrix().t())).square().mean().item<double>();
    EXPECT_EQ(rows[i].label, trials[i].label);
    EXPECT_NEAR(rows[i].psnr_db, 10 * std::log10(4.0 / mse), 1e-9);
    EXPECT_DOUBLE_EQ(rows[i].nonzeros_per_signal, (codes != 0).sum().item<double>() / 12);
  }
  EXPECT_DOUBLE_EQ(rows[0].nonzeros_per_signal, 3);
  EXPECT_NE(error_of([&] { compare_solvers(solver_registry(), p.y, {{"none", "fista", {}, nullptr}}); }).find("'none'"),
            std::string::npos);
}
