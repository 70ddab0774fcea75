"""deepsc's default lasso solve timed the way sklearn_peers.py times scikit-learn: repeated calls in
one process (best of --repeats), through the Python package (`deepsc.encode`, the same C++ solve as
`deepsc encode`). `deepsc encode` on the command line pays once-per-process costs inside its timed
solve that an in-process repeat does not (the first touch of the codes' fresh pages, starting the
thread pool); this measures both, so the report can give each. Prints one JSON line and writes the
last run's codes to --out (the caller evaluates their objective).
"""
import argparse, json, sys
import numpy as np
import torch

p = argparse.ArgumentParser()
p.add_argument("--dir", required=True)
p.add_argument("--lam", type=float, default=0.1)
p.add_argument("--threads", type=int, required=True)
p.add_argument("--repeats", type=int, default=3)
p.add_argument("--python-path", required=True, help="folder holding the built deepsc package")
p.add_argument("--out", required=True)
a = p.parse_args()
sys.path.insert(0, a.python_path)
import deepsc  # noqa: E402  (after the path is set)

torch.set_num_threads(a.threads)
D = torch.from_numpy(np.load(f"{a.dir}/D.npy"))
Y = torch.from_numpy(np.load(f"{a.dir}/Y.npy"))
runs = [deepsc.encode(D, Y, lam=a.lam) for _ in range(a.repeats)]
np.save(a.out, runs[-1].codes.numpy())
print(json.dumps({"peer": "deepsc default in-process", "solver": runs[-1].solver,
                  "seconds": min(r.seconds for r in runs), "first_call_seconds": runs[0].seconds,
                  "iterations": runs[-1].iterations, "converged": runs[-1].converged}), flush=True)
