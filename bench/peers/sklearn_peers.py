"""scikit-learn side of the sparse-coding benchmark. Prints one JSON line per measurement.

lasso: sparse_encode(algorithm="lasso_cd") fits sklearn.linear_model.Lasso(alpha=lambda/n,
fit_intercept=False, precompute=Gram) on all signals; its objective (1/2n)||y - Dx||^2 +
(lambda/n)||x||_1 is deepsc's (1/2)||y - Dx||^2 + lambda||x||_1 divided by n, so alpha=lambda
is the same problem. sparse_encode exposes no tolerance, so the tolerance sweep calls the same
Lasso estimator sparse_encode builds, with tol set.
omp: orthogonal_mp_gram(Gram, D^T Y, n_nonzero_coefs=K), as sparse_encode(algorithm="omp") does.
"""
import argparse, json, time
import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits
from sklearn.decomposition import sparse_encode
from sklearn.linear_model import Lasso, orthogonal_mp_gram

p = argparse.ArgumentParser()
p.add_argument("--dir", required=True)
p.add_argument("--lam", type=float, default=0.1)
p.add_argument("--target", type=float, required=True, help="mean objective to reach")
p.add_argument("--k", type=int, default=8)
p.add_argument("--repeats", type=int, default=3)
p.add_argument("--threads", type=int, required=True)
a = p.parse_args()
threadpool_limits(a.threads)

D = np.load(f"{a.dir}/D.npy").astype(np.float64)   # [n, m]; sklearn wants atoms as rows: D^T
Y = np.load(f"{a.dir}/Y.npy").astype(np.float64)   # [N, n]
n = D.shape[0]

def objective(X):
    return float(np.mean(0.5 * np.sum((Y - X @ D.T) ** 2, axis=1) + a.lam * np.sum(np.abs(X), axis=1)))

def best_of(fn):
    times, out = [], None
    for _ in range(a.repeats):
        t = time.perf_counter(); out = fn(); times.append(time.perf_counter() - t)
    return min(times), out

gram = D.T @ D
# sparse_encode as users call it (default tolerance 1e-4).
t, X = best_of(lambda: sparse_encode(Y, D.T, algorithm="lasso_cd", alpha=a.lam, gram=gram, max_iter=10000,
                                     n_jobs=a.threads))
print(json.dumps({"peer": "sklearn sparse_encode lasso_cd (default tol)", "seconds": t, "objective": objective(X)}), flush=True)

def lasso_cd(tol):
    """sparse_encode's own split of the signals over n_jobs workers, with the tolerance set."""
    fit = lambda Yc: Lasso(alpha=a.lam / n, fit_intercept=False, precompute=gram, max_iter=100000,
                           tol=tol).fit(D, Yc.T).coef_.reshape(len(Yc), -1)
    chunks = np.array_split(Y, a.threads)
    return np.vstack(Parallel(n_jobs=a.threads)(delayed(fit)(c) for c in chunks))

for tol in [1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10]:
    est = lambda: lasso_cd(tol)
    # One run to see whether this tolerance is enough, then the timed runs.
    X = est()
    obj = objective(X)
    if obj <= a.target:
        t, X = best_of(est)
        print(json.dumps({"peer": "sklearn lasso_cd", "tol": tol, "seconds": t, "objective": objective(X)}), flush=True)
        break
else:
    print(json.dumps({"peer": "sklearn lasso_cd", "seconds": None, "objective": obj, "note": "never reached target"}))

Xy = D.T @ Y.T
t, Xo = best_of(lambda: orthogonal_mp_gram(gram, Xy, n_nonzero_coefs=a.k))
r = Y - Xo.T @ D.T
print(json.dumps({"peer": "sklearn orthogonal_mp_gram", "k": a.k, "seconds": t,
                  "residual": float(np.mean(0.5 * np.sum(r ** 2, axis=1)))}), flush=True)
