// The differentiable unrolled pursuit (sparse/unrolled_pursuit.h): with ISTA it is the no-grad
// solver's iteration step for step, with many steps it reaches the lasso solution the no-grad
// solvers find, on a dense and on a convolutional operator; the CSC layer is exactly this function;
// gradients reach the signals and a learnable λ.
#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/nn/csc_layer.h"
#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/proximal_gradient.h"
#include "deepsc/sparse/unrolled_pursuit.h"

#include <gtest/gtest.h>

#include <memory>

namespace sparse = deepsc::sparse;
using sparse::PursuitLambda;
using sparse::UnrolledPursuitOptions;
using sparse::UnrolledSolver;

namespace {

const auto kDouble64 = torch::TensorOptions().dtype(torch::kDouble);

double largest_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

/// A float64 problem: an operator and a batch of signals it can code.
struct PursuitProblem {
  std::shared_ptr<sparse::LinearOperator> op;
  torch::Tensor signals;
  const char* name;
};

std::vector<PursuitProblem> pursuit_problems() {
  torch::manual_seed(11);
  auto d = torch::randn({12, 20}, kDouble64);
  d = d / d.norm(2, {0}, true);
  auto w = torch::randn({5, 2, 3, 3}, kDouble64);
  w = w / w.reshape({5, -1}).norm(2, {1}).view({-1, 1, 1, 1});
  return {{std::make_shared<sparse::DenseDictionary>(d), torch::randn({4, 12}, kDouble64), "dense"},
          {std::make_shared<deepsc::conv::ConvDictionary>(w, deepsc::conv::ConvOptions().padding(1)),
           torch::randn({2, 2, 9, 9}, kDouble64), "conv"}};
}

double lasso_objective(const sparse::LinearOperator& op, const torch::Tensor& y, const torch::Tensor& c, double lambda) {
  return (0.5 * (y - op.apply(c)).pow(2).sum() + lambda * c.abs().sum()).item<double>();
}

}  // namespace

TEST(UnrolledPursuit, IstaIsTheNoGradIstaStepForStep) {
  const double lambda = 0.1;
  for (const auto& p : pursuit_problems()) {
    const double eta = 1.0 / p.op->lipschitz(p.signals.sizes());
    for (bool nonneg : {true, false}) {
      for (int64_t steps : {1, 3, 40}) {
        auto reference = sparse::ista(
            *p.op, p.signals, sparse::ProximalGradientOptions(lambda).nonneg(nonneg).tol(0).max_iter(steps).step_scale(1.0));
        auto codes = sparse::unrolled_pursuit(*p.op, p.signals, lambda,
                                              UnrolledPursuitOptions(eta).iterations(steps).solver(UnrolledSolver::Ista).nonneg(nonneg));
        ASSERT_EQ(codes.sizes(), reference.codes.sizes()) << p.name;
        EXPECT_LT(largest_abs(codes - reference.codes), 1e-12) << p.name << " nonneg " << nonneg << " steps " << steps;
      }
    }
  }
}

TEST(UnrolledPursuit, ManyStepsReachTheLassoSolutionOfIstaAndFista) {
  const double lambda = 0.4;  // sparse solutions: linear convergence once the support is found
  for (const auto& p : pursuit_problems()) {
    const double eta = 1.0 / p.op->lipschitz(p.signals.sizes());
    for (bool nonneg : {true, false}) {
      auto reference = sparse::fista(
          *p.op, p.signals, sparse::ProximalGradientOptions(lambda).nonneg(nonneg).tol(1e-14).max_iter(100000));
      const double best = lasso_objective(*p.op, p.signals, reference.codes, lambda);
      for (auto solver : {UnrolledSolver::Ista, UnrolledSolver::Fista}) {
        auto codes = sparse::unrolled_pursuit(*p.op, p.signals, lambda,
                                              UnrolledPursuitOptions(eta).iterations(5000).solver(solver).nonneg(nonneg));
        const auto name = sparse::unrolled_solver_name(solver);
        EXPECT_LT(lasso_objective(*p.op, p.signals, codes, lambda) - best, 1e-10 * best) << p.name << " " << name;
        EXPECT_LT(largest_abs(codes - reference.codes), 1e-6) << p.name << " " << name << " nonneg " << nonneg;
        if (nonneg) {
          EXPECT_GE(codes.min().item<double>(), 0.0);
        }
      }
    }
  }
}

