"""Safe defaults for where the service listens and who may talk to it (docs/security.md is the threat model).

- POSIX default: an ``ipc://`` socket inside a folder only the user owns and can open (mode 0700, never a link),
  the socket file itself mode 0600 whatever the umask: the file system is the access control. The folder logic is
  ``plugin.common.config.private_dir``, shared with the editor plug-ins that choose the endpoint.
- ``tcp://`` on a loopback address (the Windows default) and abstract ``ipc://@name`` sockets, which any local
  user can reach: every connection must present the per-install token in the ZeroMQ PLAIN handshake, so a peer
  without it is dropped before a single byte of a message is buffered or parsed.
- Any other address: ZeroMQ CURVE encryption and authentication are required; a client whose public key is not in
  the authorized-keys folder is refused during the handshake, so its requests never reach the pipeline.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from plugin.common import config
from plugin.common.config import (
    UnsafeFolder,
    is_abstract_ipc,
    is_loopback_tcp,
    needs_token,
    private_dir,
    read_token,
    token_path,
)

from ..errors import RetexError

__all__ = ["is_abstract_ipc", "is_loopback_tcp", "needs_token", "private_dir"]

TOKEN_USER = "retex"  # the PLAIN user name; the token is the password


def default_endpoint() -> str:
    """``serve`` without ``--endpoint``: the plug-ins' default for host ``backend`` (``plugin.common.config``, the one
    home of the user's paths and endpoints): a private ``ipc://`` socket, on Windows loopback TCP on a port the
    backend picks and names on its READY line."""
    try:
        return config.default_endpoint("backend")
    except OSError as e:
        raise RetexError(f"cannot make a private socket folder: {e}") from None


def needs_curve(endpoint: str) -> bool:
    """Anything that is neither an ipc socket nor loopback TCP is reachable from other machines."""
    return not (endpoint.startswith(("ipc://", "inproc://")) or is_loopback_tcp(endpoint))


def check_ipc_folder(path: Path) -> None:
    """An explicit ``ipc://PATH``: its folder must be this user's or root's, and if others may write in it, sticky
    (as /tmp is), or another user could rename our socket away and put theirs in its place."""
    folder = path.parent
    try:
        st = os.stat(folder)
    except OSError as e:
        raise RetexError(f"cannot use {folder} for the socket: {e.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise RetexError(f"cannot use {folder} for the socket: not a folder")
    if st.st_uid not in (0, os.getuid()) or (st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX):
        raise RetexError(f"{folder} can be changed by other users: put the socket in a folder of your own")


def load_or_create_token(path: Path | None = None) -> str:
    """The per-install random token for loopback TCP, created on first use with mode 0600 in a private folder; an
    existing one that others can read is refused (it would be no secret)."""
    path = path or token_path()
    try:
        if not path.exists():
            private_dir(path.parent)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            except FileExistsError:
                pass  # another process made it first: read theirs
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_urlsafe(32) + "\n")
        token = read_token(path)
    except UnsafeFolder as e:
        raise RetexError(str(e)) from None
    except OSError as e:
        raise RetexError(f"cannot read or create the token {path}: {e.strerror or e}") from None
    if not token:
        raise RetexError(f"token file {path} is empty: delete it and Retex makes a new one")
    return token
