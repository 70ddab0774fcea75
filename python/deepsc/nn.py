"""PyTorch modules running deepsc's C++ core: the CSC layer, and models trained by `deepsc train`.

CscLayer is a torch.nn.Module whose output is the (non-negative) sparse code of its input over a
learned convolutional dictionary (Dai et al., "Revisiting sparse convolutional model for visual
recognition", NeurIPS 2022):

    c* ~ argmin_c lam ||c||_1 + 1/2 ||x - D c||^2  (c >= 0 when nonneg),  D c = conv_transpose2d(c, W)

found by `iterations` unrolled ISTA / FISTA / published SDNet steps in C++. The forward builds the
autograd graph in C++ (backward runs in LibTorch's engine), so the layer drops into any model and
trains with any torch optimiser, on CPU or CUDA.
"""
import collections
import os
from typing import Iterator, List, Optional, Sequence, Tuple

import torch

from . import _C

__all__ = ["CscLayer", "TrainedModel", "load_model"]


class CscLayer(torch.nn.Module):
    """Convolutional sparse coding layer: x [N, C, H, W] -> codes [N, atoms, H', W'].

    Parameters: weight W [atoms, C, k, k] (Kaiming-uniform, unit-norm atoms) and, with
    learnable_lambda, lam_param [atoms] (used as max(lam, 0)). Buffer: power_vector, the power
    iteration's warm start for L = ||D^T D||_2 (step eta = step_scale / L, re-estimated every training
    forward, kept in evaluation while W is unchanged).

    With normalize_atoms the layer codes over W[j] / ||W[j]||; call project_atoms() after each
    optimiser step to keep W on the sphere as Dai et al. do (deepsc train does it for you).
    """

    def __init__(self, in_channels: int, atoms: int, kernel_size: int, *, stride: int = 1, padding: int = 0,
                 dilation: int = 1, lam: float = 0.1, learnable_lambda: bool = False, iterations: int = 2,
                 solver: str = "published", nonneg: bool = True, step_scale: float = 0.9,
                 normalize_atoms: bool = True, power_iterations: int = 50, power_tol: float = 1e-5):
        super().__init__()
        self._core = _C.CscLayerCore(int(in_channels), int(atoms), int(kernel_size), int(stride), int(padding),
                                     int(dilation), float(lam), bool(learnable_lambda), int(iterations), str(solver),
                                     bool(nonneg), float(step_scale), bool(normalize_atoms), int(power_iterations),
                                     float(power_tol))
        self.weight = torch.nn.Parameter(self._core.initial_weight)
        initial_lambda = self._core.initial_lambda
        self.lam_param = torch.nn.Parameter(initial_lambda) if initial_lambda is not None else None
        self.register_buffer("power_vector", torch.empty(0))
        self.normalize_atoms = bool(normalize_atoms)

    @property
    def lam(self) -> float:
        """The layer's scalar lambda (every atom's, unless learnable)."""
        return self._core.lam

    @lam.setter
    def lam(self, value: float) -> None:
        self._core.lam = float(value)
        if self.lam_param is not None:
            with torch.no_grad():
                self.lam_param.fill_(float(value))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # The power-iteration vector is sized by the code map of the inputs seen, so it loads at any shape.
        key = prefix + "power_vector"
        if key in state_dict:
            self.power_vector = state_dict[key].detach().clone().to(self.weight.device, self.weight.dtype)
            state_dict = {k: v for k, v in state_dict.items() if k != key}
            state_dict[key] = self.power_vector
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        codes, vector = self._core.forward(x, self.weight, self.lam_param, self.power_vector, self.training)
        self.power_vector = vector
        return codes

    def dictionary(self) -> torch.Tensor:
        """The atoms the forward codes over: W / ||W[j]|| with normalize_atoms, else W."""
        return self._core.dictionary(self.weight)

    @torch.no_grad()
    def project_atoms(self) -> None:
        """Rescales every atom W[j] to unit l2 norm in place (after an optimiser step)."""
        norms = self.weight.flatten(1).norm(dim=1).clamp_min(torch.finfo(self.weight.dtype).tiny)
        self.weight.div_(norms.view(-1, 1, 1, 1))

    @property
    def last_lipschitz(self) -> float:
        """L = ||D^T D||_2 of the last forward."""
        return self._core.last_lipschitz

    def extra_repr(self) -> str:
        return repr(self._core)


