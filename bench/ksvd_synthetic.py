#!/usr/bin/env python3
"""The synthetic experiment of Aharon, Elad & Bruckstein (2006, IEEE TSP 54, section V-A): how many
atoms of a generating dictionary do the learners find?

  PYTHONPATH=build/python /usr/bin/python3 bench/ksvd_synthetic.py [--seeds 8] [--threads 2] [--json rows.json]

Data (per seed): D [20, 50] with i.i.d. Gaussian entries and unit-norm columns; 1,500 signals, each
3 atoms at random positions with i.i.d. coefficients uniform in [-1, 1]; white Gaussian noise at an
SNR of 30, 20 or 10 dB, or none (the same generator as tests/dictlearn/test_dictionary_learning.cpp).
An atom is found when a learned atom d_hat has 1 - |<d, d_hat>| < 0.01. Learners, from data signals:
- deepsc K-SVD and MOD, K = 3, 80 iterations: with atom swaps and restarts (the default), with swaps
  only, and as published (neither);
- deepsc online (Mairal et al. 2010) and Olshausen-Field, lambda = 0.1, batches of 256, 470
  mini-batches (about 80 passes);
- scikit-learn DictionaryLearning (alpha = 0.1, coordinate descent, 80 iterations) — the same
  objective 1/2||y - Dx||^2 + lambda||x||_1 as the online learner.
Prints per learner and noise level the mean and the worst fraction found over the seeds, and the
mean seconds per run.
"""
import argparse
import json
import math
import time
import warnings

import torch

import deepsc

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--seeds", type=int, default=8, help="seeds 0 .. N-1 (dictionary, signals and learner)")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--no-sklearn", action="store_true", help="leave scikit-learn out")
p.add_argument("--json", default=None, metavar="PATH", help="write the rows as JSON")
a = p.parse_args()
if a.seeds < 1:
    raise SystemExit("--seeds must be >= 1")
torch.set_num_threads(a.threads)

NOISE = [None, 30, 20, 10]


def experiment(seed, snr_db):
    """(D [20, 50], Y [1500, 20]) of the experiment for a seed and noise level (None: no noise)."""
    g = torch.Generator().manual_seed(seed)
    d = torch.randn(20, 50, generator=g, dtype=torch.float64)
    d = d / d.norm(dim=0, keepdim=True)
    support = torch.argsort(torch.rand(1500, 50, generator=g, dtype=torch.float64), 1)[:, :3]
    values = torch.rand(1500, 3, generator=g, dtype=torch.float64) * 2 - 1
    y = torch.zeros(1500, 50, dtype=torch.float64).scatter_(1, support, values) @ d.T
    if snr_db is not None:
        noise_power = y.pow(2).mean() / 10 ** (snr_db / 10)
        y = y + math.sqrt(noise_power) * torch.randn(1500, 20, generator=g, dtype=torch.float64)
    return d, y


def found(truth, learned):
    learned = learned / learned.norm(dim=0, keepdim=True).clamp_min(1e-300)
    return ((truth.T @ learned).abs().max(1).values > 0.99).double().mean().item()


def deepsc_learner(algorithm, **options):
    def learn(y, seed):
        return deepsc.learn_dictionary(y, 50, algorithm, seed=seed, **options).dictionary
    return learn


def sklearn_learner(y, seed):
    from sklearn.decomposition import DictionaryLearning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DictionaryLearning(n_components=50, alpha=0.1, max_iter=80, fit_algorithm="cd", random_state=seed)
        model.fit(y.numpy())
    return torch.from_numpy(model.components_.T.copy())


LEARNERS = [
    ("deepsc K-SVD", deepsc_learner("ksvd", sparsity=3, iterations=80)),
    ("deepsc K-SVD, swaps only", deepsc_learner("ksvd", sparsity=3, iterations=80, restart_passes=0)),
    ("deepsc K-SVD as published", deepsc_learner("ksvd", sparsity=3, iterations=80, swap_atoms=False, restart_passes=0)),
    ("deepsc MOD", deepsc_learner("mod", sparsity=3, iterations=80)),
    ("deepsc MOD, swaps only", deepsc_learner("mod", sparsity=3, iterations=80, restart_passes=0)),
    ("deepsc MOD as published", deepsc_learner("mod", sparsity=3, iterations=80, swap_atoms=False, restart_passes=0)),
    ("deepsc online", deepsc_learner("online", lam=0.1, batch_size=256, iterations=470)),
    ("deepsc Olshausen-Field", deepsc_learner("olshausen-field", lam=0.1, batch_size=256, iterations=470)),
]
if not a.no_sklearn:
    LEARNERS.append(("scikit-learn DictionaryLearning", sklearn_learner))

rows = []
for name, learn in LEARNERS:
    row = {"learner": name}
    seconds = []
    for snr in NOISE:
        rates = []
        for seed in range(a.seeds):
            truth, y = experiment(seed, snr)
            start = time.perf_counter()
            learned = learn(y, seed)
            seconds.append(time.perf_counter() - start)
            rates.append(found(truth, learned))
        key = "noiseless" if snr is None else f"{snr} dB"
        row[key] = {"mean": sum(rates) / len(rates), "worst": min(rates), "per_seed": rates}
    row["seconds_per_run"] = sum(seconds) / len(seconds)
    rows.append(row)
    print(f"measured {name}", flush=True)

keys = ["noiseless"] + [f"{s} dB" for s in NOISE[1:]]
print(f"\nAtoms found (mean / worst over {a.seeds} seeds), 20 x 50 dictionary, 1,500 signals of 3 atoms, "
      f"{a.threads} threads")
print("| learner | " + " | ".join(keys) + " | s per run |")
print("|---|" + "---|" * (len(keys) + 1))
for row in rows:
    cells = [f"{100 * row[k]['mean']:.1f}% / {100 * row[k]['worst']:.0f}%" for k in keys]
    print(f"| {row['learner']} | " + " | ".join(cells) + f" | {row['seconds_per_run']:.2f} |")
if a.json:
    with open(a.json, "w") as out:
        json.dump(rows, out, indent=1)
