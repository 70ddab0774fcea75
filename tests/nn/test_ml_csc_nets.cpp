// The ML-CSC networks of Sulam, Aberdam, Beck & Elad (TPAMI 2020) against an independent
// reference of the published recurrences written with torch::conv2d / conv_transpose2d.
#include "deepsc/conv/conv_dictionary.h"
#include "deepsc/nn/ml_csc_nets.h"
#include "deepsc/nn/registry.h"
#include "deepsc/sparse/proximal_gradient.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <sstream>

namespace ml_csc_nets_test {

using deepsc::nn::MlCscNetImpl;
using deepsc::nn::MlCscVariant;
using deepsc::nn::ModelOptions;
using Net = std::shared_ptr<MlCscNetImpl>;

const MlCscVariant kAll[] = {MlCscVariant::Cnn, MlCscVariant::Ista, MlCscVariant::Fista, MlCscVariant::Lbp,
                             MlCscVariant::Lista};
const MlCscVariant kUnfolded[] = {MlCscVariant::Ista, MlCscVariant::Fista, MlCscVariant::Lbp, MlCscVariant::Lista};

/// Small nets with each published layout's kernel/stride/padding pattern, and their image shapes
/// (exact sizes and sizes whose syntheses need an output padding).
struct Case {
  ModelOptions options;
  std::vector<int64_t> image, odd_image;
};
Case mnist() { return {ModelOptions().in_channels(1).num_classes(3).channels({3, 4, 5}), {4, 1, 28, 28}, {4, 1, 29, 29}}; }
Case cifar() { return {ModelOptions().in_channels(3).num_classes(3).layout("cifar").width(1.0 / 16), {4, 3, 32, 32}, {4, 3, 33, 33}}; }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no std::invalid_argument)";
}

/// A float64 net with He-scaled weights √2/√fan_in (ML-LISTA's W: 0.7/√fan_in), steps in [0.3, 0.6] and thresholds in
/// [−0.01, 0] (the published initialisation, 0.1/√fan_in with b = 0, would leave the deep codes
/// tiny and never thresholded).
Net make_net(MlCscVariant variant, ModelOptions options, int64_t unfoldings) {
  if (variant != MlCscVariant::Cnn || unfoldings != 0) options.unfoldings(unfoldings);
  auto net = std::dynamic_pointer_cast<MlCscNetImpl>(deepsc::nn::make_ml_csc_net(variant, options));
  net->to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  // ML-LISTA's step on W has no c: a smaller W keeps c·‖W‖² of the other variants.
  for (auto& w : net->dictionaries) w.mul_(net->analysis.empty() ? 10 * std::sqrt(2.0) : 7);
  for (auto& w : net->analysis) w.mul_(10 * std::sqrt(2.0));
  for (auto& c : net->steps) c.uniform_(0.3, 0.6);
  for (auto& b : net->thresholds) b.uniform_(-0.01, 0);
  for (auto& b : net->tail_biases) b.uniform_(-0.1, 0.1);
  return net;
}

double max_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1.0, b.abs().max().item<double>());
}

// ---- the reference: the published recurrences, written out with conv2d / conv_transpose2d ----

torch::Tensor analysis_op(const torch::Tensor& x, const torch::Tensor& w, const deepsc::nn::MlCscLayerSpec& l) {
  return torch::conv2d(x, w, {}, l.stride, l.padding);
}
/// conv_transpose2d with the output padding that gives back `like`'s size.
torch::Tensor synthesis(const torch::Tensor& g, const torch::Tensor& w, const deepsc::nn::MlCscLayerSpec& l,
                        const torch::Tensor& like) {
  const auto q = [&](int64_t size, int64_t code) { return size - ((code - 1) * l.stride - 2 * l.padding + l.kernel_size); };
  return torch::conv_transpose2d(g, w, {}, l.stride, l.padding, {q(like.size(2), g.size(2)), q(like.size(3), g.size(3))});
}