class TrainedModel(torch.nn.Module):
    """A classifier trained by `deepsc train`, for inference and fine-tuning from Python.

    Its parameters and buffers are the C++ model's own tensors (no copies): parameters(),
    named_parameters(), state_dict() and load_state_dict() work on them, any torch optimiser trains
    them, .to() / .double() / .cuda() move them, and train() / eval() switch the C++ module.
    forward() takes normalised images [N, C, H, W] ((x - mean) / std; see normalize()) and returns
    logits [N, classes]. save() writes a checkpoint that `deepsc eval` reads.
    """

    def __init__(self, run: "_C.TrainedRun"):
        super().__init__()
        self._run = run
        self.model_name: str = run.model_name
        self.data_kind: str = run.data_kind
        self.mean: List[float] = list(run.mean)
        self.std: List[float] = list(run.std)
        self.classes: int = run.classes
        self.channels: int = run.channels
        self.train(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self._run.forward(images)

    def normalize(self, images01: torch.Tensor) -> torch.Tensor:
        """(x - mean) / std per channel, for images with values in [0, 1]."""
        shape = (1, -1, 1, 1)
        mean = torch.tensor(self.mean, dtype=images01.dtype, device=images01.device).view(shape)
        std = torch.tensor(self.std, dtype=images01.dtype, device=images01.device).view(shape)
        return (images01 - mean) / std

    def test_data(self, split: str = "test", limit: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
        """The normalised images [N, C, H, W] and labels [N] of a split of the run's data set, in the
        order `deepsc eval` reads them; limit > 0 keeps the first `limit`."""
        return self._run.data(split, int(limit))

    # The module's tensors are the C++ model's; nn.Module's own registries stay empty.
    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[Tuple[str, torch.Tensor]]:
        for name, tensor in self._run.named_parameters():
            yield (prefix + "." + name if prefix else name), tensor

    def parameters(self, recurse: bool = True) -> Iterator[torch.Tensor]:
        for _, tensor in self.named_parameters():
            yield tensor

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[Tuple[str, torch.Tensor]]:
        for name, tensor in self._run.named_buffers():
            yield (prefix + "." + name if prefix else name), tensor

    def buffers(self, recurse: bool = True) -> Iterator[torch.Tensor]:
        for _, tensor in self.named_buffers():
            yield tensor

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False, **kwargs):
        out = collections.OrderedDict() if destination is None else destination
        for name, tensor in list(self.named_parameters(prefix.rstrip("."))) + list(self.named_buffers(prefix.rstrip("."))):
            out[name] = tensor if keep_vars else tensor.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True):
        own = dict(list(self._run.named_parameters()) + list(self._run.named_buffers()))
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(f"state_dict does not fit {self.model_name}: missing {missing[:5]}, unexpected {unexpected[:5]}")
        with torch.no_grad():
            for name, tensor in own.items():
                if name not in state_dict:
                    continue
                value = state_dict[name]
                if tensor.shape != value.shape:
                    tensor.set_(value.detach().clone().to(tensor.device, tensor.dtype))
                else:
                    tensor.copy_(value)
        return torch.nn.modules.module._IncompatibleKeys(missing, unexpected)

    def _apply(self, fn, *args, **kwargs):
        for tensor in list(self.parameters()) + list(self.buffers()):
            if tensor.numel() == 0 and not tensor.is_floating_point():
                continue
            with torch.no_grad():
                moved = fn(tensor)
            tensor.data = moved
            if tensor.grad is not None:
                tensor.grad.data = fn(tensor.grad)
        return self

    def train(self, mode: bool = True) -> "TrainedModel":
        self.training = bool(mode)
        self._run.train(bool(mode))
        return self

    def set_lambda(self, lam: float) -> None:
        """Sets lambda of every CSC layer (robust inference: a larger lambda for noisier inputs)."""
        self._run.set_lambda(float(lam))

    @property
    def csc_layers(self) -> int:
        """How many CSC layers the model has (0 for ResNet)."""
        return self._run.csc_layers

    def project_atoms(self) -> None:
        """Rescales the atoms of every CSC layer to unit norm: call after each optimiser step when
        fine-tuning an SDNet, as `deepsc train` does."""
        self._run.project_atoms()

    def save(self, path: str) -> None:
        """Writes the weights as a deepsc checkpoint (atomically) that `deepsc eval --checkpoint PATH
        --config RUN/config.yaml` reads."""
        self._run.save(os.fspath(path))

    def extra_repr(self) -> str:
        return f"{self.model_name} on {self.data_kind}: {self.channels} channels, {self.classes} classes"


def load_model(checkpoint: str, config: Optional[str] = None, overrides: Sequence[str] = ()) -> TrainedModel:
    """The model of a `deepsc train` run with the weights of `checkpoint` (RUN/checkpoint-best.pt or
    checkpoint-last.pt), in evaluation mode, on CPU.

    config: the run's YAML configuration (default: config.yaml next to the checkpoint); overrides:
    "section.key=value" strings as `--set` takes them (e.g. "data.root=/path"). The data set named by
    the configuration is opened to learn the channels, classes and normalisation.
    """
    checkpoint = os.fspath(checkpoint)
    if config is None:
        config = os.path.join(os.path.dirname(checkpoint) or ".", "config.yaml")
    if not os.path.isfile(config):
        raise ValueError(f"no configuration {config} (the run folder's config.yaml); pass config=")
    return TrainedModel(_C.load_run(checkpoint, os.fspath(config), list(overrides)))
