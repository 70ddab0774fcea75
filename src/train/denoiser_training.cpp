#include "deepsc/train/denoiser_training.h"

#include "deepsc/conv/image_quality.h"
#include "deepsc/conv/restoration_benchmark.h"
#include "deepsc/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <stdexcept>

namespace deepsc::train {

namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

/// The pictures as [1, C, H, W] tensors of the model's dtype and device, checked.
std::vector<torch::Tensor> prepared(const nn::CscDenoiser& model, const std::vector<torch::Tensor>& pictures,
                                    int64_t min_side) {
  require(!pictures.empty(), "denoiser training: no pictures");
  std::vector<torch::Tensor> out;
  const auto options = model->analysis.options();
  for (size_t i = 0; i < pictures.size(); ++i) {
    auto p = pictures[i];
    require(p.defined() && (p.dim() == 3 || p.dim() == 4), "denoiser training: picture " + std::to_string(i) +
                                                               " must be [C, H, W] or [1, C, H, W]");
    if (p.dim() == 3) p = p.unsqueeze(0);
    require(p.size(0) == 1 && p.size(1) == model->options.channels(),
            "denoiser training: picture " + std::to_string(i) + " has the wrong channel count");
    require(p.size(2) >= min_side && p.size(3) >= min_side,
            "denoiser training: picture " + std::to_string(i) + " is smaller than " + std::to_string(min_side) + " pixels");
    out.push_back(p.to(options).contiguous());
  }
  return out;
}

/// One step's batch: random crops with random flips / 90° turns [B, C, c, c], σ [B] and noise.
struct Batch {
  torch::Tensor clean, noisy, sigma;
  std::array<int64_t, 2> shift{0, 0};
};

Batch draw_batch(const std::vector<torch::Tensor>& pictures, const DenoiserTrainingOptions& o, int64_t step,
                 int64_t stride) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(o.seed() * 1000003ULL + static_cast<uint64_t>(step));
  const auto uniform = [&](int64_t bound) { return torch::randint(bound, {1}, gen, torch::kLong).item<int64_t>(); };
  std::vector<torch::Tensor> crops;
  for (int64_t b = 0; b < o.batch(); ++b) {
    const auto& p = pictures[static_cast<size_t>(uniform(static_cast<int64_t>(pictures.size())))];
    auto crop = p[0].narrow(1, uniform(p.size(2) - o.crop() + 1), o.crop()).narrow(2, uniform(p.size(3) - o.crop() + 1), o.crop());
    const auto turn = uniform(8);  // 4 rotations × optional flip: the 8 symmetries of the square
    if (turn >= 4) crop = crop.flip({2});
    crop = torch::rot90(crop, turn % 4, {1, 2});
    crops.push_back(crop);
  }
  Batch batch;
  batch.clean = torch::stack(crops).contiguous();
  const auto options = batch.clean.options();
  batch.sigma = (o.sigma_min() + (o.sigma_max() - o.sigma_min()) * torch::rand({o.batch()}, gen, torch::kDouble)).to(options);
  batch.noisy = batch.clean + batch.sigma.view({-1, 1, 1, 1}) * torch::randn(batch.clean.sizes(), gen, torch::kDouble).to(options);
  batch.shift = {uniform(stride), uniform(stride)};
  return batch;
}

double cosine_rate(const DenoiserTrainingOptions& o, int64_t step) {
  const double progress = o.steps() > 1 ? double(step) / double(o.steps() - 1) : 1.0;
  return o.final_learning_rate() + 0.5 * (o.learning_rate() - o.final_learning_rate()) * (1 + std::cos(M_PI * progress));
}

void check_options(const DenoiserTrainingOptions& o, const nn::CscDenoiserOptions& net) {
  require(o.steps() >= 1, "denoiser training: steps must be >= 1");
  require(o.batch() >= 1, "denoiser training: batch must be >= 1");
  const int64_t pad = net.kernel_size() - 1 + net.stride();
  require(o.crop() > pad, "denoiser training: crop must be larger than the network's padding " + std::to_string(pad));
  require(std::isfinite(o.sigma_min()) && std::isfinite(o.sigma_max()) && o.sigma_min() >= 0 && o.sigma_max() >= o.sigma_min(),
          "denoiser training: need 0 <= sigma_min <= sigma_max");
  require(std::isfinite(o.learning_rate()) && o.learning_rate() > 0 && std::isfinite(o.final_learning_rate()) &&
              o.final_learning_rate() >= 0,
          "denoiser training: learning rates must be finite, the first > 0");
  require(o.checkpoint_every() >= 0 && o.report_every() >= 1, "denoiser training: checkpoint_every >= 0 and report_every >= 1");
}

}  // namespace

