"""Which runtime executes the networks: ONNX Runtime or torch (``--runtime auto|onnx|torch``), and on which device
(``--device auto|cpu|cuda|dml|coreml``: ONNX Runtime's execution provider, see ``providers``).

``auto`` is ONNX Runtime when it is installed, on the best provider it offers; torch's CUDA path when ONNX Runtime
has no GPU provider and torch sees a GPU. A graph that cannot be used (missing, corrupt, or exported from other
weights than the safetensors beside it) is never run: the network runs on torch instead, and one warning says which
file and how to fix it (under ``auto`` a missing graph, e.g. of weights the user trained, is no fault: the log says
so at info level only). Everything above the network call (tiling, masks, composition, progress, cancel, the
out-of-memory fallback) is the pipeline's, the same for both.

torch is optional: the inference-only install has ONNX Runtime alone, and this module imports torch only when the
torch runtime is asked for or needed (a GPU device, a graph that cannot be used).
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from ..errors import RetexError
from ..paths import WEIGHTS_DIR
from ..tasks import Task, base_of
from . import providers
from .base import RestorationModel, StyleModel

if TYPE_CHECKING:
    import torch

    from .onnx import OnnxRestoration
    from .torch_nets import TorchRestoration

RUNTIMES = ("auto", "onnx", "torch")
log = logging.getLogger("retex.runtime")
_warned: set[str] = set()


NO_TORCH = "torch is not installed (the inference-only install): run python3 installer.py --with-training"


def onnx_installed() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def torch_installed() -> bool:
    return importlib.util.find_spec("torch") is not None


def device_name(device: str) -> str:
    """``--device`` as torch's name: ``auto`` is CUDA when torch is installed and sees a GPU, else the CPU; ONNX
    Runtime's own devices (``dml``, ``coreml``) are the CPU for torch (a style learned on such a machine)."""
    if device in ("dml", "coreml"):
        return "cpu"
    if device != "auto":
        return str(device)
    if not torch_installed():
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_device(device: str | torch.device) -> torch.device:
    """``--device`` as a torch device, for the tools (training, evaluation, bench): see ``device_name``."""
    import torch

    return torch.device(device_name(str(device)))


def plan(runtime: str, device: str = "cpu") -> tuple[str, str]:
    """The runtime (``onnx`` or ``torch``) and the device that run the networks for ``--runtime`` and ``--device``.
    ONNX Runtime absent, or without a CUDA provider for ``--device cuda``, falls back to torch with a warning under
    ``auto``; a provider the build lacks is otherwise one error naming the package; ``dml`` and ``coreml`` are ONNX
    Runtime's alone; ``torch`` without torch installed is one clear error."""
    if runtime not in RUNTIMES:
        raise RetexError(f"runtime must be one of {', '.join(RUNTIMES)} (got {runtime!r})")
    base = str(device).split(":")[0]
    if base not in providers.DEVICES:
        raise RetexError(f"--device must be one of {', '.join(providers.DEVICES)} (got {device!r})")
    if runtime != "torch":
        if not onnx_installed():
            _fallback("onnxruntime is not installed (pip install onnxruntime)")
            return "torch", _torch_device(runtime, device)
        offered = providers.available()
        no_gpu = not any(providers.PROVIDERS[g] in offered for g in providers.GPUS)
        if runtime == "auto" and base == "auto" and no_gpu and device_name("auto") == "cuda":
            return "torch", "cuda"  # torch's CUDA path: ONNX Runtime here has no GPU provider
        try:
            return "onnx", providers.choose(base)
        except RetexError as e:
            if not (runtime == "auto" and base == "cuda" and torch_installed()):
                raise
            _fallback(str(e))
    return "torch", _torch_device(runtime, device)


def _torch_device(runtime: str, device: str) -> str:
    if not torch_installed():
        raise RetexError(f"the {runtime} runtime on {device} needs torch: {NO_TORCH}")
    if str(device) in ("dml", "coreml"):
        raise RetexError(f"--device {device} runs on ONNX Runtime only (--runtime onnx or auto)")
    return device_name(str(device))


def resolve(runtime: str, device: torch.device | str = "cpu") -> str:
    """``onnx`` or ``torch`` for a requested runtime and device (see ``plan``)."""
    return plan(runtime, str(device))[0]


def _fallback(reason: str, quiet: bool = False) -> None:
    """One warning per reason: a missing graph is said once, not on every job. Without torch there is nothing to
    fall back on: the reason is the error."""
    if not torch_installed():
        raise RetexError(f"{reason}; and torch, the other runtime, is not installed")
    if reason not in _warned:
        _warned.add(reason)
        log.log(logging.INFO if quiet else logging.WARNING, "%s; running on torch instead", reason)


