"""The ZeroMQ server: one ROUTER socket, a job queue per device and a worker thread that runs the pipeline.

The socket loop never runs a network: it validates requests, answers hello/status/cancel at once and queues runs.
The worker sends its events (progress, result, error) through an inproc socket that the loop forwards, because a
ZeroMQ socket must only be used by the thread that owns it.
"""

from __future__ import annotations

import collections
import itertools
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import zmq

from plugin.common.protocol import REQUESTS, ErrorCode, FrameSpec, Message, ProtocolError, decode, encode, error_parts

from .. import __version__
from ..errors import RetexError
from ..imaging.io import read_image
from ..paths import WEIGHTS_DIR
from .frames import from_image
from .jobs import Cancelled, Job, run_job, train_style_job, validate_run, validate_train_style
from .registry import Registry
from .security import is_loopback_tcp, needs_curve

MAX_MESSAGE_BYTES = 4 * 1024**3  # hard cap enforced by ZeroMQ itself (zmq.MAXMSGSIZE)
MAX_PIXELS = 150_000_000  # per frame, refused with an error reply (f32 RGBA: 2.4 GB, under the cap)
Send = Callable[[bytes, list[bytes]], None]


@dataclass
class ServerConfig:
    endpoint: str
    device: str = "auto"
    token: str | None = None  # required on every request when set (loopback TCP)
    curve_secret: Path | None = None  # server's secret key file (zmq.auth) for non-loopback endpoints
    curve_clients: Path | None = None  # folder of authorized client public keys
    max_message_bytes: int = MAX_MESSAGE_BYTES
    max_pixels: int = MAX_PIXELS
    threads: int = 0
    weights_dir: Path = WEIGHTS_DIR
    idle_exit_s: float = 0.0  # > 0: exit after this long with no request and no job (an editor that went away)

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)


@dataclass
class _State:
    queue: collections.deque[Job] = field(default_factory=collections.deque)
    running: Job | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)  # re-entrant: stop() may run in a signal handler
    wake: threading.Condition = field(init=False)
    stopping: bool = False

    def __post_init__(self) -> None:
        self.wake = threading.Condition(self.lock)