std::vector<torch::Tensor> reference_codes(const MlCscNetImpl& net, const torch::Tensor& x) {
  const auto& spec = net.spec();
  const size_t K = spec.layers.size();
  const bool lista = spec.variant == MlCscVariant::Lista;
  const auto b = [&](size_t i) { return net.thresholds[i].view({1, -1, 1, 1}); };
  const auto thresholding = [&](size_t i, const torch::Tensor& signal) {
    const auto& l = spec.layers[i];
    if (lista) return torch::relu(analysis_op(signal, net.analysis[i], l) + b(i));
    return torch::relu(net.steps[i] * analysis_op(signal, net.dictionaries[i], l) + b(i));
  };
  const auto ista_step = [&](size_t i, const torch::Tensor& g, const torch::Tensor& signal) {
    const auto& l = spec.layers[i];
    const auto& w = net.dictionaries[i];
    if (lista)
      return torch::relu(g - analysis_op(synthesis(g, w, l, signal), w, l) + analysis_op(signal, net.analysis[i], l) + b(i));
    return torch::relu(g - net.steps[i] * analysis_op(synthesis(g, w, l, signal) - signal, w, l) + b(i));
  };
  std::vector<torch::Tensor> g(K + 1);
  g[0] = x;
  for (size_t i = 0; i < K; ++i) {
    g[i + 1] = thresholding(i, g[i]);
    if (spec.variant == MlCscVariant::Lbp)
      for (int64_t u = 0; u < spec.unfoldings; ++u) g[i + 1] = ista_step(i, g[i + 1], g[i]);
  }
  if (spec.variant == MlCscVariant::Ista || spec.variant == MlCscVariant::Fista || lista) {
    double t = 1;
    auto previous = g[K];
    for (int64_t u = 0; u < spec.unfoldings; ++u) {
      std::vector<torch::Tensor> projection(K + 1);
      projection[K] = g[K];
      if (spec.variant == MlCscVariant::Fista) {
        const double t_previous = t;
        t = (1 + std::sqrt(1 + 4 * t_previous * t_previous)) / 2;
        projection[K] = g[K] + (t_previous - 1) / t * (g[K] - previous);
        previous = g[K];
      }
      for (size_t i = K - 1; i >= 1; --i)
        projection[i] = synthesis(projection[i + 1], lista ? net.analysis[i] : net.dictionaries[i], spec.layers[i], g[i]);
      for (size_t i = 0; i < K; ++i) g[i + 1] = ista_step(i, projection[i + 1], g[i]);
    }
  }
  return {g.begin() + 1, g.end()};
}

torch::Tensor reference_head(const MlCscNetImpl& net, torch::Tensor x) {
  for (size_t j = 0; j < net.tail_weights.size(); ++j) {
    x = torch::relu(torch::conv2d(x, net.tail_weights[j], net.tail_biases[j], 1, 1));
    if (j > 0) x = torch::max_pool2d(x, 2, 2);
  }
  return torch::linear(x.mean({2, 3}), net.fc->weight, net.fc->bias);
}

/// The plain CNN: ReLU(conv2d(γ, c·W) + b) (ML-LISTA: B, no c) per layer, then the head.
torch::Tensor reference_cnn(const MlCscNetImpl& net, torch::Tensor x) {
  for (size_t i = 0; i < net.spec().layers.size(); ++i) {
    const auto& l = net.spec().layers[i];
    const auto w = net.analysis.empty() ? net.steps[i] * net.dictionaries[i] : net.analysis[i];
    x = torch::relu(torch::conv2d(x, w, net.thresholds[i], l.stride, l.padding));
  }
  return reference_head(net, x);
}

TEST(MlCscNets, WithoutUnfoldingsEveryVariantIsAPlainCnn) {
  torch::manual_seed(1);
  torch::NoGradGuard no_grad;
  for (const auto& c : {mnist(), cifar()}) {
    for (auto variant : kAll) {
      auto net = make_net(variant, c.options, 0);
      const auto x = torch::randn(c.image, torch::kFloat64);
      const auto logits = net->forward(x);
      EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{4, 3}));
      EXPECT_LT(max_error(logits, reference_cnn(*net, x)), 1e-12) << deepsc::nn::ml_csc_variant_name(variant);
    }
  }
}

