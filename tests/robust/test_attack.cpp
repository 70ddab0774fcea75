// Adversarial attacks (FGSM, PGD): every example stays in the ε-ball and in [0, 1], the loss goes
// up, the linear case matches its closed form exactly, runs are reproducible, the model is left
// untouched, and gradients flow through an SDNet's unrolled CSC layer.
#include "deepsc/robust/attack.h"

#include "deepsc/nn/registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace robust = deepsc::robust;
namespace F = torch::nn::functional;
using robust::AttackOptions;
using robust::Norm;

namespace {

/// A small nonlinear classifier of 3×8×8 images into 5 classes (random weights, scaled up so that
/// it is visibly nonlinear at the scale of ε).
torch::nn::Sequential small_mlp(uint64_t seed) {
  torch::manual_seed(seed);
  torch::nn::Sequential net(torch::nn::Flatten(), torch::nn::Linear(192, 32), torch::nn::Tanh(),
                            torch::nn::Linear(32, 32), torch::nn::Tanh(), torch::nn::Linear(32, 5));
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters()) p.mul_(3);
  net->eval();
  return net;
}

robust::Logits logits_of(torch::nn::Sequential net) {
  return [net](const torch::Tensor& x) mutable { return net->forward(x); };
}

/// Images [n, 3, 8, 8] in [0, 1], some pixels exactly 0 or 1 so that clipping matters.
torch::Tensor test_images(int64_t n, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto x = torch::rand({n, 3, 8, 8}, gen);
  x.masked_fill_(x < 0.1, 0.0);
  x.masked_fill_(x > 0.9, 1.0);
  return x;
}

double mean_loss(const robust::Logits& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  return F::cross_entropy(model(x), y).item<double>();
}

torch::Tensor predictions(const robust::Logits& model, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  return model(x).argmax(1);
}

