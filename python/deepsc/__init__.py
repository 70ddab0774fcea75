"""deepsc: sparse coding, convolutional and multi-layer sparse coding, dictionary learning and CSC
layers for PyTorch, running deepsc's C++ core (Zhang, "From sparse coding to deep learning", 2024).

Tensors cross into C++ without copies and the GIL is released while C++ works. Bad arguments raise
ValueError (shape, dtype, NaN, an unknown name, an option a solver does not support) with the C++
message; other failures raise RuntimeError.

    import torch, deepsc
    D = torch.nn.functional.normalize(torch.randn(64, 256, dtype=torch.float64), dim=0)
    Y = torch.randn(1000, 64, dtype=torch.float64)
    r = deepsc.encode(D, Y, solver="fista", lam=0.1)   # r.codes [1000, 256], r.objective, ...

Submodules: deepsc.nn (CscLayer, load_model), deepsc.sklearn (scikit-learn estimators).
"""
import torch  # loads LibTorch and libtorch_python before the extension module

from . import _C
from ._sparse import (
    EncodeResult,
    check_recovery,
    conv_encode,
    encode,
    guaranteed_support_size,
    hard_threshold,
    mutual_coherence,
    nonneg_soft_threshold,
    recovery_bound,
    shrink,
    soft_threshold,
    solvers,
)
from ._dictlearn import LearnResult, dictionary_objective, learn_dictionary
from ._mlcsc import MlcscCodes, mlcsc_encode, mlcsc_pursuits

__version__ = _C.__version__

__all__ = [
    "EncodeResult", "LearnResult", "MlcscCodes",
    "check_recovery", "conv_encode", "dictionary_objective", "encode", "guaranteed_support_size",
    "hard_threshold", "learn_dictionary", "mlcsc_encode", "mlcsc_pursuits", "mutual_coherence",
    "nonneg_soft_threshold", "recovery_bound", "shrink", "soft_threshold", "solvers",
]
