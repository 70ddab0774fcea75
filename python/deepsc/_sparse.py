"""Shrinkage, sparse coding over dense and convolutional dictionaries, coherence."""
from typing import List, Optional, Union

import torch

from . import _C

Beta = Union[float, torch.Tensor]

# What encode() returns: solver (the one that ran), codes, iterations, objective, converged, history, seconds (the C++ solve's
# wall time), lipschitz and step (gradient-step solvers: L = ||D^T D||_2 and eta = step_scale / L).
EncodeResult = _C.SolverRun


def shrink(x: torch.Tensor, beta: Beta, kind: str = "soft") -> torch.Tensor:
    """Shrinkage S_beta (soft), H_beta (hard) or S+_beta (nonneg) of x.

    beta is a scalar, a per-channel vector (size x.shape[1]) or a tensor broadcastable to x;
    soft and nonneg are differentiable in x and beta.
    """
    return _C.shrink(x, beta, kind)


def soft_threshold(x: torch.Tensor, beta: Beta) -> torch.Tensor:
    """S_beta(x) = sign(x) max(|x| - beta, 0), the proximal map of beta ||.||_1."""
    return _C.shrink(x, beta, "soft")


def hard_threshold(x: torch.Tensor, beta: Beta) -> torch.Tensor:
    """H_beta(x) = x 1[|x| > beta]."""
    return _C.shrink(x, beta, "hard")


def nonneg_soft_threshold(x: torch.Tensor, beta: Beta) -> torch.Tensor:
    """S+_beta(x) = max(x - beta, 0) = ReLU(x - beta)."""
    return _C.shrink(x, beta, "nonneg")


def solvers() -> List[dict]:
    """Every solver of the registry: name, description and what it supports."""
    return _C.solvers()


def _request(lam, beta, shrinkage, sparsity, epsilon, max_iter, iters, tol, stop, check_every, nonneg,
             adaptive_restart, step_scale, warm_start):
    r = _C.SolverRequest()
    r.lam, r.beta, r.shrinkage = float(lam), float(beta), shrinkage
    r.sparsity, r.epsilon = int(sparsity), float(epsilon)
    r.max_iter, r.iters, r.tol, r.stop, r.check_every = int(max_iter), int(iters), float(tol), stop, int(check_every)
    r.nonneg, r.adaptive_restart, r.step_scale = bool(nonneg), bool(adaptive_restart), float(step_scale)
    r.warm_start = warm_start
    return r


def encode(D: torch.Tensor, Y: torch.Tensor, solver: str = "auto", *, lam: float = 0.1, beta: float = 0.1,
           shrinkage: str = "soft", sparsity: int = 0, epsilon: float = 0.0, max_iter: int = 1000, iters: int = 0,
           tol: float = 1e-6, stop: str = "change", check_every: int = 0, nonneg: bool = False,
           adaptive_restart: bool = True, step_scale: float = 1.0, warm_start: Optional[torch.Tensor] = None,
           normalize: bool = False) -> EncodeResult:
    """Sparse codes X [N, m] of the rows of Y [N, n] over the dictionary D [n, m] (columns are atoms).

    Solvers (see solvers()): "auto" (default) is the fastest lasso solver for the problem, cd on CPU
    and fista elsewhere (result.solver says which ran); threshold X = S_beta(D^T Y) (or the
    `sparsity` largest responses),
    ista / fista / cd for the lasso min 1/2 ||y - D x||^2 + lam ||x||_1 (cd: CPU), omp for
    ||x||_0 <= sparsity or ||y - D x|| <= epsilon (Batch-OMP). The same options as `deepsc encode`:
    tol and stop ("change" or "gap") end ista/fista/cd, iters > 0 runs exactly that many iterations,
    nonneg constrains X >= 0, warm_start gives X^0, normalize rescales the atoms to unit norm.
    D and Y must be float32 or float64 of one dtype, on one device.
    """
    request = _request(lam, beta, shrinkage, sparsity, epsilon, max_iter, iters, tol, stop, check_every, nonneg,
                       adaptive_restart, step_scale, warm_start)
    return _C.encode_dense(D, Y, solver, request, normalize)


def conv_encode(W: torch.Tensor, Y: torch.Tensor, solver: str = "fista", *, stride: int = 1, padding: int = 0,
                dilation: int = 1, lam: float = 0.1, beta: float = 0.1, shrinkage: str = "soft", max_iter: int = 1000,
                iters: int = 0, tol: float = 1e-6, stop: str = "change", check_every: int = 0, nonneg: bool = False,
                adaptive_restart: bool = True, step_scale: float = 1.0, warm_start: Optional[torch.Tensor] = None,
                normalize: bool = False) -> EncodeResult:
    """Convolutional sparse codes [N, M, H', W'] of signals Y [N, C, H, W] (or [N, C, L]) over the
    dictionary W [M, C, k, k] (or [M, C, k]): D c = conv_transpose(c, W), D^T r = conv(r, W).

    Solvers: threshold, ista, fista (any geometry) and admm (FFT-domain ADMM, stride 1). The output
    padding that gives back Y's size is found for every spatial axis.
    """
    request = _request(lam, beta, shrinkage, 0, 0.0, max_iter, iters, tol, stop, check_every, nonneg,
                       adaptive_restart, step_scale, warm_start)
    return _C.encode_conv(W, Y, solver, request, int(stride), int(padding), int(dilation), normalize)


def mutual_coherence(D: torch.Tensor) -> float:
    """mu(D) = max_{i != j} |<d_i, d_j>| / (||d_i|| ||d_j||) of the columns of D [n, m]."""
    return _C.mutual_coherence(D)


def recovery_bound(mu: float) -> float:
    """1/2 (1 + 1/mu): supports strictly smaller than this are recovered by BP and OMP."""
    return _C.recovery_bound(mu)


def guaranteed_support_size(mu: float, atoms: int) -> int:
    """The largest support size below recovery_bound(mu), capped at the number of atoms."""
    return _C.guaranteed_support_size(mu, atoms)


def check_recovery(codes: torch.Tensor, mu: float, zero_tol: float = 0.0) -> List[dict]:
    """For each row of codes [N, m]: its support size, the BP/OMP bound and whether it holds, and the
    one-step thresholding bound 1/2 (1 + (1/mu) |x_min| / |x_max|) and whether it holds."""
    return _C.check_recovery(codes, mu, zero_tol)
