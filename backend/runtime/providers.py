"""Which ONNX Runtime execution provider runs the graphs: ``--device auto|cpu|cuda|dml|coreml``.

One word per device, the same words as torch's where they overlap (``cpu``, ``cuda``): ``dml`` is DirectML (any GPU
on Windows), ``coreml`` Apple's CoreML. Each package of ONNX Runtime holds its own providers (onnxruntime-gpu has
CUDA, onnxruntime-directml has DirectML, macOS's onnxruntime has CoreML), so a device this build lacks is one message
naming the package to install. The CPU provider always follows a GPU one: ORT runs there what the GPU provider
cannot. Nothing here imports torch.
"""

from __future__ import annotations

import logging
import shutil
import sys

from ..errors import RetexError

DEVICES = ("auto", "cpu", "cuda", "dml", "coreml")
PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "dml": "DmlExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
}
GPUS = ("cuda", "dml", "coreml")  # auto's order of preference
PACKAGES = {
    "cuda": "onnxruntime-gpu",
    "dml": "onnxruntime-directml",
    "coreml": "onnxruntime on macOS (its CoreML provider is included)",
}
log = logging.getLogger("retex.runtime")
_warned: set[str] = set()


def available() -> list[str]:
    """The providers this onnxruntime build offers (its own list; no session is made)."""
    import onnxruntime

    return list(onnxruntime.get_available_providers())


def device_of(provider: str) -> str:
    """The ``--device`` word of an ORT provider name (``cpu`` for one outside the list)."""
    return next((d for d, p in PROVIDERS.items() if p == provider), "cpu")


def missing(device: str) -> str:
    """The one message for a device this onnxruntime build has no provider for."""
    return f"--device {device}: this ONNX Runtime has no {PROVIDERS[device]} (install {PACKAGES[device]})"


def gpu_here() -> str | None:
    """The GPU device this machine could use if its onnxruntime package had the provider (None: none seen), for
    auto's warning: an NVIDIA driver (nvidia-smi), any Windows GPU (DirectML), a Mac (CoreML)."""
    if shutil.which("nvidia-smi") is not None:
        return "cuda"
    if sys.platform == "win32":
        return "dml"
    if sys.platform == "darwin":
        return "coreml"
    return None


def warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)


def choose(device: str) -> str:
    """The device ONNX Runtime runs on for ``--device``: a named one if this build has its provider (else one
    RetexError naming the package); ``auto`` the first GPU provider offered, else the CPU, with one warning when the
    machine has a GPU that another onnxruntime package would reach."""
    if device not in DEVICES:
        raise RetexError(f"--device must be one of {', '.join(DEVICES)} (got {device!r})")
    offered = available()
    if device != "auto":
        if PROVIDERS[device] not in offered:
            raise RetexError(missing(device))
        return device
    for gpu in GPUS:
        if PROVIDERS[gpu] in offered:
            return gpu
    here = gpu_here()
    if here is not None:
        warn_once(f"{missing(here)}; running on the CPU")
    return "cpu"


def provider_list(device: str) -> list[str]:
    """ORT's providers for ``device``, in order: its own, then the CPU's."""
    return [PROVIDERS["cpu"]] if device == "cpu" else [PROVIDERS[device], PROVIDERS["cpu"]]
