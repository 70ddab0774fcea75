// The run loop of learn_dictionary() and its checkpoints. A checkpoint holds the whole learner
// state (atoms, online statistics, the step's power-iteration vector, atom usage in the current
// dead-atom window, the held-out codes that warm-start the next evaluation, an atom-restart trial
// under way, counters and history);
// the random draws of iteration t depend only on the seed and t, so a resumed run computes exactly
// what the uninterrupted one would have.

#include "learner_internal.h"

#include "deepsc/data/atomic_file.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

namespace deepsc::dictlearn {

namespace detail {

namespace {

constexpr double kFormatVersion = 4;  // 2: the error bound joined the fingerprint; 3: atom swaps; 4: restarts

/// What a checkpoint must agree on with the run resuming it, name by name.
std::vector<std::pair<std::string, double>> fingerprint(const Problem& p) {
  const auto& o = p.options;
  const auto seed = o.seed();
  return {{"format version", kFormatVersion},
          {"algorithm", static_cast<double>(o.algorithm())},
          {"number of signals", static_cast<double>(p.signals.size(0))},
          {"signal length", static_cast<double>(p.signals.size(1))},
          {"atoms", static_cast<double>(o.atoms())},
          {"dtype", p.signals.scalar_type() == torch::kDouble ? 64.0 : 32.0},
          {"seed (high bits)", static_cast<double>(seed >> 32)},
          {"seed (low bits)", static_cast<double>(seed & 0xffffffffULL)},
          {"batch size", static_cast<double>(p.batch)},
          {"lambda", o.lambda()},
          {"sparsity", static_cast<double>(o.sparsity())},
          {"error bound", o.error_bound()},
          {"learning rate", o.learning_rate()},
          {"coding tolerance", o.coding_tol()},
          {"ksvd power iterations", static_cast<double>(o.ksvd_power_iterations())},
          {"dead-atom replacement", o.replace_dead_atoms() ? 1.0 : 0.0},
          {"dead-atom window", static_cast<double>(p.window)},
          {"duplicate threshold", o.duplicate_threshold()},
          {"atom swaps", o.swap_atoms() ? 1.0 : 0.0},
          {"restart passes", static_cast<double>(o.restart_passes())}};
}

torch::Tensor fingerprint_tensor(const Problem& p) {
  std::vector<double> values;
  for (const auto& entry : fingerprint(p)) values.push_back(entry.second);
  return torch::tensor(values, torch::kDouble);
}

/// A history row: iteration, total, objective, held-out objective, seconds, restart outcome, restart started.
constexpr int64_t kHistoryColumns = 7;

torch::Tensor history_tensor(const std::vector<LearnProgress>& history) {
  auto out = torch::empty({static_cast<int64_t>(history.size()), kHistoryColumns}, torch::kDouble);
  auto* v = out.data_ptr<double>();
  for (const auto& h : history) {
    *v++ = static_cast<double>(h.iteration);
    *v++ = static_cast<double>(h.total);
    *v++ = h.objective;
    *v++ = h.holdout_objective;
    *v++ = h.seconds;
    *v++ = static_cast<double>(h.restart_outcome);
    *v++ = h.restart_started ? 1 : 0;
  }
  return out;
}

std::vector<LearnProgress> history_of(const torch::Tensor& t) {
  std::vector<LearnProgress> history;
  const auto table = t.to(torch::kDouble).contiguous();
  const auto* v = table.data_ptr<double>();
  if (table.dim() != 2 || table.size(1) != kHistoryColumns) throw std::runtime_error("the history table has the wrong shape");
  for (int64_t i = 0; i < table.size(0); ++i, v += kHistoryColumns) {
    history.push_back({static_cast<int64_t>(v[0]), static_cast<int64_t>(v[1]), v[2], v[3], v[4],
                       static_cast<RestartOutcome>(static_cast<int>(v[5])), v[6] != 0});
  }
  return history;
}

void write_optional(torch::serialize::OutputArchive& archive, const std::string& key, const torch::Tensor& t) {
  if (t.defined()) archive.write(key, t.cpu());
}

torch::Tensor read_optional(torch::serialize::InputArchive& archive, const std::string& key,
                            const torch::TensorOptions& options) {
  torch::Tensor t;
  if (!archive.try_read(key, t)) return {};
  return t.to(options).contiguous();
}

}  // namespace

void save_state(const std::string& path, const Problem& problem, const LearnerState& s) {
  torch::serialize::OutputArchive archive;
  archive.write("deepsc_dictlearn_fingerprint", fingerprint_tensor(problem));
  archive.write("atoms", s.atoms.cpu());
  write_optional(archive, "stats_a", s.stats_a);
  write_optional(archive, "stats_b", s.stats_b);
  write_optional(archive, "power_vector", s.power_vector);
  write_optional(archive, "holdout_codes", s.holdout_codes);
  archive.write("usage", s.usage.cpu());
  write_optional(archive, "restart_fallback", s.restart_fallback);
  archive.write("counters", torch::tensor({s.iteration, s.replaced, s.swapped, s.restarted, s.restart_passes_left,
                                           static_cast<int64_t>(s.restarts_over)},
                                          torch::kLong));
  archive.write("seconds", torch::tensor({s.seconds, s.restart_reference}, torch::kDouble));
  archive.write("history", history_tensor(s.history));
  data::write_file_atomically_with(path, [&](const std::string& temporary) { archive.save_to(temporary); });
}

LearnerState load_state(const std::string& path, const Problem& problem) {
  LearnerState s;
  const auto& opts = problem.signals.options();
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    torch::Tensor saved;
    if (!archive.try_read("deepsc_dictlearn_fingerprint", saved)) {
      throw std::invalid_argument(path + ": not a deepsc dictionary-learning checkpoint");
    }
    const auto expected = fingerprint(problem);
    const auto values = saved.to(torch::kDouble).contiguous();
    if (values.numel() != static_cast<int64_t>(expected.size()) || values[0].item<double>() != kFormatVersion) {
      throw std::invalid_argument(path + ": a dictionary-learning checkpoint of another format version");
    }
    for (size_t i = 0; i < expected.size(); ++i) {
      if (values[static_cast<int64_t>(i)].item<double>() != expected[i].second) {
        throw std::invalid_argument(path + ": checkpoint of a run with another " + expected[i].first +
                                    " (cannot resume this run from it)");
      }
    }
    torch::Tensor counters, seconds, history;
    archive.read("atoms", s.atoms);
    archive.read("usage", s.usage);
    archive.read("counters", counters);
    archive.read("seconds", seconds);
    archive.read("history", history);
    s.atoms = s.atoms.to(opts).contiguous();
    s.usage = s.usage.to(opts.dtype(torch::kLong)).contiguous();
    s.stats_a = read_optional(archive, "stats_a", opts);
    s.stats_b = read_optional(archive, "stats_b", opts);
    s.power_vector = read_optional(archive, "power_vector", opts);
    s.holdout_codes = read_optional(archive, "holdout_codes", opts);
    s.restart_fallback = read_optional(archive, "restart_fallback", opts);
    if (counters.numel() != 6 || seconds.numel() != 2) throw std::runtime_error("damaged counters");
    s.iteration = counters[0].item<int64_t>();
    s.replaced = counters[1].item<int64_t>();
    s.swapped = counters[2].item<int64_t>();
    s.restarted = counters[3].item<int64_t>();
    s.restart_passes_left = counters[4].item<int64_t>();
    s.restarts_over = counters[5].item<int64_t>() != 0;
    s.seconds = seconds[0].item<double>();
    s.restart_reference = seconds[1].item<double>();
    s.history = history_of(history);
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    throw std::invalid_argument(path + ": cannot read the checkpoint (" + what.substr(0, what.find('\n')) + ")");
  }
  const int64_t m = problem.options.atoms(), n = problem.signals.size(1);
  const bool fallback_ok = s.restart_passes_left == 0 ? !s.restart_fallback.defined()
                                                       : s.restart_fallback.defined() && s.restart_fallback.sizes() == s.atoms.sizes();
  if (s.atoms.dim() != 2 || s.atoms.size(0) != m || s.atoms.size(1) != n || s.usage.numel() != m || !fallback_ok) {
    throw std::invalid_argument(path + ": checkpoint holds tensors of the wrong shape");
  }
  return s;
}

double step(Problem& problem, LearnerState& state, int64_t t) {
  switch (problem.options.algorithm()) {
    case Algorithm::OlshausenField:
      return olshausen_field_step(problem, state, t);
    case Algorithm::Online:
      return online_step(problem, state, t);
    case Algorithm::Ksvd:
      return ksvd_step(problem, state, t);
    case Algorithm::Mod:
      return mod_step(problem, state, t);
  }
  throw std::invalid_argument("unknown dictionary-learning algorithm");
}

}  // namespace detail