/// Per-sample ℓ∞ or ℓ2 norm of the perturbation [N].
torch::Tensor perturbation_norms(const torch::Tensor& adv, const torch::Tensor& x, Norm norm) {
  const auto d = (adv - x).reshape({x.size(0), -1}).to(torch::kDouble);
  return norm == Norm::Linf ? d.abs().amax(1) : d.norm(2, 1);
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(Attack, ParsesNormsAndFractions) {
  EXPECT_EQ(robust::parse_norm("linf"), Norm::Linf);
  EXPECT_EQ(robust::parse_norm("l2"), Norm::L2);
  EXPECT_STREQ(robust::norm_name(Norm::Linf), "linf");
  EXPECT_STREQ(robust::norm_name(Norm::L2), "l2");
  EXPECT_NE(message_of([] { robust::parse_norm("L3"); }).find("L3"), std::string::npos);
  EXPECT_THROW(robust::parse_norm(""), std::invalid_argument);

  EXPECT_DOUBLE_EQ(robust::parse_fraction("8/255"), 8.0 / 255);
  EXPECT_DOUBLE_EQ(robust::parse_fraction("0.5"), 0.5);
  EXPECT_DOUBLE_EQ(robust::parse_fraction("1e-3"), 1e-3);
  EXPECT_DOUBLE_EQ(robust::parse_fraction("0.5/2"), 0.25);
  EXPECT_DOUBLE_EQ(robust::parse_fraction("0"), 0.0);
  for (const auto* bad : {"", "abc", "8/", "/255", "8/0", "8/255/3", "0.5x", " 0.5", "0.5 ", "inf", "nan", "1e999"}) {
    const auto message = message_of([bad] { robust::parse_fraction(bad); });
    EXPECT_NE(message.find("8/255"), std::string::npos) << "'" << bad << "': " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
}

TEST(Attack, RejectsBadOptionsAndInputsWithOneLineErrors) {
  const auto nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  EXPECT_NE(message_of([&] { robust::check_attack_options(AttackOptions().eps(-0.1)); }).find("eps"), std::string::npos);
  EXPECT_NE(message_of([&] { robust::check_attack_options(AttackOptions().eps(nan)); }).find("eps"), std::string::npos);
  EXPECT_NE(message_of([&] { robust::check_attack_options(AttackOptions().eps(inf)); }).find("eps"), std::string::npos);
  EXPECT_NE(message_of([&] { robust::check_attack_options(AttackOptions().steps(0)); }).find("steps"), std::string::npos);
  EXPECT_NE(message_of([&] { robust::check_attack_options(AttackOptions().step_size(nan)); }).find("step_size"),
            std::string::npos);
  EXPECT_NO_THROW(robust::check_attack_options(AttackOptions().step_size(-1)));  // ≤ 0: the default rule
  EXPECT_DOUBLE_EQ(robust::resolved_step_size(AttackOptions().eps(0.1).steps(10)), 0.025);
  EXPECT_DOUBLE_EQ(robust::resolved_step_size(AttackOptions().eps(0.1).step_size(0.3)), 0.3);

  const auto model = logits_of(small_mlp(0));
  const auto x = test_images(4, 1);
  const auto y = torch::zeros({4}, torch::kLong);
  EXPECT_THROW(robust::pgd(model, x, y, AttackOptions().eps(-1)), std::invalid_argument);
  EXPECT_NE(message_of([&] { robust::pgd(model, x, torch::zeros({3}, torch::kLong), {}); }).find("labels"),
            std::string::npos);
  EXPECT_NE(message_of([&] { robust::pgd(model, x, y.to(torch::kInt), {}); }).find("int64"), std::string::npos);
  EXPECT_NE(message_of([&] { robust::pgd(model, x * 2, y, {}); }).find("[0, 1]"), std::string::npos);
  EXPECT_NE(message_of([&] { robust::pgd(model, x - 0.5, y, {}); }).find("[0, 1]"), std::string::npos);
  EXPECT_NE(message_of([&] { robust::pgd(model, (x * 255).to(torch::kByte), y, {}); }).find("floating"),
            std::string::npos);
  const robust::Logits flat = [](const torch::Tensor& images) { return images.sum(); };
  EXPECT_NE(message_of([&] { robust::pgd(flat, x, y, {}); }).find("logits"), std::string::npos);
}

TEST(Attack, StaysInTheBallAndTheImageRangeAndRaisesTheLoss) {
  const auto model = logits_of(small_mlp(0));
  const auto x = test_images(32, 2);
  const auto y = predictions(model, x);  // the model's own answers: attacking them must cost
  const double clean = mean_loss(model, x, y);
  const std::vector<std::pair<Norm, std::vector<double>>> budgets = {{Norm::Linf, {0.01, 8.0 / 255, 0.25}},
                                                                     {Norm::L2, {0.1, 0.5, 2.0}}};
  for (const auto& [norm, epsilons] : budgets) {
    for (const double eps : epsilons) {
      for (const bool random_start : {false, true}) {
        SCOPED_TRACE(std::string(robust::norm_name(norm)) + " eps " + std::to_string(eps) +
                     (random_start ? " random start" : " no random start"));
        const auto adv = robust::pgd(model, x, y, AttackOptions().norm(norm).eps(eps).random_start(random_start).seed(3));
        ASSERT_EQ(adv.sizes(), x.sizes());
        EXPECT_EQ(adv.scalar_type(), x.scalar_type());
        EXPECT_FALSE(adv.requires_grad());
        EXPECT_GE(adv.min().item<double>(), 0.0);
        EXPECT_LE(adv.max().item<double>(), 1.0);
        const double bound = norm == Norm::Linf ? eps + 1e-6 : eps * (1 + 1e-5);
        EXPECT_LE(perturbation_norms(adv, x, norm).max().item<double>(), bound);
        // The attack uses its budget: far from the origin of the ball for most samples.
        EXPECT_GT(perturbation_norms(adv, x, norm).mean().item<double>(), 0.5 * eps);
        EXPECT_GT(mean_loss(model, adv, y), clean);
      }
    }
  }
}

TEST(Attack, OnALinearModelMatchesTheClosedForm) {
  // Two classes, logits z = W x + b: CE(z, y) = log(1 + exp(z_o − z_y)) with o = 1 − y grows with
  // (w_o − w_y)·x, so the worst ℓ∞ perturbation is ε sign(w_o − w_y) and the worst ℓ2 one
  // ε (w_o − w_y)/‖w_o − w_y‖ (images kept ε away from 0 and 1, so clipping never binds). In
  // float64: in float32 the softmax gradient p − onehot loses the direction of confident samples.
  torch::manual_seed(5);
  const auto weight = torch::randn({2, 48}, torch::kDouble), bias = torch::randn({2}, torch::kDouble);
  const robust::Logits model = [&](const torch::Tensor& x) {
    return torch::addmm(bias, x.reshape({x.size(0), -1}), weight.t());
  };
  const double eps = 0.05;
  const auto x = eps + (1 - 2 * eps) * torch::rand({16, 3, 4, 4}, torch::kDouble);
  const auto y = torch::randint(2, {16}, torch::kLong);
  const auto w_true = weight.index_select(0, y), w_other = weight.index_select(0, 1 - y);  // [16, 48]
  const auto direction = (w_other - w_true).view({16, 3, 4, 4});
  const auto linf_best = eps * direction.sign();
  const auto l2_best = eps * direction / direction.reshape({16, -1}).norm(2, 1).view({16, 1, 1, 1});

  EXPECT_TRUE(torch::allclose(robust::fgsm(model, x, y, eps) - x, linf_best, 0, 1e-12));
  EXPECT_TRUE(torch::allclose(robust::fgsm(model, x, y, eps, Norm::L2) - x, l2_best, 0, 1e-9));
  // PGD from a random start: the gradient's sign never changes, and 10 steps of 2.5ε/10 cross the
  // box, so every pixel ends in the same corner.
  EXPECT_TRUE(torch::allclose(robust::pgd(model, x, y, AttackOptions().eps(eps).seed(1)) - x, linf_best, 0, 1e-12));
  // ℓ2: each step adds α along the same direction and rescales onto the ball; the part of the
  // random start orthogonal to it shrinks geometrically.
  const auto l2 = robust::pgd(model, x, y, AttackOptions().norm(Norm::L2).eps(eps).steps(100).step_size(eps).seed(1));
  EXPECT_TRUE(torch::allclose(l2 - x, l2_best, 0, 1e-6)) << (l2 - x - l2_best).abs().max();
}

TEST(Attack, PgdIsAtLeastAsStrongAsFgsm) {
  const auto model = logits_of(small_mlp(1));
  const auto x = test_images(64, 4);
  const auto y = predictions(model, x);
  for (const auto& [norm, eps] : std::vector<std::pair<Norm, double>>{{Norm::Linf, 0.1}, {Norm::L2, 1.0}}) {
    SCOPED_TRACE(robust::norm_name(norm));
    const double fgsm = mean_loss(model, robust::fgsm(model, x, y, eps, norm), y);
    const double pgd = mean_loss(model, robust::pgd(model, x, y, AttackOptions().norm(norm).eps(eps).steps(20)), y);
    EXPECT_GT(fgsm, mean_loss(model, x, y));
    EXPECT_GE(pgd, fgsm);
  }
}

TEST(Attack, ZeroBudgetReturnsTheImagesAndSeedsReproduce) {
  const auto model = logits_of(small_mlp(0));
  const auto x = test_images(8, 6);
  const auto y = predictions(model, x);
  for (const auto norm : {Norm::Linf, Norm::L2}) {
    EXPECT_TRUE(torch::equal(robust::pgd(model, x, y, AttackOptions().norm(norm).eps(0)), x));
    EXPECT_TRUE(torch::equal(robust::fgsm(model, x, y, 0, norm), x));
    const auto options = AttackOptions().norm(norm).eps(0.1).steps(3).seed(42);
    const auto a = robust::pgd(model, x, y, options), b = robust::pgd(model, x, y, options);
    EXPECT_TRUE(torch::equal(a, b));
    EXPECT_FALSE(torch::equal(a, robust::pgd(model, x, y, AttackOptions(options).seed(43))));
  }
}

TEST(Attack, RandomStartIsUniformInTheBall) {
  // A model with zero gradient leaves the random start where it is.
  const robust::Logits constant = [](const torch::Tensor& x) { return x.reshape({x.size(0), -1}).narrow(1, 0, 3) * 0; };
  const auto x = torch::full({64, 3, 8, 8}, 0.5);
  const auto y = torch::zeros({64}, torch::kLong);
  const double eps = 0.1;
  const auto box = robust::pgd(constant, x, y, AttackOptions().eps(eps).steps(1)) - x;
  EXPECT_LE(box.abs().max().item<double>(), eps + 1e-6);
  EXPECT_GT(box.abs().max().item<double>(), 0.99 * eps);
  EXPECT_NEAR(box.abs().mean().item<double>(), eps / 2, 0.01 * eps);  // |U(−ε, ε)| has mean ε/2
  EXPECT_NEAR(box.mean().item<double>(), 0.0, 0.01 * eps);
  // Uniform in the ℓ2 ball of dimension d = 192: radius ε u^{1/d} ≥ 0.9ε but with probability 0.9^192.
  const auto ball = robust::pgd(constant, x, y, AttackOptions().norm(Norm::L2).eps(eps).steps(1)) - x;
  const auto radii = ball.reshape({64, -1}).norm(2, 1);
  EXPECT_LE(radii.max().item<double>(), eps * (1 + 1e-5));
  EXPECT_GT(radii.min().item<double>(), 0.9 * eps);
  // Directions are spread out: the mean perturbation is far shorter than each one.
  EXPECT_LT(ball.mean(0).norm().item<double>(), 0.3 * eps);
}

TEST(Attack, LeavesTheModelUntouched) {
  auto net = small_mlp(2);
  const auto model = logits_of(net);
  const auto x = test_images(8, 7);
  const auto y = predictions(model, x);
  std::vector<torch::Tensor> before;
  for (const auto& p : net->parameters()) before.push_back(p.detach().clone());
  robust::pgd(model, x, y, AttackOptions().steps(3));
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_FALSE(net->parameters()[i].grad().defined()) << "parameter " << i;
    EXPECT_TRUE(torch::equal(net->parameters()[i], before[i])) << "parameter " << i;
  }
  // Gradients accumulated by training stay as they were; the attack also runs under NoGradGuard.
  for (auto& p : net->parameters()) p.mutable_grad() = torch::ones_like(p);
  {
    torch::NoGradGuard no_grad;
    const auto adv = robust::pgd(model, x, y, AttackOptions().norm(Norm::L2).eps(0.5).steps(3));
    EXPECT_GT(mean_loss(model, adv, y), mean_loss(model, x, y));
  }
  for (const auto& p : net->parameters()) EXPECT_TRUE(torch::equal(p.grad(), torch::ones_like(p)));
}

TEST(Attack, GradientsFlowThroughAnSdnetCscLayer) {
  torch::manual_seed(0);
  auto model = deepsc::nn::make_model(
      "sdnet18", deepsc::nn::ModelOptions().num_classes(4).in_channels(1).width(0.0625).csc(deepsc::nn::CscLayerOptions().lambda(0.1)));
  model->eval();
  auto layers = model->csc_layers();
  ASSERT_FALSE(layers.empty());  // the stem is a CSC layer: every input gradient passes through it
  const robust::Logits logits = [&](const torch::Tensor& x) { return model->forward((x - 0.5) / 0.5); };
  auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const auto x = torch::rand({8, 1, 16, 16}, gen);
  const auto y = predictions(logits, x);
  const auto options = AttackOptions().eps(0.1).steps(5).seed(1);
  const auto adv = robust::pgd(logits, x, y, options);
  EXPECT_LE((adv - x).abs().max().item<double>(), 0.1 + 1e-6);
  EXPECT_GT(mean_loss(logits, adv, y), mean_loss(logits, x, y));
  // The examples depend on the CSC layer's λ: the sparse code (and its gradient) change with it.
  for (auto& layer : layers) layer->set_lambda(0.5);
  const auto adv_other = robust::pgd(logits, x, y, options);
  EXPECT_FALSE(torch::allclose(adv, adv_other));
  for (const auto& p : model->parameters()) EXPECT_FALSE(p.grad().defined());
}
