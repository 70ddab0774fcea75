// deepsc encode: sparse-code signals with a dense dictionary (one-step thresholding, ISTA, FISTA,
// coordinate descent, Batch-OMP). D.npy is [n, m] (columns are atoms), Y.npy is [N, n], X.npy is [N, m], same dtype.
#include "cli.h"
#include "command_support.h"

#include "deepsc/data/npy_tensor.h"
#include "deepsc/sparse/coordinate_descent.h"
#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/omp.h"
#include "deepsc/sparse/proximal_gradient.h"
#include "deepsc/sparse/thresholding.h"

#include <iomanip>
#include <memory>

namespace deepsc::cli {

namespace {

struct EncodeOptions {
  std::string dict, signals, out, solver = "fista", stop = "change", shrinkage = "soft";
  double lambda = 0.1, beta = 0.1, epsilon = 0, tol = 1e-6, step_scale = 1.0;
  int64_t sparsity = 0, max_iter = 1000;
  bool nonneg = false, json = false, normalize = false, no_restart = false;
};

void run_encode(const EncodeOptions& o, Context& ctx) {
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
    auto opts = sparse::ProximalGradientOptions(o.lambda)
                    .max_iter(o.max_iter)
                    .tol(o.tol)
                    .nonneg(o.nonneg)
                    .stop_rule(sparse::parse_stop_rule(o.stop))
                    .check_every(o.stop == "gap" ? 10 : 1)
                    .adaptive_restart(!o.no_restart)
                    .step_scale(o.step_scale);
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
  const int64_t n = y.size(0);
  const double nonzeros = n ? (result.codes != 0).sum().item<double>() / n : 0.0;
  if (o.json) {
    nlohmann::json j{{"solver", o.solver},         {"signals", n},
                     {"signal_dim", d.size(0)},    {"atoms", d.size(1)},
                     {"objective", result.objective}, {"iterations", result.iterations},
                     {"converged", result.converged}, {"seconds", seconds},
                     {"nonzeros_per_signal", nonzeros}, {"out", o.out},
                     {"dtype", dtype_name(y.scalar_type())}};
    if (o.solver == "ista" || o.solver == "fista" || o.solver == "cd") j["lambda"] = o.lambda;
    if (o.solver == "threshold") j["beta"] = o.beta;
    if (o.solver == "omp") j["sparsity"] = o.sparsity, j["epsilon"] = o.epsilon;
    ctx.out << j.dump() << "\n";
  } else {
    ctx.out << "encoded " << n << " signals (n=" << d.size(0) << ", m=" << d.size(1) << ") with " << o.solver << ": objective "
            << std::setprecision(8) << result.objective << ", " << result.iterations << " iterations, "
            << (result.converged ? "converged" : "NOT converged (raise --max-iter or --tol)") << ", "
            << std::setprecision(3) << nonzeros << " non-zeros per signal, " << seconds << " s -> " << o.out << "\n";
  }
}

}  // namespace

Action add_encode_command(CLI::App& app) {
  auto o = std::make_shared<EncodeOptions>();
  auto* cmd = app.add_subcommand("encode", "Sparse-code signals Y [N, n] over a dictionary D [n, m]");
  cmd->add_option("--dict", o->dict, "Dictionary D.npy [n, m], columns are atoms")->required()->check(CLI::ExistingFile);
  cmd->add_option("--signals", o->signals, "Signals Y.npy [N, n], one per row")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out, "Codes X.npy [N, m] (written atomically)")->required();
  cmd->add_option("--solver", o->solver, "threshold | ista | fista | cd (coordinate descent, CPU) | omp")
      ->check(CLI::IsMember({"threshold", "ista", "fista", "cd", "omp"}))
      ->capture_default_str();
  cmd->add_option("--lambda", o->lambda, "ISTA/FISTA/CD: weight of ||X||_1")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--beta", o->beta, "threshold: the threshold beta")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--shrinkage", o->shrinkage, "threshold: soft | hard | nonneg")
      ->check(CLI::IsMember({"soft", "hard", "nonneg"}))
      ->capture_default_str();
  cmd->add_option("--sparsity,-K", o->sparsity, "omp: non-zeros per signal; threshold: keep the K largest")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--epsilon", o->epsilon, "omp: stop when ||Y - DX|| <= epsilon")->check(CLI::NonNegativeNumber);
  cmd->add_option("--tol", o->tol, "ISTA/FISTA/CD: tolerance of the stop rule")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--stop", o->stop, "ISTA/FISTA/CD stop rule: change (relative) | gap (duality gap)")
      ->check(CLI::IsMember({"change", "gap"}))
      ->capture_default_str();
  cmd->add_option("--max-iter", o->max_iter, "ISTA/FISTA: iteration cap; CD: sweep cap")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--step-scale", o->step_scale, "ISTA/FISTA: step = scale / L")->check(CLI::Range(1e-6, 1.999))->capture_default_str();
  cmd->add_flag("--nonneg", o->nonneg, "Constrain codes to be non-negative");
  cmd->add_flag("--normalize", o->normalize, "Rescale the atoms to unit norm first");
  cmd->add_flag("--no-restart", o->no_restart, "FISTA: disable adaptive restart");
  cmd->add_flag("--json", o->json, "Print a JSON summary instead of text");
  return [o](Context& ctx) {
    if (o->solver == "omp" && o->sparsity == 0 && o->epsilon == 0)
      throw std::invalid_argument("--solver omp needs --sparsity K or --epsilon");
    run_encode(*o, ctx);
  };
}

}  // namespace deepsc::cli
