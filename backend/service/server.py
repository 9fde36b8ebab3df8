"""The ZeroMQ server: one ROUTER socket, a job queue per device and a worker thread that runs the pipeline.

The socket loop never runs a network: it validates requests, answers hello/status/cancel at once and queues runs.
The worker sends its events (progress, result, error) through an inproc socket that the loop forwards, because a
ZeroMQ socket must only be used by the thread that owns it.
"""

from __future__ import annotations

import errno
import os
import secrets
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from plugin.common.protocol import MAX_FRAMES, MAX_SLOTS, VERSION, ErrorCode, FrameSpec, ProtocolError
from plugin.common.replies import Accepted, ErrorReply, Info, Ok, Reply, Style
from plugin.common.requests import (
    CancelRequest,
    FinishRequest,
    HelloRequest,
    RunRequest,
    ShutdownRequest,
    StatusRequest,
    TrainStyleRequest,
    parse_request,
)

from .. import __version__
from ..errors import RetexError
from ..paths import WEIGHTS_DIR
from ..runtime.threads import set_threads
from ..styles import read_thumbnail
from .editor import CHECK_EVERY_S, running
from .jobs import Job, validate_run, validate_train_style
from .listener import Listener
from .registry import Registry
from .security import needs_curve, needs_token
from .worker import JobQueue, work

MAX_MESSAGE_BYTES = 4 * 1024**3  # per part, enforced by ZeroMQ itself (zmq.MAXMSGSIZE); and per whole message
MAX_PIXELS = 150_000_000  # per frame, refused with an error reply (f32 RGBA: 2.4 GB, under the cap)
Send = Callable[[bytes, Reply], None]
NOTHING_LEARNED = "finished while it waited for its turn: nothing was learned or saved"


@dataclass
class ServerConfig:
    endpoint: str
    device: str = "auto"
    token: str | None = None  # required in every connection's PLAIN handshake when set (loopback TCP, abstract ipc)
    curve_secret: Path | None = None  # server's secret key file (zmq.auth) for non-loopback endpoints
    curve_clients: Path | None = None  # folder of authorized client public keys
    max_message_bytes: int = MAX_MESSAGE_BYTES
    max_pixels: int = MAX_PIXELS
    threads: int = 0
    weights_dir: Path = WEIGHTS_DIR
    runtime: str = "auto"  # auto, onnx or torch (backend.runtime)
    idle_exit_s: float = 0.0  # > 0: exit after this long with no request and no job (an editor that went away)
    exit_with: int = 0  # > 0: exit once this process (the editor that started the backend) is gone


