// deepsc learn-dict: dense dictionary learning (Olshausen–Field, online, K-SVD, MOD) on patches of
// natural images or on a patch matrix, with a progress bar showing the objective, checkpoints that
// --resume continues, and the atoms as .npy and PNG.
#include "atom_report.h"
#include "command_support.h"
#include "learn_dict_patches.h"
#include "progress_bar.h"
#include "restore_support.h"

#include "deepsc/data/npy_tensor.h"
#include "deepsc/dictlearn/dictionary_learning.h"
#include "deepsc/viz/image_grid.h"

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>

namespace deepsc::cli {

namespace {

struct LearnDictCommand {
  PatchSource source;
  std::string algo = "online", out, png, holdout, checkpoint, save_patches, save_holdout;
  int64_t atoms = 256, sparsity = 0, iterations = 0, batch = 256, eval_every = 0, checkpoint_every = 10;
  double lambda = 0, learning_rate = 0, holdout_fraction = 0.1, error_bound = 0;
  bool resume = false, json = false, no_atom_swaps = false;
  int64_t restart_passes = 10;
};

/// ksvd/mod sweep the whole set each iteration; the others take one mini-batch.
int64_t default_iterations(dictlearn::Algorithm a) {
  return a == dictlearn::Algorithm::Ksvd || a == dictlearn::Algorithm::Mod ? 20 : 2000;
}

nlohmann::json history_json(const std::vector<dictlearn::LearnProgress>& history) {
  auto rows = nlohmann::json::array();
  for (const auto& p : history) {
    nlohmann::json row{{"iteration", p.iteration}, {"seconds", p.seconds}, {"objective", p.objective}};
    if (!std::isnan(p.holdout_objective)) row["holdout_objective"] = p.holdout_objective;
    if (p.restart_started) row["restart_started"] = true;
    if (p.restart_outcome != dictlearn::RestartOutcome::None) row["restart_outcome"] = dictlearn::restart_outcome_name(p.restart_outcome);
    rows.push_back(row);
  }
  return rows;
}

/// The flag combinations the learners need, checked before any work.
void check_flags(const LearnDictCommand& o, dictlearn::Algorithm algorithm) {
  restore::check_output_paths({{o.out, "--out"},
                               {o.png, "--png"},
                               {o.save_patches, "--save-patches"},
                               {o.save_holdout, "--save-holdout"},
                               {o.checkpoint, "--checkpoint"}});
  if (o.resume && o.checkpoint.empty()) throw std::invalid_argument("--resume needs --checkpoint FILE");
  if (!o.save_holdout.empty() && o.holdout.empty() && !(o.holdout_fraction > 0))
    throw std::invalid_argument("--save-holdout: no patches are held out (--holdout-fraction 0)");
  const bool l1 = algorithm == dictlearn::Algorithm::OlshausenField || algorithm == dictlearn::Algorithm::Online;
  if (l1 && !(o.lambda > 0)) throw std::invalid_argument("--algo " + o.algo + " needs --lambda > 0 (the l1 weight)");
  if (!l1 && o.sparsity < 1) throw std::invalid_argument("--algo " + o.algo + " needs --sparsity K >= 1 (non-zeros per patch)");
  if (l1 && o.error_bound > 0) throw std::invalid_argument("--error-bound applies to --algo ksvd and mod (Batch-OMP codes)");
}

dictlearn::LearnOptions learn_options(const LearnDictCommand& o, dictlearn::Algorithm algorithm, uint64_t seed) {
  const int64_t iterations = o.iterations > 0 ? o.iterations : default_iterations(algorithm);
  return dictlearn::LearnOptions(o.atoms)
      .algorithm(algorithm)
      .lambda(o.lambda)
      .sparsity(o.sparsity)
      .error_bound(o.error_bound)
      .iterations(iterations)
      .batch_size(o.batch)
      .learning_rate(o.learning_rate)
      .seed(seed)
      .eval_every(o.eval_every > 0 ? o.eval_every : std::max<int64_t>(1, iterations / 20))
      .checkpoint(o.checkpoint)
      .checkpoint_every(o.checkpoint_every)
      .resume(o.resume)
      .swap_atoms(!o.no_atom_swaps)
      .restart_passes(o.restart_passes);
}

/// The progress bar's line: iterations, rate, ETA, the objective and the last held-out objective.
std::function<void(const dictlearn::LearnProgress&)> show_progress(ProgressBar& bar, const std::string& algo) {
  auto holdout = std::make_shared<double>(std::numeric_limits<double>::quiet_NaN());
  return [&bar, algo, holdout](const dictlearn::LearnProgress& p) {
    if (!std::isnan(p.holdout_objective)) *holdout = p.holdout_objective;
    std::ostringstream suffix;
    suffix << std::setprecision(5) << " objective " << p.objective;
    if (!std::isnan(*holdout)) suffix << " held-out " << *holdout;
    const double rate = p.seconds > 0 ? static_cast<double>(p.iteration) / p.seconds : 0;
    bar.update(p.iteration, p.total, "learn-dict " + algo, rate, rate > 0 ? (p.total - p.iteration) / rate : 0, "it/s",
               suffix.str());
  };
}

nlohmann::json report_json(const LearnDictCommand& o, const PreparedPatches& prepared, const dictlearn::LearnResult& result,
                           const torch::Tensor& dictionary, double prepare_seconds, double learn_seconds) {
  const auto& last = result.history.back();
  nlohmann::json report{{"command", "learn-dict"}, {"algo", dictlearn::algorithm_name(dictlearn::parse_algorithm(o.algo))},
                        {"atoms", o.atoms}, {"patch", prepared.patch > 0 ? nlohmann::json(prepared.patch) : nlohmann::json()},
                        {"dimension", dictionary.size(0)},
                        {"training_patches", prepared.train.size(0)},
                        {"holdout_patches", prepared.holdout.defined() ? prepared.holdout.size(0) : 0},
                        {"whitening", prepared.whitening}, {"lambda", o.lambda}, {"sparsity", o.sparsity},
                        {"error_bound", o.error_bound}, {"iterations", last.iteration}, {"batch", o.batch},
                        {"objective", last.objective}, {"replaced_atoms", result.replaced_atoms}, {"swapped_atoms", result.swapped_atoms},
                        {"restarted_atoms", result.restarted_atoms},
                        {"prepare_seconds", prepare_seconds}, {"learn_seconds", learn_seconds},
                        {"threads", at::get_num_threads()}, {"out", o.out}, {"png", o.png},
                        {"history", history_json(result.history)}};
  if (!std::isnan(last.holdout_objective)) report["holdout_objective"] = last.holdout_objective;
  return report;
}

void print_summary(std::ostream& out, const LearnDictCommand& o, const PreparedPatches& prepared,
                   const dictlearn::LearnResult& result, double learn_seconds) {
  const auto& last = result.history.back();
  out << "learned " << o.atoms << " atoms of ";
  if (prepared.patch > 0) {
    out << prepared.patch << "x" << prepared.patch;
  } else {
    out << "length " << prepared.train.size(1);
  }
  out << " ("
      << dictlearn::algorithm_name(dictlearn::parse_algorithm(o.algo)) << ", " << last.iteration << " iterations, "
      << prepared.train.size(0) << " patches";
  if (!prepared.whitening.empty() && prepared.whitening != "none") out << ", " << prepared.whitening << " whitening";
  out << ") in " << std::setprecision(3) << learn_seconds << " s: objective " << std::setprecision(6) << last.objective;
  if (!std::isnan(last.holdout_objective)) out << ", held-out " << last.holdout_objective;
  if (result.replaced_atoms > 0) out << ", " << result.replaced_atoms << " unused atoms replaced";
  if (result.swapped_atoms > 0) out << ", " << result.swapped_atoms / 2 << " atom swaps";
  if (result.restarted_atoms > 0) out << ", " << result.restarted_atoms << " atom restarts kept";
  out << " -> " << o.out << (o.png.empty() ? "" : ", " + o.png) << "\n";
}

void run_learn_dict(const LearnDictCommand& o, Context& ctx) {
  const auto algorithm = dictlearn::parse_algorithm(o.algo);
  check_flags(o, algorithm);
  const auto device = parse_device(ctx.runtime.device);

  Stopwatch clock;
  auto prepared = prepare_patches(o.source, o.holdout, o.holdout_fraction, ctx);
  const bool image_patches = prepared.patch > 0;
  if (!o.png.empty() && !image_patches) {
    throw std::invalid_argument("--png: rows of length " + std::to_string(prepared.train.size(1)) +
                                " are not p x p image patches, so the atoms have no picture");
  }
  if (!o.save_patches.empty()) data::save_npy(o.save_patches, prepared.train);
  if (!o.save_holdout.empty()) {
    if (!prepared.holdout.defined()) throw std::invalid_argument("--save-holdout: no patches are held out (--holdout-fraction 0)");
    data::save_npy(o.save_holdout, prepared.holdout);
  }
  const double prepare_seconds = clock.seconds();

  auto options = learn_options(o, algorithm, ctx.runtime.seed);
  if (prepared.holdout.defined()) options.holdout(prepared.holdout.to(device));
  if (o.resume && std::filesystem::exists(o.checkpoint) && !o.json) ctx.out << "resuming from " << o.checkpoint << "\n";
  ProgressBar bar(ctx.err);
  options.on_progress(show_progress(bar, o.algo));

  const auto learn_clock = Stopwatch();
  const auto result = dictlearn::learn_dictionary(prepared.train.to(device), options);
  synchronize(device);
  const double learn_seconds = learn_clock.seconds();
  bar.finish();

  const auto dictionary = result.dictionary.to(torch::kCPU);
  data::save_npy(o.out, dictionary);
  if (!o.png.empty()) viz::write_dictionary_png(o.png, dictionary, 1, 0, viz::visible_scale(prepared.patch));

  auto report = report_json(o, prepared, result, dictionary, prepare_seconds, learn_seconds);
  std::string statistics;  // spatial statistics of the atoms: image patches only
  if (image_patches) report["statistics"] = atom_statistics_report(dictionary, ctx.runtime.seed, &statistics);
  if (o.json) {
    ctx.out << report.dump() << "\n";
    return;
  }
  print_summary(ctx.out, o, prepared, result, learn_seconds);
  if (image_patches) ctx.out << statistics << "\n";
}

}  // namespace

Action add_learn_dict_command(CLI::App& app) {
  auto o = std::make_shared<LearnDictCommand>();
  auto* cmd = app.add_subcommand("learn-dict", "Learn a dense dictionary D [n, m] from natural-image patches or any signals");
  add_patch_source_options(cmd, o->source);
  cmd->add_option("--atoms", o->atoms, "m, number of atoms")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--algo", o->algo, "olshausen-field | online | ksvd | mod")->capture_default_str();
  cmd->add_option("--lambda", o->lambda, "l1 weight of the codes (olshausen-field, online): 1/2||y - Dx||^2 + lambda||x||_1")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--sparsity", o->sparsity, "K, non-zeros per patch (ksvd, mod; Batch-OMP)")->check(CLI::PositiveNumber);
  cmd->add_option("--error-bound", o->error_bound,
                  "ksvd, mod: code a patch only until ||y - Dx||_2 <= this (K stays the cap; 0: always K atoms)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--iterations", o->iterations, "ksvd/mod: passes over all patches (default 20); online/olshausen-field: mini-batches (default 2000)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch", o->batch, "Patches per mini-batch (online, olshausen-field)")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--learning-rate", o->learning_rate, "olshausen-field: step on D (0: the library's default)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--holdout", o->holdout, "Held-out patches .npy [H, n] whose objective is tracked (default: a fraction of the patches)");
  cmd->add_option("--holdout-fraction", o->holdout_fraction, "Fraction of the patches held out when no --holdout is given (0: none)")
      ->check(CLI::Range(0.0, 0.5))->capture_default_str();
  cmd->add_option("--eval-every", o->eval_every, "Held-out objective every N iterations (0: 20 times per run)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--out", o->out, "Learned dictionary D.npy [n, m], unit-norm columns (written atomically)")->required();
  cmd->add_option("--png", o->png, "Picture of the atoms");
  cmd->add_option("--save-patches", o->save_patches, "Also write the training patches as .npy [N, n] (after whitening)");
  cmd->add_option("--save-holdout", o->save_holdout, "Also write the held-out patches as .npy [H, n]");
  cmd->add_option("--checkpoint", o->checkpoint, "Learner state, rewritten atomically every --checkpoint-every iterations");
  cmd->add_option("--checkpoint-every", o->checkpoint_every, "Iterations between checkpoints")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_flag("--resume", o->resume, "Continue from --checkpoint when it exists");
  cmd->add_flag("--no-atom-swaps", o->no_atom_swaps,
                "ksvd/mod as published: no splitting of atoms that blend two directions into the place of atoms that "
                "carry little");
  cmd->add_option("--restart-passes", o->restart_passes,
                  "ksvd/mod with --sparsity: passes of an atom-restart trial when the objective stalls (0: none)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_flag("--json", o->json, "Print a JSON report (with the objective history)");
  return [o](Context& ctx) { run_learn_dict(*o, ctx); };
}

}  // namespace deepsc::cli
