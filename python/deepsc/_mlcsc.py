"""Multi-layer convolutional sparse coding: the layered pursuits and ML-ISTA / ML-FISTA."""
from typing import List, NamedTuple, Optional, Sequence

import torch

from . import _C


class MlcscCodes(NamedTuple):
    """Codes X_1 ... X_K of every layer, iterations per layer (or one entry), and whether every stop
    rule was met."""
    codes: List[torch.Tensor]
    iterations: List[int]
    converged: bool


def mlcsc_pursuits() -> List[str]:
    """thresholding, layered-bp, layered-ista, ml-ista, ml-fista."""
    return _C.mlcsc_pursuits()


def mlcsc_encode(dictionaries: Sequence[torch.Tensor], Y: torch.Tensor, pursuit: str = "ml-fista", *,
                 values: Sequence[float], shrinkage: str = "soft", max_iter: int = 1000, tol: float = 1e-7,
                 convolutional: bool = False, strides: Optional[Sequence[int]] = None,
                 paddings: Optional[Sequence[int]] = None, dilations: Optional[Sequence[int]] = None,
                 normalize: bool = False) -> MlcscCodes:
    """Every layer's codes of Y under the ML-CSC model Y = D_1 X_1, X_{i-1} = D_i X_i.

    Dense layers: D_i [n_{i-1}, n_i], Y [N, n_0]. Convolutional (convolutional=True): W_i
    [M_i, M_{i-1}, k, k] with per-layer strides, paddings and dilations, Y [N, C, H, W]. values holds
    one number per layer: the thresholds beta_i for "thresholding" (shrinkage soft, hard or nonneg),
    the lasso weights lam_i for the others (lam_i = 0 with layered-bp is basis pursuit proper).
    """
    out = _C.mlcsc_encode(list(dictionaries), Y, pursuit, [float(v) for v in values], shrinkage, int(max_iter),
                          float(tol), bool(convolutional), list(strides or []), list(paddings or []),
                          list(dilations or []), bool(normalize))
    return MlcscCodes(out["codes"], out["iterations"], out["converged"])
