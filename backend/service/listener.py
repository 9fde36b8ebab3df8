"""The server's socket and who may reach it: the ROUTER socket's options, the handshake's authenticator (a token
for loopback TCP and abstract sockets, CURVE keys for anything reachable from other machines: security.py says
which), and an ipc socket file made private and locked so a second server on the same path refuses to start."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import zmq

from plugin.common.protocol import TOKEN_USER

from ..errors import RetexError
from .security import check_ipc_folder, is_abstract_ipc

if TYPE_CHECKING:
    from zmq.auth.thread import ThreadAuthenticator


class Listener:
    def __init__(
        self,
        ctx: zmq.Context,
        endpoint: str,
        max_message_bytes: int,
        token: str | None = None,  # required in every connection's PLAIN handshake when set
        curve_secret: Path | None = None,  # the server's secret key file (zmq.auth)
        curve_clients: Path | None = None,  # folder of authorized client public keys
    ) -> None:
        self.ctx, self.endpoint, self.max_message_bytes = ctx, endpoint, max_message_bytes
        self.token, self.curve_secret, self.curve_clients = token, curve_secret, curve_clients
        self._auth: ThreadAuthenticator | None = None
        self._lock_fd: int | None = None  # held for the life of an ipc server: a second one refuses to start
        self._socket_id: tuple[int, int] | None = None  # (device, inode) of our socket file, so we unlink only ours

    def bind(self) -> zmq.Socket:
        """The bound ROUTER socket; on failure nothing is left behind (no thread, no lock, no socket file)."""
        sock = self.ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)  # a reply to a client that went away fails: its jobs are cancelled
        sock.setsockopt(zmq.SNDHWM, 0)  # never drop a reply: a slow reader's result waits for it (progress is sparse)
        if self.endpoint.startswith("tcp://["):  # an IPv6 address such as [::1] (only then: with it, an IPv4
            sock.setsockopt(zmq.IPV6, 1)  # address would be announced v4-mapped on the READY line)
        if self.curve_secret or self.token:
            from zmq.auth.thread import ThreadAuthenticator

            auth = self._auth = ThreadAuthenticator(self.ctx)
            auth.start()
            if self.curve_secret:
                from zmq.auth import load_certificate

                auth.configure_curve(domain="*", location=str(self.curve_clients))
                public, secret = load_certificate(str(self.curve_secret))
                sock.curve_secretkey, sock.curve_publickey, sock.curve_server = secret, public, True
            elif self.token:  # checked in the handshake: a peer without it never gets a message buffered
                auth.configure_plain(domain="*", passwords={TOKEN_USER: self.token})
                sock.plain_server = True
        try:
            self._bind_endpoint(sock)
        except BaseException:  # address in use, bad endpoint, no permission: leave no thread behind
            sock.close(linger=0)
            self.close()
            raise
        return sock

    def _socket_path(self) -> Path | None:
        """The socket file of an ``ipc://`` endpoint (None for TCP and abstract sockets, which have none)."""
        endpoint = self.endpoint
        if not endpoint.startswith("ipc://") or is_abstract_ipc(endpoint):
            return None
        return Path(endpoint[len("ipc://") :])

    def _bind_endpoint(self, sock: zmq.Socket) -> None:
        """Bind; an ipc socket file is made mode 0600 whatever the umask, in a folder others cannot change, and only
        after taking the path's lock (ZeroMQ would silently unlink a live server's socket and take its place)."""
        path = self._socket_path()
        if path is not None:
            check_ipc_folder(path)
            self._lock(path)
        old_umask = os.umask(0o077) if path is not None else None
        try:
            sock.bind(self.endpoint)
        except zmq.ZMQError as e:
            raise RetexError(f"cannot listen on {self.endpoint}: {e.strerror}") from None
        finally:
            if old_umask is not None:
                os.umask(old_umask)
        if path is not None:
            st = os.lstat(path)
            self._socket_id = (st.st_dev, st.st_ino)

    def _lock(self, path: Path) -> None:
        import fcntl

        lock = path.with_name(path.name + ".lock")
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except OSError as e:
            raise RetexError(f"cannot lock {lock}: {e.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            raise RetexError(
                f"another Retex server (pid {holder or '?'}) is already listening on {self.endpoint}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def close(self) -> None:
        """Stop the authenticator, end the context (its sockets must be closed), remove our socket file and lock."""
        if self._auth:
            self._auth.stop()
            self._auth = None
        self.ctx.term()
        path = self._socket_path()
        if path is not None and self._socket_id is not None:
            try:
                st = os.lstat(path)
                if (st.st_dev, st.st_ino) == self._socket_id:
                    path.unlink()
            except OSError:
                pass  # already gone
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
