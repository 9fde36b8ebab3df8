"""One editor's link to its backend: start it when needed, wait for its READY line, check its protocol with
``hello``, queue requests until then, route replies to jobs, notice a crash, and start again on the next request.

Nothing here blocks or uses threads: the host calls ``poll()`` from a timer on its UI thread (Krita's rule for
anything that may touch the document) and acts on the jobs it returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zmq

from .client import BackendError, Client
from .config import BackendConfig, config_dir, default_endpoint, needs_token, read_token
from .launcher import BackendProcess, LaunchError, log_dir
from .messages import plain
from .protocol import VERSION, ErrorCode, Frame, Message

START_TIMEOUT_S = 180.0  # a cold start imports torch and loads every network
SILENCE_TIMEOUT_S = 300.0  # a running job reports progress per tile; this long a silence means a hung backend


@dataclass
class Style:
    """A style as the picker shows it; ``thumbnail`` is 96x96 RGB, 8 bits, rows top to bottom."""

    name: str
    scale: str
    builtin: bool
    thumbnail: bytes


@dataclass
class Job:
    """A request and what became of it; ``on_done`` is the host's, called by the host once ``poll`` returns it."""

    kind: str  # "run" or "train_style"
    fields: dict[str, Any]
    frames: list[Frame]
    on_done: Callable[[Job], None] | None = None
    request_id: str | None = None
    server_job: str | None = None
    fraction: float = 0.0
    eta: float | None = None
    stage: str = ""
    result: Message | None = None
    error: str | None = None
    cancelled: bool = False

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None


def _token_for(endpoint: str) -> str | None:
    """Loopback TCP (the Windows default) and abstract sockets need the token the backend keeps in the config
    folder; none yet is None (the backend makes it). One others could read raises ``UnsafeFolder``, saying so."""
    if not needs_token(endpoint):
        return None
    try:
        return read_token(config_dir() / "token")
    except FileNotFoundError:
        return None


