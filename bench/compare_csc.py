#!/usr/bin/env python3
"""Side-by-side benchmark of convolutional sparse coding: deepsc's FFT-domain ADMM (and FISTA)
against SPORCO's ADMM (its public repository, run with Debian's NumPy/SciPy/pyFFTW), in one run,
with one thread count for everyone.

  bench/compare_csc.py --deepsc build/apps/deepsc/deepsc --sporco DIR [--threads T] [--eps 1e-4]

DIR is a checkout of https://github.com/bwohlberg/sporco (bench/peers/fetch-sporco.sh makes one
under .cache/, which git ignores).

Protocol: the 512 x 512 'camera' picture (scripts/fetch-images.sh) averaged 2 x 2 to 256 x 256
grey on [0, 1], minus its Gaussian low-pass (sigma 4 pixels): the signal S. 32 atoms of 8 x 8
learned by `deepsc learn-conv-dict` from the *other* pictures, unit norm. lambda fixed (0.05).
The problem is CSC with boundary handling,
  min_X 1/2 ||S - P sum_m d_m * x_m||^2 + lam ||X||_1,   codes (256 + 7)^2 per atom,
which deepsc poses as ConvDictionary(padding = k - 1) and SPORCO as ConvBPDNMaskDcpl on the
zero-padded signal with the window's mask (on deepsc's FFT grid, 270 x 270). The optimum F* is
computed once in float64 (deepsc ADMM to 1e-8 and FISTA to a relative duality gap of 1e-8, the lower);
every solver must reach F <= F*(1 + eps), evaluated here in float64 on its output codes. deepsc:
the loosest tolerance that reaches it, timed best of 2 (solve only, no file I/O). SPORCO: one run
stopped by a callback at the first iteration whose objective reaches it, timed by SPORCO's own
timer without its objective evaluations; its default penalty and its residual balancing
('AutoRho') are both run and the faster is kept. The per-iteration cost of plain ConvBPDN on the
periodic problem (a different one, no boundary handling) is shown for reference.
Prints a Markdown table and writes the raw numbers as JSON (--json-out).
"""
import argparse, json, os, shutil, subprocess, sys, tempfile
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = "/usr/bin/python3"
TOLS = [1e-2, 5e-3, 2e-3, 1e-3, 5e-4, 2e-4, 1e-4, 5e-5, 2e-5, 1e-5, 5e-6, 2e-6, 1e-6]

p = argparse.ArgumentParser()
p.add_argument("--deepsc", required=True)
p.add_argument("--sporco", required=True, help="checkout of SPORCO's repository")
p.add_argument("--threads", type=int, default=os.cpu_count())
p.add_argument("--lam", type=float, default=0.05)
p.add_argument("--eps", type=float, default=1e-4, help="relative objective gap every solver must reach")
p.add_argument("--json-out", default=None)
a = p.parse_args()
a.deepsc, a.sporco = os.path.abspath(a.deepsc), os.path.abspath(a.sporco)
if not os.path.isfile(os.path.join(a.sporco, "sporco", "admm", "cbpdn.py")):
    sys.exit(f"compare_csc: no SPORCO checkout at {a.sporco} (run bench/peers/fetch-sporco.sh)")

env = dict(os.environ)
env["OMP_NUM_THREADS"] = str(a.threads)
env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
work = tempfile.mkdtemp(prefix="deepsc-csc-bench-")


def sh(cmd):
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=work)
    if run.returncode != 0:
        sys.exit(f"compare_csc: {' '.join(cmd[:3])} ... failed:\n{run.stderr[-2000:]}")
    return [json.loads(l) for l in run.stdout.splitlines() if l.startswith("{")]


# --- The problem -------------------------------------------------------------------------------
import imageio
from scipy.ndimage import gaussian_filter

images = os.path.join(ROOT, "data", "images")
subprocess.run([os.path.join(ROOT, "scripts", "fetch-images.sh"), images], check=True, stdout=subprocess.DEVNULL)
picture = imageio.imread(os.path.join(images, "camera.png")).astype(np.float64) / 255
if picture.ndim == 3:
    picture = picture[..., :3] @ np.array([0.299, 0.587, 0.114])