TEST(UnrolledPursuit, LambdaFormsAndAGivenAnalysisAgree) {
  for (const auto& p : pursuit_problems()) {
    const double eta = 0.9 / p.op->lipschitz(p.signals.sizes());
    const auto shape = p.op->code_shape(p.signals.sizes());
    const int64_t atoms = shape[1], n = p.signals.size(0);
    for (bool nonneg : {true, false}) {
      for (auto solver : {UnrolledSolver::Ista, UnrolledSolver::Fista, UnrolledSolver::Published}) {
        const auto o = UnrolledPursuitOptions(eta).iterations(4).solver(solver).nonneg(nonneg);
        const auto scalar = sparse::unrolled_pursuit(*p.op, p.signals, 0.2, o);
        EXPECT_GT(scalar.count_nonzero().item<int64_t>(), 0);
        // The fused bias (per atom) and the general shrinkage (per sample) give the scalar's codes.
        const auto per_atom = sparse::unrolled_pursuit(*p.op, p.signals, PursuitLambda::per_atom(torch::full({atoms}, 0.2, kDouble64)), o);
        const auto per_sample = sparse::unrolled_pursuit(*p.op, p.signals, PursuitLambda::per_sample(torch::full({n}, 0.2, kDouble64)), o);
        EXPECT_LT(largest_abs(per_atom - scalar), 1e-12) << p.name;
        EXPECT_LT(largest_abs(per_sample - scalar), 1e-12) << p.name;
        const auto given = sparse::unrolled_pursuit(*p.op, p.signals, 0.2, UnrolledPursuitOptions(o).analysis(p.op->adjoint(p.signals)));
        EXPECT_LT(largest_abs(given - scalar), 1e-12) << p.name;
        // Each sample with its own λ is that sample coded alone.
        auto lambdas = torch::linspace(0.0, 0.5, n, kDouble64);
        const auto mixed = sparse::unrolled_pursuit(*p.op, p.signals, PursuitLambda::per_sample(lambdas), o);
        for (int64_t i = 0; i < n; ++i) {
          const auto alone = sparse::unrolled_pursuit(*p.op, p.signals.narrow(0, i, 1), lambdas[i].item<double>(), o);
          EXPECT_LT(largest_abs(mixed.narrow(0, i, 1) - alone), 1e-12) << p.name << " sample " << i;
        }
      }
    }
  }
}

TEST(UnrolledPursuit, GradientsReachSignalsAndLambda) {
  const auto p = pursuit_problems()[0];  // dense
  const double eta = 0.9 / p.op->lipschitz(p.signals.sizes());
  const auto o = UnrolledPursuitOptions(eta).iterations(3).solver(UnrolledSolver::Fista);
  auto x = p.signals.clone().requires_grad_();
  auto lambda = torch::tensor({0.05, 0.1, 0.15, 0.2, 0.02, 0.3, 0.1, 0.1, 0.07, 0.2, 0.1, 0.1, 0.1, 0.05, 0.1, 0.1, 0.2,
                               0.1, 0.1, 0.1},
                              kDouble64)
                    .requires_grad_();
  auto probe = torch::randn({4, 20}, kDouble64);
  auto f = [&](const torch::Tensor& xi, const torch::Tensor& li) {
    return (sparse::unrolled_pursuit(*p.op, xi, PursuitLambda::per_atom(li), o) * probe).sum();
  };
  f(x, lambda).backward();
  const double h = 1e-6;
  torch::NoGradGuard no_grad;
  auto numeric_l = torch::zeros_like(lambda);
  for (int64_t j = 0; j < lambda.numel(); ++j) {
    auto e = torch::zeros_like(lambda);
    e[j] = h;
    numeric_l[j] = (f(x, lambda + e).item<double>() - f(x, lambda - e).item<double>()) / (2 * h);
  }
  EXPECT_GT(lambda.grad().abs().max().item<double>(), 0);
  EXPECT_LT((numeric_l - lambda.grad()).norm().item<double>(), 1e-6 * lambda.grad().norm().item<double>());
  auto numeric_x = torch::zeros_like(x);
  for (int64_t i = 0; i < x.numel(); ++i) {
    auto e = torch::zeros_like(x).view(-1).index_put_({i}, h).view_as(x);
    numeric_x.view(-1)[i] = (f(x + e, lambda).item<double>() - f(x - e, lambda).item<double>()) / (2 * h);
  }
  EXPECT_LT((numeric_x - x.grad()).norm().item<double>(), 1e-6 * x.grad().norm().item<double>());
}

