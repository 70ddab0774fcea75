// Google Benchmark programs for the sparse-coding core. The side-by-side comparison with peers
// (scikit-learn, plain PyTorch) is bench/compare_sparse.py, which also reads the rates below.
//   Gemm/N            the machine's float32 GEMM rate on [N, 256] x [256, 256] (flops counter)
//   FistaIteration/N  one FISTA iteration on D [64, 256] with N signals, in GEMM-equivalent flops
//   Omp/K             Batch-OMP of 20,000 signals to K non-zeros
//   CoordinateDescent lasso by coordinate descent, 20,000 signals, λ = 0.1, relative-change tol 1e-2
//   Solver/<name>     every solver of the registry that runs on a dense dictionary, 4096 signals,
//                     λ = β = 0.1, K = 8, tol 1e-4 (a solver added to the registry shows up here)
// The solver benchmarks run through the solver registry, as the command line does.
#include "deepsc/core/runtime.h"
#include "deepsc/sparse/dense_dictionary.h"
#include "deepsc/sparse/proximal_gradient.h"
#include "deepsc/sparse/solver_registry.h"

#include <benchmark/benchmark.h>

#include <cstring>
#include <string>

using namespace deepsc::sparse;

namespace {

struct Problem {
  torch::Tensor d, y;
};

Problem make_problem(int64_t n, int64_t m, int64_t count) {
  torch::manual_seed(0);
  auto d = torch::randn({n, m});
  d = d / d.norm(2, {0}, true);
  auto x = torch::randn({count, m}) * (torch::rand({count, m}) < 8.0 / m);
  return {d, x.mm(d.t()) + 0.05 * torch::randn({count, n})};
}

void Gemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  auto a = torch::randn({n, 256}), b = torch::randn({256, 256});
  auto out = torch::empty({n, 256});
  for (auto _ : state) torch::mm_out(out, a, b);
  state.counters["flops"] = benchmark::Counter(2.0 * n * 256 * 256, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(Gemm)->Arg(20000)->Arg(4096)->Unit(benchmark::kMillisecond);

void FistaIteration(benchmark::State& state) {
  auto p = make_problem(64, 256, state.range(0));
  DenseDictionary dict(p.d);
  const int iters = 50;
  auto opts = ProximalGradientOptions(0.1).max_iter(iters).tol(0).block_rows(state.range(1));
  double flops = dict.gradient_step(p.y, 0.1)->flops(p.y.size(0)) * iters;
  for (auto _ : state) benchmark::DoNotOptimize(fista(dict, p.y, opts).codes.data_ptr());
  state.counters["flops"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["us_per_iter"] = benchmark::Counter(iters, benchmark::Counter::kIsIterationInvariantRate |
                                                               benchmark::Counter::kInvert);
}
// Second argument: rows per block (0 = the solver's automatic, cache-sized choice).
BENCHMARK(FistaIteration)
    ->Args({20000, 0})
    ->Args({20000, 256})
    ->Args({20000, 1024})
    ->Args({20000, 4096})
    ->Args({20000, 20000})
    ->Unit(benchmark::kMillisecond);

// The two halves of one FISTA iteration on 4096 rows, to see where an iteration's time goes.
void GradientStep(benchmark::State& state) {
  auto p = make_problem(64, 256, 4096);
  DenseDictionary dict(p.d);
  auto step = dict.gradient_step(p.y, 0.1);
  auto z = torch::randn({4096, 256}), out = torch::empty_like(z);
  for (auto _ : state) (*step)(z, out);
  state.counters["flops"] = benchmark::Counter(step->flops(4096), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(GradientStep)->Unit(benchmark::kMicrosecond);

void ShrinkAndExtrapolate(benchmark::State& state) {
  // The element-wise work of an iteration written as plain tensor ops, for comparison: the fused
  // kernel does it in one pass, and its own cost is FistaIteration minus GradientStep.
  auto v = torch::randn({4096, 256}), x = torch::randn({4096, 256}), z = torch::randn({4096, 256});
  for (auto _ : state) {
    auto xn = torch::relu(v - 0.1) - torch::relu(-v - 0.1);
    z.copy_(xn + 0.5 * (xn - x));
    benchmark::DoNotOptimize(z.data_ptr());
  }
}
BENCHMARK(ShrinkAndExtrapolate)->Unit(benchmark::kMicrosecond);

/// Runs the registered solver `name` with `request` on D [64, 256] and `count` signals.
void run_registered(benchmark::State& state, const std::string& name, const SolverRequest& request, int64_t count) {
  auto p = make_problem(64, 256, count);
  DenseDictionary dict(p.d);
  for (auto _ : state) benchmark::DoNotOptimize(solver_registry().run(name, dict, p.y, request).result.codes.data_ptr());
}

void Omp(benchmark::State& state) { run_registered(state, "omp", SolverRequest().sparsity(state.range(0)), 20000); }
BENCHMARK(Omp)->Arg(8)->Unit(benchmark::kMillisecond);

void CoordinateDescent(benchmark::State& state) {
  run_registered(state, "cd", SolverRequest().lambda(0.1).tol(1e-2).stop_rule(StopRule::RelativeChange), 20000);
}
BENCHMARK(CoordinateDescent)->Unit(benchmark::kMillisecond);

/// Solver/<name> for every registered solver that runs on a dense dictionary on CPU.
void register_every_solver() {
  const auto request = SolverRequest().lambda(0.1).beta(0.1).sparsity(8).tol(1e-4);
  for (const auto& name : solver_registry().names_where([](const SolverCapabilities& c) { return c.dense; })) {
    benchmark::RegisterBenchmark(("Solver/" + name).c_str(), [name, request](benchmark::State& state) {
      run_registered(state, name, request, 4096);
    })->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

// Custom main: `--threads=T` sets LibTorch's thread count (default: all cores) before the runs.
int main(int argc, char** argv) {
  deepsc::RuntimeOptions runtime;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) runtime.threads = std::atoi(argv[i] + 10);
    else rest.push_back(argv[i]);
  }
  deepsc::apply_runtime(runtime);
  int count = static_cast<int>(rest.size());
  register_every_solver();
  benchmark::Initialize(&count, rest.data());
  if (benchmark::ReportUnrecognizedArguments(count, rest.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
