"""Weights on disk: safetensors only (never pickles), the network's config stored in the file's metadata.

Reading a file's description (``read_meta``, ``tensor_count``) needs no torch: the inference-only install lists and
checks styles with it. Building a torch network from a file (``load_restoration``, ``load_style_file``) and writing
one import torch when called. ``weights/manifest.json`` (each shipped model with its cost and scores) is
``backend.manifest``'s.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError, safe_open

from .errors import RetexError
from .files import atomic_write
from .paths import WEIGHTS_DIR
from .tasks import Task

if TYPE_CHECKING:
    import torch

    from .nets.restoration import RestorationNet
    from .nets.style import StyleNet

MAX_STYLE_PARAMS = 1_000_000  # the shipped styles have 48,557; a file claiming more is refused before it is built


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> None:
    """Write atomically; a failed write (a full disk) is one RetexError naming the file and the reason."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    try:
        atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))
    except (SafetensorError, OSError) as e:
        raise RetexError(f"cannot write {path}: {getattr(e, 'strerror', None) or e}") from None


def read_meta(path: Path) -> tuple[dict[str, str], int]:
    """A safetensors file's metadata and how many numbers it holds, without reading the numbers (nor torch); every
    way the file can be missing or broken is a RetexError."""
    path = Path(path)
    if not path.is_file():
        raise RetexError(f"weights file not found: {path}")
    try:
        with safe_open(str(path), framework="numpy") as f:
            count = sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())
            return f.metadata() or {}, count
    except (SafetensorError, OSError, ValueError) as e:
        raise RetexError(f"weights file {path} is corrupt or not a safetensors file ({e})") from None


def read_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Load a safetensors file as torch tensors, turning every way it can be missing or broken into a RetexError."""
    from safetensors.torch import load_file

    meta, _ = read_meta(path)
    try:
        return load_file(str(path)), meta
    except (SafetensorError, OSError, ValueError) as e:
        raise RetexError(f"weights file {path} is corrupt or not a safetensors file ({e})") from None


def save_restoration(path: Path, net: RestorationNet, task: Task, extra: dict | None = None) -> None:
    meta = {"kind": "restoration", "task": task.name, "config": json.dumps(net.config.to_dict())}
    if extra:
        meta["info"] = json.dumps(extra)
    save_tensors(path, net.state_dict(), meta)


def load_restoration(path: Path, task: Task) -> RestorationNet:
    """Build the network described by the file's metadata and load its weights, checking they match ``task`` (a
    photo model also takes its clean base model's weights: the same network, e.g. to measure where it started)."""
    from .nets.restoration import RestorationConfig, RestorationNet

    tensors, meta = read_tensors(path)
    if meta.get("kind") != "restoration" or meta.get("task") not in (task.name, task.base):
        raise RetexError(f"{path} holds weights for '{meta.get('task', '?')}', not for task '{task.name}'")
    try:
        net = RestorationNet(RestorationConfig.from_dict(json.loads(meta["config"])))
        net.load_state_dict(tensors)
    except (KeyError, ValueError, TypeError, RuntimeError) as e:
        raise RetexError(f"weights file {path} does not match its network description ({e})") from None
    return net.eval()


def default_path(task: Task) -> Path:
    return WEIGHTS_DIR / f"{task.name}.safetensors"


def load_style_file(path: Path) -> tuple[StyleNet, dict[str, Any]]:
    """A style's network and its info (exemplar, licence, training record), refusing oversized descriptions."""
    import torch

    from .nets.style import StyleConfig, StyleNet

    tensors, meta = read_tensors(path)
    if meta.get("kind") != "style":
        raise RetexError(f"{path} is not a style")
    try:
        config = StyleConfig.from_dict(json.loads(meta["config"]))
        with torch.device("meta"):  # its size, before a single weight is allocated
            params = StyleNet(config).parameter_count()
        if params > MAX_STYLE_PARAMS:
            raise RetexError(
                f"style file {path} describes a network of {params:,} parameters (at most {MAX_STYLE_PARAMS:,})"
            )
        net = StyleNet(config)
        net.load_state_dict(tensors)
        info = json.loads(meta.get("info", "{}"))
    except (KeyError, ValueError, TypeError, RuntimeError) as e:
        raise RetexError(f"style file {path} does not match its network description ({e})") from None
    return net.eval().requires_grad_(False), info
