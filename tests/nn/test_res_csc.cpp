// Res-CSC and plain-CSC (Zhang & Zhang, National Science Review 2021) against independent references
// written with torch::conv2d / conv_transpose2d: the warm-started layer is ResNet's layer with the
// tied weights Dᵀ/L and I − DᵀD/L, the plain net is a conv + bias + ReLU CNN, unfoldings are ISTA
// steps that reach each layer's lasso; gradients, options, parameter counts, save/load.
#include "deepsc/nn/registry.h"
#include "deepsc/nn/res_csc.h"

#include "support/expect_rejected.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

namespace res_csc_test {

using deepsc::nn::ModelOptions;
using deepsc::nn::ResCscNetImpl;
using Net = std::shared_ptr<ResCscNetImpl>;
using torch::indexing::None;
using torch::indexing::Slice;

/// A small float64 net: 2 image channels, 3 classes, channels {2, 4, 7} (the shortcuts pad 1 + 1 and
/// 1 + 2 zero channels). Every W_i is rescaled to ‖D_iᵀD_i‖₂ = 1 on 8 × 8 code maps and c_i = 1, so
/// that codes keep their size through the small maps of these tests whatever the initialisation.
Net small_net(bool skip, int64_t depth, int64_t unfoldings = -1) {
  torch::manual_seed(depth + 7 * unfoldings + (skip ? 100 : 0));
  auto net = std::make_shared<ResCscNetImpl>(
      skip, ModelOptions().in_channels(2).num_classes(3).depth(depth).channels({2, 4, 7}).unfoldings(unfoldings));
  net->to(torch::kDouble);
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < net->num_layers(); ++i) {
    const auto layer = net->layer(i);
    const std::vector<int64_t> signal{1, layer->in_channels, 8 * layer->stride, 8 * layer->stride};
    net->weight(i).div_(std::sqrt(layer->dictionary(signal).lipschitz(signal)));
    net->step(i).fill_(1.0);
  }
  return net;
}

torch::Tensor images(int64_t n, int64_t size) { return torch::randn({n, 2, size, size}, torch::kDouble); }

/// Sets every threshold b_i to −β_i/L-like values in [−0.1, 0] (real thresholds, some codes zero).
void random_thresholds(const Net& net) {
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < net->num_layers(); ++i) net->threshold(i).copy_(-0.1 * torch::rand_like(net->threshold(i)));
}

/// Sets every bias b_i to N(0, 0.05²) values: ResNet's free biases, which keep a deep stack of tiny
/// layers alive (negative thresholds only can zero its last codes).
void random_biases(const Net& net) {
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < net->num_layers(); ++i) net->threshold(i).copy_(0.05 * torch::randn_like(net->threshold(i)));
}

/// Every layer has zero and positive codes: the thresholds act and the signal reaches the head.
void expect_alive(const std::vector<torch::Tensor>& codes) {
  for (size_t i = 0; i < codes.size(); ++i) {
    EXPECT_GT((codes[i] == 0).sum().item<int64_t>(), 0) << "layer " << i;
    EXPECT_GT((codes[i] > 0).sum().item<int64_t>(), 0) << "layer " << i;
  }
}

/// L_i = ‖D_iᵀD_i‖₂ on the code maps of each layer for these images, by ConvDictionary's power
/// iteration; the signal of layer i has the shape of layer i − 1's codes (⌈H/s⌉ under stride s).
std::vector<double> lipschitz_constants(const Net& net, const torch::Tensor& x) {
  std::vector<double> out;
  std::vector<int64_t> shape = x.sizes().vec();
  for (int64_t i = 0; i < net->num_layers(); ++i) {
    const auto layer = net->layer(i);
    out.push_back(layer->dictionary(shape).lipschitz(shape, deepsc::sparse::LipschitzOptions().tol(1e-12).max_iter(2000)));
    const int64_t s = layer->stride;
    shape = {shape[0], layer->atoms, (shape[2] + s - 1) / s, (shape[3] + s - 1) / s};
  }
  return out;
}

torch::Tensor analysis(const torch::Tensor& x, const torch::Tensor& w, int64_t stride) {
  return torch::conv2d(x, w, {}, stride, 1);
}

