#!/usr/bin/env python3
"""Install the Retex plug-in into GIMP 3's plug-ins folder.

GIMP wants each plug-in in its own folder, named like its executable script: ``plug-ins/retex/retex.py``. This
script copies ``plugin/gimp/retex`` there with ``plugin/common`` inside as ``common``, so the installed plug-in is
self-contained; GIMP runs it with its own Python, which needs ``gi`` and pyzmq (Debian: ``python3-zmq``).

    python3 plugin/gimp/install.py                  # into this user's GIMP 3 (restart GIMP afterwards)
    python3 plugin/gimp/install.py --dest DIR       # into DIR (a plug-ins folder)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
COMMON = HERE.parent / "common"
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


def default_dest() -> Path:
    if sys.platform == "win32":
        return Path(os.environ["APPDATA"]) / "GIMP" / "3.0" / "plug-ins"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "GIMP" / "3.0" / "plug-ins"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "GIMP" / "3.0" / "plug-ins"


def install(dest: Path) -> Path:
    """Copy ``retex/`` (with ``common/`` inside) into ``dest``, replacing an older copy; the script is executable."""
    folder = dest / "retex"
    if folder.exists():
        shutil.rmtree(folder)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(HERE / "retex", folder, ignore=SKIP)
    shutil.copytree(COMMON, folder / "common", ignore=SKIP)
    (folder / "retex.py").chmod(0o755)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, help="the plug-ins folder (default: this user's GIMP 3)")
    args = parser.parse_args()
    print(f"installed {install(args.dest or default_dest())}")


if __name__ == "__main__":
    main()
