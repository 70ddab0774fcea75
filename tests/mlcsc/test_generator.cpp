// Random ML-CSC models and signals (mlcsc/generator.h): reproducible from the seed, the deepest code
// has exactly the sparsity and dynamic range asked for, the layers chain exactly, the sparse
// dictionaries have s entries ±1/√s per atom and coherence 1/s, and the noise has the asked patch norm.
#include "deepsc/mlcsc/generator.h"

#include "support/tensors.h"

#include <gtest/gtest.h>

#include <cmath>

namespace deepsc::mlcsc::generator_tests {

using deepsc::testing::message_of;

GeneratorOptions dense_options() {
  return GeneratorOptions().dims({32, 64, 96, 128}).atom_nonzeros({3, 4}).deepest_nonzeros(3).min_max_ratio(0.4).seed(5);
}

GeneratorOptions conv_options() {
  return GeneratorOptions()
      .convolutional(true)
      .channels({2, 6, 8})
      .kernel_sizes({5, 4})
      .atom_nonzeros({3})
      .signal_length(60)
      .deepest_nonzeros(2)
      .min_max_ratio(0.5)
      .seed(6);
}

bool same_tensors(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i], b[i])) return false;
  }
  return true;
}

std::vector<torch::Tensor> weights_of(const MlcscModel& model) {
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < model.depth(); ++i) {
    out.push_back(model.dense_layer(i) ? model.dense_layer(i)->matrix() : model.conv_layer(i)->weights());
  }
  return out;
}

TEST(MlcscGenerator, ReproducibleFromTheSeed) {
  for (const auto& options : {dense_options(), conv_options()}) {
    const auto a = random_model(options), b = random_model(options);
    auto other = options;
    const auto c = random_model(other.seed(options.seed() + 1));
    EXPECT_TRUE(same_tensors(weights_of(a), weights_of(b)));
    EXPECT_FALSE(same_tensors(weights_of(a), weights_of(c)));
    const auto x = sample_signals(a, options, 8, 1), y = sample_signals(a, options, 8, 1), z = sample_signals(a, options, 8, 2);
    EXPECT_TRUE(same_tensors(x.codes, y.codes));
    EXPECT_FALSE(torch::equal(x.codes.back(), z.codes.back()));
    const auto e = noise_with_patch_norm(a, x.codes[0], 0.1, 3);
    EXPECT_TRUE(torch::equal(e, noise_with_patch_norm(a, x.codes[0], 0.1, 3)));
    EXPECT_FALSE(torch::equal(e, noise_with_patch_norm(a, x.codes[0], 0.1, 4)));
  }
}

TEST(MlcscGenerator, DenseDeepestCodeHasExactlyKNonZerosAndRatioR) {
  const auto options = dense_options();
  const auto model = random_model(options);
  const auto batch = sample_signals(model, options, 50, 7);
  ASSERT_EQ(batch.codes.size(), 4u);
  const auto m = measure_codes(model, 2, batch.codes[3]);
  EXPECT_TRUE((m.l0_inf == 3).all().item<bool>());
  EXPECT_LT((m.min_abs / m.max_abs - 0.4).abs().max().item<double>(), 1e-15);
  EXPECT_TRUE((m.max_abs == 1).all().item<bool>());
  // Both signs occur; magnitudes stay in [r, 1].
  const auto x = batch.codes[3];
  EXPECT_TRUE((x > 0).any().item<bool>() && (x < 0).any().item<bool>());
  EXPECT_TRUE(((x.abs() >= 0.4) | (x == 0)).all().item<bool>());
}

TEST(MlcscGenerator, ConvDeepestCodeHasExactlyKNonZerosPerStripe) {
  for (int64_t k : {1, 2, 5}) {
    auto options = conv_options();
    options.deepest_nonzeros(k);
    const auto model = random_model(options);
    const auto batch = sample_signals(model, options, 40, 8);
    // L = 60 → L₁ = 56 → L₂ = 53; D₂'s span is 4, blocks of 13 with 7 active positions.
    ASSERT_EQ(batch.codes[2].sizes(), torch::IntArrayRef({40, 8, 53}));
    const auto m = measure_codes(model, 1, batch.codes[2]);
    EXPECT_TRUE((m.l0_inf == k).all().item<bool>()) << "k = " << k << ": " << m.l0_inf;
    EXPECT_TRUE(((batch.codes[2] != 0).sum({1, 2}) == 4 * k).all().item<bool>());  // 4 blocks fit
    if (k >= 2) {
      EXPECT_LT((m.min_abs / m.max_abs - 0.5).abs().max().item<double>(), 1e-15);
    }
  }
}

TEST(MlcscGenerator, LayersChainExactly) {
  for (const auto& options : {dense_options(), conv_options()}) {
    const auto model = random_model(options);
    const auto batch = sample_signals(model, options, 20, 9);
    for (int64_t i = 1; i <= model.depth(); ++i) {
      const auto& above = batch.codes[static_cast<size_t>(i - 1)];
      const auto below = model.layer(i - 1).apply(batch.codes[static_cast<size_t>(i)]);
      EXPECT_LT((above - below).abs().max().item<double>(), 1e-12) << "layer " << i;
    }
  }
}

