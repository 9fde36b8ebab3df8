"""The style library: shipped styles in ``weights/styles/``, the user's own in ``USER_STYLES_DIR``.

A style is ``NAME.safetensors`` (weights; network shape, exemplar and licence note in its metadata) plus
``NAME.png``, a small thumbnail of its exemplar. Names are identifiers, never paths.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from .errors import RetexError
from .nets.style import StyleConfig, StyleNet
from .paths import STYLES_DIR, USER_STYLES_DIR
from .weights import read_tensors, save_tensors

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,47}")
THUMBNAIL = 96  # px


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise RetexError(
            f"style name {name!r} is not allowed: use 1-48 letters, digits, '-' or '_', starting with a letter or digit"
        )
    return name


def library_dirs(shipped: Path = STYLES_DIR) -> list[Path]:
    """Where styles are looked up, in rising priority: the shipped folder, then the user's."""
    return [shipped, USER_STYLES_DIR]


def save_style(folder: Path, name: str, net: StyleNet, info: dict, thumbnail: torch.Tensor) -> Path:
    """Write weights, then thumbnail, each atomically; returns the weights' path."""
    from .imaging.io import write_image

    check_name(name)
    folder = Path(folder)
    meta = {"kind": "style", "name": name, "config": json.dumps(net.config.to_dict()), "info": json.dumps(info)}
    path = folder / f"{name}.safetensors"
    save_tensors(path, net.state_dict(), meta)
    write_image(folder / f"{name}.png", thumbnail)  # atomic too
    return path


def load_style_file(path: Path) -> tuple[StyleNet, dict]:
    tensors, meta = read_tensors(path)
    if meta.get("kind") != "style":
        raise RetexError(f"{path} is not a style")
    try:
        net = StyleNet(StyleConfig.from_dict(json.loads(meta["config"])))
        net.load_state_dict(tensors)
        info = json.loads(meta.get("info", "{}"))
    except (KeyError, ValueError, TypeError, RuntimeError) as e:
        raise RetexError(f"style file {path} does not match its network description ({e})") from None
    return net.eval().requires_grad_(False), info


def find_style(name: str, dirs: list[Path] | None = None) -> Path:
    check_name(name)
    dirs = dirs or library_dirs()
    for folder in reversed(dirs):  # a user's style shadows a shipped one of the same name
        path = folder / f"{name}.safetensors"
        if path.is_file():
            return path
    known = ", ".join(s["name"] for s in list_styles(dirs)) or "none installed"
    raise RetexError(f"unknown style '{name}' (available: {known})")


def load_style(name: str, dirs: list[Path] | None = None) -> tuple[StyleNet, dict]:
    return load_style_file(find_style(name, dirs))


def list_styles(dirs: list[Path] | None = None) -> list[dict]:
    """One record per style (user styles shadow shipped ones): name, scale, params, exemplar, licence, ..."""
    found: dict[str, dict] = {}
    dirs = dirs or library_dirs()
    for folder in dirs:
        for path in sorted(Path(folder).glob("*.safetensors")) if Path(folder).is_dir() else []:
            try:
                net, info = load_style_file(path)
            except RetexError:
                continue  # a broken file is skipped here; loading it by name gives the reason
            found[path.stem] = {
                "name": path.stem,
                "scale": net.config.scale,
                "params": net.parameter_count(),
                "nominal": round(net.nominal, 5),
                "builtin": folder == dirs[0],
                "thumbnail": str(path.with_suffix(".png")),
                **{k: v for k, v in info.items() if k not in {"name", "scale", "params"}},
            }
    return sorted(found.values(), key=lambda s: (s["scale"], s["name"]))
