#!/usr/bin/env python3
"""SPORCO's ADMM solvers for convolutional BPDN, timed for bench/compare_csc.py (one JSON line
per run on stdout).

  sporco_cbpdn.py --sporco DIR --dir WORK --lam L --threads T --solver {maskdcpl,periodic}
                  [--target F] [--tol TOL] [--auto-rho] [--max-iter N] [--pad P] [--codes OUT.npy]

WORK holds W.npy [M, 1, k, k] (unit-norm atoms) and S.npy [1, 1, H, W] (the signal).
  maskdcpl  ConvBPDNMaskDcpl on the signal zero-padded by P >= k - 1 (default 2(k - 1)) at the
            bottom and right, with the mask of the H x W window:
              min_X 1/2 ||M (sum_m d_m * x_m - s)||^2 + lam ||X||_1
            with circular convolution on the padded grid. For P >= k - 1 this is the
            boundary-handled problem that deepsc's ConvDictionary with padding k - 1 poses (codes
            that touch no window pixel are 0 at the optimum). P = 2(k - 1) gives SPORCO the same
            FFT grid as deepsc (270 for 256 and k = 8, where 263, a prime, is 2-3x slower).
  periodic  ConvBPDN on the H x W signal itself with circular boundary (a different problem).
--target F stops at the first iteration whose objective (SPORCO's own evaluation at its X
variable) is <= F; otherwise SPORCO's residual rule with --tol stops it. The codes written (--codes)
are X, shape [M, H', W']. The time reported is SPORCO's 'solve_wo_func' timer: the solve without
its per-iteration objective evaluation, the most favourable reading of SPORCO's cost.
"""
import argparse, json, os, sys

p = argparse.ArgumentParser()
p.add_argument("--sporco", required=True)
p.add_argument("--dir", required=True)
p.add_argument("--lam", type=float, required=True)
p.add_argument("--threads", type=int, default=os.cpu_count())
p.add_argument("--solver", choices=["maskdcpl", "periodic"], required=True)
p.add_argument("--tol", type=float, default=0.0)
p.add_argument("--target", type=float, default=None)
p.add_argument("--pad", type=int, default=None)
p.add_argument("--auto-rho", action="store_true")
p.add_argument("--max-iter", type=int, default=5000)
p.add_argument("--codes", default=None)
a = p.parse_args()

sys.path.insert(0, a.sporco)
import numpy as np
import sporco.fft
from sporco.admm import cbpdn

sporco.fft.pyfftw_threads = a.threads

W = np.load(f"{a.dir}/W.npy").astype(np.float64)  # [M, 1, k, k]
S = np.load(f"{a.dir}/S.npy").astype(np.float64)[0, 0]  # [H, W]
k = W.shape[-1]
# deepsc's synthesis conv_transpose2d is a true convolution with the atom, as is SPORCO's, so the
# atoms go over unchanged: D[:, :, m] = W[m, 0].
D = np.ascontiguousarray(np.transpose(W[:, 0], (1, 2, 0)))  # [k, k, M]

opt = {"Verbose": False, "MaxMainIter": a.max_iter, "RelStopTol": a.tol, "AuxVarObj": False}
if a.target is not None:
    opt["Callback"] = lambda solver: solver.itstat[-1].ObjFun <= a.target
if a.solver == "maskdcpl":
    extra = 2 * (k - 1) if a.pad is None else a.pad
    if extra < k - 1:
        sys.exit(f"sporco_cbpdn: --pad must be >= k - 1 = {k - 1}")
    pad = ((0, extra), (0, extra))
    signal, mask = np.pad(S, pad), np.pad(np.ones_like(S), pad)
    opt["AutoRho"] = {"Enabled": a.auto_rho}
    solver = cbpdn.ConvBPDNMaskDcpl(D, signal, a.lam, mask, cbpdn.ConvBPDNMaskDcpl.Options(opt), dimK=0, dimN=2)
else:
    opt["AutoRho"] = {"Enabled": a.auto_rho}
    solver = cbpdn.ConvBPDN(D, S, a.lam, cbpdn.ConvBPDN.Options(opt), dimK=0, dimN=2)
solver.solve()
codes = np.squeeze(solver.X)  # [H', W', M]
if a.codes:
    np.save(a.codes, np.ascontiguousarray(np.transpose(codes, (2, 0, 1))))
last = solver.itstat[-1]
print(json.dumps({"solver": a.solver, "tol": a.tol, "auto_rho": a.auto_rho, "iterations": len(solver.itstat),
                  "objective": float(last.ObjFun), "reached": bool(a.target is not None and last.ObjFun <= a.target),
                  "seconds": solver.timer.elapsed("solve_wo_func"), "seconds_with_objective": solver.timer.elapsed("solve")}))
