"""The Retex client, shared by both editor plug-ins and the backend's command line (stdlib + pyzmq only).

Two ways to use it:
- blocking: ``Client(endpoint).run(...)`` with a progress callback (scripts, GIMP's plug-in process);
- polling: ``submit(...)`` then ``poll()`` from a timer, so an editor's UI thread never blocks (Krita).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from .protocol import (
    REPLIES,
    TOKEN_USER,
    ErrorCode,
    Frame,
    FrameSpec,
    Message,
    ProtocolError,
    decode,
    encode,
    run_request,
    train_style_request,
)

ProgressFn = Callable[[float, str, "float | None"], None]


class BackendError(Exception):
    """The backend refused or failed a request; ``code`` is a stable protocol error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BackendUnavailable(BackendError):
    """No backend answered in time (not started, crashed, or unreachable)."""

    def __init__(self, endpoint: str, detail: str) -> None:
        super().__init__(
            "unavailable",
            f"no Retex backend answered at {endpoint} ({detail}). Start it with: "
            f".venv/bin/python -m backend serve --endpoint {endpoint}",
        )


class Client:
    def __init__(
        self,
        endpoint: str,
        token: str | None = None,
        timeout_s: float = 30.0,
        curve: tuple[bytes, bytes, bytes] | None = None,  # (client public, client secret, server public)
    ) -> None:
        self.endpoint, self.token, self.timeout_s = endpoint, token, timeout_s
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.IPV6, 1)  # tcp://[::1]:PORT
        if curve:
            self.sock.curve_publickey, self.sock.curve_secretkey, self.sock.curve_serverkey = curve
        elif token:  # presented in the handshake: the server drops a connection without it before reading anything
            self.sock.plain_username, self.sock.plain_password = TOKEN_USER.encode(), token.encode()
        # A refused handshake is otherwise silent (ZeroMQ just retries): watch for it to say so at once. Not through
        # get_monitor_socket, which would hand this monitor to a host that asks for its own (GIMP's link watches for
        # disconnects); a later monitor replaces this one.
        address = f"inproc://retex-monitor-{uuid.uuid4().hex}"
        # NO_DETAIL too: a server that requires a token or key may close the connection before telling why, and
        # which of the three the client sees depends on timing.
        refused = zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
        self.sock.monitor(address, refused | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        self._monitor = self.ctx.socket(zmq.PAIR)
        self._monitor.connect(address)
        self.sock.connect(endpoint)

    def close(self) -> None:
        self.sock.disable_monitor()
        self._monitor.close(linger=0)
        self.sock.close(linger=0)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- low level: non-blocking ------------------------------------------------------------------------------

    def submit(
        self, msg_type: str, fields: dict[str, Any] | None = None, frames: list[tuple[FrameSpec, bytes]] | None = None
    ) -> str:
        """Send a request; returns its id, which every reply and event for it carries."""
        msg_id = uuid.uuid4().hex[:16]
        self.sock.send_multipart(encode(msg_type, msg_id, fields, frames), copy=False)
        return msg_id

    def poll(self, timeout_ms: int = 0) -> list[Message]:
        """Every message that has arrived (waiting up to ``timeout_ms`` for the first)."""
        if self._monitor.poll(0):
            event = recv_monitor_message(self._monitor)
            raise BackendError(
                ErrorCode.UNAUTHORIZED,
                f"the backend at {self.endpoint} refused this connection "
                f"({'wrong' if event['event'] == zmq.EVENT_HANDSHAKE_FAILED_AUTH else 'missing'} token or key)",
            )
        out: list[Message] = []
        while self.sock.poll(timeout_ms if not out else 0, zmq.POLLIN):
            parts = self.sock.recv_multipart(copy=False)
            try:
                out.append(decode([p.buffer for p in parts], REPLIES))
            except ProtocolError as e:
                raise BackendError(e.code, f"malformed reply from the backend: {e.message}") from None
        return out

    # --- blocking helpers -------------------------------------------------------------------------------------

    def request(
        self,
        msg_type: str,
        fields: dict[str, Any] | None = None,
        frames: list[tuple[FrameSpec, bytes]] | None = None,
        on_progress: ProgressFn | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> Message:
        """Send a request and wait for its final reply (info, ok, result or error).

        The timeout counts silence, not total time: a long job that keeps reporting progress never times out,
        while a server that died mid-job is noticed within ``timeout_s``. ``cancel()`` returning True asks the
        server to cancel the job.
        """
        msg_id = self.submit(msg_type, fields, frames)
        deadline = time.monotonic() + self.timeout_s
        job, cancel_sent = None, False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BackendUnavailable(self.endpoint, f"no reply for {self.timeout_s:g} s")
            for msg in self.poll(int(min(remaining, 0.1) * 1000)):
                if msg.id != msg_id:
                    continue  # a late reply to an earlier, abandoned request
                deadline = time.monotonic() + self.timeout_s
                if msg.type == "error":
                    raise BackendError(msg.header.get("code", ErrorCode.INTERNAL), msg.header.get("message", ""))
                if msg.type == "accepted":
                    job = msg.header.get("job")
                elif msg.type == "progress":
                    if on_progress:
                        on_progress(
                            float(msg.header["fraction"]), str(msg.header.get("stage", "")), msg.header.get("eta")
                        )
                else:
                    return msg
            if cancel and job and not cancel_sent and cancel():
                self.submit("cancel", {"job": job})
                cancel_sent = True

    def hello(self) -> dict[str, Any]:
        return self.request("hello").header

    def cancel(self, job: str) -> None:
        self.request("cancel", {"job": job})

    def shutdown(self) -> None:
        self.request("shutdown")

    def run(
        self,
        task: str,
        image: Frame,
        *,
        inpaint_mask: Frame | None = None,
        slots: list[dict[str, Any]] | None = None,
        crop: tuple[int, int, int, int] | None = None,
        options: dict[str, Any] | None = None,
        on_progress: ProgressFn | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> Message:
        """Restore ``image`` with ``task`` (``none``: texture only), then texture it (see ``run_request``). Returns
        the result message (its frame has the input's layout)."""
        fields, frames = run_request(task, image, inpaint_mask=inpaint_mask, slots=slots, crop=crop, options=options)
        return self.request("run", fields, frames, on_progress, cancel)

    def train_style(
        self,
        exemplar: Frame,
        name: str,
        *,
        scale: str = "fine",
        minutes: float | None = None,
        on_progress: ProgressFn | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> Message:
        """Learn a new style from ``exemplar`` (e.g. the selected pixels); the result names the new style."""
        fields, frames = train_style_request(exemplar, name, scale=scale, minutes=minutes)
        return self.request("train_style", fields, frames, on_progress, cancel)