def name(model: object) -> str:
    """The runtime that runs ``model``: what the service reports and the bench prints (a bare torch network, a
    tool's, has no ``runtime``: torch)."""
    return str(getattr(model, "runtime", "torch"))


def _torch_restoration(path: Path, task: Task, device: str) -> TorchRestoration:
    from ..weights import load_restoration
    from .torch_nets import TorchRestoration

    return TorchRestoration(load_restoration(path, task).to(_on_torch(device)))


def _on_torch(device: str) -> str:
    """A device of ONNX Runtime's alone (a graph that cannot be used, run on torch) is torch's CPU."""
    return "cpu" if device in ("dml", "coreml") else device


def load_restoration_model(
    path: Path, task: Task, runtime: str = "auto", device: torch.device | str = "cpu"
) -> RestorationModel:
    """The task's network from ``path`` (a safetensors), on ONNX Runtime from the graph beside it if ``runtime``
    resolves to it and the graph checks out, else on torch."""
    chosen, on = plan(runtime, str(device))
    if chosen == "onnx":
        from .onnx import OnnxRestoration, onnx_path

        try:
            return OnnxRestoration.load(path, task, on)
        except RetexError as e:
            if torch_installed():
                from ..weights import load_restoration

                load_restoration(path, task)  # the weights themselves broken: that error, not a fallback
            _fallback(str(e), quiet=runtime == "auto" and not onnx_path(path).exists())
    return _torch_restoration(path, task, on)


def load_style_model(path: Path, runtime: str = "auto", device: torch.device | str = "cpu") -> StyleModel:
    """A style from its safetensors ``path``, on the runtime ``runtime`` resolves to (see load_restoration_model)."""
    chosen, on = plan(runtime, str(device))
    if chosen == "onnx":
        from .onnx import OnnxStyle, onnx_path

        try:
            return OnnxStyle.load(path, Path(path).stem, on)
        except RetexError as e:
            if torch_installed():
                from ..weights import load_style_file

                load_style_file(path)
            _fallback(str(e), quiet=runtime == "auto" and not onnx_path(path).exists())
    from ..weights import load_style_file
    from .torch_nets import TorchStyle

    return TorchStyle(load_style_file(path)[0].to(_on_torch(on)))


def _state(model: RestorationModel) -> dict[str, np.ndarray]:
    if name(model) == "onnx":
        return cast("OnnxRestoration", model).state()
    return {k: v.detach().cpu().numpy() for k, v in cast("TorchRestoration", model).net.state_dict().items()}


def blend(task: Task, model: RestorationModel, base: RestorationModel | None, strength: float) -> RestorationModel:
    """``cleanup.blend`` on either runtime: a photo model at clean-up ``strength``, ``base`` its clean model (None
    for the x1 model, whose strength scales the band mix exactly)."""
    if task.degradation != "real" or strength == 1.0:
        return model
    if name(model) == "torch":
        from ..cleanup import blend as blend_torch
        from ..weights import load_restoration
        from .torch_nets import TorchRestoration

        net = cast("TorchRestoration", model).net
        base_net = None
        if base is not None and name(base) == "onnx":
            base_net = load_restoration(cast("OnnxRestoration", base).weights, base_of(task))
        elif base is not None:
            base_net = cast("TorchRestoration", base).net
        return TorchRestoration(blend_torch(task, net, base_net, strength))
    onnx = cast("OnnxRestoration", model)
    return onnx.blended(strength, None if base is None or task.scale == 1 else _state(base))


def load_net(
    task: Task,
    strength: float,
    runtime: str = "auto",
    weights: Path | None = None,
    weights_dir: Path = WEIGHTS_DIR,
    device: str = "cpu",
) -> RestorationModel:
    """The task's network on the chosen runtime, blended to ``strength`` for photo models; an upscaler's clean base
    is read from the folder of ``weights`` (default: the shipped file), so a folder of weights blends within
    itself, as the service's ``--weights-dir`` does."""
    path = weights or weights_dir / f"{task.name}.safetensors"
    model = load_restoration_model(path, task, runtime, device)
    base = None
    if task.degradation == "real" and strength != 1.0 and task.scale > 1:
        base = load_restoration_model(path.parent / f"{task.base}.safetensors", base_of(task), runtime, device)
    return blend(task, model, base, strength)