/// D γ with the size of `like` (output padding under stride 2).
torch::Tensor synthesis(const torch::Tensor& g, const torch::Tensor& w, int64_t stride, const torch::Tensor& like) {
  std::vector<int64_t> q;
  for (int64_t d : {2, 3}) q.push_back(like.size(d) - ((g.size(d) - 1) * stride - 2 + 3));
  return torch::conv_transpose2d(g, w, {}, stride, 1, q);
}

/// ResNet's option-A shortcut written out: every stride-th pixel, zero channels around.
torch::Tensor shortcut(const torch::Tensor& x, int64_t channels, int64_t stride) {
  auto p = x.index({Slice(), Slice(), Slice(None, None, stride), Slice(None, None, stride)});
  const int64_t extra = channels - x.size(1), front = extra / 2;
  auto zeros = [&](int64_t c) { return torch::zeros({x.size(0), c, p.size(2), p.size(3)}, x.options()); };
  return torch::cat({zeros(front), p, zeros(extra - front)}, 1);
}

double relative(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).norm().item<double>() / std::max(b.norm().item<double>(), 1e-300);
}

/// The signal of layer i: the images or the codes of layer i − 1.
torch::Tensor input_of(const std::vector<torch::Tensor>& codes, const torch::Tensor& x, int64_t i) {
  return i == 0 ? x : codes[static_cast<size_t>(i - 1)];
}

TEST(ResCsc, SkipLayerIsResNetLayerWithTiedWeights) {
  auto net = small_net(true, 14);
  random_thresholds(net);
  const auto x = images(3, 10);  // 10 → 5 → 3: odd sizes under stride 2
  const auto lip = lipschitz_constants(net, x);
  {
    torch::NoGradGuard no_grad;
    for (int64_t i = 0; i < net->num_layers(); ++i) net->step(i).fill_(1.0 / lip[static_cast<size_t>(i)]);
  }
  const auto codes = net->codes(x);
  ASSERT_EQ(codes.size(), 13u);
  for (int64_t i = 0; i < net->num_layers(); ++i) {
    const auto layer = net->layer(i);
    const auto& w = layer->weight;
    const auto b = layer->threshold.view({1, -1, 1, 1});
    const double inv_l = 1.0 / lip[static_cast<size_t>(i)];
    const auto input = input_of(codes, x, i);
    const auto& got = codes[static_cast<size_t>(i)];
    if (i == 0 || i % 2 == 1) {  // stem, layer a: X = σ(Dᵀ/L · X_{i−1} + b)
      EXPECT_LT((got - torch::relu(inv_l * analysis(input, w, layer->stride) + b)).abs().max().item<double>(), 1e-12)
          << "layer " << i;
      continue;
    }
    // Layer b: X_i = σ(W_{i−1,i}X_{i−1} + b + W_{i−2,i}X_{i−2}), W_{i−1,i} = Dᵀ/L, W_{i−2,i} = I − DᵀD/L.
    const auto previous = input_of(codes, x, i - 1);  // X_prev, the input of layer a
    const auto skip = shortcut(previous, layer->atoms, net->layer(i - 1)->stride);
    const auto tied = skip - inv_l * analysis(synthesis(skip, w, 1, input), w, 1);
    const auto expected = torch::relu(inv_l * analysis(input, w, 1) + b + tied);
    EXPECT_LT((got - expected).abs().max().item<double>(), 1e-12) << "layer " << i;
    // A BasicBlock's identity shortcut is a different layer: the tied term DᵀD X₋₁/L is not small.
    const double gram_part = relative(inv_l * analysis(synthesis(skip, w, 1, input), w, 1), skip);
    const double identity_gap = relative(torch::relu(inv_l * analysis(input, w, 1) + b + skip), got);
    EXPECT_GT(gram_part, 0.05) << "layer " << i;
    EXPECT_GT(identity_gap, 1e-3) << "layer " << i;
    RecordProperty("layer" + std::to_string(i) + "_gram_over_skip", std::to_string(gram_part));
  }
  expect_alive(codes);
}