TEST(UnrolledPursuit, IsTheCscLayersForward) {
  torch::manual_seed(12);
  for (auto solver : {UnrolledSolver::Ista, UnrolledSolver::Fista, UnrolledSolver::Published}) {
    auto layer = deepsc::nn::CscLayer(
        deepsc::nn::CscLayerOptions(3, 6, 3).stride(2).padding(1).iterations(4).solver(solver).learnable_lambda(true));
    layer->to(torch::kDouble);
    {
      torch::NoGradGuard no_grad;
      layer->weight.mul_(3);  // not unit-norm: the layer codes over the normalised atoms
      layer->lambda.uniform_(0.02, 0.3);
    }
    auto x = torch::randn({2, 3, 11, 10}, kDouble64);
    const auto codes = layer->forward(x);
    const auto dict = deepsc::conv::ConvDictionary(
        layer->dictionary(), deepsc::conv::ConvOptions().stride(2).padding(1).output_padding(0).output_padding_last(1));
    const auto direct = sparse::unrolled_pursuit(dict, x, PursuitLambda::per_atom(layer->lambda),
                                                 UnrolledPursuitOptions(layer->last_step()).iterations(4).solver(solver));
    EXPECT_TRUE(torch::equal(codes, direct)) << sparse::unrolled_solver_name(solver);
    auto norms = layer->dictionary().reshape({6, -1}).norm(2, {1});
    EXPECT_LT(largest_abs(norms - 1), 1e-12);
  }
}