TEST(MlCscNets, UnfoldingsFollowThePublishedRecurrences) {
  torch::manual_seed(2);
  torch::NoGradGuard no_grad;
  for (const auto& c : {mnist(), cifar()}) {
    for (auto variant : kUnfolded) {
      auto net = make_net(variant, c.options, 3);
      for (const auto& shape : {c.image, c.odd_image}) {
        const auto x = torch::randn(shape, torch::kFloat64);
        const auto codes = net->codes(x);
        const auto expected = reference_codes(*net, x);
        ASSERT_EQ(codes.size(), 3u);
        const auto name = std::string(deepsc::nn::ml_csc_variant_name(variant)) + " " + net->spec().layout;
        for (size_t i = 0; i < 3; ++i) {
          ASSERT_EQ(codes[i].sizes(), expected[i].sizes()) << name;
          EXPECT_LT(max_error(codes[i], expected[i]), 1e-10) << name << " layer " << i + 1;
        }
        // Not vacuous: the deepest code is neither all zero nor all positive.
        const double active = (codes[2] > 0).to(torch::kFloat64).mean().item<double>();
        EXPECT_GT(active, 0) << name;
        EXPECT_LT(active, 1) << name;
        EXPECT_LT(max_error(net->forward(x), reference_head(*net, expected.back())), 1e-10) << name;
      }
    }
  }
}

TEST(MlCscNets, OneLayerMlIstaWithStepOneOverLSolvesTheLasso) {
  // K = 1: ML-ISTA is ISTA with step c and threshold −b, i.e. on the lasso with λ = −b/c; with
  // c = 1/L and many unfoldings it reaches the lasso's (non-negative) solution.
  torch::manual_seed(3);
  const auto o = ModelOptions().in_channels(1).channels({4}).kernel_sizes({5}).strides({2}).paddings({1});
  auto net = make_net(MlCscVariant::Ista, o, 3000);
  const auto x = torch::randn({2, 1, 13, 13}, torch::kFloat64);
  const deepsc::conv::ConvDictionary dict(net->dictionaries[0].detach(),
                                          deepsc::conv::ConvOptions().stride(2).padding(1));
  const double L = dict.lipschitz(x.sizes(), deepsc::sparse::LipschitzOptions().tol(1e-14).max_iter(5000));
  const double lambda = 0.05 * dict.adjoint(x).abs().max().item<double>();
  torch::NoGradGuard no_grad;
  net->steps[0].fill_(1 / L);
  net->thresholds[0].fill_(-lambda / L);
  const auto codes = net->codes(x)[0];
  const auto solved = deepsc::sparse::fista(
      dict, x, deepsc::sparse::ProximalGradientOptions(lambda).nonneg(true).tol(1e-14).max_iter(20000));
  ASSERT_TRUE(solved.converged);
  EXPECT_GT((solved.codes > 0).sum().item<int64_t>(), 0);
  EXPECT_LT((codes - solved.codes).norm().item<double>(), 1e-8 * solved.codes.norm().item<double>());
}

