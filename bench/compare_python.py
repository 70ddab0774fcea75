#!/usr/bin/env python3
"""The lasso benchmark of bench/compare_sparse.py run from Python: deepsc.encode (the package) against
the deepsc command line, a plain PyTorch FISTA written in Python and scikit-learn, in one run, with
one thread count for everyone; and the cost of the binding (Python call against C++ solve).

  PYTHONPATH=build/python /usr/bin/python3 bench/compare_python.py [--deepsc build/apps/deepsc/deepsc]
      [--threads 2] [--signals 8000] [--repeats 3] [--quick] [--json out.json]

Problem (as compare_sparse.py): D [64, 256] unit-norm Gaussian atoms (D's columns), lambda = 0.1,
min_X F(X) = 1/2 ||Y - X D^T||^2 / N + lambda ||X||_1 / N over the rows of Y [N, 64]. Two kinds of
signals: "sparse" (8-sparse codes plus 0.05 noise, bench/peers/lasso_problem.py) and signals with
no sparse model behind them: "gaussian" (i.i.d. Gaussian) and, when scripts/fetch-images.sh has put
pictures in data/images, "patches" (mean-removed 8x8 grey patches). Both are scaled to the sparse
signals' RMS so that lambda means the same.

Protocol (compare_sparse.py's): F* is deepsc FISTA in float64 to a duality gap of 1e-11; each
solver must reach F <= F*(1 + 1e-6), with F evaluated by objective() below (float64) on its output;
deepsc fista and cd use the loosest tolerance of compare_sparse.py's sweep that reaches it (found
with deepsc.encode, then the same tolerance for the command line); the peers are compare_sparse.py's
own (bench/peers/torch_fista.py: the smallest iteration count that reaches it; sklearn_peers.py:
sparse_encode as users call it, and its Lasso(alpha = lambda / n) at the loosest tolerance that
reaches it), run in this process with runpy so their codes can be judged here. Each time is the
best of --repeats. Binding overhead = Python wall time of deepsc.encode / the C++ solve time
(result.seconds of the same call) and / the command line's JSON "seconds" on the same .npy files;
since each command-line solve is the first of a fresh process, the first deepsc.encode call of a
fresh Python process is timed too. Progress goes to stderr, the Markdown report to stdout.
"""
import argparse, contextlib, io, json, os, platform, runpy, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# compare_sparse.py's tolerance sweep for deepsc fista and cd, its target and its iteration caps.
TOLERANCES = [1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6, 3e-7, 1e-7]
TARGET_GAP = 1e-6
MAX_ITER = 100000


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--deepsc", default="build/apps/deepsc/deepsc", help="the deepsc command line")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--signals", type=int, default=8000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--lam", type=float, default=0.1)
    p.add_argument("--quick", action="store_true", help="smoke run: 500 signals, 1 repeat")
    p.add_argument("--json", default=None, help="also write the raw numbers to this file")
    a = p.parse_args()
    if a.quick:
        a.signals, a.repeats = min(a.signals, 500), 1
    for path in (a.deepsc, os.path.join(ROOT, a.deepsc)):
        if os.path.isfile(path):
            a.deepsc = os.path.abspath(path)
            break
    else:
        sys.exit(f"no deepsc command line at {a.deepsc}; build it: cmake --build build --target deepsc")
    return a


