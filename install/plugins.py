"""The one place that lays out an installed plug-in: Krita's ``pykrita/retex/`` (+ ``retex.desktop``) and GIMP's
``plug-ins/retex/retex.py`` (executable), each with ``plugin/common`` inside as ``common/``, so the installed copy is
self-contained and the repository's layout never leaks into the editor's Python.

A copy is built in a hidden sibling folder and renamed into place, so a killed install leaves either the old copy
or the new one, plus a hidden leftover that the next run removes. A folder named ``retex`` that Retex did not put
there is never touched.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import zipfile
from pathlib import Path

from . import ROOT

PLUGIN = ROOT / "plugin"
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")
MARKER = ".retex-install.json"  # inside every installed copy: says it is ours
STAGING, OLD = ".retex-staging-", ".retex-old-"


def stage(editor: str, plugins: Path) -> Path:
    """A fresh copy of the plug-in in a hidden folder beside its final place."""
    staging = plugins / f"{STAGING}{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    try:
        shutil.copytree(PLUGIN / editor / "retex", staging, ignore=SKIP)
        shutil.copytree(PLUGIN / "common", staging / "common", ignore=SKIP)
        if editor == "gimp":
            (staging / "retex.py").chmod(0o755)
        (staging / MARKER).write_text(json.dumps({"from": str(ROOT)}) + "\n")
    except OSError:  # a full disk: leave nothing behind
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def clean_leftovers(plugins: Path) -> list[Path]:
    """Remove what a killed run left (hidden staging or old copies); returns them."""
    left = sorted(p for pattern in (f"{STAGING}*", f"{OLD}*") for p in plugins.glob(pattern))
    for path in left:
        shutil.rmtree(path, ignore_errors=True)
    return left


def is_ours(folder: Path, recorded: bool) -> bool:
    """Ours when the record or the marker says so, or when it is a copy from the plug-ins' own install.py (shared
    code inside, Retex's entry point beside it)."""
    if recorded or (folder / MARKER).is_file():
        return True
    entry = (folder / "extension.py").is_file() or (folder / "retex.py").is_file()
    return entry and (folder / "common" / "protocol.py").is_file()


def same_tree(a: Path, b: Path) -> bool:
    """Same file names, contents and executable bits (``__pycache__`` is ignored: dircmp's default)."""
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    for name in cmp.common_files:
        pa, pb = a / name, b / name
        if not filecmp.cmp(pa, pb, shallow=False) or os.access(pa, os.X_OK) != os.access(pb, os.X_OK):
            return False
    return all(same_tree(a / d, b / d) for d in cmp.common_dirs)


def place(staging: Path, target: Path) -> None:
    """Swap the staged copy in: two renames, the old copy removed last."""
    if target.exists():
        old = target.with_name(f"{OLD}{os.getpid()}")
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old)
    else:
        staging.rename(target)


def files(folder: Path) -> list[str]:
    """Every file under ``folder``, relative, for the record (a deleted one is then noticed); not the editors'
    ``__pycache__``."""
    paths = (p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    return sorted(p.as_posix() for p in paths if "__pycache__" not in p.parts)


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write atomically, only when the content differs; True when written. A temporary file a killed run left
    beside ``path`` is removed either way."""
    tmp = path.with_name(f".{path.name}.retex-tmp")
    tmp.unlink(missing_ok=True)
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def desktop_file() -> bytes:
    return (PLUGIN / "krita" / "retex.desktop").read_bytes()


def pack_krita_zip(path: Path) -> None:
    """A ZIP for Krita's *Tools > Scripts > Import Python Plugin from File…* (same layout as an install)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("retex.desktop", desktop_file())
        for folder, prefix in ((PLUGIN / "krita" / "retex", "retex"), (PLUGIN / "common", "retex/common")):
            for file in sorted(folder.rglob("*.py")):
                z.write(file, f"{prefix}/{file.relative_to(folder).as_posix()}")


# --- kritarc -----------------------------------------------------------------------------------------------------

ENABLE = "enable_retex"


def enable_in_kritarc(kritarc: Path) -> tuple[bool, str | None, bool]:
    """Set ``[python] enable_retex=true``, keeping every other line as it is (Krita's keys are case-sensitive, so
    configparser would damage the file). Returns (changed, the previous line or None, section added)."""
    try:
        lines = kritarc.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    section, previous, insert_at = None, None, None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
            if section == "[python]":
                insert_at = i + 1
        elif section == "[python]" and stripped.split("=", 1)[0].strip() == ENABLE:
            if stripped.replace(" ", "") == f"{ENABLE}=true":
                return False, None, False
            previous = line
            lines[i] = f"{ENABLE}=true"
            break
    else:
        if insert_at is None:
            lines += ([""] if lines and lines[-1].strip() else []) + ["[python]", f"{ENABLE}=true"]
        else:
            lines.insert(insert_at, f"{ENABLE}=true")
    kritarc.parent.mkdir(parents=True, exist_ok=True)
    write_if_changed(kritarc, ("\n".join(lines) + "\n").encode())
    return True, previous, insert_at is None and previous is None


def kritarc_enabled(kritarc: Path) -> bool:
    section = None
    try:
        text = kritarc.read_text(encoding="utf-8")
    except OSError:
        return False
    for line in text.splitlines():
        stripped = line.strip().replace(" ", "")
        if stripped.startswith("["):
            section = stripped
        elif section == "[python]" and stripped == f"{ENABLE}=true":
            return True
    return False


def restore_kritarc(kritarc: Path, previous: str | None, section_added: bool) -> None:
    """Undo ``enable_in_kritarc``: the previous line back, or the line (and the section, if it was ours and is now
    empty) removed."""
    try:
        lines = kritarc.read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    out, section, header = [], None, None
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
            if section == "[python]":
                header = len(out)
        elif section == "[python]" and stripped.split("=", 1)[0].strip() == ENABLE:
            if previous is not None:
                out.append(previous)
            continue
        out.append(line)
    if section_added and header is not None:
        rest = out[header + 1 :]
        end = next((i for i, line in enumerate(rest) if line.strip().startswith("[")), len(rest))
        if not any(line.strip() for line in rest[:end]):
            out = out[:header] + rest[end:]
            while out and not out[-1].strip():
                out.pop()
    if out:
        write_if_changed(kritarc, ("\n".join(out) + "\n").encode())
    else:
        kritarc.unlink()


def copy_plugin(editor: str, plugins: Path) -> Path:
    """Only the copy (no pyzmq, config or record): for the editor tests' throw-away profiles, whose editors have
    pyzmq. Returns the installed folder."""
    plugins.mkdir(parents=True, exist_ok=True)
    target = plugins / "retex"
    place(stage(editor, plugins), target)
    if editor == "krita":
        write_if_changed(plugins / "retex.desktop", desktop_file())
    return target
