"""Plain PyTorch FISTA (Beck & Teboulle) written in Python, the peer for deepsc's FISTA.
Batched like deepsc: X [N, m], Y [N, n], D [n, m]. Finds the smallest iteration count whose
objective reaches the target, then times that many iterations. Prints one JSON line."""
import argparse, json, time
import numpy as np
import torch

p = argparse.ArgumentParser()
p.add_argument("--dir", required=True)
p.add_argument("--lam", type=float, default=0.1)
p.add_argument("--target", type=float, required=True)
p.add_argument("--threads", type=int, required=True)
p.add_argument("--repeats", type=int, default=3)
a = p.parse_args()
torch.set_num_threads(a.threads)

D = torch.from_numpy(np.load(f"{a.dir}/D.npy"))
Y = torch.from_numpy(np.load(f"{a.dir}/Y.npy"))
L = torch.linalg.eigvalsh(D @ D.T).max().item()

def objective(X):
    """Evaluated in float64 so every peer is judged by the same arithmetic."""
    X, Yd, Dd = X.double(), Y.double(), D.double()
    return float((0.5 * ((Yd - X @ Dd.T) ** 2).sum(1) + a.lam * X.abs().sum(1)).mean())

def fista(iters):
    X = torch.zeros(Y.shape[0], D.shape[1]); Z = X.clone(); t = 1.0
    for _ in range(iters):
        grad = (Z @ D.T - Y) @ D
        X_new = torch.nn.functional.softshrink(Z - grad / L, a.lam / L)
        t_new = (1 + (1 + 4 * t * t) ** 0.5) / 2
        Z = X_new + ((t - 1) / t_new) * (X_new - X)
        X, t = X_new, t_new
    return X

# Doubling then bisection on the iteration count.
lo, hi = 0, 16
while objective(fista(hi)) > a.target:
    lo, hi = hi, hi * 2
    if hi > 200000:
        print(json.dumps({"peer": "pytorch fista (python)", "seconds": None, "note": "never reached target"}))
        raise SystemExit
while hi - lo > max(1, hi // 50):
    mid = (lo + hi) // 2
    if objective(fista(mid)) <= a.target: hi = mid
    else: lo = mid
times = []
for _ in range(a.repeats):
    t0 = time.perf_counter(); X = fista(hi); times.append(time.perf_counter() - t0)
print(json.dumps({"peer": "pytorch fista (python)", "iterations": hi, "seconds": min(times), "objective": objective(X)}))
