"""Writes the benchmark's lasso problem: a unit-norm Gaussian dictionary D [n, m] and signals
Y [N, n] = X D^T + noise with k-sparse X, as float32 .npy files (deepsc's conventions)."""
import argparse
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--n", type=int, default=64)
p.add_argument("--m", type=int, default=256)
p.add_argument("--signals", type=int, default=20000)
p.add_argument("--k", type=int, default=8)
p.add_argument("--noise", type=float, default=0.05)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()

rng = np.random.default_rng(a.seed)
d = rng.standard_normal((a.n, a.m))
d /= np.linalg.norm(d, axis=0, keepdims=True)
x = np.zeros((a.signals, a.m))
rows = np.arange(a.signals)[:, None]
support = np.argsort(rng.random((a.signals, a.m)), axis=1)[:, : a.k]
x[rows, support] = rng.standard_normal((a.signals, a.k))
y = x @ d.T + a.noise * rng.standard_normal((a.signals, a.n))
np.save(f"{a.out}/D.npy", d.astype(np.float32))
np.save(f"{a.out}/Y.npy", y.astype(np.float32))
