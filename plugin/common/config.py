"""Which backend an editor plug-in starts: ``~/.config/retex/config.json``, shared by the Krita and GIMP plug-ins.

Keys (all optional): ``python`` (the interpreter with the backend's packages), ``repo`` (the folder holding the
``backend`` package, used as the working directory), ``endpoint`` (where the backend listens; default: a private
per-host socket) and ``args`` (extra ``serve`` arguments, e.g. ``["--device", "cpu"]``). ``RETEX_CONFIG_DIR`` moves
the folder (the backend keeps its token there too); ``RETEX_BACKEND_PYTHON`` overrides ``python``. Until the
installer writes this file, a plug-in run from a checkout finds the checkout's ``.venv`` by itself.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path


def config_dir() -> Path:
    return Path(os.environ.get("RETEX_CONFIG_DIR", Path.home() / ".config" / "retex"))


def config_path() -> Path:
    return config_dir() / "config.json"


def _checkout() -> str:
    """The repository this package sits in (``plugin/common`` of a checkout), or "" once copied into an editor."""
    root = Path(__file__).resolve().parents[2]
    return str(root) if (root / "backend" / "__main__.py").is_file() else ""


def venv_python(repo: str) -> str:
    return str(Path(repo) / ".venv" / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python"))


def default_endpoint(host: str) -> str:
    """A socket only this user can reach, one per host so Krita and GIMP each start their own backend. On Windows,
    loopback TCP on a port the backend picks (it announces the real one on its READY line)."""
    if sys.platform == "win32":
        return "tcp://127.0.0.1:*"
    runtime = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"retex-{os.getuid()}"
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    return f"ipc://{runtime / f'{host}.sock'}"


@dataclass
class BackendConfig:
    python: str = ""
    repo: str = ""
    endpoint: str = ""
    args: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | None = None) -> BackendConfig:
        """The saved settings with blanks filled in from the environment and the checkout; a missing or broken file
        gives the defaults (the docker shows what is used, so a typo is visible there)."""
        path = path or config_path()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raw = {}
        if not isinstance(raw, dict):
            raw = {}
        args = raw.get("args", [])
        config = cls(
            python=str(raw.get("python") or ""),
            repo=str(raw.get("repo") or ""),
            endpoint=str(raw.get("endpoint") or ""),
            args=[str(a) for a in args] if isinstance(args, list) else [],
        )
        config.python = os.environ.get("RETEX_BACKEND_PYTHON") or config.python
        config.repo = config.repo or _checkout()
        if not config.python and config.repo:
            config.python = venv_python(config.repo)
        return config

    def save(self, path: Path | None = None) -> None:
        """Write the settings (atomically, so a crash never leaves half a file)."""
        path = path or config_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