TEST(MlcscGenerator, SparseDictionariesHaveSEntriesOfUnitNormAndCoherenceOneOverS) {
  const auto dense = random_model(dense_options());
  for (int64_t i = 1; i < 3; ++i) {
    const int64_t s = i == 1 ? 3 : 4;
    const auto d = dense.dense_layer(i)->matrix();
    EXPECT_TRUE(((d != 0).sum(0) == s).all().item<bool>()) << "layer " << i + 1;
    EXPECT_LT((d.abs().masked_select(d != 0) - 1 / std::sqrt(double(s))).abs().max().item<double>(), 1e-15);
    EXPECT_LT((d.norm(2, {0}) - 1).abs().max().item<double>(), 1e-14);
    EXPECT_NEAR(layer_coherence(dense, i), 1.0 / s, 1e-14) << "layer " << i + 1;
  }
  const auto conv = random_model(conv_options());
  const auto w = conv.conv_layer(1)->weights();
  EXPECT_TRUE(((w != 0).reshape({8, -1}).sum(1) == 3).all().item<bool>());
  EXPECT_LT((w.reshape({8, -1}).norm(2, {1}) - 1).abs().max().item<double>(), 1e-14);
  // Every shift of every atom against every atom shares at most one position.
  EXPECT_NEAR(layer_coherence(conv, 1), 1.0 / 3, 1e-14);
  EXPECT_LT((conv.conv_layer(0)->weights().reshape({6, -1}).norm(2, {1}) - 1).abs().max().item<double>(), 1e-14);
}

TEST(MlcscGenerator, IdentityHadamardFirstLayerHasCoherenceOneOverRootN) {
  const auto model = random_model(dense_options());
  EXPECT_NEAR(layer_coherence(model, 0), 1 / std::sqrt(32.0), 1e-15);
  auto gaussian = dense_options();
  gaussian.first_layer(FirstLayer::Gaussian).dims({32, 50, 96, 128});
  const auto g = random_model(gaussian);
  EXPECT_LT((g.dense_layer(0)->matrix().norm(2, {0}) - 1).abs().max().item<double>(), 1e-14);
  EXPECT_GT(layer_coherence(g, 0), 1 / std::sqrt(32.0));  // random columns are less incoherent
}

TEST(MlcscGenerator, NoiseHasThePatchNormAsked) {
  for (const auto& options : {dense_options(), conv_options()}) {
    const auto model = random_model(options);
    const auto batch = sample_signals(model, options, 30, 10);
    const auto e = noise_with_patch_norm(model, batch.codes[0], 0.05, 11);
    EXPECT_LT((patch_l2_inf(model, 0, e) - 0.05).abs().max().item<double>(), 1e-12);
    EXPECT_TRUE(torch::equal(noise_with_patch_norm(model, batch.codes[0], 0, 11), torch::zeros_like(batch.codes[0])));
  }
}

TEST(MlcscGenerator, NonNegativeOptionGivesNonNegativeCodesAtEveryLayer) {
  for (auto options : {dense_options(), conv_options()}) {
    options.nonneg(true);
    const auto model = random_model(options);
    const auto batch = sample_signals(model, options, 30, 12);
    for (size_t i = 1; i < batch.codes.size(); ++i) {
      EXPECT_TRUE((batch.codes[i] >= 0).all().item<bool>()) << "X_" << i;
      EXPECT_TRUE((batch.codes[i] > 0).any().item<bool>()) << "X_" << i;
    }
  }
}

TEST(MlcscGenerator, FloatModelsOnTheDeviceAskedFor) {
  auto options = conv_options();
  options.dtype(torch::kFloat);
  const auto model = random_model(options);
  const auto batch = sample_signals(model, options, 4, 13);
  EXPECT_EQ(batch.codes[0].scalar_type(), torch::kFloat);
  // The same draws as in float64, rounded.
  const auto reference = sample_signals(random_model(conv_options()), conv_options(), 4, 13);
  EXPECT_LT((batch.codes[2].to(torch::kDouble) - reference.codes[2]).abs().max().item<double>(), 1e-7);
}

TEST(MlcscGenerator, InconsistentOptionsAreRefused) {
  EXPECT_NE(message_of([] { random_model(GeneratorOptions().dims({32, 48})); }).find("needs n1 = 2 n0"), std::string::npos);
  EXPECT_NE(message_of([] { random_model(GeneratorOptions().dims({32})); }).find("dims needs at least 2 values"),
            std::string::npos);
  EXPECT_NE(message_of([] { random_model(dense_options().atom_nonzeros({3, 4, 5})); }).find("atom_nonzeros has 3 values"),
            std::string::npos);
  EXPECT_NE(message_of([] { random_model(dense_options().atom_nonzeros({65})); }).find("atom_nonzeros of layer 2 must be in [1, 64]"),
            std::string::npos);
  EXPECT_NE(message_of([] { random_model(conv_options().kernel_sizes({5})); }).find("one value per layer"), std::string::npos);
  const auto model = random_model(conv_options());
  EXPECT_NE(message_of([&] { sample_signals(model, conv_options().deepest_nonzeros(57), 2, 1); }).find("cannot hold 57 non-zeros"),
            std::string::npos);
  EXPECT_NE(message_of([&] { sample_signals(model, conv_options().min_max_ratio(0), 2, 1); }).find("min_max_ratio must be in (0, 1]"),
            std::string::npos);
  EXPECT_NE(message_of([&] { noise_with_patch_norm(model, torch::zeros({2, 2, 60}, torch::kDouble), -1, 1); }).find("eps0"),
            std::string::npos);
}

}  // namespace deepsc::mlcsc::generator_tests