TEST(ResCsc, PlainIsConvBiasReluCnn) {
  auto net = small_net(false, 14);
  {
    torch::NoGradGuard no_grad;
    for (int64_t i = 0; i < net->num_layers(); ++i) {
      net->threshold(i).copy_(0.2 * torch::randn_like(net->threshold(i)));
      net->step(i).fill_(0.5 + torch::rand({1}).item<double>());
    }
  }
  const auto x = images(2, 9);
  const auto codes = net->codes(x);
  expect_alive(codes);
  auto h = x;
  for (int64_t i = 0; i < net->num_layers(); ++i) {
    const auto layer = net->layer(i);
    h = torch::relu(torch::conv2d(h, layer->step * layer->weight, layer->threshold, layer->stride, 1));
    EXPECT_LT((codes[static_cast<size_t>(i)] - h).abs().max().item<double>(), 1e-12) << "layer " << i;
  }
  const auto logits = net->fc(h.mean({2, 3}));
  EXPECT_LT((net->forward(x) - logits).abs().max().item<double>(), 1e-12);
}

TEST(ResCsc, UnfoldingsAreIstaStepsFromTheWarmStart) {
  const int64_t t = 3;
  for (bool skip : {true, false}) {
    auto net = small_net(skip, 8, t);
    random_biases(net);
    const auto x = images(2, 8);
    const auto codes = net->codes(x);
    expect_alive(codes);
    for (int64_t i = 0; i < net->num_layers(); ++i) {
      const auto layer = net->layer(i);
      const auto& w = layer->weight;
      const auto b = layer->threshold.view({1, -1, 1, 1});
      const auto input = input_of(codes, x, i);
      const int64_t s = layer->stride;
      // Γ⁰: P(X_prev) for the second layer of a block of Res-CSC, else 0.
      torch::Tensor g = torch::zeros_like(codes[static_cast<size_t>(i)]);
      if (skip && i > 0 && i % 2 == 0) g = shortcut(input_of(codes, x, i - 1), layer->atoms, net->layer(i - 1)->stride);
      for (int64_t k = 0; k <= t; ++k)
        g = torch::relu(g - layer->step * analysis(synthesis(g, w, s, input) - input, w, s) + b);
      EXPECT_LT((codes[static_cast<size_t>(i)] - g).abs().max().item<double>(), 1e-12)
          << (skip ? "res-csc" : "plain-csc") << " layer " << i;
    }
  }
}

TEST(ResCsc, ManyUnfoldingsReachEachLayersLasso) {
  // c_i = 1/L_i, b_i = −β/L_i: ISTA for min_{Γ≥0} ½‖X_{i−1} − D_iΓ‖² + β‖Γ‖₁, whose minimiser has
  // Dᵀ(X_{i−1} − DΓ) = β on the support and ≤ β off it.
  const double beta = 0.05;
  auto net = small_net(true, 8, 2000);
  const auto x = images(2, 8);
  const auto lip = lipschitz_constants(net, x);
  {
    torch::NoGradGuard no_grad;
    for (int64_t i = 0; i < net->num_layers(); ++i) {
      net->step(i).fill_(1.0 / lip[static_cast<size_t>(i)]);
      net->threshold(i).fill_(-beta / lip[static_cast<size_t>(i)]);
    }
  }
  torch::NoGradGuard no_grad;
  const auto codes = net->codes(x);
  for (int64_t i = 0; i < net->num_layers(); ++i) {
    const auto layer = net->layer(i);
    const auto input = input_of(codes, x, i);
    const auto& g = codes[static_cast<size_t>(i)];
    const auto correlation = analysis(input - synthesis(g, layer->weight, layer->stride, input), layer->weight, layer->stride);
    const auto active = g > 0;
    const double on = (correlation - beta).abs().masked_select(active).max().item<double>();
    const double off = (correlation - beta).clamp_min(0).masked_select(~active).max().item<double>();
    EXPECT_LT(std::max(on, off) / beta, 1e-8) << "layer " << i << " on " << on << " off " << off;
    EXPECT_GT(active.sum().item<int64_t>(), 0) << "layer " << i;
  }
}

