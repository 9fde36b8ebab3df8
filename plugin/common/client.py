"""The Retex client, shared by both editor plug-ins and the backend's command line (stdlib + pyzmq only): a socket
that sends typed requests (``requests``) and reads typed replies (``replies``).

Two ways to use it, over the one core that routes replies to jobs (``exchange.Exchange``):
- blocking: ``Client(endpoint).run(...)`` or ``request(...)`` with a progress callback (scripts, the command line,
  GIMP's plug-in through ``link``);
- polling: ``session.Session`` from a timer, so an editor's UI thread never blocks (Krita).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from .exchange import BackendError, BackendUnavailable, Exchange, Job, ProgressFn
from .heal import Heal
from .protocol import TOKEN_USER, ErrorCode, Frame, ProtocolError
from .replies import Reply, Result, parse_reply
from .requests import (
    DEFAULT_MINUTES,
    CancelRequest,
    HelloRequest,
    RawRequest,
    Request,
    RunRequest,
    ShutdownRequest,
    Slot,
    TrainStyleRequest,
)

__all__ = ["BackendError", "BackendUnavailable", "Client", "ProgressFn"]


class Client:
    def __init__(
        self,
        endpoint: str,
        token: str | None = None,
        timeout_s: float = 30.0,
        curve: tuple[bytes, bytes, bytes] | None = None,  # (client public, client secret, server public)
    ) -> None:
        self.endpoint, self.token, self.timeout_s = endpoint, token, timeout_s
        self.ctx: zmq.Context = zmq.Context.instance()
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
        self, request: Request | str, fields: dict[str, Any] | None = None, frames: list[Frame] | None = None
    ) -> str:
        """Send a request (typed, or a type with its fields and frames, sent as they are); returns its id, which
        every reply and event about it carries."""
        if isinstance(request, str):
            request = RawRequest(request, fields or {}, frames or [])
        msg_id = uuid.uuid4().hex[:16]
        self.sock.send_multipart(request.to_frames(msg_id), copy=False)
        return msg_id

    def poll(self, timeout_ms: int = 0) -> list[Reply]:
        """Every reply that has arrived (waiting up to ``timeout_ms`` for the first), typed: the one place a client
        reads the backend's messages."""
        if self._monitor.poll(0):
            event = recv_monitor_message(self._monitor)
            raise BackendError(
                ErrorCode.UNAUTHORIZED,
                f"the backend at {self.endpoint} refused this connection "
                f"({'wrong' if event['event'] == zmq.EVENT_HANDSHAKE_FAILED_AUTH else 'missing'} token or key)",
            )
        out: list[Reply] = []
        while self.sock.poll(timeout_ms if not out else 0, zmq.POLLIN):
            parts = self.sock.recv_multipart(copy=False)
            try:
                out.append(parse_reply([p.buffer for p in parts]))
            except ProtocolError as e:
                raise BackendError(e.code, f"malformed reply from the backend: {e.message}") from None
        return out

    # --- blocking helpers -------------------------------------------------------------------------------------

    def request(
        self,
        request: Request | str,
        fields: dict[str, Any] | None = None,
        frames: list[Frame] | None = None,
        on_progress: ProgressFn | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> Reply:
        """Send a request and wait for its final reply (info, ok or result); a BackendError if it fails.

        The timeout counts silence, not total time: a long job that keeps reporting progress never times out,
        while a server that died mid-job is noticed within ``timeout_s``. ``cancel()`` returning True asks the
        server to cancel the job.
        """
        if isinstance(request, str):
            request = RawRequest(request, fields or {}, frames or [])
        job = Job(request, on_progress=on_progress)
        return Exchange(self).run_to_end(job, self.timeout_s, cancel)

    def hello(self) -> dict[str, Any]:
        """The server's ``info`` header (``check_info(client.request(HelloRequest()))`` gives it typed)."""
        return self.request(HelloRequest()).header

    def cancel(self, job: str) -> None:
        self.request(CancelRequest(job))

    def shutdown(self) -> None:
        self.request(ShutdownRequest())

    def run(
        self,
        task: str,
        image: Frame,
        *,
        inpaint_mask: Frame | None = None,
        slots: list[dict[str, Any]] | None = None,
        crop: tuple[int, int, int, int] | None = None,
        options: dict[str, Any] | None = None,
        heal: Heal | None = None,
        on_progress: ProgressFn | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> Result:
        """Restore ``image`` with ``task`` (``none``: texture only), then texture it: each slot is ``{"style": name,
        "strength": 0..2, "mask": (FrameSpec, bytes) or None, "scale": 0.5..2, "seed": 0..}`` (scale and seed
        optional); ``options`` as the protocol's (preserve_colours, cleanup); ``heal``: texture the inpainting's fill
        like its surroundings. Values go as given: the server checks them. Returns the result (its frame has the
        input's layout)."""
        options = options or {}
        cleanup = options.get("cleanup")
        request = RunRequest(
            task,
            image,
            tuple(
                Slot(s.get("style", ""), s.get("strength", 1.0), s.get("mask"), s.get("scale", 1.0), s.get("seed", 0))
                for s in slots or []
            ),
            inpaint_mask,
            crop,
            options.get("preserve_colours", False),
            None if cleanup == "auto" else cleanup,
            heal,
        )
        return self._result(self.request(request, on_progress=on_progress, cancel=cancel))

    def train_style(
        self,
        exemplar: Frame,
        name: str,
        *,
        scale: str = "fine",
        minutes: float | None = None,
        on_progress: ProgressFn | None = None,
        cancel: Callable[[], bool] | None = None,
        on_swatch: Callable[[Frame], None] | None = None,
        finish: Callable[[], bool] | None = None,
    ) -> Result:
        """Learn a new style from ``exemplar`` (e.g. the selected pixels); the result names the new style.
        ``on_swatch`` gets the texture as learned so far every few seconds; once one came, ``finish()`` returning
        True ends the learning and keeps the style as it is ("Good enough, stop")."""
        request = TrainStyleRequest(exemplar, name, scale, DEFAULT_MINUTES if minutes is None else minutes)
        job = Job(request, on_progress=on_progress, on_swatch=on_swatch)
        return self._result(Exchange(self).run_to_end(job, self.timeout_s, cancel, finish=finish))

    @staticmethod
    def _result(reply: Reply) -> Result:
        if not isinstance(reply, Result):
            raise BackendError(ErrorCode.BAD_MESSAGE, f"a job answered with {reply.type}, not a result")
        return reply