DenoiserTrainingResult train_csc_denoiser(nn::CscDenoiser& model, const std::vector<torch::Tensor>& pictures,
                                          const DenoiserTrainingOptions& o) {
  check_options(o, model->options);
  const auto images = prepared(model, pictures, o.crop());
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(o.learning_rate()));

  DenoiserTrainingResult result;
  RunState state;
  if (o.resume() && !o.checkpoint().empty() && std::filesystem::exists(o.checkpoint())) {
    state = load_checkpoint(o.checkpoint(), *model, &optimizer);
  }
  const auto save = [&]() {
    if (!o.checkpoint().empty()) save_checkpoint(o.checkpoint(), *model, &optimizer, state);
  };

  model->train();
  const auto start = std::chrono::steady_clock::now();
  const double seconds_before = state.seconds;
  // Summed on the device and read at reports only: no host synchronisation per step.
  torch::Tensor loss_sum = torch::zeros({}, model->analysis.options().requires_grad(false));
  int64_t loss_count = 0;
  for (int64_t step = state.steps_done; step < o.steps(); ++step) {
    for (auto& group : optimizer.param_groups()) group.options().set_lr(cosine_rate(o, step));
    const auto batch = draw_batch(images, o, step, model->options.stride());
    optimizer.zero_grad();
    const auto estimate = model->forward(batch.noisy, batch.sigma, o.average_shifts(), batch.shift);
    const auto loss = torch::mse_loss(estimate, batch.clean);
    loss.backward();
    optimizer.step();
    loss_sum += loss.detach();
    ++loss_count;
    state.steps_done = step + 1;
    state.seconds = seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const bool last = state.steps_done == o.steps();
    const bool stop = !last && o.should_stop() && o.should_stop()();
    if (state.steps_done % o.report_every() == 0 || last || stop) {
      result.last_loss = loss_sum.item<double>() / static_cast<double>(loss_count);
      if (o.on_report()) o.on_report()({state.steps_done, o.steps(), result.last_loss, state.seconds});
      loss_sum.zero_();
      loss_count = 0;
    }
    if (last || stop || (o.checkpoint_every() > 0 && state.steps_done % o.checkpoint_every() == 0)) save();
    if (stop) {
      result.stopped = true;
      break;
    }
  }
  model->eval();
  result.steps_done = state.steps_done;
  result.seconds = state.seconds;
  return result;
}

nn::CscDenoiser load_csc_denoiser(const std::string& path) {
  require(std::filesystem::is_regular_file(path), path + ": no such model file");
  torch::Tensor architecture;
  try {
    torch::serialize::InputArchive archive, model_archive;
    archive.load_from(path);
    archive.read("model", model_archive);
    model_archive.read("architecture", architecture, /*is_buffer=*/true);
  } catch (const c10::Error&) {
    throw std::invalid_argument(path + ": not a deepsc CSC denoiser model");
  }
  nn::CscDenoiser model(nn::options_from_architecture(architecture));
  load_checkpoint(path, *model, nullptr);
  model->eval();
  return model;
}

std::vector<double> evaluate_csc_denoiser(nn::CscDenoiser& model, const std::vector<torch::Tensor>& pictures,
                                          double sigma, uint64_t seed) {
  require(std::isfinite(sigma) && sigma >= 0, "denoiser evaluation: sigma must be a finite number >= 0");
  const auto images = prepared(model, pictures, 1);
  torch::NoGradGuard no_grad;
  model->eval();
  std::vector<double> psnr;
  for (const auto& clean : images) {
    const auto noisy = conv::add_gaussian_noise(clean, sigma, seed);
    const auto estimate = model->forward(noisy, torch::full({1}, sigma, clean.options())).clamp(0, 1);
    psnr.push_back(conv::psnr(estimate, clean).item<double>());
  }
  return psnr;
}

}  // namespace deepsc::train
