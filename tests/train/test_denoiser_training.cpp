// Supervised training of the strided CSC denoiser (train/denoiser_training.h): it learns (the
// held-out error falls), a run stopped and resumed from its checkpoint equals the uninterrupted run,
// the saved model loads back, and bad options are refused.
#include "deepsc/train/denoiser_training.h"

#include "deepsc/train/checkpoint.h"

#include "support/scratch_dir.h"
#include "support/synthetic_images.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace {

using deepsc::nn::CscDenoiser;
using deepsc::nn::CscDenoiserOptions;
using deepsc::train::DenoiserTrainingOptions;

CscDenoiserOptions small_network() { return CscDenoiserOptions().atoms(8).kernel_size(5).stride(2).iterations(3); }

/// Two training pictures: the synthetic scene and its mirror image, 64 × 64, float32.
std::vector<torch::Tensor> training_pictures() {
  const auto p = deepsc::testing::synthetic_picture(64).to(torch::kFloat);
  return {p, p.flip({3}).contiguous()};
}

DenoiserTrainingOptions quick_training(int64_t steps) {
  return DenoiserTrainingOptions().steps(steps).batch(6).crop(32).sigma_min(0.05).sigma_max(0.15).learning_rate(3e-3).seed(7);
}

TEST(DenoiserTraining, TrainingLowersTheErrorOnAnUnseenPicture) {
  torch::manual_seed(0);
  CscDenoiser model(small_network());
  // Unseen: the scene drawn at another scale (other edges, other stripe phases).
  const std::vector<torch::Tensor> unseen{deepsc::testing::synthetic_picture(96).to(torch::kFloat)};
  const double before = deepsc::train::evaluate_csc_denoiser(model, unseen, 0.1, 3)[0];
  int reports = 0;
  const auto result = deepsc::train::train_csc_denoiser(
      model, training_pictures(), quick_training(80).report_every(20).on_report([&](const auto& p) {
        ++reports;
        EXPECT_GT(p.loss, 0);
        EXPECT_EQ(p.steps, 80);
      }));
  EXPECT_EQ(result.steps_done, 80);
  EXPECT_EQ(reports, 4);
  EXPECT_FALSE(result.stopped);
  const double after = deepsc::train::evaluate_csc_denoiser(model, unseen, 0.1, 3)[0];
  // Noisy input at σ = 0.1: 20 dB. Measured: 25.7 dB before and 27.9 dB after training.
  EXPECT_GT(after, before + 1.0) << before << " -> " << after;
  EXPECT_GT(after, 26.0);
}

TEST(DenoiserTraining, StoppedAndResumedRunEqualsTheUninterruptedOne) {
  const auto dir = deepsc::testing::fresh_dir("denoiser_resume");
  const auto pictures = training_pictures();
  const auto build = [] {
    torch::manual_seed(1);
    return CscDenoiser(small_network());
  };
  auto whole = build();
  deepsc::train::train_csc_denoiser(whole, pictures, quick_training(10));

  const auto checkpoint = (dir / "run.checkpoint").string();
  auto first = build();
  int steps_seen = 0;
  const auto stopped = deepsc::train::train_csc_denoiser(
      first, pictures, quick_training(10).checkpoint(checkpoint).checkpoint_every(0).should_stop([&] { return ++steps_seen == 4; }));
  EXPECT_TRUE(stopped.stopped);
  EXPECT_EQ(stopped.steps_done, 4);
  ASSERT_TRUE(std::filesystem::exists(checkpoint));

  auto resumed = build();  // a new process would build the model afresh
  const auto rest = deepsc::train::train_csc_denoiser(resumed, pictures, quick_training(10).checkpoint(checkpoint).resume(true));
  EXPECT_EQ(rest.steps_done, 10);
  const auto a = whole->named_parameters(), b = resumed->named_parameters();
  for (const auto& p : a) EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
}

TEST(DenoiserTraining, SavedModelLoadsBackWithItsArchitecture) {
  const auto dir = deepsc::testing::fresh_dir("denoiser_model");
  torch::manual_seed(2);
  CscDenoiser model(small_network().atoms(6).stride(3).iterations(2));
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.add_(0.01 * torch::randn_like(p));
  }
  const auto file = (dir / "model.pt").string();
  deepsc::train::save_checkpoint(file, *model, nullptr, {});
  auto loaded = deepsc::train::load_csc_denoiser(file);
  EXPECT_EQ(loaded->options.atoms(), 6);
  EXPECT_EQ(loaded->options.stride(), 3);
  const auto y = torch::rand({1, 1, 30, 30});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::equal(loaded->forward(y, torch::tensor(0.1)), model->forward(y, torch::tensor(0.1))));

  EXPECT_THROW(deepsc::train::load_csc_denoiser((dir / "missing.pt").string()), std::invalid_argument);
  const auto junk = (dir / "junk.pt").string();
  std::ofstream(junk) << "not a model";
  EXPECT_THROW(deepsc::train::load_csc_denoiser(junk), std::invalid_argument);
}

TEST(DenoiserTraining, BadOptionsAreRefusedBeforeAnyStep) {
  CscDenoiser model(small_network());
  const auto pictures = training_pictures();
  const auto refused = [&](const DenoiserTrainingOptions& o, const std::vector<torch::Tensor>& p) {
    EXPECT_THROW(deepsc::train::train_csc_denoiser(model, p, o), std::invalid_argument);
  };
  refused(quick_training(5), {});
  refused(quick_training(5).crop(6), pictures);  // not larger than the padding k - 1 + s = 6
  refused(quick_training(5).crop(80), pictures);  // larger than the pictures
  refused(quick_training(5).sigma_min(0.2).sigma_max(0.1), pictures);
  refused(quick_training(0), pictures);
  refused(quick_training(5), {torch::rand({3, 64, 64})});  // three channels for a grey network
}

}  // namespace
