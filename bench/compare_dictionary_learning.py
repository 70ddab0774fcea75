#!/usr/bin/env python3
"""Online dictionary learning: deepsc (`deepsc learn-dict --algo online`) against scikit-learn's
MiniBatchDictionaryLearning on the same natural-image patches, the same atoms, λ, batch size and
thread count, in one run. Also times K-SVD iterations (deepsc).

  bench/compare_dictionary_learning.py --deepsc build/apps/deepsc/deepsc [--images data/images]
      [--patch 12] [--atoms 256] [--lambda 0.1] [--samples 60000] [--epochs 1] [--threads T]

Protocol
1. `deepsc learn-dict` draws the patches (grey, 1/f-whitened pictures, DC removed, one global
   scale) and writes the training and held-out patch matrices, so both learners see the same rows.
2. scikit-learn learns with fit_algorithm='cd' (coordinate-descent lasso, its fastest), batch 256,
   for --epochs passes over the training patches; its wall time is t_sk, its dictionary D_sk.
3. The target is F_sk, the held-out objective mean ½‖y − D x‖² + λ‖x‖₁ of D_sk, where x is the
   exact lasso code — computed by one evaluator for every dictionary (sklearn's lasso_cd with a tight
   tolerance), so both sides are scored by the same ruler.
4. deepsc learns with budgets of 25, 37, 56, ... (×1.5) mini-batches (each a fresh run from the same
   seed; its learn_seconds excludes patch preparation) until its held-out objective, scored by the
   same evaluator, is ≤ F_sk; t_deepsc is that run's time. Speed-up = t_sk / t_deepsc.
Objectives use the same λ on both sides: sklearn's dictionary-learning objective is
½‖y − uV‖² + α‖u‖₁ per sample, deepsc's ½‖y − Dx‖² + λ‖x‖₁ with D = Vᵀ.
"""
import argparse, json, os, subprocess, sys, tempfile, time

p = argparse.ArgumentParser()
p.add_argument("--deepsc", required=True)
p.add_argument("--images", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "images"))
p.add_argument("--patch", type=int, default=12)
p.add_argument("--atoms", type=int, default=256)
p.add_argument("--lambda", dest="lam", type=float, default=0.1)
p.add_argument("--samples", type=int, default=60000)
p.add_argument("--batch", type=int, default=256)
p.add_argument("--epochs", type=int, default=1, help="scikit-learn's passes over the training patches")
p.add_argument("--threads", type=int, default=os.cpu_count())
p.add_argument("--ksvd-sparsity", type=int, default=8)
p.add_argument("--json-out", default=None)
a = p.parse_args()
os.environ["OMP_NUM_THREADS"] = str(a.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)
os.environ["MKL_NUM_THREADS"] = str(a.threads)

import numpy as np
from sklearn.decomposition import MiniBatchDictionaryLearning, sparse_encode

work = tempfile.mkdtemp(prefix="deepsc-dl-bench-")


