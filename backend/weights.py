"""Weights on disk: safetensors only (never pickles), the network's config stored in the file's metadata.

``weights/manifest.json`` lists each shipped model with its cost and measured scores.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import RetexError
from .nets.restoration import RestorationConfig, RestorationNet
from .paths import WEIGHTS_DIR
from .tasks import Task

MANIFEST = WEIGHTS_DIR / "manifest.json"


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then rename over ``path``: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the result should get the usual permissions
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> None:
    """Write atomically; a failed write (a full disk) is one RetexError naming the file and the reason."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    try:
        atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))
    except (SafetensorError, OSError) as e:
        raise RetexError(f"cannot write {path}: {getattr(e, 'strerror', None) or e}") from None


def read_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Load a safetensors file, turning every way it can be missing or broken into a RetexError."""
    path = Path(path)
    if not path.is_file():
        raise RetexError(f"weights file not found: {path}")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
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


def read_manifest() -> dict:
    if not MANIFEST.is_file():
        return {"models": {}}
    try:
        manifest = json.loads(MANIFEST.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise RetexError(f"{MANIFEST} is unreadable or not JSON ({e}): restore it from the release") from None
    if not isinstance(manifest, dict):
        raise RetexError(f"{MANIFEST} is not a JSON object: restore it from the release")
    return manifest


def update_manifest(name: str, entry: dict) -> None:
    """Merge ``entry`` into the manifest's record for model ``name`` (atomic rewrite)."""
    manifest = read_manifest()
    manifest.setdefault("models", {}).setdefault(name, {}).update(entry)
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    atomic_write(MANIFEST, lambda tmp: tmp.write_text(text))


def update_style_manifest(name: str, task: str, report: dict) -> None:
    """Record a style's measured scores (per restoration task) under ``styles`` in the manifest."""
    from .styles import find_style, load_style_file

    net, info = load_style_file(find_style(name))
    manifest = read_manifest()
    entry = manifest.setdefault("styles", {}).setdefault(name, {})
    entry.update(
        {
            "file": f"styles/{name}.safetensors",
            "thumbnail": f"styles/{name}.png",
            "scale": net.config.scale,
            "params": net.parameter_count(),
            "macs_per_pixel": net.macs_per_pixel(),
            "exemplar": info.get("exemplar"),
            "licence": info.get("licence"),
            "train_minutes": info.get("train_minutes"),
            "iterations": info.get("iterations"),
        }
    )
    entry.setdefault("eval", {})[task] = report["sets"]
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    atomic_write(MANIFEST, lambda tmp: tmp.write_text(text))
