#!/usr/bin/env python3
"""Install the Retex plug-in into Krita's pykrita folder, or pack it as a ZIP for Krita's
*Tools > Scripts > Import Python Plugin from File…*.

The package imports the shared code as ``retex.common``: this script copies ``plugin/common`` into the installed
package, so the installed plug-in is self-contained and the repository's layout never leaks into Krita's Python.

    python3 plugin/krita/install.py                 # into this user's Krita (then enable it in Settings >
                                                    # Configure Krita > Python Plugin Manager and restart Krita)
    python3 plugin/krita/install.py --dest DIR      # into DIR (a pykrita folder)
    python3 plugin/krita/install.py --zip retex-krita.zip
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
COMMON = HERE.parent / "common"
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


def default_dest() -> Path:
    if sys.platform == "win32":
        return Path(os.environ["APPDATA"]) / "krita" / "pykrita"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "krita" / "pykrita"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "krita" / "pykrita"


def install(dest: Path) -> Path:
    """Copy ``retex.desktop`` and ``retex/`` (with ``common/`` inside) into ``dest``, replacing an older copy."""
    package = dest / "retex"
    if package.exists():
        shutil.rmtree(package)
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(HERE / "retex", package, ignore=SKIP)
    shutil.copytree(COMMON, package / "common", ignore=SKIP)
    shutil.copy2(HERE / "retex.desktop", dest / "retex.desktop")
    return package


def pack(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(HERE / "retex.desktop", "retex.desktop")
        for folder, prefix in ((HERE / "retex", "retex"), (COMMON, "retex/common")):
            for file in sorted(folder.rglob("*.py")):
                z.write(file, f"{prefix}/{file.relative_to(folder).as_posix()}")


def record_backend() -> Path | None:
    """Tell the plug-in where this checkout's backend is, unless a config already says (the copy in Krita cannot
    find the checkout by itself)."""
    sys.path.insert(0, str(HERE.parents[1]))
    from plugin.common.config import BackendConfig, config_path

    if config_path().exists():
        return None
    BackendConfig.load().save()
    return config_path()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, help="the pykrita folder (default: this user's)")
    parser.add_argument("--zip", type=Path, help="write a ZIP for Krita's importer instead")
    args = parser.parse_args()
    if args.zip:
        pack(args.zip)
        print(f"wrote {args.zip}")
    else:
        print(f"installed {install(args.dest or default_dest())}")
        recorded = record_backend()
        if recorded:
            print(f"recorded this checkout's backend in {recorded}")


if __name__ == "__main__":
    main()