TEST(MlCscNets, GradientsMatchFiniteDifferences) {
  torch::manual_seed(4);
  for (const auto& c : {mnist(), cifar()}) {
    for (auto variant : kAll) {
      auto net = make_net(variant, c.options, variant == MlCscVariant::Cnn ? 0 : 2);
      const auto name = std::string(deepsc::nn::ml_csc_variant_name(variant)) + " " + net->spec().layout;
      const auto x = torch::randn(c.image, torch::kFloat64).requires_grad_(true);
      const auto weights = torch::randn({4, 3}, torch::kFloat64);
      const auto loss = [&](const torch::Tensor& input) { return (net->forward(input) * weights).sum(); };
      net->zero_grad();
      loss(x).backward();
      // Each checked tensor: its analytic gradient against central differences along random
      // directions (x, a W) or coordinates (c, b).
      std::vector<std::pair<std::string, torch::Tensor>> checked = {{"W2", net->dictionaries[1]},
                                                                    {"b2", net->thresholds[1]}};
      if (!net->steps.empty()) checked.push_back({"c2", net->steps[1]});
      if (!net->analysis.empty()) checked.push_back({"B1", net->analysis[0]});
      const double h = 1e-6;
      for (int r = 0; r < 2; ++r) {
        torch::NoGradGuard no_grad;
        const auto v = torch::randn_like(x);
        const double numeric = (loss(x + h * v) - loss(x - h * v)).item<double>() / (2 * h);
        const double analytic = (x.grad() * v).sum().item<double>();
        EXPECT_NEAR(numeric, analytic, 1e-6 * std::max(1.0, std::abs(analytic))) << name << " input";
      }
      for (auto& [what, p] : checked) {
        const auto grad = p.grad().clone();
        ASSERT_GT(grad.abs().max().item<double>(), 0) << name << " " << what;
        for (int r = 0; r < 2; ++r) {
          torch::NoGradGuard no_grad;
          const auto v = p.dim() <= 1 ? torch::zeros_like(p) : torch::randn_like(p);
          if (p.dim() <= 1) v.view(-1)[r % p.numel()] = 1;
          p.add_(h * v);
          const double plus = loss(x).item<double>();
          p.sub_(2 * h * v);
          const double minus = loss(x).item<double>();
          p.add_(h * v);
          const double analytic = (grad * v).sum().item<double>();
          EXPECT_NEAR((plus - minus) / (2 * h), analytic, 1e-6 * std::max(1.0, std::abs(analytic))) << name << " " << what;
        }
      }
    }
  }
}

TEST(MlCscNets, OptionErrorsAreNamed) {
  using deepsc::nn::make_model;
  const auto mnist_options = ModelOptions().in_channels(1);
  const auto contains = [](const std::string& message, const std::string& part) {
    EXPECT_NE(message.find(part), std::string::npos) << message;
  };
  contains(error_of([&] { make_model("ml-ista", ModelOptions(mnist_options).layout("imagenet")); }),
           "layout must be mnist or cifar, got 'imagenet'");
  contains(error_of([&] { make_model("ml-ista", ModelOptions(mnist_options).channels({4, 8, 16}).strides({2, 2})); }),
           "strides has 2 values but channels has 3");
  contains(error_of([&] { make_model("lbp", ModelOptions(mnist_options).channels({4, 8})); }),
           "kernel_sizes must be given (2 values)");
  contains(error_of([&] { make_model("ml-fista", ModelOptions(mnist_options).paddings({1, 1, 1})); }),
           "paddings needs channels");
  const auto cnn = error_of([&] { make_model("mlcsc-cnn", ModelOptions(mnist_options).unfoldings(3)); });
  contains(cnn, "unfoldings must be 0 for mlcsc-cnn");
  contains(cnn, "ml-ista");
  contains(error_of([&] { make_model("ml-lista", ModelOptions(mnist_options).depth(4)); }),
           "ml-lista does not use the option depth");
  EXPECT_NO_THROW(make_model("mlcsc-cnn", ModelOptions(mnist_options).unfoldings(0)));

  auto net = make_model("ml-ista", ModelOptions(mnist_options).unfoldings(1));
  contains(error_of([&] { net->forward(torch::randn({1, 3, 28, 28})); }), "images must be [N, 1, H, W]");
  auto tail = make_model("ml-ista", ModelOptions().layout("cifar").width(1.0 / 16).unfoldings(1));
  contains(error_of([&] { tail->forward(torch::randn({1, 3, 16, 16})); }), "needs codes of at least 4x4");
}

int64_t count(const std::shared_ptr<deepsc::nn::Classifier>& model) {
  int64_t n = 0;
  for (const auto& p : model->parameters()) n += p.numel();
  return n;
}