TEST(UnrolledPursuit, RejectsBadArgumentsNamingThem) {
  const auto p = pursuit_problems()[1];
  auto message = [&](const PursuitLambda& lambda, const UnrolledPursuitOptions& o) {
    try {
      sparse::unrolled_pursuit(*p.op, p.signals, lambda, o);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(0.1, UnrolledPursuitOptions(0.0)).find("step"), std::string::npos);
  EXPECT_NE(message(0.1, UnrolledPursuitOptions(0.1).iterations(0)).find("iterations"), std::string::npos);
  EXPECT_NE(message(-0.1, UnrolledPursuitOptions(0.1)).find("lambda"), std::string::npos);
  EXPECT_NE(message(PursuitLambda::per_atom(torch::ones({4}, kDouble64)), UnrolledPursuitOptions(0.1)).find("per-atom lambda must be [5]"),
            std::string::npos);
  EXPECT_NE(message(PursuitLambda::per_sample(torch::ones({3}, kDouble64)), UnrolledPursuitOptions(0.1))
                .find("per-sample lambda has 3 entries but the batch has 2"),
            std::string::npos);
  EXPECT_NE(message(0.1, UnrolledPursuitOptions(0.1).analysis(torch::zeros({2, 5, 3, 3}, kDouble64))).find("analysis"),
            std::string::npos);
  EXPECT_NE(message(0.1, UnrolledPursuitOptions(0.1).iterations(1)).find("no error"), std::string::npos);
  EXPECT_EQ(sparse::parse_unrolled_solver("fista"), UnrolledSolver::Fista);
  EXPECT_THROW(sparse::parse_unrolled_solver("admm"), std::invalid_argument);
}

TEST(UnrolledPursuit, AnInitialCodeContinuesTheIterations) {
  // k ISTA steps from zero, then m more from those codes, are k + m steps from zero.
  for (const auto& p : pursuit_problems()) {
    const double eta = 0.9 / p.op->lipschitz(p.signals.sizes());
    for (bool nonneg : {true, false}) {
      const auto o = UnrolledPursuitOptions(eta).solver(UnrolledSolver::Ista).nonneg(nonneg);
      for (auto [k, m] : {std::pair<int64_t, int64_t>{1, 1}, {3, 5}, {10, 1}}) {
        const auto first = sparse::unrolled_pursuit(*p.op, p.signals, 0.1, UnrolledPursuitOptions(o).iterations(k));
        const auto continued =
            sparse::unrolled_pursuit(*p.op, p.signals, 0.1, UnrolledPursuitOptions(o).iterations(m).initial(first));
        const auto whole = sparse::unrolled_pursuit(*p.op, p.signals, 0.1, UnrolledPursuitOptions(o).iterations(k + m));
        EXPECT_LT(largest_abs(continued - whole), 1e-12) << p.name << " k " << k << " m " << m << " nonneg " << nonneg;
        EXPECT_GT(largest_abs(continued - first), 1e-6) << p.name;  // the extra steps moved the codes
      }
    }
    // The initial codes are differentiable: the gradient reaches them.
    const auto start = torch::randn(p.op->code_shape(p.signals.sizes()), kDouble64).requires_grad_();
    sparse::unrolled_pursuit(*p.op, p.signals, 0.1, UnrolledPursuitOptions(eta).iterations(2).initial(start).nonneg(false))
        .square()
        .sum()
        .backward();
    EXPECT_GT(largest_abs(start.grad()), 0) << p.name;
  }
}

TEST(UnrolledPursuit, RefusesInitialCodesOfTheWrongShape) {
  const auto p = pursuit_problems()[1];  // codes [2, 5, 9, 9]
  try {
    sparse::unrolled_pursuit(*p.op, p.signals, 0.1, UnrolledPursuitOptions(0.1).initial(torch::zeros({2, 5, 9, 8}, kDouble64)));
    ADD_FAILURE() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("initial codes must have the codes' shape [2, 5, 9, 9], got [2, 5, 9, 8]"),
              std::string::npos)
        << e.what();
  }
}