picture = picture.reshape(256, 2, 256, 2).mean(axis=(1, 3))
S = picture - gaussian_filter(picture, 4.0, mode="reflect")
H, Wd = S.shape

train = os.path.join(work, "train")
os.makedirs(train)
for name in sorted(os.listdir(images)):
    if name.endswith(".png") and name != "camera.png":
        os.symlink(os.path.join(images, name), os.path.join(train, name))
sh([a.deepsc, "learn-conv-dict", "--images", train, "--out", f"{work}/W_learned.npy", "--atoms", "32", "--kernel", "8",
    "--lambda", str(a.lam), "--epochs", "10", "--seed", "0", "--threads", str(a.threads), "--json"])
W = np.load(f"{work}/W_learned.npy").astype(np.float64)
W /= np.sqrt((W ** 2).sum(axis=(1, 2, 3), keepdims=True))
M, k = W.shape[0], W.shape[-1]
pad = k - 1
np.save(f"{work}/W.npy", W)
np.save(f"{work}/S.npy", S[None, None])
np.save(f"{work}/W32.npy", W.astype(np.float32))
np.save(f"{work}/S32.npy", S[None, None].astype(np.float32))


def synthesis(X, grid, offset, size):
    """sum_m w_m * x_m by FFT on `grid` (no wrap when grid >= the full convolution), cropped."""
    spec = np.fft.rfft2(X, s=grid) * np.fft.rfft2(W[:, 0], s=grid)
    out = np.fft.irfft2(spec.sum(axis=0), s=grid)
    return out[offset:offset + size[0], offset:offset + size[1]]


def objective(X, kind):
    """F(X) = 1/2 ||S - D X||^2 + lam ||X||_1 for codes X [M, H', W'] in one solver's layout."""
    X = X.astype(np.float64).reshape(M, X.shape[-2], X.shape[-1])
    if kind == "linear":      # deepsc: conv_transpose2d with padding k - 1 = full convolution, cropped
        recon = synthesis(X, (H + 2 * pad, Wd + 2 * pad), pad, (H, Wd))
    elif kind == "maskdcpl":  # SPORCO: circular convolution on the padded grid, window at the origin
        recon = synthesis(X, X.shape[-2:], 0, (H, Wd))
    else:                     # periodic: circular convolution on H x W
        recon = synthesis(X, (H, Wd), 0, (H, Wd))
    return float(0.5 * ((S - recon) ** 2).sum() + a.lam * np.abs(X).sum())


# --- deepsc ------------------------------------------------------------------------------------
def deepsc(solver, tol, dtype="32", max_iter=20000, stop=None):
    args = [a.deepsc, "encode", "--conv-dict", f"{work}/W{dtype}.npy", "--signals", f"{work}/S{dtype}.npy",
            "--padding", str(pad), "--out", f"{work}/X.npy", "--json", "--threads", str(a.threads),
            "--solver", solver, "--lambda", str(a.lam), "--tol", str(tol), "--max-iter", str(max_iter)]
    if stop:
        args += ["--stop", stop]
    run = sh(args)[0]
    return run, objective(np.load(f"{work}/X.npy")[0], "linear")


ref_admm = deepsc("admm", 1e-8, dtype="", max_iter=20000)[1]
ref_fista = deepsc("fista", 1e-8, dtype="", max_iter=20000, stop="gap")[1]
f_star = min(ref_admm, ref_fista)
target = f_star * (1 + a.eps)
results = {"threads": a.threads, "lambda": a.lam, "eps": a.eps, "f_star": f_star, "target": target,
           "reference": {"deepsc_admm_1e-8": ref_admm, "deepsc_fista_gap_1e-8": ref_fista}}


def loosest(run, label):
    """Times (best of 2) the loosest tolerance of `run(tol)` whose output reaches the target."""
    for tol in TOLS:
        seconds, obj, info = run(tol)
        if obj <= target:
            seconds = min(seconds, run(tol)[0])
            return {"tol": tol, "seconds": seconds, "objective": obj, **info}
    print(f"compare_csc: {label} never reached the target", file=sys.stderr)
    return None


