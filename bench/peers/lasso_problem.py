"""Writes the benchmark's lasso problem as float32 .npy files (deepsc's conventions): a unit-norm
Gaussian dictionary D [n, m] and signals Y [N, n], either
- sparse: Y = X D^T + noise with k-sparse X (codes the lasso recovers in a few sweeps), or
- patches: mean-removed p x p grey patches (n = p^2) of natural pictures at random positions, scaled by
  one global factor so that the mean patch norm is 1 (their lasso codes are not sparse-generated).
"""
import argparse
import glob
import os

import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--n", type=int, default=64)
p.add_argument("--m", type=int, default=256)
p.add_argument("--signals", type=int, default=20000)
p.add_argument("--k", type=int, default=8)
p.add_argument("--noise", type=float, default=0.05)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--problem", choices=["sparse", "patches"], default="sparse")
p.add_argument("--images", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "images"))
a = p.parse_args()


def grey(picture):
    """Grey levels in [0, 1]: RGB by the Rec. 601 luma weights, in floating point (no rounding to 8 bits)."""
    if picture.mode not in ("L", "RGB"):
        picture = picture.convert("RGB")
    q = np.asarray(picture, dtype=np.float64) / 255
    return q if q.ndim == 2 else q @ np.array([0.299, 0.587, 0.114])


def picture_patches(folder, side, count, rng):
    """count mean-removed side x side patches of the grey pictures of folder, globally scaled: each patch
    comes from a picture drawn uniformly, at a position drawn uniformly in it."""
    from PIL import Image
    files = sorted(glob.glob(os.path.join(folder, "*.png")) + glob.glob(os.path.join(folder, "*.jpg")))
    if not files:
        raise SystemExit(f"no pictures in {folder} (run scripts/fetch-images.sh)")
    pictures = [grey(Image.open(f)) for f in files]
    pictures = [q for q in pictures if min(q.shape) >= side]
    which = rng.integers(0, len(pictures), count)
    patches = np.empty((count, side * side))
    for i, w in enumerate(which):
        q = pictures[w]
        r, c = rng.integers(0, q.shape[0] - side + 1), rng.integers(0, q.shape[1] - side + 1)
        patches[i] = q[r:r + side, c:c + side].reshape(-1)
    patches -= patches.mean(axis=1, keepdims=True)
    return patches / np.linalg.norm(patches, axis=1).mean()

rng = np.random.default_rng(a.seed)
d = rng.standard_normal((a.n, a.m))
d /= np.linalg.norm(d, axis=0, keepdims=True)
if a.problem == "patches":
    side = int(round(a.n ** 0.5))
    if side * side != a.n:
        raise SystemExit(f"--problem patches needs n = p^2, got {a.n}")
    y = picture_patches(a.images, side, a.signals, rng)
else:
    x = np.zeros((a.signals, a.m))
    rows = np.arange(a.signals)[:, None]
    support = np.argsort(rng.random((a.signals, a.m)), axis=1)[:, : a.k]
    x[rows, support] = rng.standard_normal((a.signals, a.k))
    y = x @ d.T + a.noise * rng.standard_normal((a.signals, a.n))
np.save(f"{a.out}/D.npy", d.astype(np.float32))
np.save(f"{a.out}/Y.npy", y.astype(np.float32))