LearnResult learn_dictionary(const torch::Tensor& signals, const LearnOptions& options) {
  detail::Problem problem(signals, options);
  torch::NoGradGuard no_grad;
  const auto& o = problem.options;
  const bool resume = o.resume() && std::filesystem::exists(o.checkpoint());
  detail::LearnerState state = resume ? detail::load_state(o.checkpoint(), problem) : detail::initial_state(problem);

  const double earlier = state.seconds;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t t = state.iteration; t < o.iterations(); ++t) {
    LearnProgress progress;
    progress.iteration = t + 1;
    progress.total = o.iterations();
    const int64_t kept_before = state.restarted;
    const bool over_before = state.restarts_over;
    progress.objective = detail::step(problem, state, t);
    if (state.restarted > kept_before) progress.restart_outcome = RestartOutcome::Kept;
    if (state.restarts_over && !over_before) progress.restart_outcome = RestartOutcome::Rejected;
    // A running trial counts down at each coding, before a new one can begin.
    progress.restart_started = state.restart_passes_left > 0 && state.restart_passes_left == o.restart_passes();
    progress.holdout_objective = std::numeric_limits<double>::quiet_NaN();
    const bool last = t + 1 == o.iterations();
    if (problem.holdout.defined() && ((t + 1) % o.eval_every() == 0 || last)) {
      progress.holdout_objective = detail::holdout_objective(problem, state);
    }
    state.iteration = t + 1;
    state.seconds = earlier + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.seconds = state.seconds;
    state.history.push_back(progress);
    if (!o.checkpoint().empty() && ((t + 1) % o.checkpoint_every() == 0 || last)) {
      detail::save_state(o.checkpoint(), problem, state);
    }
    if (o.on_progress()) o.on_progress()(progress);
  }

  LearnResult result;
  result.dictionary = detail::final_atoms(problem, state).t().contiguous();
  result.history = std::move(state.history);
  result.replaced_atoms = state.replaced;
  result.swapped_atoms = state.swapped;
  result.restarted_atoms = state.restarted;
  return result;
}

}  // namespace deepsc::dictlearn