def deepsc_at(solver, stop=None):
    def run(tol):
        r, obj = deepsc(solver, tol, stop=stop)
        return r["seconds"], obj, {"iterations": r.get("iterations")}
    return run


results["deepsc_admm"] = loosest(deepsc_at("admm"), "deepsc admm")
results["deepsc_fista"] = loosest(deepsc_at("fista"), "deepsc fista")


# --- SPORCO ------------------------------------------------------------------------------------
def sporco(solver, auto_rho, target=None, tol=0.0, max_iter=3000):
    args = [PY, f"{HERE}/peers/sporco_cbpdn.py", "--sporco", a.sporco, "--dir", work, "--lam", str(a.lam),
            "--threads", str(a.threads), "--solver", solver, "--tol", str(tol), "--max-iter", str(max_iter),
            "--codes", f"{work}/X_sporco.npy"] + (["--auto-rho"] if auto_rho else [])
    if target is not None:
        args += ["--target", repr(target)]
    r = sh(args)[0]
    r["objective_here"] = objective(np.load(f"{work}/X_sporco.npy"), solver)  # our evaluation of its X
    return r


# One run per setting, stopped by a callback at the first iteration that reaches the target
# (SPORCO's own objective at X, checked here): a tolerance sweep at ~0.1 s per iteration would
# take an hour. Default penalty and residual balancing (AutoRho), the faster is kept.
runs = []
for auto_rho in (False, True):
    r = sporco("maskdcpl", auto_rho, target=target)
    r["auto_rho"] = auto_rho
    if not r["reached"]:
        print(f"compare_csc: SPORCO ({'AutoRho' if auto_rho else 'default rho'}) did not reach the target "
              f"in {r['iterations']} iterations", file=sys.stderr)
    runs.append(r)
results["sporco_maskdcpl_runs"] = runs
reached = [r for r in runs if r["reached"]]
results["sporco_maskdcpl"] = min(reached, key=lambda r: r["seconds"]) if reached else None
# Per-iteration cost of plain ConvBPDN on the periodic problem (no boundary handling), for reference.
periodic = sporco("periodic", True, max_iter=100)
results["sporco_periodic_seconds_per_iteration"] = periodic["seconds"] / periodic["iterations"]

# --- Report ------------------------------------------------------------------------------------
admm = results["deepsc_admm"]
print(f"CSC, 256x256 grey (camera high-pass), {M} atoms {k}x{k}, lambda {a.lam}, {a.threads} threads; "
      f"F* = {f_star:.6f} (deepsc ADMM {ref_admm:.6f}, FISTA {ref_fista:.6f}); target F*(1 + {a.eps:g})")
print("| solver | stopped by | iterations | seconds | s / iteration | vs deepsc ADMM |")
print("|---|---|---|---|---|---|")
rows = [("deepsc ADMM (float32)", admm, "tol"), ("deepsc FISTA (float32)", results["deepsc_fista"], "tol")]
rows += [(f"SPORCO ConvBPDNMaskDcpl ({'AutoRho' if r['auto_rho'] else 'default rho'})", r if r["reached"] else None,
          "target") for r in runs]
for name, r, how in rows:
    if r is None:
        print(f"| {name} | did not reach the target | | | | |")
        continue
    stop = f"tol {r['tol']:g}" if how == "tol" else f"objective {r['objective_here']:.6f}"
    ratio = f"{r['seconds'] / admm['seconds']:.1f}x" if admm else ""
    print(f"| {name} | {stop} | {r['iterations']} | {r['seconds']:.2f} | {r['seconds'] / r['iterations']:.4f} | {ratio} |")
print(f"| SPORCO ConvBPDN, periodic problem, 100 iterations | | 100 | | "
      f"{results['sporco_periodic_seconds_per_iteration']:.4f} | |")
if a.json_out:
    with open(a.json_out, "w") as f:
        json.dump(results, f, indent=1)
shutil.rmtree(work, ignore_errors=True)