TEST(MlCscNets, ParameterCountsAreThePublishedModels) {
  using deepsc::nn::make_model;
  // By hand from the published models (W, one c and b per layer, W4…W6 and b4…b6, Linear 512→10):
  // MNIST 32·36 + 64·32·36 + 512·64·16 + 3 + 608 + 5130; CIFAR 1536 + 32768 + 131072 + 294912 +
  // 1179648 + 2359296 + 3 + 1504 + 5130.
  const auto mnist_options = ModelOptions().in_channels(1);
  const auto cifar_options = ModelOptions().layout("cifar");
  EXPECT_EQ(count(make_model("ml-ista", mnist_options)), 604909);
  EXPECT_EQ(count(make_model("ml-ista", cifar_options)), 4005869);
  for (const auto& o : {mnist_options, cifar_options}) {
    const auto ista = count(make_model("ml-ista", o));
    for (const char* name : {"mlcsc-cnn", "ml-fista", "lbp"}) EXPECT_EQ(count(make_model(name, o)), ista) << name;
    // ML-LISTA: the B_i more, no steps c_i.
    auto lista = std::dynamic_pointer_cast<MlCscNetImpl>(make_model("ml-lista", o));
    int64_t b = 0;
    for (const auto& w : lista->analysis) b += w.numel();
    EXPECT_EQ(count(lista), ista + b - 3);
  }
  auto net = std::dynamic_pointer_cast<MlCscNetImpl>(make_model("ml-fista", mnist_options));
  EXPECT_EQ(net->spec().unfoldings, 6);
  // The published initialisation: N(0, 1)·0.1/√fan_in (W3: 512·64·16 samples), c = 1, b = 0.
  EXPECT_NEAR(net->dictionaries[2].std().item<double>() * std::sqrt(64.0 * 16) / 0.1, 1.0, 0.01);
  EXPECT_EQ(net->steps[2].item<double>(), 1.0);
  EXPECT_EQ(net->thresholds[2].abs().max().item<double>(), 0.0);
}

TEST(MlCscNets, SaveLoadAndCloneKeepTheLogits) {
  torch::manual_seed(5);
  for (auto variant : {MlCscVariant::Fista, MlCscVariant::Lista}) {
    const auto c = cifar();
    auto net = make_net(variant, c.options, 2);
    const auto x = torch::randn(c.image, torch::kFloat64);
    torch::NoGradGuard no_grad;
    const auto expected = net->forward(x);
    std::stringstream stream;
    torch::save(std::static_pointer_cast<deepsc::nn::Classifier>(net), stream);
    std::shared_ptr<deepsc::nn::Classifier> loaded = make_net(variant, c.options, 2);  // other random weights
    EXPECT_FALSE(torch::equal(loaded->forward(x), expected));
    torch::load(loaded, stream);
    EXPECT_TRUE(torch::equal(loaded->forward(x), expected));
    auto copy = std::dynamic_pointer_cast<MlCscNetImpl>(net->clone());
    ASSERT_TRUE(copy);
    EXPECT_TRUE(torch::equal(copy->forward(x), expected));
  }
}

TEST(MlCscNets, Float32ForwardAgreesWithFloat64) {
  torch::manual_seed(6);
  const auto c = mnist();
  for (auto variant : kAll) {
    auto o = c.options;
    if (variant != MlCscVariant::Cnn) o.unfoldings(2);
    auto net = std::dynamic_pointer_cast<MlCscNetImpl>(deepsc::nn::make_ml_csc_net(variant, o));
    const auto x = torch::randn(c.image);
    const auto logits = net->forward(x);
    EXPECT_EQ(logits.scalar_type(), torch::kFloat32);
    ASSERT_TRUE(torch::isfinite(logits).all().item<bool>());
    net->to(torch::kFloat64);
    const auto exact = net->forward(x.to(torch::kFloat64));
    EXPECT_LT(max_error(logits.to(torch::kFloat64), exact), 1e-5) << deepsc::nn::ml_csc_variant_name(variant);
  }
}

}  // namespace ml_csc_nets_test
