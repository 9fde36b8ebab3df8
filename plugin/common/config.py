"""Which backend an editor plug-in starts: ``~/.config/retex/config.json``, shared by the Krita and GIMP plug-ins.

Keys (all optional): ``backend`` (``local``, the default: the plug-in starts its own; or ``remote``: a backend on
another machine, reached with CURVE keys through ``remote``, the connection line ``python -m backend keys`` prints
there, see ``remote.py``), then for a local backend ``python`` (the interpreter with the backend's packages),
``repo`` (the folder holding the ``backend`` package, used as the working directory), ``endpoint`` (where the backend
listens; default: a private per-host socket) and ``args`` (extra ``serve`` arguments, e.g. ``["--device", "cpu"]``).
The file holds a secret key when remote, so it is written for this user alone. ``RETEX_CONFIG_DIR`` moves
the folder (the backend keeps its token there too); ``RETEX_BACKEND_PYTHON`` overrides ``python``. Until the
installer writes this file, a plug-in run from a checkout finds the checkout's ``.venv`` by itself.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .remote import BadConnection, Remote


def config_dir() -> Path:
    return Path(os.environ.get("RETEX_CONFIG_DIR", Path.home() / ".config" / "retex"))


def config_path() -> Path:
    return config_dir() / "config.json"


def token_path() -> Path:
    """The per-install token loopback TCP and abstract sockets ask for: the backend creates it, the plug-ins read it."""
    return config_dir() / "token"


def _checkout() -> str:
    """The repository this package sits in (``plugin/common`` of a checkout), or "" once copied into an editor."""
    root = Path(__file__).resolve().parents[2]
    return str(root) if (root / "backend" / "__main__.py").is_file() else ""


def venv_python(repo: str) -> str:
    return str(Path(repo) / ".venv" / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python"))


def write_json(path: Path, data: object) -> None:
    """Write ``data`` as JSON atomically (a temporary file renamed in), so a crash never leaves half a file, and
    readable by this user alone (the settings may hold a secret key). The plug-ins' one copy of the backend's
    ``files.atomic_write``, which they cannot import."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        if sys.platform != "win32":
            os.fchmod(f.fileno(), 0o600)  # a leftover temporary file keeps its old mode
        f.write(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


class UnsafeFolder(PermissionError):
    """A folder Retex would put its socket or token in that another user could reach or replace."""


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) for this user alone and prove it is still so: a folder another user made first,
    or a symlink to any folder, is refused rather than used, because whoever controls it can swap the socket and
    read every image. A folder of this user's with loose permissions is tightened (only its owner could loosen
    it). Checked through a descriptor opened without following links, so the folder cannot be swapped mid-check."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    if sys.platform == "win32":
        return path
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:  # ELOOP: a symlink; ENOTDIR: a file
        raise UnsafeFolder(f"{path} is a link or not a folder: remove it (Retex will make it again)") from None
    try:
        st = os.fstat(fd)
        if st.st_uid != os.getuid():
            raise UnsafeFolder(f"{path} belongs to another user (uid {st.st_uid}): remove it, or set XDG_RUNTIME_DIR")
        if st.st_mode & 0o077:
            os.fchmod(fd, 0o700)
    finally:
        os.close(fd)
    return path


def socket_dir() -> Path:
    """The private folder for this user's sockets: ``$XDG_RUNTIME_DIR/retex-UID``, else ``/tmp/retex-UID``."""
    runtime = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return private_dir(Path(runtime) / f"retex-{os.getuid()}")


def default_endpoint(host: str) -> str:
    """A socket only this user can reach, one per host so Krita and GIMP each start their own backend (a bare
    ``python -m backend serve`` is host ``backend``). On Windows, loopback TCP on a port the backend picks (it
    announces the real one on its READY line)."""
    if sys.platform == "win32":
        return "tcp://127.0.0.1:*"
    return f"ipc://{socket_dir() / f'{host}.sock'}"


def is_loopback_tcp(endpoint: str) -> bool:
    """tcp://HOST:PORT where HOST is localhost or a loopback address (127.0.0.0/8, ::1)."""
    if not endpoint.startswith("tcp://"):
        return False
    host = endpoint[len("tcp://") :].rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_abstract_ipc(endpoint: str) -> bool:
    """``ipc://@name``: a Linux abstract socket has no file, so no permissions: any local user can connect."""
    return endpoint.startswith("ipc://@")


def needs_token(endpoint: str) -> bool:
    """Endpoints other local users can reach: every connection must present the token in its handshake."""
    return is_loopback_tcp(endpoint) or is_abstract_ipc(endpoint)


def read_token(path: Path) -> str:
    """The token in ``path``; refused when others could read it (then it is no secret) or when it is a link."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, encoding="utf-8") as f:
        if sys.platform != "win32":
            st = os.fstat(f.fileno())
            if st.st_uid != os.getuid() or st.st_mode & 0o077:
                raise UnsafeFolder(
                    f"token file {path} is readable or owned by another user (mode {st.st_mode & 0o777:o}): "
                    "delete it and Retex makes a new one"
                )
        return f.read().strip()


BACKENDS = {"local": "Local (on this computer)", "remote": "Remote (another machine)"}


@dataclass
class BackendConfig:
    python: str = ""
    repo: str = ""
    endpoint: str = ""
    args: list[str] = field(default_factory=list)
    backend: str = "local"  # or "remote"
    remote: str = ""  # the connection line (remote.Remote)

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
            backend="remote" if raw.get("backend") == "remote" else "local",
            remote=str(raw.get("remote") or ""),
        )
        config.python = os.environ.get("RETEX_BACKEND_PYTHON") or config.python
        config.repo = config.repo or _checkout()
        if not config.python and config.repo:
            config.python = venv_python(config.repo)
        return config

    def save(self, path: Path | None = None) -> None:
        """Write the settings (atomically, so a crash never leaves half a file)."""
        write_json(path or config_path(), asdict(self))

    def remote_backend(self) -> Remote | None:
        """The remote backend to use, None for a local one; a BadConnection if the saved line is wrong."""
        return Remote.parse(self.remote) if self.backend == "remote" else None

    def choose(self, backend: str, line: str) -> BackendConfig:
        """These settings with the backend the user chose (both editors' settings dialogs save this): a remote
        one's connection line is checked first (BadConnection says what is wrong, and nothing is saved); a local
        one keeps the last line, so switching back and forth loses nothing."""
        if backend not in BACKENDS:
            raise BadConnection(f"The backend is {' or '.join(BACKENDS)}, not '{backend}'.")
        line = " ".join(line.split())
        if backend == "remote":
            line = Remote.parse(line).line
        return replace(self, backend=backend, remote=line or self.remote)
