// deepsc encode: sparse-code signals with a dense dictionary (one-step thresholding, ISTA, FISTA,
// coordinate descent, Batch-OMP) — D.npy is [n, m] (columns are atoms), Y.npy is [N, n], X.npy is
// [N, m], same dtype — or with a convolutional one (--conv-dict, see encode_conv.cpp).
#include "command_support.h"
#include "encode_options.h"

#include "deepsc/data/npy_tensor.h"
#include "deepsc/sparse/coordinate_descent.h"
#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/omp.h"
#include "deepsc/sparse/proximal_gradient.h"
#include "deepsc/sparse/thresholding.h"

#include <iomanip>
#include <memory>

namespace deepsc::cli {

sparse::ProximalGradientOptions proximal_options(const EncodeOptions& o) {
  auto opts = sparse::ProximalGradientOptions(o.lambda)
                  .max_iter(o.max_iter)
                  .tol(o.tol)
                  .nonneg(o.nonneg)
                  .stop_rule(sparse::parse_stop_rule(o.stop))
                  .check_every(o.stop == "gap" ? 10 : 1)
                  .adaptive_restart(!o.no_restart)
                  .step_scale(o.step_scale);
  if (o.iters > 0) opts.max_iter(o.iters).tol(0);  // exactly --iters iterations from X = 0
  return opts;
}

void report_encoding(const EncodeOptions& o, Context& ctx, const sparse::SolverResult& result, double seconds,
                     int64_t signals, torch::ScalarType dtype, const nlohmann::json& shape) {
  const double nonzeros = signals ? (result.codes != 0).sum().item<double>() / signals : 0.0;
  if (o.json) {
    nlohmann::json j{{"solver", o.solver},          {"signals", signals},
                     {"objective", result.objective}, {"iterations", result.iterations},
                     {"converged", result.converged}, {"seconds", seconds},
                     {"nonzeros_per_signal", nonzeros}, {"out", o.out},
                     {"dtype", dtype_name(dtype)}};
    j.update(shape);
    if (o.solver == "threshold") {
      j["beta"] = o.beta;
    } else if (o.solver == "omp") {
      j["sparsity"] = o.sparsity, j["epsilon"] = o.epsilon;
    } else {
      j["lambda"] = o.lambda;
    }
    ctx.out << j.dump() << "\n";
  } else {
    const bool fixed = o.iters > 0 && (o.solver == "ista" || o.solver == "fista");
    ctx.out << "encoded " << signals << " signals " << shape.dump() << " with " << o.solver << ": objective "
            << std::setprecision(8) << result.objective << ", " << result.iterations << " iterations, "
            << (result.converged ? "converged"
                                 : fixed ? "as asked (--iters)" : "NOT converged (raise --max-iter or --tol)")
            << ", " << std::setprecision(3) << nonzeros << " non-zeros per signal, " << seconds << " s -> " << o.out
            << "\n";
  }
}

void run_dense_encode(const EncodeOptions& o, Context& ctx) {
  const auto device = parse_device(ctx.runtime.device);
  auto d = load_float_array(o.dict, "--dict", 2);
  auto y = load_float_array(o.signals, "--signals", 2);
  if (d.scalar_type() != y.scalar_type()) {
    throw std::invalid_argument("--dict is " + dtype_name(d.scalar_type()) + " but --signals is " +
                                dtype_name(y.scalar_type()) + "; save both with one dtype");
  }
  if (y.size(1) != d.size(0)) {
    throw std::invalid_argument("--signals rows have length " + std::to_string(y.size(1)) + " but --dict atoms have length " +
                                std::to_string(d.size(0)) + " (D is [n, m], Y is [N, n])");
  }
  d = d.to(device);
  y = y.to(device);
  sparse::DenseDictionary dict(d, o.normalize);

  Stopwatch clock;
  sparse::SolverResult result;
  if (o.solver == "threshold") {
    auto kind = sparse::parse_shrinkage(o.nonneg ? "nonneg" : o.shrinkage);
    result = sparse::threshold(dict, y, sparse::ThresholdingOptions(o.beta).shrinkage(kind).sparsity(o.sparsity));
  } else if (o.solver == "ista" || o.solver == "fista") {
    const auto opts = proximal_options(o);
    result = o.solver == "ista" ? sparse::ista(dict, y, opts) : sparse::fista(dict, y, opts);
  } else if (o.solver == "cd") {
    result = sparse::coordinate_descent(dict, y,
                                        sparse::CoordinateDescentOptions(o.lambda)
                                            .max_iter(o.max_iter)
                                            .tol(o.tol)
                                            .nonneg(o.nonneg)
                                            .stop_rule(sparse::parse_stop_rule(o.stop)));
  } else if (o.solver == "omp") {
    if (o.nonneg) throw std::invalid_argument("--nonneg is not available with --solver omp");
    result = sparse::omp(dict, y, sparse::OmpOptions().sparsity(o.sparsity).epsilon(o.epsilon));
  }
  synchronize(device);
  const double seconds = clock.seconds();

  data::save_npy(o.out, result.codes.cpu());
  report_encoding(o, ctx, result, seconds, y.size(0), y.scalar_type(),
                  {{"signal_dim", d.size(0)}, {"atoms", d.size(1)}});
}


Action add_encode_command(CLI::App& app) {
  auto o = std::make_shared<EncodeOptions>();
  auto* cmd = app.add_subcommand(
      "encode", "Sparse-code signals Y [N, n] over a dictionary D [n, m], or images [N, C, H, W] over a "
                "convolutional dictionary W [M, C, k, k]");
  auto* dict = cmd->add_option("--dict", o->dict, "Dictionary D.npy [n, m], columns are atoms")->check(CLI::ExistingFile);
  auto* conv = cmd->add_option("--conv-dict", o->conv_dict, "Convolutional dictionary W.npy [M, C, k, k] or [M, C, k]")
                   ->check(CLI::ExistingFile);
  dict->excludes(conv);
  cmd->add_option("--signals", o->signals, "Signals Y.npy: [N, n] with --dict; [N, C, H, W] or [N, C, L] with --conv-dict")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out, "Codes X.npy, [N, m] or [N, M, H', W'] (written atomically)")->required();
  cmd->add_option("--solver", o->solver,
                  "threshold | ista | fista | cd (coordinate descent, --dict, CPU) | omp (--dict) | admm (--conv-dict)")
      ->check(CLI::IsMember({"threshold", "ista", "fista", "cd", "omp", "admm"}))
      ->capture_default_str();
  cmd->add_option("--lambda", o->lambda, "ISTA/FISTA/CD/ADMM: weight of ||X||_1")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--beta", o->beta, "threshold: the threshold beta")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--shrinkage", o->shrinkage, "threshold: soft | hard | nonneg")
      ->check(CLI::IsMember({"soft", "hard", "nonneg"}))
      ->capture_default_str();
  cmd->add_option("--sparsity,-K", o->sparsity, "omp: non-zeros per signal; threshold: keep the K largest")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--epsilon", o->epsilon, "omp: stop when ||Y - DX|| <= epsilon")->check(CLI::NonNegativeNumber);
  cmd->add_option("--tol", o->tol, "ISTA/FISTA/CD/ADMM: tolerance of the stop rule")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--stop", o->stop, "ISTA/FISTA/CD stop rule: change (relative) | gap (duality gap)")
      ->check(CLI::IsMember({"change", "gap"}))
      ->capture_default_str();
  cmd->add_option("--max-iter", o->max_iter, "ISTA/FISTA/ADMM: iteration cap; CD: sweep cap")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--iters", o->iters, "ISTA/FISTA: run exactly this many iterations from zero codes")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--step-scale", o->step_scale, "ISTA/FISTA: step = scale / L")->check(CLI::Range(1e-6, 1.999))->capture_default_str();
  cmd->add_option("--stride", o->stride, "--conv-dict: stride s")->check(CLI::PositiveNumber)->needs(conv)->capture_default_str();
  cmd->add_option("--padding", o->padding, "--conv-dict: zero padding p")->check(CLI::NonNegativeNumber)->needs(conv)->capture_default_str();
  cmd->add_option("--dilation", o->dilation, "--conv-dict: dilation d")->check(CLI::PositiveNumber)->needs(conv)->capture_default_str();
  cmd->add_flag("--nonneg", o->nonneg, "Constrain codes to be non-negative");
  cmd->add_flag("--normalize", o->normalize, "Rescale the atoms to unit norm first");
  cmd->add_flag("--no-restart", o->no_restart, "FISTA: disable adaptive restart");
  cmd->add_flag("--json", o->json, "Print a JSON summary instead of text");
  return [o](Context& ctx) {
    if (o->dict.empty() && o->conv_dict.empty()) throw std::invalid_argument("encode needs --dict D.npy or --conv-dict W.npy");
    if (o->iters > 0 && o->solver != "ista" && o->solver != "fista")
      throw std::invalid_argument("--iters applies to --solver ista or fista");
    if (!o->conv_dict.empty()) {
      run_conv_encode(*o, ctx);
      return;
    }
    if (o->solver == "admm") throw std::invalid_argument("--solver admm needs --conv-dict (it solves convolutional sparse coding)");
    if (o->solver == "omp" && o->sparsity == 0 && o->epsilon == 0)
      throw std::invalid_argument("--solver omp needs --sparsity K or --epsilon");
    run_dense_encode(*o, ctx);
  };
}

}  // namespace deepsc::cli
