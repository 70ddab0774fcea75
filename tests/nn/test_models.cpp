#include "deepsc/nn/registry.h"
#include "deepsc/nn/resnet.h"

#include <gtest/gtest.h>

#include <sstream>

using deepsc::nn::Classifier;
using deepsc::nn::CscLayerOptions;
using deepsc::nn::ModelOptions;
using deepsc::nn::Stem;
using deepsc::nn::make_model;

namespace {

int64_t count_parameters(const Classifier& model) {
  int64_t n = 0;
  for (const auto& p : model.parameters()) n += p.numel();
  return n;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

/// One SGD step on a random batch, so weights and BN statistics move away from their start.
void train_step(Classifier& model, const torch::Tensor& images, int64_t classes) {
  model.train();
  torch::optim::SGD sgd(model.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  auto labels = torch::randint(classes, {images.size(0)}, torch::kLong);
  sgd.zero_grad();
  torch::nn::functional::cross_entropy(model.forward(images), labels).backward();
  sgd.step();
}

}  // namespace

TEST(Models, EveryNameGivesLogitsForBothStemsAndChannelCounts) {
  torch::manual_seed(0);
  const auto all_names = deepsc::nn::model_names();
  ASSERT_GE(all_names.size(), 8u);
  const std::vector<std::string> names(all_names.begin(), all_names.begin() + 8);  // the ResNet / SDNet family
  for (const auto& name : names) {
    for (Stem stem : {Stem::Cifar, Stem::ImageNet}) {
      for (int64_t channels : {1, 3}) {
        auto model = make_model(name, ModelOptions().num_classes(7).in_channels(channels).stem(stem).width(0.25));
        const int64_t size = stem == Stem::Cifar ? 32 : 64;
        torch::NoGradGuard no_grad;
        model->eval();
        deepsc::nn::ResidualRecording recording(model->csc_layers());
        auto logits = model->forward(torch::randn({2, channels, size, size}));
        EXPECT_EQ(logits.sizes(), c10::IntArrayRef({2, 7})) << name;
        EXPECT_TRUE(torch::isfinite(logits).all().item<bool>()) << name;
        // CSC layers: the stem, plus both 3×3 convs of every block for the -all variants.
        const bool sdnet = name.rfind("sdnet", 0) == 0, all = name.find("-all") != std::string::npos;
        const size_t blocks = name.find("34") != std::string::npos ? 16 : 8;
        const auto csc = model->csc_layers();
        EXPECT_EQ(csc.size(), (sdnet ? 1 : 0) + (all ? 2 * blocks : 0)) << name;
        if (sdnet) {
          EXPECT_EQ(csc.front()->options.in_channels(), channels);
          EXPECT_EQ(csc.front()->options.atoms(), 16);
          EXPECT_EQ(csc.front()->options.kernel_size(), stem == Stem::Cifar ? 3 : 7);
          EXPECT_EQ(csc.front()->last_residual().size(0), 2);  // it ran first, on the images
        }
      }
    }
  }
}

TEST(Models, ParameterCountsAtWidthOneMatchResNet) {
  const auto o = ModelOptions().num_classes(10).in_channels(3);
  const int64_t resnet18 = 11173962, resnet34 = 21282122;
  EXPECT_EQ(count_parameters(*make_model("resnet18", o)), resnet18);
  EXPECT_EQ(count_parameters(*make_model("sdnet18", o)), resnet18);
  EXPECT_EQ(count_parameters(*make_model("sdnet18-all", o)), resnet18);
  EXPECT_EQ(count_parameters(*make_model("resnet34", o)), resnet34);
  EXPECT_EQ(count_parameters(*make_model("sdnet34", o)), resnet34);
  // Without shortcuts the three 1×1 projections (and their BN) are gone.
  const int64_t projections = (64 * 128 + 2 * 128) + (128 * 256 + 2 * 256) + (256 * 512 + 2 * 512);
  EXPECT_EQ(count_parameters(*make_model("sdnet18-all-noshortcut", o)), resnet18 - projections);
  // A learnable λ adds one parameter per atom: 64 in the stem.
  EXPECT_EQ(count_parameters(*make_model("sdnet18", ModelOptions().csc(CscLayerOptions().learnable_lambda(true)))), resnet18 + 64);
}

TEST(Models, WidthMultiplierScalesChannels) {
  auto model = std::dynamic_pointer_cast<deepsc::nn::ResNetImpl>(make_model("resnet18", ModelOptions().width(0.01)));
  ASSERT_TRUE(model);
  EXPECT_EQ(model->stage_width(0), 1);  // at least one channel
  EXPECT_EQ(model->stage_width(3), 5);
  auto half = std::dynamic_pointer_cast<deepsc::nn::ResNetImpl>(make_model("sdnet34", ModelOptions().width(0.5)));
  EXPECT_EQ(half->stage_width(0), 32);
  EXPECT_EQ(half->fc->options.in_features(), 256);
}

TEST(Models, BackwardReachesCscWeightsAndLearnableLambda) {
  torch::manual_seed(1);
  auto model = make_model("sdnet18-all", ModelOptions().in_channels(1).width(0.25).csc(
                                             CscLayerOptions().learnable_lambda(true).solver(deepsc::nn::CscSolver::Fista).iterations(3)));
  auto images = torch::randn({4, 1, 28, 28});
  auto loss = torch::nn::functional::cross_entropy(model->forward(images), torch::randint(10, {4}, torch::kLong));
  loss.backward();
  for (const auto& csc : model->csc_layers()) {
    ASSERT_TRUE(csc->weight.grad().defined());
    EXPECT_GT(csc->weight.grad().abs().sum().item<double>(), 0);
    ASSERT_TRUE(csc->lambda.grad().defined());
    EXPECT_EQ(csc->options.iterations(), 3);
  }
  // The model-wide λ can be changed at run time on every CSC layer.
  for (auto& csc : model->csc_layers()) csc->set_lambda(0.5);
  EXPECT_TRUE(torch::allclose(model->csc_layers().back()->lambda, torch::full({128}, 0.5)));
}

TEST(Models, SaveLoadAndCloneReproduceOutputsExactly) {
  torch::manual_seed(2);
  for (const std::string name : {"resnet18", "sdnet18", "sdnet18-all"}) {
    const auto o = ModelOptions().in_channels(1).width(0.25).csc(CscLayerOptions().learnable_lambda(true));
    auto model = make_model(name, o);
    auto images = torch::randn({4, 1, 28, 28});
    train_step(*model, images, 10);
    model->eval();

    auto copy = std::dynamic_pointer_cast<Classifier>(model->clone());
    ASSERT_TRUE(copy) << name;
    EXPECT_EQ(copy->csc_layers().size(), model->csc_layers().size());
    torch::NoGradGuard no_grad;
    auto expected = model->forward(images);
    EXPECT_TRUE(torch::equal(copy->forward(images), expected)) << name;
    // The copy owns its parameters.
    copy->parameters().front().add_(1);
    EXPECT_FALSE(torch::equal(copy->parameters().front(), model->parameters().front())) << name;

    std::stringstream stream;
    torch::save(model, stream);  // a shared_ptr<Classifier> is a module to torch::save / torch::load
    auto loaded = make_model(name, o);
    torch::load(loaded, stream);
    loaded->eval();
    // The CSC layers' power-iteration vectors are buffers, saved too: both go on alike.
    EXPECT_TRUE(torch::equal(loaded->forward(images), model->forward(images))) << name;
  }
}

TEST(Models, UnknownNamesAndBadOptionsAreNamed) {
  const auto message = error_of([] { make_model("resnet50", ModelOptions()); });
  EXPECT_NE(message.find("unknown model 'resnet50'"), std::string::npos) << message;
  for (const auto& name : deepsc::nn::model_names()) EXPECT_NE(message.find(name), std::string::npos) << name;
  EXPECT_NE(error_of([] { make_model("resnet18", ModelOptions().width(0)); }).find("width"), std::string::npos);
  EXPECT_NE(error_of([] { make_model("resnet18", ModelOptions().num_classes(0)); }).find("num_classes"), std::string::npos);
  EXPECT_NE(error_of([] { make_model("resnet18", ModelOptions().in_channels(0)); }).find("in_channels"), std::string::npos);
  EXPECT_NE(error_of([] { make_model("sdnet18", ModelOptions().csc(CscLayerOptions().lambda(-1))); }).find("csc_lambda"),
            std::string::npos);
  EXPECT_NE(error_of([] { make_model("sdnet18", ModelOptions().csc(CscLayerOptions().iterations(0))); }).find("csc_iterations"),
            std::string::npos);
  EXPECT_EQ(deepsc::nn::parse_stem("imagenet"), Stem::ImageNet);
  EXPECT_NE(error_of([] { deepsc::nn::parse_stem("mnist"); }).find("cifar or imagenet"), std::string::npos);
  auto model = make_model("resnet18", ModelOptions().width(0.25));
  EXPECT_NE(error_of([&] { model->forward(torch::randn({2, 1, 32, 32})); }).find("images must be [N, 3, H, W]"),
            std::string::npos);
}

namespace {

/// A classifier from outside the ResNet family: global average pool → Linear.
class PooledLinearImpl : public torch::nn::Cloneable<PooledLinearImpl>, public Classifier {
 public:
  explicit PooledLinearImpl(ModelOptions options) : options_(std::move(options)) { reset(); }
  void reset() override { fc = register_module("fc", torch::nn::Linear(options_.in_channels(), options_.num_classes())); }
  torch::Tensor forward(torch::Tensor images) override { return fc(images.mean({2, 3})); }
  std::vector<deepsc::nn::CscLayer> csc_layers() const override { return {}; }
  torch::nn::Linear fc{nullptr};

 private:
  ModelOptions options_;
};

}  // namespace

TEST(Models, TheRegistryBuildsAnyRegisteredClassifier) {
  const std::vector<std::string> family{"resnet18",    "resnet34",    "sdnet18",
                                        "sdnet34",     "sdnet18-all", "sdnet34-all",
                                        "sdnet18-all-noshortcut", "sdnet34-all-noshortcut"};
  for (const auto& name : family) {
    auto model = make_model(name, ModelOptions().num_classes(3).in_channels(1).width(0.0625));
    ASSERT_TRUE(model) << name;
    EXPECT_EQ(model->forward(torch::randn({2, 1, 16, 16})).sizes(), c10::IntArrayRef({2, 3})) << name;
  }
  deepsc::nn::register_model("pooled-linear", [](const ModelOptions& o) -> std::shared_ptr<Classifier> {
    return std::make_shared<PooledLinearImpl>(o);
  });
  const auto names = deepsc::nn::model_names();
  // The ResNet / SDNet family, the ML-CSC networks, then what register_model added.
  const std::vector<std::string> ml_csc{"mlcsc-cnn", "ml-ista", "ml-fista", "lbp", "ml-lista",
                                        "res-csc",   "plain-csc", "msdnet", "msd-csc"};
  ASSERT_EQ(names.size(), family.size() + ml_csc.size() + 1);
  EXPECT_EQ(std::vector<std::string>(names.begin(), names.begin() + 8), family);
  EXPECT_EQ(std::vector<std::string>(names.begin() + 8, names.begin() + 17), ml_csc);
  EXPECT_EQ(names.back(), "pooled-linear");
  auto custom = make_model("pooled-linear", ModelOptions().num_classes(4).in_channels(2));
  ASSERT_TRUE(std::dynamic_pointer_cast<PooledLinearImpl>(custom));
  EXPECT_EQ(custom->forward(torch::randn({5, 2, 8, 8})).sizes(), c10::IntArrayRef({5, 4}));
  EXPECT_TRUE(custom->csc_layers().empty());
  // The options are checked before any builder runs; a name is registered once.
  EXPECT_NE(error_of([] { make_model("pooled-linear", ModelOptions().num_classes(0)); }).find("num_classes"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              deepsc::nn::register_model("sdnet18", [](const ModelOptions&) { return std::shared_ptr<Classifier>(); });
            }).find("already registered"),
            std::string::npos);
  EXPECT_THROW(deepsc::nn::register_model("", [](const ModelOptions&) { return std::shared_ptr<Classifier>(); }),
               std::invalid_argument);
  EXPECT_THROW(deepsc::nn::register_model("nothing", nullptr), std::invalid_argument);
  // The architecture options are refused by a network that does not use them, and checked.
  EXPECT_NE(error_of([] { make_model("resnet18", ModelOptions().depth(20)); }).find("does not use the option depth"),
            std::string::npos);
  EXPECT_NE(error_of([] { make_model("resnet18", ModelOptions().channels({4, 0})); }).find("channels must be >= 1"),
            std::string::npos);
  EXPECT_NE(error_of([] { make_model("resnet18", ModelOptions().unfoldings(-2)); }).find("unfoldings"),
            std::string::npos);
}

TEST(Models, TheCscTemplateReachesEveryCscLayer) {
  const auto csc = CscLayerOptions().lambda(0.3).iterations(4).solver(deepsc::nn::CscSolver::Ista).nonneg(false)
                       .step_scale(0.5).learnable_lambda(true).power_iterations(7).power_tol(1e-3);
  auto model = make_model("sdnet18-all", ModelOptions().in_channels(1).width(0.0625).csc(csc));
  const auto layers = model->csc_layers();
  ASSERT_EQ(layers.size(), 17u);
  for (const auto& layer : layers) {
    const auto& o = layer->options;
    EXPECT_DOUBLE_EQ(o.lambda(), 0.3);
    EXPECT_EQ(o.iterations(), 4);
    EXPECT_EQ(o.solver(), deepsc::nn::CscSolver::Ista);
    EXPECT_FALSE(o.nonneg());
    EXPECT_DOUBLE_EQ(o.step_scale(), 0.5);
    EXPECT_EQ(o.power_iterations(), 7);
    EXPECT_DOUBLE_EQ(o.power_tol(), 1e-3);
    ASSERT_TRUE(layer->lambda.defined());
    EXPECT_TRUE(torch::allclose(layer->lambda, torch::full({o.atoms()}, 0.3)));
    // The architecture sets the sizes.
    EXPECT_EQ(o.kernel_size(), 3);
    EXPECT_EQ(o.padding(), 1);
    EXPECT_GE(o.in_channels(), 1);
  }
  EXPECT_EQ(layers.front()->options.in_channels(), 1);
  EXPECT_EQ(layers.front()->options.atoms(), 4);
}
