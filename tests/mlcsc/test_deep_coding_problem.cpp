// The deep coding problems DCP_λ, DCP_λ^ε and DCP_{0,λ}^ε as feasibility checks: true codes of a
// generated model are feasible exactly at their own sparsity, and a perturbation of one layer is
// caught at that layer and at the layer above it (the residual it enters), nowhere else.
#include "deepsc/mlcsc/deep_coding_problem.h"
#include "deepsc/mlcsc/generator.h"
#include "deepsc/mlcsc/measures.h"

#include "support/tensors.h"

#include <gtest/gtest.h>

namespace deepsc::mlcsc::dcp_tests {

using deepsc::testing::message_of;

std::vector<torch::Tensor> codes_of(const SignalBatch& batch) {
  return {batch.codes.begin() + 1, batch.codes.end()};
}

TEST(MlcscDeepCodingProblem, TrueCodesAreFeasibleAtTheirOwnSparsityOnly) {
  for (bool convolutional : {false, true}) {
    const auto options = convolutional ? GeneratorOptions()
                                             .convolutional(true)
                                             .channels({1, 4, 6})
                                             .kernel_sizes({6, 3})
                                             .atom_nonzeros({2})
                                             .signal_length(48)
                                             .deepest_nonzeros(2)
                                             .seed(3)
                                       : GeneratorOptions().dims({16, 32, 24}).atom_nonzeros({3}).deepest_nonzeros(2).seed(3);
    const auto model = random_model(options);
    const auto batch = sample_signals(model, options, 12, 4);
    const auto measures = measure_layers(model, batch);
    std::vector<double> limits;
    for (const auto& m : measures) limits.push_back(m.l0_inf.max().item<double>());
    const auto exact = check_deep_coding_problem(model, batch.codes[0], codes_of(batch), limits, {1e-12, 1e-12});
    EXPECT_TRUE(exact.all_feasible.all().item<bool>());
    // One fewer non-zero allowed at the deepest layer: the samples at the limit become infeasible.
    auto tighter = limits;
    tighter.back() -= 1;
    const auto tight = check_deep_coding_problem(model, batch.codes[0], codes_of(batch), tighter, {1e-12, 1e-12});
    EXPECT_TRUE(torch::equal(tight.feasible[1], measures[1].l0_inf.to(torch::kDouble) <= tighter.back()));
    EXPECT_FALSE(tight.all_feasible.all().item<bool>());
    // The global ℓ0 version counts every non-zero of the code.
    const auto global = check_deep_coding_problem(model, batch.codes[0], codes_of(batch), {1e9, 1e9}, {1e-12, 1e-12},
                                                  SparsityMeasure::GlobalL0);
    EXPECT_TRUE(torch::equal(global.sparsity[1], (batch.codes[2] != 0).flatten(1).sum(1)));
  }
}

TEST(MlcscDeepCodingProblem, APerturbedLayerBreaksItsOwnAndTheNextResidualOnly) {
  const auto options = GeneratorOptions().dims({16, 32, 24, 12}).atom_nonzeros({3, 2}).deepest_nonzeros(2).seed(8);
  const auto model = random_model(options);
  const auto batch = sample_signals(model, options, 6, 1);
  auto codes = codes_of(batch);
  codes[1] = codes[1] + 0.01 * torch::randn_like(codes[1]);  // X₂ off its model
  const auto check = check_deep_coding_problem(model, batch.codes[0], codes, {1e9, 1e9, 1e9}, {1e-9, 1e-9, 1e-9});
  EXPECT_LT(check.residual[0].max().item<double>(), 1e-12);   // Y − D₁X₁ untouched
  EXPECT_GT(check.residual[1].min().item<double>(), 1e-4);    // X₁ − D₂X₂
  EXPECT_GT(check.residual[2].min().item<double>(), 1e-4);    // X₂ − D₃X₃
  EXPECT_FALSE(check.all_feasible.any().item<bool>());
  // DCP_λ^ε with ε at least the residuals accepts the same codes.
  const double slack = std::max(check.residual[1].max().item<double>(), check.residual[2].max().item<double>());
  EXPECT_TRUE(check_deep_coding_problem(model, batch.codes[0], codes, {1e9, 1e9, 1e9}, {1e-9, slack, slack})
                  .all_feasible.all()
                  .item<bool>());
}

TEST(MlcscDeepCodingProblem, BadArgumentsAreNamed) {
  const auto options = GeneratorOptions().dims({16, 32, 24}).atom_nonzeros({3}).deepest_nonzeros(1).seed(1);
  const auto model = random_model(options);
  const auto batch = sample_signals(model, options, 2, 1);
  const auto codes = codes_of(batch);
  EXPECT_NE(message_of([&] { check_deep_coding_problem(model, batch.codes[0], codes, {1}, {0, 0}); })
                .find("sparsity limits λ has 1 value but the model has 2 layers"),
            std::string::npos);
  EXPECT_NE(message_of([&] { check_deep_coding_problem(model, batch.codes[0], codes, {1, 1}, {0, -1}); }).find("must be finite and >= 0"),
            std::string::npos);
  EXPECT_NE(message_of([&] { check_deep_coding_problem(model, batch.codes[0], {codes[0]}, {1, 1}, {0, 0}); }).find("1 codes"),
            std::string::npos);
  EXPECT_NE(message_of([&] { check_deep_coding_problem(model, batch.codes[0], {codes[1], codes[0]}, {1, 1}, {0, 0}); })
                .find("layer 1"),
            std::string::npos);
}

}  // namespace deepsc::mlcsc::dcp_tests
