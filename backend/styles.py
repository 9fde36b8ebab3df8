"""The style library: shipped styles in ``weights/styles/``, the user's own in ``USER_STYLES_DIR``.

A style is ``NAME.safetensors`` (weights; network shape, exemplar and licence note in its metadata) plus
``NAME.png``, a small thumbnail of its exemplar. Names are identifiers, never paths. The user's folder is theirs to
put anything in, so every file read from it is checked: a bad one is skipped with one logged reason, never allowed
to break the listing every editor asks for.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from .arrays import Array
from .errors import RetexError
from .paths import STYLES_DIR, USER_STYLES_DIR
from .runtime import load_style_model
from .weights import load_style_file, read_meta, save_tensors

if TYPE_CHECKING:
    from .nets.style import StyleNet

__all__ = ["load_style_file"]  # read in backend.weights (beside load_restoration); its old home still works

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,47}")
THUMBNAIL = 96  # px
MAX_THUMBNAIL_BYTES = 16 * 1024**2  # a larger thumbnail file is not read (a 96x96 PNG is ~30 KB); others are scaled
MAX_THUMBNAIL_SIDE = 4096  # px: a larger one is not decoded (a small PNG can claim a huge size)

_listed: dict[Path, tuple[tuple, dict | None]] = {}  # path -> (file version, record or None when skipped)
_thumbs: dict[Path, tuple[tuple, tuple[int, int, bytes] | None]] = {}  # path -> (file version, 96x96 RGB or None)


def _version(path: Path) -> tuple:
    """What changes whenever a file is rewritten (an atomic save makes a new inode)."""
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, st.st_size


def _skip(path: Path, reason: str) -> None:
    print(f"skipped {path}: {reason}", file=sys.stderr, flush=True)


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise RetexError(
            f"style name {name!r} is not allowed: use 1-48 letters, digits, '-' or '_', starting with a letter or digit"
        )
    return name


def library_dirs(shipped: Path = STYLES_DIR) -> list[Path]:
    """Where styles are looked up, in rising priority: the shipped folder, then the user's."""
    return [shipped, USER_STYLES_DIR]


def save_style(folder: Path, name: str, net: StyleNet, info: dict, thumbnail: Array) -> Path:
    """Write weights and thumbnail together or not at all; returns the weights' path. Both are written in full into
    a hidden staging folder first (a full disk fails there, leaving the library as it was), then renamed into place,
    weights last: a style is listed once its weights appear, and by then its thumbnail is there."""
    from .imaging.io import write_image

    check_name(name)
    folder = Path(folder)
    meta = {"kind": "style", "name": name, "config": json.dumps(net.config.to_dict()), "info": json.dumps(info)}
    path = folder / f"{name}.safetensors"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=".saving-"))
    except OSError as e:
        raise RetexError(f"cannot save style '{name}' in {folder}: {e.strerror or e}") from None
    try:
        try:
            write_image(staging / f"{name}.png", thumbnail)
            save_tensors(staging / path.name, net.state_dict(), meta)
            graph = _export_graph(staging / path.name)
        except RetexError as e:  # "cannot write PATH: reason", said of the library rather than the staging folder
            raise RetexError(f"{str(e).replace(str(staging), str(folder))}; nothing was saved") from None
        if graph is None:  # an older graph would be refused anyway (other weights); leave none
            (folder / f"{name}.onnx").unlink(missing_ok=True)
        else:
            os.replace(graph, folder / graph.name)
        os.replace(staging / f"{name}.png", folder / f"{name}.png")
        os.replace(staging / path.name, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


def _export_graph(weights: Path) -> Path | None:
    """The style's ONNX graph beside ``weights``, for ONNX Runtime; without the exporter, or if the export fails,
    the style still saves and runs on torch (the runtime says so when asked for ONNX)."""
    from .runtime.export import available, export_style

    if not available():
        return None
    try:
        return export_style(weights)
    except Exception as e:  # a derived file: whatever breaks the exporter must not lose the trained style
        print(f"retex: style {weights.stem} saved without its ONNX graph: {e}", file=sys.stderr)
        return None


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
    """One record per style (user styles shadow shipped ones): name, scale, params, exemplar, licence, ... A file
    is read once per version; one whose name the service would refuse, or that does not load on the runtime that
    would run it, is skipped with one logged reason (loading it by name gives the reason again)."""
    found: dict[str, dict] = {}
    dirs = dirs or library_dirs()
    for folder in dirs:
        for path in sorted(Path(folder).glob("*.safetensors")) if Path(folder).is_dir() else []:
            record = _record(path, builtin=folder == dirs[0])
            if record is not None:
                found[record["name"]] = record
    return sorted(found.values(), key=lambda s: (s["scale"], s["name"]))


def _record(path: Path, builtin: bool) -> dict | None:
    try:
        version = _version(path)
    except OSError:
        return None  # removed while listing
    cached = _listed.get(path)
    if cached is not None and cached[0] == version:
        return cached[1] and {**cached[1], "builtin": builtin}
    record = None
    if not NAME_RE.fullmatch(path.stem):
        _skip(path, "not a style name (1-48 letters, digits, '-' or '_')")
    else:
        try:
            model = load_style_model(path)
            meta, params = read_meta(path)
            info = json.loads(meta.get("info", "{}"))
            record = {
                "name": path.stem,
                "scale": model.config.scale,
                "params": params,
                "nominal": round(model.nominal, 5),
                "thumbnail": str(path.with_suffix(".png")),
                **{k: v for k, v in info.items() if k not in {"name", "scale", "params", "builtin", "thumbnail"}},
            }
        except (RetexError, ValueError) as e:  # ValueError: info that is not JSON
            _skip(path, str(e))
    _listed[path] = (version, record)
    return record and {**record, "builtin": builtin}


def read_thumbnail(path: Path) -> tuple[int, int, bytes] | None:
    """A style's thumbnail as (96, 96, RGB u8 bytes), read once per file version; None when it is missing, too
    large or not an image (logged once): the style stays usable without its picture."""
    try:
        version = _version(path)
    except OSError:
        return None
    cached = _thumbs.get(path)
    if cached is not None and cached[0] == version:
        return cached[1]
    pixels = None
    try:
        if version[2] > MAX_THUMBNAIL_BYTES:
            raise RetexError(f"{version[2]:,} bytes (at most {MAX_THUMBNAIL_BYTES:,})")
        with Image.open(path) as im:
            if max(im.size) > MAX_THUMBNAIL_SIDE:
                raise RetexError(f"{im.width}x{im.height} px (at most {MAX_THUMBNAIL_SIDE} a side)")
            rgb = im.convert("RGB")
            if rgb.size != (THUMBNAIL, THUMBNAIL):
                rgb = rgb.resize((THUMBNAIL, THUMBNAIL), Image.Resampling.BILINEAR, reducing_gap=2.0)
            pixels = (THUMBNAIL, THUMBNAIL, np.asarray(rgb, dtype=np.uint8).tobytes())
    except (RetexError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        _skip(path, f"thumbnail not shown: {e}")
    _thumbs[path] = (version, pixels)
    return pixels
