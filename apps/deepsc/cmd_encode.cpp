// deepsc encode: sparse-code signals with a dense dictionary — D.npy is [n, m] (columns are
// atoms), Y.npy is [N, n], X.npy is [N, m], same dtype — or with a convolutional one (--conv-dict,
// see encode_conv.cpp), by any solver of the registry (deepsc/conv/solver_registry.h).
#include "command_support.h"
#include "encode_options.h"

#include "deepsc/conv/solver_registry.h"
#include "deepsc/data/npy_tensor.h"
#include "deepsc/sparse/dense_dictionary.h"

#include <iomanip>
#include <memory>

namespace deepsc::cli {

namespace {

using Capabilities = sparse::SolverCapabilities;

/// The names of the solvers whose capabilities satisfy `keep`, as "a, b or c".
std::string solvers_where(bool (*keep)(const Capabilities&)) {
  return sparse::join_names(conv::solver_registry().names_where(keep));
}

/// "threshold | ista | … | cd (--dict, CPU) | admm (--conv-dict, stride 1)" from the registry.
std::string solver_help() {
  std::string help = std::string(sparse::kAutoSolver) + " (the fastest lasso solver: cd for --dict on CPU, else fista)";
  for (const auto& name : conv::solver_names()) {
    const auto& s = conv::find_solver(name).supports;
    std::string notes = !s.convolutional ? "--dict" : !s.dense ? "--conv-dict" : "";
    if (s.stride_one) notes += ", stride 1";
    if (s.cpu_only) notes += notes.empty() ? "CPU" : ", CPU";
    help += (help.empty() ? "" : " | ") + name + (notes.empty() ? "" : " (" + notes + ")");
  }
  return help;
}

}  // namespace

sparse::SolverRequest solver_request(const EncodeOptions& o) {
  return sparse::SolverRequest()
      .lambda(o.lambda)
      .beta(o.beta)
      .shrinkage(sparse::parse_shrinkage(o.shrinkage))
      .sparsity(o.sparsity)
      .epsilon(o.epsilon)
      .max_iter(o.max_iter)
      .iters(o.iters)
      .tol(o.tol)
      .stop_rule(sparse::parse_stop_rule(o.stop))
      .nonneg(o.nonneg)
      .adaptive_restart(!o.no_restart)
      .step_scale(o.step_scale);
}

void check_solver_choice(const EncodeOptions& o, const std::string& device, bool convolutional) {
  const auto& s = conv::find_solver(o.solver).supports;
  const std::string solver = "--solver " + o.solver;
  if (o.iters > 0 && !s.fixed_iterations)
    throw std::invalid_argument("--iters applies to --solver " + solvers_where([](const Capabilities& c) { return c.fixed_iterations; }));
  if (convolutional && !s.convolutional)
    throw std::invalid_argument(solver + " needs a dense --dict; with --conv-dict use " +
                                solvers_where([](const Capabilities& c) { return c.convolutional; }));
  if (!convolutional && !s.dense)
    throw std::invalid_argument(solver + " needs --conv-dict (it solves convolutional sparse coding)");
  if (o.nonneg && !s.nonneg) throw std::invalid_argument("--nonneg is not available with " + solver);
  if (s.control == sparse::SparsityControl::Support && o.sparsity == 0 && o.epsilon == 0)
    throw std::invalid_argument(solver + " needs --sparsity K or --epsilon");
  if (s.cpu_only && !parse_device(device).is_cpu())
    throw std::invalid_argument(solver + " runs on CPU only; use --device cpu or --solver " +
                                solvers_where([](const Capabilities& c) { return !c.cpu_only && c.dense; }));
  if (convolutional && s.stride_one && o.stride != 1)
    throw std::invalid_argument(solver + " needs --stride 1 (the FFT diagonalises only stride-1 convolutions); use " +
                                solvers_where([](const Capabilities& c) { return c.convolutional && !c.stride_one; }) +
                                " for strided dictionaries");
}

void report_encoding(const EncodeOptions& o, Context& ctx, const sparse::SolverRun& run, int64_t signals,
                     torch::ScalarType dtype, const nlohmann::json& shape) {
  const auto& result = run.result;
  const double nonzeros = signals ? (result.codes != 0).sum().item<double>() / signals : 0.0;
  const auto& s = conv::find_solver(o.solver).supports;
  if (o.json) {
    nlohmann::json j{{"solver", o.solver},          {"signals", signals},
                     {"objective", result.objective}, {"iterations", result.iterations},
                     {"converged", result.converged}, {"seconds", run.seconds},
                     {"nonzeros_per_signal", nonzeros}, {"out", o.out},
                     {"dtype", dtype_name(dtype)}};
    j.update(shape);
    if (s.control == sparse::SparsityControl::Threshold) {
      j["beta"] = o.beta;
    } else if (s.control == sparse::SparsityControl::Support) {
      j["sparsity"] = o.sparsity, j["epsilon"] = o.epsilon;
    } else {
      j["lambda"] = o.lambda;
    }
    if (s.gradient_step) j["lipschitz"] = run.lipschitz, j["step"] = run.step;
    ctx.out << j.dump() << "\n";
  } else {
    ctx.out << "encoded " << signals << " signals " << shape.dump() << " with " << o.solver << ": objective "
            << std::setprecision(8) << result.objective << ", " << result.iterations << " iterations, "
            << (result.converged ? "converged"
                                 : o.iters > 0 ? "as asked (--iters)" : "NOT converged (raise --max-iter or --tol)")
            << ", " << std::setprecision(3) << nonzeros << " non-zeros per signal, " << run.seconds << " s -> " << o.out
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
  y = y.to(device);
  sparse::DenseDictionary dict(d.to(device), o.normalize);
  const auto run = conv::solver_registry().run(o.solver, dict, y, solver_request(o));
  data::save_npy(o.out, run.result.codes.cpu());
  report_encoding(o, ctx, run, y.size(0), y.scalar_type(), {{"signal_dim", d.size(0)}, {"atoms", d.size(1)}});
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
  auto choices = conv::solver_names();
  choices.insert(choices.begin(), sparse::kAutoSolver);
  cmd->add_option("--solver", o->solver, solver_help())->check(CLI::IsMember(choices))->capture_default_str();
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
    if (o->solver == sparse::kAutoSolver) {  // reported as the solver it stands for
      o->solver = sparse::choose_lasso_solver(o->conv_dict.empty(), parse_device(ctx.runtime.device).is_cpu(), o->iters);
    }
    check_solver_choice(*o, ctx.runtime.device, !o->conv_dict.empty());
    if (o->conv_dict.empty()) {
      run_dense_encode(*o, ctx);
    } else {
      run_conv_encode(*o, ctx);
    }
  };
}

}  // namespace deepsc::cli