A = parse_args()
# Before NumPy and LibTorch load: every library's OpenMP/OpenBLAS pool gets T threads, as in
# compare_sparse.py (which sets OMP_NUM_THREADS for all its processes); the command line inherits it.
os.environ["OMP_NUM_THREADS"] = str(A.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

try:
    import deepsc  # noqa: E402
except ImportError:
    sys.path.insert(0, os.path.join(ROOT, "build", "python"))
    import deepsc  # noqa: E402

torch.set_num_threads(A.threads)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


class Problem:
    """One lasso problem: D [n, m] and Y [N, n] as float32 .npy files in `folder` (what the command
    line and the peers read) and as float64 arrays (what objective() uses)."""

    def __init__(self, name, folder, lam):
        self.name, self.folder, self.lam = name, folder, lam
        self.D = np.load(f"{folder}/D.npy").astype(np.float64)
        self.Y = np.load(f"{folder}/Y.npy").astype(np.float64)
        self.D32 = torch.from_numpy(np.load(f"{folder}/D.npy"))
        self.Y32 = torch.from_numpy(np.load(f"{folder}/Y.npy"))
        self.f_star = self.target = None

    def objective(self, X):
        """F(X) = 1/2 ||Y - X D^T||^2 / N + lambda ||X||_1 / N in float64: the one judge of every solver."""
        X = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
        X = X.astype(np.float64)
        N = self.Y.shape[0]
        return float(0.5 * np.sum((self.Y - X @ self.D.T) ** 2) / N + self.lam * np.sum(np.abs(X)) / N)

    def solve_reference(self):
        """F*: deepsc FISTA in float64 to a duality gap of 1e-11 (compare_sparse.py's reference)."""
        r = deepsc.encode(torch.from_numpy(self.D), torch.from_numpy(self.Y), "fista", lam=self.lam, stop="gap",
                          tol=1e-11, max_iter=200000)
        self.f_star = self.objective(r.codes)
        self.target = self.f_star * (1 + TARGET_GAP)


# ---- the problems ----

def run_peer(script, argv):
    """Runs bench/peers/<script> in this process with argv; returns its JSON lines and its globals."""
    saved, out = sys.argv, io.StringIO()
    sys.argv = [script] + [str(x) for x in argv]
    globs = {}
    try:
        with contextlib.redirect_stdout(out):
            globs = runpy.run_path(os.path.join(HERE, "peers", script), run_name="__peer__")
    except SystemExit:  # torch_fista.py exits when it never reaches the target
        pass
    finally:
        sys.argv = saved
    return [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")], globs


def make_sparse(folder, signals):
    """compare_sparse.py's data: bench/peers/lasso_problem.py (seed 0)."""
    os.makedirs(folder, exist_ok=True)
    run_peer("lasso_problem.py", ["--out", folder, "--signals", signals])


def grey_patches(images, count, size, rng):
    """`count` mean-removed size x size patches [count, size*size] drawn evenly from the pictures."""
    from PIL import Image
    names = sorted(n for n in os.listdir(images) if n.lower().endswith((".png", ".jpg", ".jpeg")))
    pictures = [np.asarray(Image.open(os.path.join(images, n)).convert("L"), dtype=np.float64) / 255 for n in names]
    per = -(-count // len(pictures))
    out = []
    for pic in pictures:
        r = rng.integers(0, pic.shape[0] - size + 1, per)
        c = rng.integers(0, pic.shape[1] - size + 1, per)
        out.append(np.stack([pic[i:i + size, j:j + size].ravel() for i, j in zip(r, c)]))
    P = np.concatenate(out)[rng.permutation(per * len(pictures))[:count]]
    return P - P.mean(axis=1, keepdims=True)


def make_unstructured(kind, sparse_folder, folder, rng):
    """Signals with no sparse model over D (same D, same N), scaled to the sparse signals' RMS."""
    D = np.load(f"{sparse_folder}/D.npy")
    Ys = np.load(f"{sparse_folder}/Y.npy").astype(np.float64)
    if kind == "gaussian":
        Y = rng.standard_normal(Ys.shape)
    else:
        Y = grey_patches(os.path.join(ROOT, "data", "images"), Ys.shape[0], int(round(D.shape[0] ** 0.5)), rng)
    Y *= np.sqrt(np.mean(Ys ** 2) / np.mean(Y ** 2))
    os.makedirs(folder, exist_ok=True)
    np.save(f"{folder}/D.npy", D)
    np.save(f"{folder}/Y.npy", Y.astype(np.float32))


def image_folder_has_pictures():
    images = os.path.join(ROOT, "data", "images")
    return os.path.isdir(images) and any(n.lower().endswith((".png", ".jpg", ".jpeg")) for n in os.listdir(images))


# ---- deepsc: the package and the command line ----

def loosest_tolerance(problem, solver):
    """The loosest tolerance of the sweep whose deepsc.encode output reaches the target."""
    for tol in TOLERANCES:
        r = deepsc.encode(problem.D32, problem.Y32, solver, lam=problem.lam, tol=tol, max_iter=MAX_ITER)
        if problem.objective(r.codes) <= problem.target:
            return tol
    return None


def time_package(problem, solver, tol):
    """Best of --repeats of the Python call: wall time around deepsc.encode and its result.seconds."""
    walls, solves, result = [], [], None
    for _ in range(A.repeats):
        t0 = time.perf_counter()
        result = deepsc.encode(problem.D32, problem.Y32, solver, lam=problem.lam, tol=tol, max_iter=MAX_ITER)
        walls.append(time.perf_counter() - t0)
        solves.append(result.seconds)
    return {"tol": tol, "wall": min(walls), "seconds": min(solves), "walls": walls, "solves": solves,
            "iterations": result.iterations, "objective": problem.objective(result.codes)}


def time_command_line(problem, solver, tol):
    """Best of --repeats of `deepsc encode ... --json --threads T` (after one untimed run): the JSON
    "seconds" (the solve inside C++) and the whole process's wall time (start, .npy I/O, solve)."""
    out = f"{problem.folder}/X_{solver}.npy"
    cmd = [A.deepsc, "encode", "--dict", f"{problem.folder}/D.npy", "--signals", f"{problem.folder}/Y.npy",
           "--out", out, "--solver", solver, "--lambda", str(problem.lam), "--tol", str(tol),
           "--max-iter", str(MAX_ITER), "--json", "--threads", str(A.threads)]
    runs = []
    for i in range(A.repeats + 1):
        t0 = time.perf_counter()
        text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        wall = time.perf_counter() - t0
        if i:
            runs.append((json.loads(next(l for l in text.splitlines() if l.startswith("{"))), wall))
    return {"tol": tol, "seconds": min(r["seconds"] for r, _ in runs), "wall": min(w for _, w in runs),
            "iterations": runs[-1][0]["iterations"], "objective": problem.objective(np.load(out))}


# The first deepsc.encode call of a fresh Python process, as the command line's solve is the first of its process.
FIRST_CALL = """
import json, sys, time
import numpy as np, torch
torch.set_num_threads(int(sys.argv[1]))
import deepsc
D, Y = torch.from_numpy(np.load(sys.argv[2])), torch.from_numpy(np.load(sys.argv[3]))
t0 = time.perf_counter()
r = deepsc.encode(D, Y, sys.argv[4], lam=float(sys.argv[5]), tol=float(sys.argv[6]), max_iter=int(sys.argv[7]))
print(json.dumps({"wall": time.perf_counter() - t0, "seconds": r.seconds}))
"""


def time_first_call(problem, solver, tol):
    """Best of --repeats of deepsc.encode as the first call of a fresh Python process: wall and result.seconds."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.abspath(deepsc.__file__)))] + sys.path))
    runs = [json.loads(subprocess.run([sys.executable, "-c", FIRST_CALL, str(A.threads), f"{problem.folder}/D.npy",
                                       f"{problem.folder}/Y.npy", solver, str(problem.lam), str(tol), str(MAX_ITER)],
                                      env=env, check=True, capture_output=True, text=True).stdout)
            for _ in range(A.repeats)]
    return {"wall": min(r["wall"] for r in runs), "seconds": min(r["seconds"] for r in runs)}


def call_cost_split(problem):
    """What a deepsc.encode call costs outside the C++ solve (wall - result.seconds, best of 20): on one
    signal (argument checks, SolverRequest, DenseDictionary, result object) and on all of `problem`'s
    signals, and the part of it that is the binding's NaN/Inf scan of Y (torch.isfinite(Y).all())."""
    def outside(Y):
        costs = []
        for _ in range(20):
            t0 = time.perf_counter()
            r = deepsc.encode(problem.D32, Y, "fista", lam=problem.lam, iters=2)
            costs.append(time.perf_counter() - t0 - r.seconds)
        return min(costs)

    scans = []
    for _ in range(20):
        t0 = time.perf_counter()
        torch.isfinite(problem.Y32).all().item()
        scans.append(time.perf_counter() - t0)
    return {"one_signal": outside(problem.Y32[:1].contiguous()), "all_signals": outside(problem.Y32),
            "finite_scan_of_Y": min(scans), "signals": int(problem.Y.shape[0])}


def one_signal_solve(sparse_folder, folder):
    """The solve time (JSON "seconds", result.seconds) of fista and cd on one signal: what a fresh
    command-line process pays inside its timed solve on first use (OpenMP threads, first-touch pages)
    against the package in a process that has run before."""
    os.makedirs(folder, exist_ok=True)
    np.save(f"{folder}/D.npy", np.load(f"{sparse_folder}/D.npy"))
    np.save(f"{folder}/Y.npy", np.load(f"{sparse_folder}/Y.npy")[:1])
    problem = Problem("one signal", folder, A.lam)
    return {s: {"cli": time_command_line(problem, s, 3e-4)["seconds"],
                "package": time_package(problem, s, 3e-4)["seconds"]} for s in ("cd", "fista")}


# ---- the peers (compare_sparse.py's scripts) ----

def pytorch_fista(problem):
    lines, globs = run_peer("torch_fista.py", ["--dir", problem.folder, "--lam", problem.lam, "--target",
                                               problem.target, "--threads", A.threads, "--repeats", A.repeats])
    r = lines[0]
    return {"seconds": r.get("seconds"), "iterations": r.get("iterations"), "note": r.get("note"),
            "objective": problem.objective(globs["X"]) if "X" in globs else float("nan")}


def sklearn_lasso(problem):
    """sparse_encode(alpha=lambda) as users call it and Lasso(alpha=lambda/n) at its loosest tolerance
    that reaches the target: sklearn's lasso objective 1/(2n)||y - Dx||^2 + alpha||x||_1 is the
    deepsc one divided by n, and sparse_encode divides its alpha by n (compare_sparse.py's note)."""
    lines, globs = run_peer("sklearn_peers.py", ["--dir", problem.folder, "--lam", problem.lam, "--target",
                                                 problem.target, "--threads", A.threads, "--repeats", A.repeats])
    cd = next(r for r in lines if r["peer"] == "sklearn lasso_cd")
    default = next(r for r in lines if "default" in r["peer"])
    # The peer keeps the codes of its timed Lasso run only; its own objective (the same float64 formula)
    # is checked against objective() on those codes and then used for the sparse_encode row.
    cd_objective = problem.objective(globs["X"]) if cd.get("seconds") else float("nan")
    return ({"seconds": cd.get("seconds"), "tol": cd.get("tol"), "objective": cd_objective,
             "peer_objective": cd["objective"]},
            {"seconds": default["seconds"], "objective": default["objective"], "objective_from_peer": True})


# ---- one problem, all solvers ----

def measure(problem):
    log(f"[{problem.name}] reference F* (float64 FISTA, gap 1e-11)")
    problem.solve_reference()
    res = {"f_star": problem.f_star, "target": problem.target, "signals": int(problem.Y.shape[0])}
    for solver in ("cd", "fista"):
        log(f"[{problem.name}] deepsc {solver}: tolerance sweep, package, command line")
        tol = loosest_tolerance(problem, solver)
        if tol is None:
            res[solver] = None
            continue
        res[solver] = {"package": time_package(problem, solver, tol), "cli": time_command_line(problem, solver, tol),
                       "first_call": time_first_call(problem, solver, tol)}
    log(f"[{problem.name}] PyTorch FISTA in Python")
    res["pytorch_fista"] = pytorch_fista(problem)
    log(f"[{problem.name}] scikit-learn")
    res["sklearn_lasso_cd"], res["sklearn_sparse_encode"] = sklearn_lasso(problem)
    return res


# ---- report ----

def fmt(x, spec=".3f"):
    return "n/a" if x is None or x != x else format(x, spec)


def speed_table(name, res):
    f_star = res["f_star"]
    base = {s: res[s]["package"]["wall"] if res.get(s) else None for s in ("cd", "fista")}
    print(f"\n### {name} signals: {res['signals']} signals, F* = {f_star:.9g}, target F*(1 + 1e-6)\n")
    print("| solver | setting | seconds | objective rel. to F* | time / deepsc.encode cd | time / deepsc.encode fista |")
    print("|---|---|---|---|---|---|")

    def row(label, setting, seconds, objective):
        ratio = lambda b: fmt(seconds / b if seconds and b else None, ".2f") + "x"
        print(f"| {label} | {setting} | {fmt(seconds)} | {fmt(objective / f_star - 1, '+.1e')} | "
              f"{ratio(base['cd'])} | {ratio(base['fista'])} |")

    for s, label in (("cd", "coordinate descent"), ("fista", "FISTA")):
        r = res.get(s)
        if not r:
            print(f"| deepsc {label} | no tolerance of the sweep reaches the target | | | | |")
            continue
        p, c = r["package"], r["cli"]
        row(f"deepsc.encode(solver=\"{s}\"), Python wall", f"tol {p['tol']:g}, {p['iterations']} it.", p["wall"],
            p["objective"])
        row(f"deepsc encode --solver {s}, JSON seconds", f"tol {c['tol']:g}", c["seconds"], c["objective"])
        row(f"deepsc encode --solver {s}, process wall", "start + .npy I/O + solve", c["wall"], c["objective"])
    pt = res["pytorch_fista"]
    row("PyTorch FISTA in Python (float32)", f"{pt['iterations']} iterations" if pt["seconds"] else pt["note"],
        pt["seconds"], pt["objective"])
    sk, se = res["sklearn_lasso_cd"], res["sklearn_sparse_encode"]
    row("scikit-learn Lasso lasso_cd (float64)", f"tol {sk['tol']}" if sk["seconds"] else "never reached target",
        sk["seconds"], sk["objective"])
    row("scikit-learn sparse_encode lasso_cd (float64)", "default tol (objective from the peer)", se["seconds"],
        se["objective"])


def overhead_table(results):
    print("\n### Binding overhead (best of each; overhead = Python wall / C++ time - 1; wall - result.seconds: "
          "smallest over the runs, same call; first call: deepsc.encode as the first call of a fresh Python "
          "process, like the command line's solve)\n")
    print("| signals | solver | Python wall (s) | result.seconds (s) | CLI JSON seconds (s) | CLI process wall (s) "
          "| wall - result.seconds (ms) | wall / result.seconds | wall / CLI seconds | first call: wall (s) "
          "| first call: wall / CLI seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, res in results.items():
        for s in ("cd", "fista"):
            r = res.get(s)
            if not r:
                continue
            p, c = r["package"], r["cli"]
            r["overhead_vs_result_seconds"] = p["wall"] / p["seconds"] - 1
            r["overhead_vs_cli_seconds"] = p["wall"] / c["seconds"] - 1
            f = r["first_call"]
            r["first_call_overhead_vs_cli_seconds"] = f["wall"] / c["seconds"] - 1
            outside = min(w - x for w, x in zip(p["walls"], p["solves"]))
            print(f"| {name} | {s} | {p['wall']:.4f} | {p['seconds']:.4f} | {c['seconds']:.4f} | {c['wall']:.3f} | "
                  f"{1e3 * outside:.2f} | {100 * r['overhead_vs_result_seconds']:+.1f}% | {100 * r['overhead_vs_cli_seconds']:+.1f}% | "
                  f"{f['wall']:.4f} | {100 * r['first_call_overhead_vs_cli_seconds']:+.1f}% |")


def machine():
    model = ""
    with contextlib.suppress(OSError):
        model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
    return f"{os.cpu_count()} cores ({model or platform.processor()})"


def main():
    import sklearn
    work = tempfile.mkdtemp(prefix="deepsc-compare-python-")
    load_before = os.getloadavg()[0]
    rng = np.random.default_rng(1)
    make_sparse(f"{work}/sparse", A.signals)
    kinds = ["sparse", "gaussian"] + (["patches"] if image_folder_has_pictures() else [])
    for kind in kinds[1:]:
        make_unstructured(kind, f"{work}/sparse", f"{work}/{kind}", rng)
    results = {}
    for kind in kinds:
        results[kind] = measure(Problem(kind, f"{work}/{kind}", A.lam))
    split = call_cost_split(Problem("sparse", f"{work}/sparse", A.lam))
    one = one_signal_solve(f"{work}/sparse", f"{work}/one")
    load = (load_before, os.getloadavg()[0])

    print(f"Machine: {machine()}; {A.threads} threads for everyone; torch {torch.__version__}, "
          f"scikit-learn {sklearn.__version__}, deepsc {deepsc.__version__}; best of {A.repeats}; "
          f"1-minute load average {load[0]:.2f} at the start, {load[1]:.2f} at the end.")
    print(f"Lasso: D [64, 256] unit-norm Gaussian atoms, lambda {A.lam}; F = 1/2||Y - X D^T||^2/N + lambda||X||_1/N.")
    if "patches" not in kinds:
        print("Natural-image patches skipped: no pictures in data/images (scripts/fetch-images.sh puts them there).")
    for kind, res in results.items():
        speed_table(kind, res)
    overhead_table(results)
    print(f"\nA deepsc.encode call costs, outside the C++ solve (wall - result.seconds, 2 FISTA iterations, best of "
          f"20): {1e3 * split['one_signal']:.2f} ms on 1 signal, {1e3 * split['all_signals']:.2f} ms on "
          f"{split['signals']} signals, of which {1e3 * split['finite_scan_of_Y']:.2f} ms is the binding's NaN/Inf "
          f"check of Y (torch.isfinite(Y).all()).")
    print("On one signal the solve itself takes " + ", ".join(
        f"{s} {1e3 * one[s]['cli']:.1f} ms in the command line (JSON seconds) and {1e3 * one[s]['package']:.2f} ms "
        f"in the package (result.seconds)" for s in one) + ": the command line's JSON seconds include what a fresh "
        "process pays on first use, which the package paid in earlier calls.")
    if A.json:
        with open(A.json, "w") as f:
            json.dump({"threads": A.threads, "repeats": A.repeats, "machine": machine(), "lambda": A.lam,
                       "load_average": load,
                       "call_cost_split_seconds": split, "one_signal_solve_seconds": one, "problems": results}, f, indent=1)


if __name__ == "__main__":
    main()