TEST(ResCsc, FiniteDifferenceGradients) {
  for (bool skip : {true, false}) {
    auto net = small_net(skip, 8, 1);
    random_biases(net);
    auto x = images(2, 6).requires_grad_();
    expect_alive(net->codes(x));
    const auto r = torch::randn({2, 3}, torch::kDouble);
    auto loss = [&] { return (net->forward(x) * r).sum(); };
    // Layer 4: layer b of the first stride-2 block (warm start through the option-A shortcut).
    const std::vector<std::pair<const char*, torch::Tensor>> checked = {
        {"input", x}, {"weight", net->weight(4)}, {"step", net->step(4)}, {"threshold", net->threshold(2)},
        {"stem weight", net->weight(0)}};
    net->zero_grad();
    loss().backward();
    for (const auto& p : net->named_parameters())  // no parameter is cut off from the loss
      EXPECT_GT(p.value().grad().abs().max().item<double>(), 0) << p.key();
    for (const auto& [name, p] : checked) {
      const auto grad = p.grad().clone();
      auto flat = p.detach().view(-1);
      for (int64_t j = 0; j < std::min<int64_t>(flat.numel(), 4); ++j) {
        const int64_t k = (j * 7) % flat.numel();
        const double eps = 1e-6, old = flat[k].item<double>();
        double plus, minus;
        {
          torch::NoGradGuard no_grad;
          flat[k].fill_(old + eps);
          plus = loss().item<double>();
          flat[k].fill_(old - eps);
          minus = loss().item<double>();
          flat[k].fill_(old);
        }
        const double numeric = (plus - minus) / (2 * eps), analytic = grad.view(-1)[k].item<double>();
        EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric)))
            << (skip ? "res-csc " : "plain-csc ") << name << "[" << k << "]";
      }
    }
  }
}

TEST(ResCsc, OptionsAndErrors) {
  using deepsc::testing::expect_rejected;
  const auto base = ModelOptions().in_channels(1).width(0.125);
  expect_rejected([&] { deepsc::nn::make_res_csc_net(true, ModelOptions(base).depth(21)); }, "depth");
  expect_rejected([&] { deepsc::nn::make_res_csc_net(false, ModelOptions(base).depth(2)); }, "depth");
  expect_rejected([&] { deepsc::nn::make_res_csc_net(true, ModelOptions(base).channels({2, 3})); }, "channels");
  expect_rejected([&] { deepsc::nn::make_res_csc_net(true, ModelOptions(base).channels({4, 3, 2})); }, "channels");
  expect_rejected([&] { deepsc::nn::make_res_csc_net(true, ModelOptions(base).layout("mnist")); }, "layout");
  expect_rejected([&] { deepsc::nn::make_res_csc_net(false, ModelOptions(base).growth(4)); }, "growth");
  expect_rejected([&] { deepsc::nn::make_res_csc_net(true, ModelOptions(base).stem(deepsc::nn::Stem::ImageNet)); }, "stem");
  expect_rejected([&] { deepsc::nn::make_res_csc_net(true, ModelOptions(base).unfoldings(-2)); }, "unfoldings");

  // Defaults: depth 0 is 20 (3 blocks per stage, 19 layers), unfoldings 0, channels {16, 32, 64}·width.
  for (const char* name : {"res-csc", "plain-csc"}) {
    auto model = deepsc::nn::make_model(name, base);
    auto net = std::dynamic_pointer_cast<ResCscNetImpl>(model);
    ASSERT_TRUE(net) << name;
    EXPECT_EQ(net->skip(), std::string(name) == "res-csc");
    EXPECT_EQ(net->num_layers(), 19);
    EXPECT_EQ(net->blocks_per_stage(), 3);
    EXPECT_EQ(net->unfoldings(), 0);
    EXPECT_EQ(net->widths(), (std::vector<int64_t>{2, 4, 8}));
    EXPECT_EQ(model->forward(torch::randn({2, 1, 8, 8})).sizes(), (std::vector<int64_t>{2, 10}));
    expect_rejected([&] { model->forward(torch::randn({2, 3, 8, 8})); }, "images");
  }
  EXPECT_THROW(deepsc::nn::ResCscNetImpl(true, base).layer(19), std::out_of_range);
}

