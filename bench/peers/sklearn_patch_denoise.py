#!/usr/bin/env python3
"""Patch-based sparse-coding denoiser built from scikit-learn, the baseline that
bench/csc_restoration.sh sets beside deepsc's convolutional denoiser (one JSON line on stdout).

  sklearn_patch_denoise.py --noisy NOISY.png --clean CLEAN.png --sigma 25 [--threads T] [--out OUT.png]

The K-SVD denoising recipe (Elad & Aharon, IEEE TIP 2006) with scikit-learn's tools: every
overlapping 8 x 8 patch of the noisy picture, mean removed; a dictionary of 256 atoms learned on
the noisy patches themselves (MiniBatchDictionaryLearning, coordinate-descent lasso with
alpha = sigma on the [0, 1] scale, two passes over 20,000 patches drawn at random); every patch coded by OMP until ||r||^2 <= 64 (1.15 sigma)^2; the patches' approximations
plus their means averaged back at each pixel. (K-SVD's further step, averaging with the noisy
picture weighted by lambda = 30/sigma, is left out.) PSNR on the 0-255 scale.
"""
import argparse, json, os, time

p = argparse.ArgumentParser()
p.add_argument("--noisy", required=True)
p.add_argument("--clean", required=True)
p.add_argument("--sigma", type=float, required=True, help="noise standard deviation on 0-255")
p.add_argument("--threads", type=int, default=os.cpu_count())
p.add_argument("--patch", type=int, default=8)
p.add_argument("--atoms", type=int, default=256)
p.add_argument("--out", default=None)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
os.environ["OMP_NUM_THREADS"] = str(a.threads)

import imageio
import numpy as np
from sklearn.decomposition import MiniBatchDictionaryLearning
from sklearn.feature_extraction.image import extract_patches_2d, reconstruct_from_patches_2d
from sklearn.linear_model import orthogonal_mp_gram


def grey(path):
    x = imageio.imread(path).astype(np.float64)
    return x[..., :3] @ np.array([0.299, 0.587, 0.114]) if x.ndim == 3 else x


noisy, clean = grey(a.noisy) / 255, grey(a.clean) / 255  # [0, 1]
sigma = a.sigma / 255
start = time.perf_counter()
k = a.patch
patches = extract_patches_2d(noisy, (k, k)).reshape(-1, k * k)
means = patches.mean(axis=1, keepdims=True)
patches = patches - means
rng = np.random.default_rng(a.seed)
train = patches[rng.choice(len(patches), size=min(20000, len(patches)), replace=False)]
learner = MiniBatchDictionaryLearning(n_components=a.atoms, alpha=sigma, fit_algorithm="cd", batch_size=256,
                                      max_iter=2, random_state=a.seed)
D = learner.fit(train).components_  # [atoms, k*k], unit rows
learn_seconds = time.perf_counter() - start
tol = k * k * (1.15 * sigma) ** 2
gram, cov = D @ D.T, D @ patches.T
codes = orthogonal_mp_gram(gram, cov, tol=tol, norms_squared=(patches ** 2).sum(axis=1), copy_Gram=False,
                           copy_Xy=False)  # [atoms, patches]
approx = codes.T @ D + means
restored = np.clip(reconstruct_from_patches_2d(approx.reshape(-1, k, k), noisy.shape), 0, 1)
seconds = time.perf_counter() - start


def psnr(x):
    return float(10 * np.log10(1 / np.mean((x - clean) ** 2)))


if a.out:
    imageio.imwrite(a.out, np.round(restored * 255).astype(np.uint8))
print(json.dumps({"psnr": psnr(restored), "noisy_psnr": psnr(noisy), "seconds": seconds, "learn_seconds": learn_seconds,
                  "mean_nonzeros": float((codes != 0).sum(axis=0).mean())}))
