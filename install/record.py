"""What the installer put on this machine (``installed.json`` beside the plug-ins' config): every plug-in folder
with its file list, the files and the kritarc line it added, the config keys it set and the folders it created.
``--uninstall`` undoes exactly that list and ``--check`` compares it with the disk."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .plugins import restore_kritarc, write_if_changed

OWNED_KEYS = ("python", "repo")  # config keys the installer owns; the plug-ins' other settings stay the user's


class Record:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        self.items: list[dict] = raw.get("items", []) if isinstance(raw, dict) else []
        self.dirs: list[str] = raw.get("dirs", []) if isinstance(raw, dict) else []

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def find(self, kind: str, path: Path) -> dict | None:
        return next((i for i in self.items if i["kind"] == kind and i["path"] == str(path)), None)

    def put(self, item: dict) -> None:
        """Add, or replace in place (a rerun writes the same file), the item for the same kind and path."""
        for n, old in enumerate(self.items):
            if old["kind"] == item["kind"] and old["path"] == item["path"]:
                self.items[n] = item
                return
        self.items.append(item)

    def make_dir(self, path: Path) -> bool:
        """``mkdir -p`` that remembers which folders it created, so uninstalling removes them again; True when
        ``path`` itself was created."""
        missing = []
        for parent in (path, *path.parents):
            if parent.exists():
                break
            missing.append(parent)
        path.mkdir(parents=True, exist_ok=True)
        for folder in reversed(missing):
            if str(folder) not in self.dirs:
                self.dirs.append(str(folder))
        return bool(missing)

    def save(self) -> None:
        self.make_dir(self.path.parent)
        data = json.dumps({"version": 1, "items": self.items, "dirs": self.dirs}, indent=2) + "\n"
        write_if_changed(self.path, data.encode())


def set_config(record: Record, path: Path, values: dict, extra: dict) -> bool:
    """Set the installer's keys (``values``) and, when absent, ``extra`` in the plug-ins' config, keeping every
    other key; the first time, the previous values are recorded so uninstalling puts them back."""
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text)
    except (OSError, ValueError):
        text, raw = None, None
    raw = raw if isinstance(raw, dict) else {}
    item = record.find("config", path) or {
        "kind": "config",
        "path": str(path),
        "created": text is None,
        "original": text,
        "previous": {k: raw.get(k) for k in [*values, *extra]},
        "added": [k for k in extra if k not in raw],
    }
    record.put(item)
    new = {**raw, **values, **{k: v for k, v in extra.items() if k not in raw}}
    record.make_dir(path.parent)
    written = write_if_changed(path, (json.dumps(new, indent=2) + "\n").encode())
    if os.name == "posix":
        path.chmod(0o600)  # for this user alone, as the plug-ins write it: it may hold a remote backend's key
    return written


def _undo_config(item: dict) -> None:
    path = Path(item["path"])
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for key, old in item["previous"].items():
        if key in OWNED_KEYS or key in item.get("added", []):
            if old is None:
                raw.pop(key, None)
            else:
                raw[key] = old
    if item["created"] and not raw:
        path.unlink()
    elif item.get("original") is not None and raw == json.loads(item["original"]):
        write_if_changed(path, item["original"].encode())  # byte for byte as the user left it
    else:
        write_if_changed(path, (json.dumps(raw, indent=2) + "\n").encode())


def uninstall(record: Record) -> list[str]:
    """Remove what the record lists (never anything else); returns one line per thing removed or restored."""
    done = []
    for item in reversed(record.items):
        path = Path(item["path"])
        kind = item["kind"]
        if kind in ("plugin", "demo", "cache") and path.is_dir():
            shutil.rmtree(path)
        elif kind == "file" and path.is_file():
            path.unlink()
        elif kind == "kritarc":
            restore_kritarc(path, item.get("previous"), item.get("section_added", False))
        elif kind == "config":
            _undo_config(item)
        else:
            continue
        done.append(f"restored {path}" if path.exists() and kind in ("kritarc", "config") else f"removed {path}")
    record.path.unlink(missing_ok=True)
    for folder in sorted(record.dirs, key=lambda d: -len(Path(d).parts)):
        try:
            os.rmdir(folder)  # only when empty: something the user put there keeps it
        except OSError:
            pass
    return done
