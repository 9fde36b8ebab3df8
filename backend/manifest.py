"""``weights/manifest.json``: each shipped model and style with its cost and measured scores (keys unchanged)."""

from __future__ import annotations

import json
from typing import Any

from .errors import RetexError
from .files import atomic_write_text
from .paths import WEIGHTS_DIR

MANIFEST = WEIGHTS_DIR / "manifest.json"


def read_manifest() -> dict[str, Any]:
    if not MANIFEST.is_file():
        return {"models": {}}
    try:
        manifest = json.loads(MANIFEST.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise RetexError(f"{MANIFEST} is unreadable or not JSON ({e}): restore it from the release") from None
    if not isinstance(manifest, dict):
        raise RetexError(f"{MANIFEST} is not a JSON object: restore it from the release")
    return manifest


def _write(manifest: dict[str, Any]) -> None:
    atomic_write_text(MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def update_manifest(name: str, entry: dict[str, Any]) -> None:
    """Merge ``entry`` into the manifest's record for model ``name`` (atomic rewrite)."""
    manifest = read_manifest()
    manifest.setdefault("models", {}).setdefault(name, {}).update(entry)
    _write(manifest)


def update_style_manifest(name: str, task: str, report: dict[str, Any]) -> None:
    """Record a style's measured scores (per restoration task) under ``styles`` in the manifest."""
    from .styles import find_style, load_style_file

    net, info = load_style_file(find_style(name))
    manifest = read_manifest()
    entry = manifest.setdefault("styles", {}).setdefault(name, {})
    trained = {k: info.get(k) for k in ("train_minutes", "iterations")} | {"params": net.parameter_count()}
    if any(entry.get(k, v) != v for k, v in trained.items()):
        entry["eval"] = {}  # a retrained style: the old network's scores no longer describe it
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
    _write(manifest)
