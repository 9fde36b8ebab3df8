"""Which runtime executes the networks: ONNX Runtime or torch (``--runtime auto|onnx|torch``).

``auto`` is ONNX Runtime when it is installed and the networks stay on the CPU. A graph that cannot be used (missing,
corrupt, or exported from other weights than the safetensors beside it) is never run: the network runs on torch
instead, and one warning says which file and how to fix it (under ``auto`` a missing graph, e.g. of weights the
user trained, is no fault: the log says so at info level only). Everything above the network call (tiling, masks,
composition, progress, cancel) is the pipeline's, the same for both.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import torch

from ..cleanup import blend as blend_torch
from ..errors import RetexError
from ..nets.restoration import RestorationNet
from ..paths import WEIGHTS_DIR
from ..tasks import Task, base_of
from ..weights import load_restoration, load_style_file
from .base import RestorationModel, StyleModel

if TYPE_CHECKING:
    from .onnx import OnnxRestoration

RUNTIMES = ("auto", "onnx", "torch")
log = logging.getLogger("retex.runtime")
_warned: set[str] = set()


def onnx_installed() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def resolve_device(device: str | torch.device) -> torch.device:
    """``--device``: ``auto`` is CUDA when torch sees a GPU, else the CPU; anything else is torch's own name."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve(runtime: str, device: torch.device | str = "cpu") -> str:
    """``onnx`` or ``torch`` for a requested runtime; ``onnx`` when ONNX Runtime is absent or the device is a GPU
    (the CPU package is the one installed) falls back to torch with a warning."""
    if runtime not in RUNTIMES:
        raise RetexError(f"runtime must be one of {', '.join(RUNTIMES)} (got {runtime!r})")
    on_cpu = torch.device(device).type == "cpu"
    if runtime == "torch" or (runtime == "auto" and not (on_cpu and onnx_installed())):
        return "torch"
    if not onnx_installed():
        _fallback("onnxruntime is not installed (pip install onnxruntime)")
        return "torch"
    if not on_cpu:
        _fallback(f"ONNX Runtime here runs on the CPU only, and the device is {device}")
        return "torch"
    return "onnx"


def _fallback(reason: str, quiet: bool = False) -> None:
    """One warning per reason: a missing graph is said once, not on every job."""
    if reason not in _warned:
        _warned.add(reason)
        log.log(logging.INFO if quiet else logging.WARNING, "%s; running on torch instead", reason)


def name(model: RestorationModel | StyleModel) -> str:
    """The runtime that runs ``model``: what the service reports and the bench prints."""
    return "torch" if isinstance(model, torch.nn.Module) else "onnx"


def load_restoration_model(
    path: Path, task: Task, runtime: str = "auto", device: torch.device | str = "cpu"
) -> RestorationModel:
    """The task's network from ``path`` (a safetensors), on ONNX Runtime from the graph beside it if ``runtime``
    resolves to it and the graph checks out, else on torch."""
    if resolve(runtime, device) == "onnx":
        from .onnx import OnnxRestoration, onnx_path

        try:
            return OnnxRestoration.load(path, task)
        except RetexError as e:
            load_restoration(path, task)  # the weights themselves broken: that error, not a fallback
            _fallback(str(e), quiet=runtime == "auto" and not onnx_path(path).exists())
    return load_restoration(path, task).to(device)


def load_style_model(path: Path, runtime: str = "auto", device: torch.device | str = "cpu") -> StyleModel:
    """A style from its safetensors ``path``, on the runtime ``runtime`` resolves to (see load_restoration_model)."""
    if resolve(runtime, device) == "onnx":
        from .onnx import OnnxStyle, onnx_path

        try:
            return OnnxStyle.load(path, Path(path).stem)
        except RetexError as e:
            load_style_file(path)
            _fallback(str(e), quiet=runtime == "auto" and not onnx_path(path).exists())
    return load_style_file(path)[0].to(device)


def _state(model: RestorationModel) -> dict[str, np.ndarray]:
    if isinstance(model, RestorationNet):
        return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    return cast("OnnxRestoration", model).state()  # the other runtime


def blend(task: Task, model: RestorationModel, base: RestorationModel | None, strength: float) -> RestorationModel:
    """``cleanup.blend`` on either runtime: a photo model at clean-up ``strength``, ``base`` its clean model (None
    for the x1 model, whose strength scales the band mix exactly)."""
    if task.degradation != "real" or strength == 1.0:
        return model
    if isinstance(model, RestorationNet):
        if base is not None and not isinstance(base, RestorationNet):
            base = load_restoration(cast("OnnxRestoration", base).weights, base_of(task))
        return blend_torch(task, model, cast("RestorationNet | None", base), strength)
    onnx = cast("OnnxRestoration", model)  # the other runtime
    return onnx.blended(strength, None if base is None or task.scale == 1 else _state(base))


def load_net(
    task: Task, strength: float, runtime: str = "auto", weights: Path | None = None, weights_dir: Path = WEIGHTS_DIR
) -> RestorationModel:
    """The task's network on the chosen runtime, blended to ``strength`` for photo models; an upscaler's clean base
    is read from the folder of ``weights`` (default: the shipped file), so a folder of weights blends within
    itself, as the service's ``--weights-dir`` does."""
    path = weights or weights_dir / f"{task.name}.safetensors"
    model = load_restoration_model(path, task, runtime)
    base = None
    if task.degradation == "real" and strength != 1.0 and task.scale > 1:
        base = load_restoration_model(path.parent / f"{task.base}.safetensors", base_of(task), runtime)
    return blend(task, model, base, strength)