TEST(ResCsc, SameParameterCountsAsPlain) {
  const auto options = ModelOptions().depth(14).width(0.5);  // widths {8, 16, 32}, 3 image channels
  auto count = [](const torch::nn::Module& m) {
    int64_t n = 0;
    for (const auto& p : m.parameters()) n += p.numel();
    return n;
  };
  const ResCscNetImpl res(true, options), plain(false, options);
  // Per layer W (M·C·9), c (1), b (M); then the linear head.
  int64_t expected = 8 * 3 * 9 + 1 + 8;
  int64_t in = 8;
  for (int64_t width : {8, 16, 32})
    for (int64_t block = 0; block < 2; ++block) {
      expected += width * in * 9 + 1 + width + width * width * 9 + 1 + width;
      in = width;
    }
  expected += 32 * 10 + 10;
  EXPECT_EQ(count(res), expected);
  EXPECT_EQ(count(plain), expected);
  EXPECT_EQ(res.named_parameters().keys(), plain.named_parameters().keys());
}

TEST(ResCsc, SaveLoadCloneAndFloat32) {
  const auto options = ModelOptions().in_channels(2).num_classes(3).depth(8).channels({2, 3, 4}).unfoldings(1);
  torch::manual_seed(3);
  auto model = deepsc::nn::make_res_csc_net(true, options);
  auto net = std::dynamic_pointer_cast<ResCscNetImpl>(model);
  random_biases(net);
  const auto x = torch::randn({2, 2, 8, 8});
  const auto logits = model->forward(x);  // float32
  EXPECT_EQ(logits.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());

  std::stringstream stream;
  torch::save(model, stream);
  torch::manual_seed(4);
  auto loaded = deepsc::nn::make_res_csc_net(true, options);
  EXPECT_FALSE(torch::equal(loaded->forward(x), logits));
  torch::load(loaded, stream);
  EXPECT_TRUE(torch::equal(loaded->forward(x), logits));

  auto copy = std::dynamic_pointer_cast<ResCscNetImpl>(net->clone());
  ASSERT_TRUE(copy);
  EXPECT_TRUE(torch::equal(copy->forward(x), logits));
  {
    torch::NoGradGuard no_grad;
    copy->weight(4).add_(1);
  }
  EXPECT_TRUE(torch::equal(net->forward(x), logits));  // the copy owns its parameters

  // float32 and float64 compute the same function.
  net->to(torch::kDouble);
  EXPECT_LT((net->forward(x.to(torch::kDouble)).to(torch::kFloat) - logits).abs().max().item<float>(), 1e-4);
}

}  // namespace res_csc_test

TEST(ResCsc, StepsStartAtOneOverLWhereALayerIteratesFromANonZeroCode) {
  // He-scaled W; c = 1/L (L = ‖DᵀD‖₂ on 8 × 8 code maps) for Res-CSC's warm-started layer b and for
  // every layer when T > 0, c = 1 for a single step from zero. The skip I − cDᵀD then does not
  // amplify: its spectrum lies in [0, 1] on those maps.
  torch::manual_seed(4);
  for (bool skip : {true, false}) {
    for (int64_t unfoldings : {0, 2}) {
      deepsc::nn::ResCscNetImpl net(skip, deepsc::nn::ModelOptions().in_channels(1).depth(8).channels({4, 6, 8}).unfoldings(unfoldings));
      for (int64_t i = 0; i < net.num_layers(); ++i) {
        const auto layer = net.layer(i);
        const bool layer_b = i > 0 && i % 2 == 0;
        const bool iterates = unfoldings > 0 || (skip && layer_b);
        const std::vector<int64_t> signal{1, layer->in_channels, 8 * layer->stride, 8 * layer->stride};
        const double lipschitz = layer->dictionary(signal).lipschitz(signal, deepsc::sparse::LipschitzOptions().tol(1e-6).max_iter(500));
        const double c = net.step(i).item<double>();
        if (iterates) {
          EXPECT_NEAR(c * lipschitz, 1.0, 1e-2) << "layer " << i << " skip " << skip << " T " << unfoldings;
        } else {
          EXPECT_EQ(c, 1.0) << "layer " << i << " skip " << skip << " T " << unfoldings;
        }
        EXPECT_GT(lipschitz, 2.0) << "He scale: ‖DᵀD‖ well above 1, so c = 1 would not be a convergent step";
      }
    }
  }
}
