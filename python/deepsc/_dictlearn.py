"""Dense dictionary learning: Olshausen-Field, online (Mairal et al.), K-SVD and MOD."""
from typing import Callable, Optional

import torch

from . import _C

# What learn_dictionary() returns: dictionary D [n, m] (unit-norm columns), history (one dict per
# iteration: iteration, total, objective, holdout_objective, seconds, restart_started,
# restart_outcome: "", "kept" or "rejected"), replaced_atoms, swapped_atoms and
# restarted_atoms.
LearnResult = _C.LearnResult


def _options(atoms, algorithm, lam, sparsity, error_bound, iterations, batch_size, learning_rate, seed, initial,
             initialization, holdout, eval_every, checkpoint, checkpoint_every, resume, coding_tol,
             ksvd_power_iterations, replace_dead_atoms, duplicate_threshold, dead_atom_window, swap_atoms=True,
             restart_passes=10):
    o = _C.LearnOptions(int(atoms))
    o.algorithm, o.lam, o.sparsity, o.error_bound = algorithm, float(lam), int(sparsity), float(error_bound)
    o.iterations, o.batch_size, o.learning_rate, o.seed = int(iterations), int(batch_size), float(learning_rate), int(seed)
    o.initial, o.initialization, o.holdout, o.eval_every = initial, initialization, holdout, int(eval_every)
    o.checkpoint, o.checkpoint_every, o.resume = str(checkpoint or ""), int(checkpoint_every), bool(resume)
    o.coding_tol, o.ksvd_power_iterations = float(coding_tol), int(ksvd_power_iterations)
    o.replace_dead_atoms, o.duplicate_threshold = bool(replace_dead_atoms), float(duplicate_threshold)
    o.dead_atom_window, o.swap_atoms, o.restart_passes = int(dead_atom_window), bool(swap_atoms), int(restart_passes)
    return o


def learn_dictionary(Y: torch.Tensor, atoms: int, algorithm: str = "online", *, lam: float = 0.0, sparsity: int = 0,
                     error_bound: float = 0.0, iterations: int = 100, batch_size: int = 256,
                     learning_rate: float = 0.0, seed: int = 0, initial: Optional[torch.Tensor] = None,
                     initialization: str = "signals", holdout: Optional[torch.Tensor] = None, eval_every: int = 10,
                     checkpoint: Optional[str] = None, checkpoint_every: int = 10, resume: bool = False,
                     coding_tol: float = 1e-2, ksvd_power_iterations: int = 1, replace_dead_atoms: bool = True,
                     duplicate_threshold: float = 0.99, dead_atom_window: int = 0,
                     swap_atoms: bool = True, restart_passes: int = 10, callback: Optional[Callable[[dict], None]] = None) -> LearnResult:
    """Learns D [n, m] with unit-norm columns from the rows of Y [N, n].

    algorithm: "online" or "olshausen-field" (lasso codes, lam > 0: min_D mean 1/2||y - Dx||^2 +
    lam||x||_1), "ksvd" or "mod" (Batch-OMP codes with ||x||_0 <= sparsity, optionally stopping at
    ||y - Dx|| <= error_bound). swap_atoms (ksvd, mod): split atoms that blend two directions into the
    place of atoms that carry little, after every update. restart_passes (ksvd, mod with a fixed
    sparsity): when the objective stalls, the cheapest atom restarts along the residual's top
    principal direction and is kept if the objective is lower that many passes later (0: off). iterations counts mini-batches (online, olshausen-field) or passes
    (ksvd, mod). checkpoint names a file written atomically every checkpoint_every iterations; with
    resume=True a run continues from it and ends with exactly the dictionary of an uninterrupted
    run. callback(progress) is called after every iteration; Ctrl-C stops the run with
    KeyboardInterrupt, the last checkpoint intact.
    """
    options = _options(atoms, algorithm, lam, sparsity, error_bound, iterations, batch_size, learning_rate, seed,
                       initial, initialization, holdout, eval_every, checkpoint, checkpoint_every, resume, coding_tol,
                       ksvd_power_iterations, replace_dead_atoms, duplicate_threshold, dead_atom_window,
                       swap_atoms, restart_passes)
    return _C.learn_dictionary(Y, options, callback)


def dictionary_objective(D: torch.Tensor, Y: torch.Tensor, algorithm: str = "online", *, lam: float = 0.0,
                         sparsity: int = 0, error_bound: float = 0.0) -> float:
    """Mean over the rows of Y of the algorithm's objective with D fixed: 1/2||y - Dx||^2 + lam||x||_1
    at the lasso solution (online, olshausen-field) or 1/2||y - Dx||^2 at the Batch-OMP code with
    ||x||_0 <= sparsity (ksvd, mod)."""
    options = _options(D.shape[1], algorithm, lam, sparsity, error_bound, 1, 256, 0.0, 0, None, "signals", None, 10,
                       None, 10, False, 1e-2, 1, True, 0.99, 0)
    return _C.dictionary_objective(D, Y, options)
