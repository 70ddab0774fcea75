#include "deepsc/train/checkpoint.h"

#include "deepsc/data/atomic_file.h"

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace deepsc::train {

namespace {

constexpr int64_t kFormatVersion = 1;

/// The names and shapes of the model's parameters and the names of its buffers (whose shapes may
/// legitimately change, e.g. a power-iteration vector): two models with the same layout are the
/// same architecture, so loading a checkpoint into another one is caught even where parameter
/// names happen to coincide.
std::string layout(const torch::nn::Module& model) {
  std::ostringstream text;
  for (const auto& p : model.named_parameters()) text << p.key() << p.value().sizes() << ";";
  for (const auto& b : model.named_buffers()) text << b.key() << ";";
  return text.str();
}

torch::Tensor counters(const RunState& s) {
  return torch::tensor({static_cast<double>(kFormatVersion), static_cast<double>(s.epochs_done),
                        static_cast<double>(s.steps_done), s.best_top1, static_cast<double>(s.best_epoch), s.seconds},
                       torch::kDouble);
}

}  // namespace

void save_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer,
                     const RunState& state) {
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  if (optimizer) {
    optimizer->save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
  }
  archive.write("deepsc_run_state", counters(state));
  archive.write("deepsc_layout", c10::IValue(layout(model)));
  data::write_file_atomically_with(path, [&](const std::string& temporary) { archive.save_to(temporary); });
}

RunState load_checkpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer* optimizer) {
  if (!std::filesystem::is_regular_file(path)) throw std::invalid_argument(path + ": no such checkpoint file");
  torch::serialize::InputArchive archive, model_archive, optimizer_archive;
  torch::Tensor state;
  try {
    archive.load_from(path);
    if (!archive.try_read("deepsc_run_state", state) || state.numel() != 6 || state[0].item<double>() != kFormatVersion) {
      throw std::invalid_argument(path + ": not a deepsc training checkpoint (or of another format version)");
    }
    c10::IValue saved_layout;
    if (!archive.try_read("deepsc_layout", saved_layout) || !saved_layout.isString() ||
        saved_layout.toStringRef() != layout(model)) {
      throw std::invalid_argument(path + ": the checkpoint is of another architecture than this model");
    }
    archive.read("model", model_archive);
    model.load(model_archive);
    if (optimizer) {
      if (!archive.try_read("optimizer", optimizer_archive)) {
        throw std::invalid_argument(path + ": holds no optimiser state (a best-model checkpoint cannot resume a run)");
      }
      optimizer->load(optimizer_archive);
    }
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    throw std::invalid_argument(path + ": cannot load the checkpoint into this model (" + what + ")");
  }
  RunState s;
  auto v = state.to(torch::kDouble);
  s.epochs_done = static_cast<int64_t>(v[1].item<double>());
  s.steps_done = static_cast<int64_t>(v[2].item<double>());
  s.best_top1 = v[3].item<double>();
  s.best_epoch = static_cast<int64_t>(v[4].item<double>());
  s.seconds = v[5].item<double>();
  return s;
}

}  // namespace deepsc::train