def deepsc(*args):
    cmd = [a.deepsc, "learn-dict", *map(str, args), "--threads", str(a.threads), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def holdout_objective(D, H):
    """Mean ½‖y − D x‖² + λ‖x‖₁ over the held-out rows with x the lasso code (one evaluator for all)."""
    V = np.ascontiguousarray(D.T)  # sklearn's atoms are rows
    U = sparse_encode(H, V, algorithm="lasso_cd", alpha=a.lam, max_iter=5000, n_jobs=None)
    R = H - U @ V
    return float(np.mean(0.5 * np.sum(R * R, axis=1) + a.lam * np.sum(np.abs(U), axis=1)))


# 1. The patches, drawn once by deepsc.
P, H = os.path.join(work, "train.npy"), os.path.join(work, "holdout.npy")
prep = deepsc("--images", a.images, "--patch", a.patch, "--samples", a.samples, "--whiten", "of", "--algo", "online",
              "--atoms", a.atoms, "--lambda", a.lam, "--iterations", 1, "--save-patches", P, "--save-holdout", H,
              "--out", os.path.join(work, "prep.npy"))
Y, Yh = np.load(P).astype(np.float64), np.load(H).astype(np.float64)
print(f"patches: {Y.shape[0]} training, {Yh.shape[0]} held out, n = {Y.shape[1]}, {a.atoms} atoms, lambda {a.lam}, "
      f"batch {a.batch}, {a.threads} threads", flush=True)

# 2. scikit-learn.
steps = a.epochs * int(np.ceil(Y.shape[0] / a.batch))
# max_iter counts passes over the data; tol = 0 and max_no_improvement = None turn early stopping off.
sk = MiniBatchDictionaryLearning(n_components=a.atoms, alpha=a.lam, batch_size=a.batch, fit_algorithm="cd",
                                 transform_algorithm="lasso_cd", random_state=0, max_iter=a.epochs, tol=0.0,
                                 max_no_improvement=None, shuffle=True)
start = time.perf_counter()
sk.fit(Y)
t_sk = time.perf_counter() - start
D_sk = sk.components_.T
F_sk = holdout_objective(D_sk, Yh)
F_start = holdout_objective(np.load(os.path.join(work, "prep.npy")), Yh)
print(f"scikit-learn MiniBatchDictionaryLearning: {steps} mini-batches in {t_sk:.1f} s, held-out objective {F_sk:.5f} "
      f"(a 1-batch dictionary: {F_start:.5f})", flush=True)

# 3. deepsc online, growing budgets until it reaches F_sk.
rows, reached = [], None
budget = 25
while budget <= 64 * steps:  # 25, 37, 56, 84, ... mini-batches (×1.5)
    out = os.path.join(work, f"online-{budget}.npy")
    # No held-out set inside the timed run: the evaluation below is outside both timings.
    r = deepsc("--patches", P, "--holdout-fraction", 0, "--algo", "online", "--atoms", a.atoms, "--lambda", a.lam,
               "--batch", a.batch, "--iterations", budget, "--out", out)
    F = holdout_objective(np.load(out).astype(np.float64), Yh)
    rows.append({"iterations": budget, "seconds": r["learn_seconds"], "holdout_objective": F})
    print(f"deepsc online: {budget} mini-batches in {r['learn_seconds']:.2f} s, held-out objective {F:.5f}", flush=True)
    if F <= F_sk:
        reached = rows[-1]
        break
    budget = int(budget * 1.5)

# 4. K-SVD iteration time (deepsc), on the same training patches.
ks = deepsc("--patches", P, "--holdout-fraction", 0, "--algo", "ksvd", "--atoms", a.atoms, "--sparsity", a.ksvd_sparsity,
            "--iterations", 3, "--out", os.path.join(work, "ksvd.npy"))
ksvd_iter = ks["learn_seconds"] / ks["iterations"]
print(f"deepsc K-SVD: {ks['iterations']} iterations over {Y.shape[0]} patches at K = {a.ksvd_sparsity}: "
      f"{ksvd_iter:.2f} s per iteration", flush=True)

result = {"threads": a.threads, "atoms": a.atoms, "lambda": a.lam, "patch": a.patch, "training_patches": int(Y.shape[0]),
          "holdout_patches": int(Yh.shape[0]), "sklearn": {"mini_batches": steps, "seconds": t_sk, "holdout_objective": F_sk},
          "deepsc_online": rows, "ksvd_seconds_per_iteration": ksvd_iter}
if reached:
    result["speedup"] = t_sk / reached["seconds"]
    print(f"time to the held-out objective {F_sk:.5f}: scikit-learn {t_sk:.1f} s, deepsc {reached['seconds']:.2f} s "
          f"({reached['iterations']} mini-batches): deepsc {result['speedup']:.1f}x faster")
else:
    print("deepsc did not reach scikit-learn's held-out objective within the budgets tried")
if a.json_out:
    with open(a.json_out, "w") as f:
        json.dump(result, f, indent=1)
