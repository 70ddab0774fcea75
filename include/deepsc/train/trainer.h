#pragma once
/// Training and evaluation of image classifiers (ResNet, SDNet, ...) by mini-batch SGD:
///   min_θ  E_(x,y) CE_ε(f_θ(x), y) + (wd/2)‖θ‖²
/// with cross-entropy CE_ε (label smoothing ε), SGD with momentum (optionally Nesterov) and the
/// schedules of schedule.h, on the data sets of deepsc::data. Everything a run produces goes into
/// one folder:
///   config.yaml          the configuration (a resume checks it is unchanged)
///   metrics.jsonl        one JSON object per completed epoch (losses, top-1/top-5, lr, images/s,
///                        the mean CSC residual ‖x − Dc‖² per CSC layer on the test set)
///   metrics.tsv          the same as a table: epoch, train loss/top-1, test loss/top-1/top-5, lr, s
///   checkpoint-last.pt   model + optimiser + counters after the last completed epoch
///   checkpoint-best.pt   the model at the best test top-1 so far
/// (`deepsc train` adds summary.json, plot-curves.gp and, with gnuplot, curves.png.)
/// Runs are deterministic for a seed (data order and augmentation depend only on the seed, the
/// epoch and the position), so a run killed at any point and resumed ends identical to an
/// uninterrupted one.

#include "deepsc/data/dataset.h"
#include "deepsc/nn/registry.h"
#include "deepsc/train/checkpoint.h"
#include "deepsc/train/config.h"

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>

namespace deepsc::train {

/// Loss and accuracy over a data set.
struct EvalResult {
  double loss = 0;
  double top1 = 0;  // fraction in [0, 1]
  double top5 = 0;
  int64_t samples = 0;
  std::vector<double> csc_residuals;  // mean ‖x − D c‖² per CSC layer, forward order
  double seconds = 0;
  /// Logits [samples, classes] in the loader's order (float32, CPU) when asked for, else undefined.
  torch::Tensor logits;
  nlohmann::json to_json() const;
};

/// Evaluates `model` (switched to eval mode, no gradients) on every batch of `loader`'s epoch 0;
/// with keep_logits, EvalResult::logits holds every image's logits.
EvalResult evaluate(nn::Classifier& model, data::DataLoader& loader, const torch::Device& device,
                    double label_smoothing = 0, bool keep_logits = false);

/// Number of the `labels` [B] whose class is among the k largest `logits` [B, K].
int64_t topk_correct(const torch::Tensor& logits, const torch::Tensor& labels, int64_t k);

/// The optimiser-step hook of CSC layers: rescales the atoms of every CSC layer with
/// normalize_atoms to unit norm (CscLayerImpl::project_atoms). The trainer calls it after every
/// optimiser step, so that W stays on the sphere as in Dai et al. (2022); a training loop of one's
/// own should do the same.
void project_csc_atoms(nn::Classifier& model);

/// Progress within an epoch, for progress bars.
struct StepProgress {
  int64_t epoch = 0, epochs = 0, step = 0, steps = 0;
  double loss = 0, lr = 0, images_per_second = 0, eta_seconds = 0;
};

struct TrainOptions {
  std::string out_dir;
  /// Continue the run in out_dir from its checkpoint-last.pt (error if the config differs).
  bool resume = false;
  torch::Device device = torch::kCPU;
  uint64_t seed = 0;
  /// Called after every optimisation step (may be empty).
  std::function<void(const StepProgress&)> on_step;
  /// Called with each epoch's metrics line (may be empty).
  std::function<void(const nlohmann::json&)> on_epoch;
  /// Data-parallel training over this process group (null: one process). Every rank runs train()
  /// with the same configuration and seed: rank 0's start is broadcast, each rank loads its share of
  /// every global batch of train.batch_size images (batch_size / world size each, which must divide),
  /// gradients are averaged over the ranks weighted by their image counts in buckets whose all-reduce
  /// overlaps backward (dist::GradientReducer), batch norm normalises by each rank's batch with rank
  /// 0's running statistics (broadcast before each evaluation, as PyTorch's DDP does) or, with
  /// train.sync_batch_norm, by the global batch (dist::synchronize_batch_norm); the test set is
  /// sharded over the ranks, metrics are summed over them, and only rank 0 writes the run folder. A resumed run reads the run
  /// folder's checkpoint on every rank (a shared folder), with any world size.
  c10::intrusive_ptr<c10d::ProcessGroup> group;
  /// Gradient bucket size of a distributed run (dist::GradientReducer): smaller buckets start their
  /// all-reduce earlier in backward, larger ones send fewer messages.
  int64_t bucket_bytes = int64_t{25} << 20;
};

struct TrainSummary {
  RunState state;
  EvalResult last;
  std::string model_name;
  int64_t parameters = 0;
};

/// The model a configuration describes, for a data set of `channels` channels and `classes` classes.
std::shared_ptr<nn::Classifier> build_model(const ModelConfig& config, int64_t channels, int64_t classes);

/// The data sets and transforms a configuration describes.
struct DataPipeline {
  std::shared_ptr<const data::Dataset> train, test;
  std::shared_ptr<const data::Transform> train_transform, test_transform;
  /// The test transform without its normalisation (resize / centre crop, or the identity):
  /// images in [0, 1] as the model sees them, for corruptions and attacks.
  std::shared_ptr<const data::Transform> test_geometry;
  /// Per-channel normalisation (x − mean) / std that the transforms end with.
  std::vector<double> mean, std;
};
DataPipeline build_data(const DataConfig& config);

/// Trains as configured, writing the run folder described above. Throws std::invalid_argument for
/// a run folder that already holds a run when resume is false, or whose config differs on resume.
TrainSummary train(const TrainConfig& config, const TrainOptions& options);

}  // namespace deepsc::train