class Server:
    def __init__(self, config: ServerConfig) -> None:
        if needs_curve(config.endpoint) and not (config.curve_secret and config.curve_clients):
            raise RetexError(
                f"{config.endpoint} is reachable from other machines: it needs CURVE keys "
                "(--curve-secret and --curve-clients)"
            )
        if needs_token(config.endpoint) and not config.token:
            raise RetexError(f"{config.endpoint} can be reached by other local users: it needs a token (--token-file)")
        if config.threads:
            set_threads(config.threads)
        self.config = config
        self.registry = Registry(config.device, config.weights_dir, config.runtime)
        self.ctx = zmq.Context()
        self.state = JobQueue()
        self._events_addr = f"inproc://events-{uuid.uuid4().hex}"
        self.listener = Listener(
            self.ctx, config.endpoint, config.max_message_bytes, config.token, config.curve_secret, config.curve_clients
        )

    # --- socket loop -------------------------------------------------------------------------------------------

    def serve(self, ready=lambda endpoint: None) -> None:
        """Run until a shutdown request; ``ready`` is called once the socket accepts work."""
        router = (
            self.listener.bind()
        )  # first: a second server on a live endpoint refuses at once, before loading anything
        self.registry.warm_up()
        events = self.ctx.socket(zmq.PULL)
        events.bind(self._events_addr)
        worker = threading.Thread(
            target=work, args=(self.ctx, self._events_addr, self.state, self.registry), name="retex-worker", daemon=True
        )
        worker.start()
        poller = zmq.Poller()
        poller.register(router, zmq.POLLIN)
        poller.register(events, zmq.POLLIN)
        if threading.current_thread() is threading.main_thread():  # SIGTERM: shut down cleanly, like shutdown
            signal.signal(signal.SIGTERM, lambda signum, frame: self.stop())
        endpoint = self.config.endpoint
        if endpoint.startswith("tcp://"):  # a wildcard port (tcp://HOST:0 or :*) is resolved: READY names the real one
            endpoint = router.getsockopt_string(zmq.LAST_ENDPOINT)
        ready(endpoint)
        last_activity = checked = time.monotonic()
        try:
            while not self.state.stopping:
                for sock, _ in poller.poll(200):
                    if sock is events:
                        self._forward(router, events.recv_multipart(copy=False))
                    else:
                        received = self._receive(router)
                        if received is not None:
                            self._handle(router, *received)
                    last_activity = time.monotonic()
                if self.config.exit_with and time.monotonic() - checked > CHECK_EVERY_S:
                    checked = time.monotonic()
                    if not running(self.config.exit_with):
                        print(f"the editor (process {self.config.exit_with}) is gone: exiting", file=sys.stderr)
                        break
                if self.config.idle_exit_s > 0 and time.monotonic() - last_activity > self.config.idle_exit_s:
                    with self.state.lock:
                        busy = self.state.running is not None or bool(self.state.queue)
                    if busy:
                        last_activity = time.monotonic()
                    else:
                        print(f"idle for {self.config.idle_exit_s:g} s: exiting", file=sys.stderr, flush=True)
                        break
        finally:
            self.stop()
            worker.join(timeout=10)  # a running job stops at its next tile
            while events.poll(0):  # deliver what the worker said before stopping
                self._forward(router, events.recv_multipart(copy=False))
            router.close(linger=500)
            events.close(linger=0)
            self.listener.close()

    def _receive(self, router: zmq.Socket) -> tuple[bytes, list] | None:
        """One request as (client, parts), read part by part so a message over the whole-message cap or with more
        parts than any request has is dropped as it is read and answered ``too_large``, never kept."""
        client = router.recv()
        parts: list = []
        total, refused = 0, False
        while router.getsockopt(zmq.RCVMORE):
            part = router.recv(copy=False).buffer
            total += part.nbytes
            refused = refused or len(parts) > MAX_FRAMES or total > self.config.max_message_bytes
            if not refused:
                parts.append(part)
        if refused:
            limit = f"{MAX_FRAMES + 1} parts and {self.config.max_message_bytes} bytes"
            self._send(router, client, ErrorReply(ErrorCode.TOO_LARGE, f"message larger than {limit}", id="?"))
            return None
        return client, parts

    def _send(self, router: zmq.Socket, client: bytes, reply: Reply) -> bool:
        """Send to one client; False when it has gone away (then nothing is queued for it)."""
        return self._send_parts(router, [client, *reply.to_frames()])

    def _send_parts(self, router: zmq.Socket, parts: list[Any]) -> bool:
        try:
            router.send_multipart(parts, copy=False)
        except zmq.ZMQError as e:
            if e.errno != errno.EHOSTUNREACH:
                raise
            return False
        return True

    def _forward(self, router: zmq.Socket, parts: list) -> None:
        """Pass on a worker event; if its client has gone away, its jobs stop (nobody will read their results)."""
        if not self._send_parts(router, parts):
            self._drop_client(parts[0].bytes)

    def _drop_client(self, client: bytes) -> None:
        with self.state.lock:
            orphans = [j for j in self.state.queue if j.client == client]
            for job in orphans:
                self.state.queue.remove(job)
            running = self.state.running
            if running is not None and running.client == client and not running.cancel.is_set():
                running.cancel.set()
                orphans.append(running)
        if orphans:
            print(f"a client went away: stopped {len(orphans)} of its jobs", file=sys.stderr, flush=True)

    def _handle(self, router: zmq.Socket, client: bytes, parts: list) -> None:
        def send(to: bytes, reply: Reply) -> None:
            self._send(router, to, reply)

        msg_id = "?"
        try:
            request = parse_request(parts, self.config.max_pixels)  # the one place a request is read
            msg_id = request.id
            handler = getattr(self, f"_on_{request.type}")
            handler(send, client, request)
        except ProtocolError as e:
            send(client, ErrorReply(e.code, e.message, id=e.id if msg_id == "?" else msg_id))
        except Exception as e:  # a bug must not take the service down; the client gets told
            send(client, ErrorReply(ErrorCode.INTERNAL, f"internal error: {type(e).__name__}: {e}", id=msg_id))

    def _info(self, msg_id: str, styles: tuple[Style, ...] = ()) -> Info:
        with self.state.lock:
            queued = len(self.state.queue)
            running = self.state.running.id if self.state.running else None
        runtime, device = self.registry.placement()
        return Info(
            VERSION,
            __version__,
            device,
            runtime,
            ("none", *self.registry.available_tasks()),
            styles,
            self.config.max_message_bytes,
            self.config.max_pixels,
            MAX_SLOTS,
            queued,
            running,
            os.getpid(),
            id=msg_id,
        )

    def _on_hello(self, send: Send, client: bytes, request: HelloRequest) -> None:
        """``info`` plus the styles, each with its thumbnail as a 96x96 RGB u8 frame (the picker shows them). Both
        the list and the thumbnails are cached per file version, and a broken file is skipped with one logged
        reason: one user's bad file must not make every editor's hello fail."""
        styles = []
        for style in self.registry.styles():
            pixels = read_thumbnail(Path(style["thumbnail"]))
            thumbnail = None if pixels is None else (FrameSpec(*pixels[:2], "RGB", "u8", style["name"]), pixels[2])
            params, builtin, exemplar, licence = (style.get(k) for k in ("params", "builtin", "exemplar", "licence"))
            styles.append(Style(style["name"], style["scale"], params, bool(builtin), exemplar, licence, thumbnail))
        send(client, self._info(request.id, tuple(styles)))

    def _on_status(self, send: Send, client: bytes, request: StatusRequest) -> None:
        send(client, self._info(request.id))

    def _on_run(self, send: Send, client: bytes, request: RunRequest) -> None:
        validate_run(request, self.registry)
        self._enqueue(send, client, request)

    def _on_train_style(self, send: Send, client: bytes, request: TrainStyleRequest) -> None:
        validate_train_style(request, self.registry)
        self._enqueue(send, client, request)

    def _enqueue(self, send: Send, client: bytes, request: RunRequest | TrainStyleRequest) -> None:
        job = Job(id=f"j{secrets.token_hex(8)}", client=client, request=request)  # not guessable
        with self.state.lock:
            self.state.queue.append(job)
            position = len(self.state.queue) - 1 + (self.state.running is not None)
            self.state.wake.notify()
        send(client, Accepted(job.id, position, id=request.id))

    def _on_cancel(self, send: Send, client: bytes, request: CancelRequest) -> None:
        """Cancel one of this client's jobs; another client's job is answered exactly like one that does not exist."""
        job_id = request.job
        with self.state.lock:
            queued = next((j for j in self.state.queue if j.id == job_id and j.client == client), None)
            if queued is not None:
                self.state.queue.remove(queued)
            running = self.state.running
            if running is None or running.id != job_id or running.client != client:
                running = None
            if running is not None:
                running.cancel.set()
        if queued is None and running is None:
            raise ProtocolError(ErrorCode.UNKNOWN_JOB, f"no queued or running job {job_id!r}")
        if queued is not None:
            send(queued.client, ErrorReply(ErrorCode.CANCELLED, "cancelled", id=queued.request_id))
        send(client, Ok(job_id, id=request.id))

    def _on_finish(self, send: Send, client: bytes, request: FinishRequest) -> None:
        """End one of this client's learning runs now, keeping its style as learned so far: the flag is read
        between two steps. One still queued has learned nothing: it ends at once, saving nothing. Another client's
        job, or one that learns nothing, is answered exactly like one that does not exist."""
        with self.state.lock:
            queued = next((j for j in self.state.queue if j.id == request.job and j.client == client), None)
            running = self.state.running
            if running is None or running.id != request.job or running.client != client:
                running = None
            job = queued or running
            if job is None or not isinstance(job.request, TrainStyleRequest):
                raise ProtocolError(ErrorCode.UNKNOWN_JOB, f"no learning job {request.job!r}")
            if queued is not None:
                self.state.queue.remove(queued)
            job.finish.set()
        if queued is not None:
            send(client, ErrorReply(ErrorCode.TOO_EARLY, NOTHING_LEARNED, id=queued.request_id))
        send(client, Ok(request.job, id=request.id))

    def _on_shutdown(self, send: Send, client: bytes, request: ShutdownRequest) -> None:
        self.stop()
        send(client, Ok(id=request.id))

    def stop(self) -> None:
        """Stop accepting work, cancel the running job at its next tile, end queued ones (thread- and
        signal-safe: it only sets flags)."""
        with self.state.lock:
            self.state.stopping = True
            if self.state.running:
                self.state.running.cancel.set()
            self.state.wake.notify_all()