TEST(UnrolledPursuit, AStepFactorScalesTheGradientStepAndLeavesTheThreshold) {
  // S(c^l + c·η Dᵀ(x − D c^l), λη) is the pursuit with step cη and λ/c: the factor multiplies the
  // gradient part only, in every form (scalar or per-atom λ, signed or not, a given analysis, FISTA,
  // a warm start), and its gradient is the finite difference.
  for (const auto& p : pursuit_problems()) {
    const double eta = 0.5 / p.op->lipschitz(p.signals.sizes()), c = 1.7, lambda = 0.05;
    const auto shape = p.op->code_shape(p.signals.sizes());
    const auto per_atom = torch::rand({shape[1]}, kDouble64) * 0.1;
    const auto start = torch::rand(shape, kDouble64);
    const auto analysis = p.op->adjoint(p.signals);
    for (bool nonneg : {true, false}) {
      for (auto solver : {UnrolledSolver::Ista, UnrolledSolver::Fista}) {
        const auto base = UnrolledPursuitOptions(eta).iterations(3).solver(solver).nonneg(nonneg);
        const auto factor = torch::full({}, c, kDouble64);
        const auto scaled = UnrolledPursuitOptions(base).step(c * eta);
        auto with = [&](UnrolledPursuitOptions o, const PursuitLambda& l) {
          return sparse::unrolled_pursuit(*p.op, p.signals, l, o.step_factor(factor));
        };
        EXPECT_LT(largest_abs(with(base, lambda) - sparse::unrolled_pursuit(*p.op, p.signals, lambda / c, scaled)), 1e-12)
            << p.name;
        EXPECT_LT(largest_abs(with(base, PursuitLambda::per_atom(per_atom)) -
                              sparse::unrolled_pursuit(*p.op, p.signals, PursuitLambda::per_atom(per_atom / c), scaled)),
                  1e-12)
            << p.name;
        EXPECT_LT(largest_abs(with(UnrolledPursuitOptions(base).analysis(analysis), lambda) -
                              sparse::unrolled_pursuit(*p.op, p.signals, lambda / c, scaled)),
                  1e-12)
            << p.name;
        EXPECT_LT(largest_abs(with(UnrolledPursuitOptions(base).initial(start), lambda) -
                              sparse::unrolled_pursuit(*p.op, p.signals, lambda / c,
                                                       UnrolledPursuitOptions(scaled).initial(start))),
                  1e-12)
            << p.name;
      }
    }
    // d/dc of a smooth function of the codes, by central differences.
    auto loss = [&](double value, bool grad) {
      auto factor = torch::full({}, value, kDouble64).requires_grad_(grad);
      auto codes = sparse::unrolled_pursuit(*p.op, p.signals, lambda,
                                            UnrolledPursuitOptions(eta).iterations(3).nonneg(false).step_factor(factor));
      auto value_out = (codes * codes).sum();
      if (grad) value_out.backward();
      return std::make_pair(value_out.item<double>(), grad ? factor.grad().item<double>() : 0.0);
    };
    const double h = 1e-6;
    const double numeric = (loss(c + h, false).first - loss(c - h, false).first) / (2 * h);
    const double analytic = loss(c, true).second;
    EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << p.name;
  }
  const auto p = pursuit_problems()[0];
  EXPECT_THROW(sparse::unrolled_pursuit(*p.op, p.signals, 0.1,
                                        UnrolledPursuitOptions(0.1).step_factor(torch::ones({2}, kDouble64))),
               std::invalid_argument);
}

TEST(UnrolledPursuit, AGivenInitialSynthesisIsUsedInsteadOfApplyingD) {
  // D c⁰ handed in gives the same codes as D applied inside (with and without a given analysis),
  // and a wrong one changes them: it is really used. Without initial codes or of the wrong shape it
  // is refused.
  for (const auto& p : pursuit_problems()) {
    const double eta = 0.5 / p.op->lipschitz(p.signals.sizes());
    const auto start = torch::rand(p.op->code_shape(p.signals.sizes()), kDouble64);
    const auto synthesis = p.op->apply(start);
    for (bool given_analysis : {false, true}) {
      auto o = UnrolledPursuitOptions(eta).iterations(3).solver(UnrolledSolver::Ista).initial(start);
      if (given_analysis) o.analysis(p.op->adjoint(p.signals));
      const auto plain = sparse::unrolled_pursuit(*p.op, p.signals, 0.05, o);
      const auto reused = sparse::unrolled_pursuit(*p.op, p.signals, 0.05, UnrolledPursuitOptions(o).initial_synthesis(synthesis));
      EXPECT_LT(largest_abs(reused - plain), 1e-12) << p.name;
      const auto wrong =
          sparse::unrolled_pursuit(*p.op, p.signals, 0.05, UnrolledPursuitOptions(o).initial_synthesis(synthesis * 2));
      EXPECT_GT(largest_abs(wrong - plain), 1e-6) << p.name;
    }
    EXPECT_THROW(sparse::unrolled_pursuit(*p.op, p.signals, 0.05, UnrolledPursuitOptions(eta).initial_synthesis(synthesis)),
                 std::invalid_argument);
    EXPECT_THROW(sparse::unrolled_pursuit(*p.op, p.signals, 0.05,
                                          UnrolledPursuitOptions(eta).initial(start).initial_synthesis(synthesis.flatten())),
                 std::invalid_argument);
  }
}
