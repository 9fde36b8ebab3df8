"""Safe defaults for where the service listens and who may talk to it.

- POSIX default: an ``ipc://`` socket inside a directory only the user can open (mode 0700): the file system is the
  access control.
- ``tcp://127.0.0.1:PORT`` (the Windows default): every request must carry the per-install random token.
- Any other address: ZeroMQ CURVE encryption and authentication are required; a client whose public key is not in
  the authorized-keys folder is refused during the handshake, so its requests never reach the pipeline.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import sys
import tempfile
from pathlib import Path

CONFIG_DIR = Path(os.environ.get("RETEX_CONFIG_DIR", Path.home() / ".config" / "retex"))


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) readable by the user only; refuse one that others can enter."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if sys.platform != "win32":
        st = path.stat()
        if st.st_uid != os.getuid():
            raise PermissionError(f"{path} belongs to another user")
        if st.st_mode & 0o077:
            os.chmod(path, 0o700)
    return path


def default_endpoint() -> str:
    if sys.platform == "win32":
        return "tcp://127.0.0.1:47651"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    folder = private_dir(Path(runtime) / f"retex-{os.getuid()}")
    return f"ipc://{folder / 'backend.sock'}"


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


def needs_curve(endpoint: str) -> bool:
    """Anything that is neither an ipc socket nor loopback TCP is reachable from other machines."""
    return not (endpoint.startswith(("ipc://", "inproc://")) or is_loopback_tcp(endpoint))


def load_or_create_token(path: Path | None = None) -> str:
    """The per-install random token for loopback TCP, created on first use with mode 0600."""
    path = path or CONFIG_DIR / "token"
    if path.is_file():
        return path.read_text().strip()
    private_dir(path.parent)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token