class Server:
    def __init__(self, config: ServerConfig) -> None:
        if needs_curve(config.endpoint) and not (config.curve_secret and config.curve_clients):
            raise RetexError(
                f"{config.endpoint} is reachable from other machines: it needs CURVE keys "
                "(--curve-secret and --curve-clients)"
            )
        if config.endpoint.startswith("tcp://") and is_loopback_tcp(config.endpoint) and not config.token:
            raise RetexError("a TCP endpoint needs a token (--token-file)")
        if config.threads:
            torch.set_num_threads(config.threads)
        self.config = config
        self.registry = Registry(config.resolved_device(), config.weights_dir)
        self.ctx = zmq.Context()
        self.state = _State()
        self._events_addr = f"inproc://events-{uuid.uuid4().hex}"
        self._auth = None
        self._ids = itertools.count(1)

    # --- socket loop -------------------------------------------------------------------------------------------

    def _bind(self) -> zmq.Socket:
        sock = self.ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.MAXMSGSIZE, self.config.max_message_bytes)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTER_MANDATORY, 0)
        if self.config.curve_secret:
            from zmq.auth import load_certificate
            from zmq.auth.thread import ThreadAuthenticator

            self._auth = ThreadAuthenticator(self.ctx)
            self._auth.start()
            self._auth.configure_curve(domain="*", location=str(self.config.curve_clients))
            public, secret = load_certificate(str(self.config.curve_secret))
            sock.curve_secretkey, sock.curve_publickey, sock.curve_server = secret, public, True
        try:
            sock.bind(self.config.endpoint)
        except zmq.ZMQError as e:  # address in use, bad endpoint, no permission: leave no thread behind
            sock.close(linger=0)
            self._release()
            raise RetexError(f"cannot listen on {self.config.endpoint}: {e.strerror}") from None
        return sock

    def _release(self) -> None:
        if self._auth:
            self._auth.stop()
            self._auth = None
        self.ctx.term()

    def serve(self, ready=lambda endpoint: None) -> None:
        """Run until a shutdown request; ``ready`` is called once the socket accepts work."""
        self.registry.warm_up()
        router = self._bind()
        events = self.ctx.socket(zmq.PULL)
        events.bind(self._events_addr)
        worker = threading.Thread(target=self._work, name="retex-worker", daemon=True)
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
        last_activity = time.monotonic()
        try:
            while not self.state.stopping:
                for sock, _ in poller.poll(200):
                    if sock is events:
                        router.send_multipart(events.recv_multipart(copy=False), copy=False)
                    else:
                        parts = router.recv_multipart(copy=False)
                        self._handle(router, parts[0].bytes, [p.buffer for p in parts[1:]])
                    last_activity = time.monotonic()
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
                router.send_multipart(events.recv_multipart(copy=False), copy=False)
            router.close(linger=500)
            events.close(linger=0)
            self._release()
            if self.config.endpoint.startswith("ipc://"):
                Path(self.config.endpoint[len("ipc://") :]).unlink(missing_ok=True)

    def _handle(self, router: zmq.Socket, client: bytes, parts: list) -> None:
        def send(to: bytes, msg_parts: list[bytes]) -> None:
            router.send_multipart([to, *msg_parts], copy=False)

        msg_id = "?"
        try:
            msg = decode(parts, REQUESTS, self.config.max_pixels)
            msg_id = msg.id
            if self.config.token and msg.header.get("token") != self.config.token:
                raise ProtocolError(ErrorCode.UNAUTHORIZED, "wrong or missing token")
            handler = getattr(self, f"_on_{msg.type}")
            handler(send, client, msg)
        except ProtocolError as e:
            send(client, error_parts(msg_id, e.code, e.message))
        except Exception as e:  # a bug must not take the service down; the client gets told
            send(client, error_parts(msg_id, ErrorCode.INTERNAL, f"internal error: {type(e).__name__}: {e}"))

    def _info(self) -> dict:
        with self.state.lock:
            queued = len(self.state.queue)
            running = self.state.running.id if self.state.running else None
        return {
            "server": "retex",
            "version": __version__,
            "protocol": 1,
            "device": str(self.registry.device),
            "tasks": ["none", *self.registry.available_tasks()],
            "styles": [],
            "max_message_bytes": self.config.max_message_bytes,
            "max_pixels": self.config.max_pixels,
            "queued": queued,
            "running": running,
            "pid": os.getpid(),
        }

    def _on_hello(self, send: Send, client: bytes, msg: Message) -> None:
        """``info`` plus the styles, each with its thumbnail as an RGB u8 frame (the picker shows them)."""
        info, frames = self._info(), []
        for style in self.registry.styles():
            entry = {k: style.get(k) for k in ("name", "scale", "params", "builtin", "exemplar", "licence")}
            entry["thumbnail"] = None
            thumb = Path(style["thumbnail"])
            if thumb.is_file():
                rgb = read_image(thumb).rgb
                frames.append(
                    from_image(FrameSpec(rgb.shape[-1], rgb.shape[-2], "RGB", "u8", style["name"]), rgb, None)
                )
                entry["thumbnail"] = len(frames) - 1
            info["styles"].append(entry)
        send(client, encode("info", msg.id, info, frames))

    def _on_status(self, send: Send, client: bytes, msg: Message) -> None:
        send(client, encode("info", msg.id, self._info()))

    def _on_run(self, send: Send, client: bytes, msg: Message) -> None:
        validate_run(msg, self.registry)
        self._enqueue(send, client, msg)

    def _on_train_style(self, send: Send, client: bytes, msg: Message) -> None:
        validate_train_style(msg, self.registry)
        self._enqueue(send, client, msg)

    def _enqueue(self, send: Send, client: bytes, msg: Message) -> None:
        job = Job(id=f"j{next(self._ids)}", client=client, request_id=msg.id, message=msg)
        with self.state.lock:
            self.state.queue.append(job)
            position = len(self.state.queue) - 1 + (self.state.running is not None)
            self.state.wake.notify()
        send(client, encode("accepted", msg.id, {"job": job.id, "position": position}))

    def _on_cancel(self, send: Send, client: bytes, msg: Message) -> None:
        job_id = msg.header.get("job")
        with self.state.lock:
            queued = next((j for j in self.state.queue if j.id == job_id), None)
            if queued is not None:
                self.state.queue.remove(queued)
            running = self.state.running if self.state.running and self.state.running.id == job_id else None
            if running is not None:
                running.cancel.set()
        if queued is None and running is None:
            raise ProtocolError(ErrorCode.UNKNOWN_JOB, f"no queued or running job {job_id!r}")
        if queued is not None:
            send(queued.client, error_parts(queued.request_id, ErrorCode.CANCELLED, "cancelled"))
        send(client, encode("ok", msg.id, {"job": job_id}))

    def _on_shutdown(self, send: Send, client: bytes, msg: Message) -> None:
        self.stop()
        send(client, encode("ok", msg.id))

    def stop(self) -> None:
        """Stop accepting work, cancel the running job at its next tile, end queued ones (thread- and
        signal-safe: it only sets flags)."""
        with self.state.lock:
            self.state.stopping = True
            if self.state.running:
                self.state.running.cancel.set()
            self.state.wake.notify_all()

    # --- worker -----------------------------------------------------------------------------------------------

    def _work(self) -> None:
        push = self.ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 1000)
        push.connect(self._events_addr)
        try:
            while True:
                with self.state.lock:
                    while not self.state.queue and not self.state.stopping:
                        self.state.wake.wait()
                    if self.state.stopping:
                        for job in self.state.queue:
                            push.send_multipart(
                                [
                                    job.client,
                                    *error_parts(job.request_id, ErrorCode.CANCELLED, "the server is shutting down"),
                                ]
                            )
                        self.state.queue.clear()
                        return
                    job = self.state.running = self.state.queue.popleft()
                final = self._run(job, push)
                with self.state.lock:  # not running any more before the client hears the outcome
                    self.state.running = None
                push.send_multipart([job.client, *final], copy=False)
        finally:
            push.close()

    def _run(self, job: Job, push: zmq.Socket) -> list[bytes]:
        """Run one job, streaming progress; returns its final message (result or error)."""

        def progress(fraction: float, stage: str, eta: float | None) -> None:
            fields = {
                "job": job.id,
                "fraction": round(fraction, 4),
                "stage": stage,
                "eta": None if eta is None else round(eta, 2),
            }
            push.send_multipart([job.client, *encode("progress", job.request_id, fields)])

        try:
            execute = train_style_job if job.message.type == "train_style" else run_job
            fields, frames = execute(job, self.registry, progress)
            return encode("result", job.request_id, fields, frames)
        except Cancelled:
            return error_parts(job.request_id, ErrorCode.CANCELLED, "cancelled")
        except ProtocolError as e:
            return error_parts(job.request_id, e.code, e.message)
        except (torch.OutOfMemoryError, MemoryError):
            return error_parts(job.request_id, ErrorCode.OUT_OF_MEMORY, "out of memory: try a smaller image or region")
        except Exception as e:
            print(f"job {job.id} failed: {type(e).__name__}: {e}", file=sys.stderr)
            return error_parts(job.request_id, ErrorCode.INTERNAL, f"internal error: {type(e).__name__}: {e}")