class Session:
    def __init__(self, config: BackendConfig, host: str) -> None:
        self.config = config
        self.host = host  # "krita" or "gimp": names the socket and the log
        self.state = "stopped"  # stopped, starting, connecting, ready, failed
        self.problem = ""  # the last failure, in plain words
        self.info: dict[str, Any] = {}  # the last hello
        self.styles: list[Style] = []
        self.generation = 0  # counts hellos, so a host knows when to refresh its style pickers
        self._proc: BackendProcess | None = None
        self._client: Client | None = None
        self._hello_id: str | None = None
        self._queue: list[Job] = []
        self._sent: dict[str, Job] = {}
        self._finished: list[Job] = []
        self._since = 0.0  # when the start began, or the backend was last heard

    # --- what the host calls --------------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Starting, or with work outstanding: the host should poll often."""
        return self.state in ("starting", "connecting") or bool(self._queue or self._sent or self._finished)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.exit_code() is None else None

    def status(self) -> str:
        if self.state == "ready":
            i = self.info
            return f"Backend: connected · {i.get('device', '?')} · Retex {i.get('version', '?')}"
        return {
            "stopped": "Backend: not running (starts when needed)",
            "starting": "Backend: starting…",
            "connecting": "Backend: connecting…",
        }.get(self.state, f"Backend: stopped. {self.problem}")

    def connect(self) -> None:
        """Start the backend unless it runs (e.g. so the docker can list the styles)."""
        if self.state == "ready" and self._proc and self._proc.exit_code() is not None:
            self._shut()  # it died while idle: start afresh rather than fail the next request
        if self.state in ("stopped", "failed"):
            self._start()

    def submit(
        self, kind: str, fields: dict[str, Any], frames: list[Frame], on_done: Callable[[Job], None] | None = None
    ) -> Job:
        job = Job(kind, fields, frames, on_done)
        self._queue.append(job)
        self.connect()
        return job

    def cancel(self, job: Job) -> None:
        """Stop a job: a queued one at once, a running one by asking the backend (its error reply ends it)."""
        job.cancelled = True
        if job in self._queue:
            self._queue.remove(job)
            self._end(job, error=plain(ErrorCode.CANCELLED, ""))
        elif job.server_job and self._client:
            self._client.submit("cancel", {"job": job.server_job})

    def poll(self) -> list[Job]:
        """Advance start-up and jobs; returns the jobs that ended since the last call (result or error set)."""
        try:
            self._advance()
        except BackendError as e:  # a reply this plug-in cannot read, e.g. from another protocol version
            self._fail(plain(e.code, e.message))
        except zmq.ZMQError as e:  # e.g. an endpoint ZeroMQ cannot use
            self._fail(f"Retex cannot talk to its backend ({e}). Check the endpoint in Retex's backend settings.")
        finished, self._finished = self._finished, []
        return finished

    def restart(self, config: BackendConfig) -> None:
        self._fail("The backend was restarted with new settings.")
        self.config, self.state, self.problem = config, "stopped", ""
        self.connect()

    def close(self) -> None:
        self._shut()

    # --- the machinery ----------------------------------------------------------------------------------------------

    def _start(self) -> None:
        self.state, self.problem, self._since = "starting", "", time.monotonic()
        try:
            endpoint = self.config.endpoint or default_endpoint(self.host)
            self._proc = BackendProcess(self.config, endpoint, log_dir() / f"{self.host}-backend.log")
            self._proc.start()
        except LaunchError as e:
            self._fail(str(e))
        except OSError as e:  # the socket's or the log's folder cannot be made
            self._fail(f"Retex could not prepare its backend: {e}.")

    def _advance(self) -> None:
        if self.state == "starting":
            self._await_ready()
        if self.state not in ("connecting", "ready") or self._client is None or self._proc is None:
            return
        if self._proc.exit_code() is not None:
            self._fail(
                f"The Retex backend stopped unexpectedly ({self._proc.ending()}). Nothing was changed; it starts "
                "again on the next run."
            )
            return
        for msg in self._client.poll():
            self._since = time.monotonic()
            self._handle(msg)
            if self.state not in ("connecting", "ready"):
                return
        if self.state == "ready":
            self._send_queued()
        if self._sent and time.monotonic() - self._since > SILENCE_TIMEOUT_S:
            self._fail(f"The backend has not answered for {SILENCE_TIMEOUT_S:.0f} s and was stopped. Try again.")

    def _await_ready(self) -> None:
        assert self._proc is not None
        endpoint = self._proc.ready()
        if endpoint:
            try:
                token = _token_for(endpoint)
            except OSError as e:
                self._fail(f"Retex cannot use its token: {e}")
                return
            self._client = Client(endpoint, token=token)
            self._hello_id = self._client.submit("hello")
            self.state, self._since = "connecting", time.monotonic()
        elif self._proc.exit_code() is not None:
            self._fail(f"The Retex backend could not start ({self._proc.ending()}). Check Retex's backend settings.")
        elif time.monotonic() - self._since > START_TIMEOUT_S:
            self._fail(f"The Retex backend did not start within {START_TIMEOUT_S:.0f} s. See {self._proc.log_path}.")

    def _handle(self, msg: Message) -> None:
        if msg.id == self._hello_id:
            self._on_hello(msg)
            return
        job = self._sent.get(msg.id)
        if job is None:
            return  # the "ok" to a cancel, or a reply to a job already given up
        if msg.type == "accepted":
            job.server_job = msg.header.get("job")
            if job.cancelled and self._client:
                self._client.submit("cancel", {"job": job.server_job})
        elif msg.type == "progress":
            job.fraction, job.eta = float(msg.header.get("fraction", 0.0)), msg.header.get("eta")
            job.stage = str(msg.header.get("stage", ""))
        elif msg.type == "result":
            self._end(job, result=msg)
            if job.kind == "train_style" and self._client:  # a new style: ask for the list again
                self._hello_id = self._client.submit("hello")
        elif msg.type == "error":
            self._end(job, error=plain(msg.header.get("code", ErrorCode.INTERNAL), msg.header.get("message", "")))

    def _on_hello(self, msg: Message) -> None:
        if msg.type == "error":
            self._fail(plain(msg.header.get("code", ErrorCode.INTERNAL), msg.header.get("message", "")))
            return
        if msg.header.get("protocol") != VERSION:
            self._fail(plain(ErrorCode.BAD_VERSION, ""))
            return
        self.info = msg.header
        self.styles = [
            Style(s["name"], s.get("scale", "fine"), bool(s.get("builtin")), _thumbnail(msg, s.get("thumbnail")))
            for s in msg.header.get("styles", [])
        ]
        self.generation += 1
        self.state = "ready"

    def _send_queued(self) -> None:
        assert self._client is not None
        while self._queue:
            job = self._queue.pop(0)
            job.request_id = self._client.submit(job.kind, job.fields, job.frames)
            job.frames = []  # sent: the pixels need not stay in memory
            self._sent[job.request_id] = job

    def _end(self, job: Job, result: Message | None = None, error: str | None = None) -> None:
        job.result, job.error = result, error
        if job.request_id:
            self._sent.pop(job.request_id, None)
        self._finished.append(job)

    def _fail(self, message: str) -> None:
        """Every outstanding job ends with ``message``; the backend is stopped so the next request starts it."""
        for job in [*self._queue, *self._sent.values()]:
            self._end(job, error=message)
        self._queue.clear()
        self._shut()
        self.state, self.problem = "failed", message

    def _shut(self) -> None:
        if self._client:
            self._client.close()
        if self._proc:
            self._proc.stop()
        self._client, self._proc, self._hello_id = None, None, None
        self.state = "stopped"


def _thumbnail(msg: Message, index: Any) -> bytes:
    if isinstance(index, int) and 0 <= index < len(msg.frames):
        return bytes(msg.frames[index])
    return b""
