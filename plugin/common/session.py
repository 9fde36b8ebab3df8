"""One editor's link to its backend: start it when needed, wait for its READY line, check its protocol with
``hello``, queue requests until then, route replies to jobs, notice a crash, and start again on the next request.

Nothing here blocks or uses threads: the host calls ``poll()`` from a timer on its UI thread (Krita's rule for
anything that may touch the document) and acts on the jobs it returns.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zmq

from .client import BackendError, Client
from .config import BackendConfig, default_endpoint, needs_token, read_token, token_path
from .exchange import Exchange, Job, check_info
from .launcher import START_TIMEOUT_S, BackendProcess, LaunchError, log_dir
from .lifetime import owned_by
from .messages import plain
from .protocol import ErrorCode, Frame, ProtocolError
from .remote import REMOTE_TIMEOUT_S, BadConnection, Remote, no_answer, words
from .replies import Info, Result
from .requests import HelloRequest, Request, request_of

__all__ = ["SILENCE_TIMEOUT_S", "START_TIMEOUT_S", "Job", "Session", "Style", "token_for"]

SILENCE_TIMEOUT_S = 300.0  # a running job reports progress per tile; this long a silence means a hung backend
SETTINGS = "Retex's backend settings"  # where a user changes them (the docker's dialog)


@dataclass
class Style:
    """A style as the picker shows it; ``thumbnail`` is 96x96 RGB, 8 bits, rows top to bottom."""

    name: str
    scale: str
    builtin: bool
    thumbnail: bytes


def styles_of(info: Info) -> list[Style]:
    return [
        Style(s.name, s.scale, s.builtin, b"" if s.thumbnail is None else bytes(s.thumbnail[1])) for s in info.styles
    ]


def token_for(endpoint: str) -> str | None:
    """Loopback TCP (the Windows default) and abstract sockets need the token the backend keeps in the config
    folder; none yet is None (the backend makes it). One others could read raises ``UnsafeFolder``, saying so."""
    if not needs_token(endpoint):
        return None
    try:
        return read_token(token_path())
    except FileNotFoundError:
        return None


class Session:
    def __init__(self, config: BackendConfig, host: str) -> None:
        self.config = config
        self.host = host  # "krita" or "gimp": names the socket and the log
        self.state = "stopped"  # stopped, starting, connecting, ready, failed
        self.problem = ""  # the last failure, in plain words
        self.info: dict[str, Any] = {}  # the last hello's header
        self.styles: list[Style] = []
        self.generation = 0  # counts hellos, so a host knows when to refresh its style pickers
        self._proc: BackendProcess | None = None
        self._client: Client | None = None
        self._exchange: Exchange | None = None
        self._hello: Job | None = None
        self._remote: Remote | None = None  # the backend on another machine, when the settings say so
        self._queue: list[Job] = []
        self._finished: list[Job] = []
        self._since = 0.0  # when the start began

    # --- what the host calls --------------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Starting, or with work outstanding: the host should poll often."""
        sent = bool(self._exchange and self._exchange.outstanding)
        return self.state in ("starting", "connecting") or bool(self._queue or sent or self._finished)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.exit_code() is None else None

    def status(self) -> str:
        if self.state == "ready":
            i, at = self.info, f" to {self._remote.address}" if self._remote else ""
            return f"Backend: connected{at} · {i.get('device', '?')} · Retex {i.get('version', '?')}"
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
        self,
        request: Request | str,
        fields: dict[str, Any] | None = None,
        frames: list[Frame] | None = None,
        on_done: Callable[[Job], None] | None = None,
    ) -> Job:
        """Queue a typed request, or a type with its fields and frames (``protocol.run_request``), which is read
        here as the backend would read it: one it would refuse ends at once with its words."""
        job = Job(None, on_done, kind=request if isinstance(request, str) else request.type)
        try:
            job.request = request_of(request, fields or {}, frames or []) if isinstance(request, str) else request
        except ProtocolError as e:
            job.fail(e.code, e.message)
            self._finished.append(job)
            return job
        self._queue.append(job)
        self.connect()
        return job

    def cancel(self, job: Job) -> None:
        """Stop a job: a queued one at once, a running one by asking the backend (its error reply ends it)."""
        job.cancelled = True
        if job in self._queue:
            self._queue.remove(job)
            self._end(job, error=plain(ErrorCode.CANCELLED, ""))
        elif self._exchange is not None:
            self._exchange.cancel(job)

    def finish(self, job: Job) -> None:
        """End a learning job now, keeping its style as learned so far (its result ends it)."""
        if self._exchange is not None:
            self._exchange.finish(job)

    def poll(self) -> list[Job]:
        """Advance start-up and jobs; returns the jobs that ended since the last call (result or error set)."""
        try:
            self._advance()
        except BackendError as e:  # a reply this plug-in cannot read, or a remote backend refusing its keys
            self._fail(self._words(e))
        except zmq.ZMQError as e:  # e.g. an endpoint ZeroMQ cannot use
            self._fail(f"Retex cannot talk to its backend ({e}). Check the endpoint in {SETTINGS}.")
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
            self._remote = self.config.remote_backend()
        except BadConnection as e:
            self._fail(str(e))
            return
        if self._remote is not None:  # another machine's backend: nothing to start here
            self._open(self._remote.address, curve=self._remote.curve())
            return
        try:
            endpoint = self.config.endpoint or default_endpoint(self.host)
            config = owned_by(self.config, os.getpid())  # the editor is this process
            self._proc = BackendProcess(config, endpoint, log_dir() / f"{self.host}-backend.log")
            self._proc.start()
        except LaunchError as e:
            self._fail(str(e))
        except OSError as e:  # the socket's or the log's folder cannot be made
            self._fail(f"Retex could not prepare its backend: {e}.")

    def _advance(self) -> None:
        if self.state == "starting":
            self._await_ready()
        if self.state not in ("connecting", "ready") or self._exchange is None:
            return
        if self.state == "ready" and self._proc is not None and self._proc.exit_code() == 0 and not self._busy():
            self._shut()  # it exited unused (--idle-exit): the next run starts it again
            self.state = "stopped"
            return
        if self._proc is not None and self._proc.exit_code() is not None:
            self._fail(
                f"The Retex backend stopped unexpectedly ({self._proc.ending()}). Nothing was changed; it starts "
                "again on the next run."
            )
            return
        for job in self._exchange.read():
            if job is self._hello:
                self._on_hello(job)
                if self.state not in ("connecting", "ready"):
                    return
                continue
            self._finished.append(job)
            if job.kind == "train_style" and job.result is not None:  # a new style: ask for the list again
                self._hello = self._exchange.send(Job(HelloRequest()))
        if self.state == "connecting" and self._remote and time.monotonic() - self._since > REMOTE_TIMEOUT_S:
            self._fail(no_answer(self._remote.address, REMOTE_TIMEOUT_S))
            return
        if self.state == "ready":
            while self._queue:
                self._exchange.send(self._queue.pop(0))
        if self._exchange.outstanding and time.monotonic() - self._exchange.heard > SILENCE_TIMEOUT_S:
            self._fail(f"The backend has not answered for {SILENCE_TIMEOUT_S:.0f} s and was stopped. Try again.")

    def _busy(self) -> bool:
        sent = self._exchange.outstanding if self._exchange else []
        return bool(self._queue) or any(job is not self._hello for job in sent)

    def _await_ready(self) -> None:
        assert self._proc is not None
        try:
            endpoint = self._proc.started(self._since, SETTINGS)
            if endpoint is None:
                return
            token = token_for(endpoint)
        except LaunchError as e:
            self._fail(str(e))
            return
        except OSError as e:
            self._fail(f"Retex cannot use its token: {e}")
            return
        self._open(endpoint, token=token)

    def _open(self, endpoint: str, token: str | None = None, curve: tuple[bytes, bytes, bytes] | None = None) -> None:
        """Connect and say hello; the backend is ready once it answers."""
        self._client = Client(endpoint, token=token, curve=curve)
        self._exchange = Exchange(self._client)
        self._hello = self._exchange.send(Job(HelloRequest()))
        self.state = "connecting"

    def _words(self, e: BackendError) -> str:
        return words(e.code, e.message, self._remote.address) if self._remote else plain(e.code, e.message)

    def _on_hello(self, job: Job) -> None:
        try:
            info = check_info(job.outcome())
        except BackendError as e:
            self._fail(self._words(e))
            return
        self.info = info.header
        self.styles = styles_of(info)
        self.generation += 1
        self.state = "ready"

    def _end(self, job: Job, result: Result | None = None, error: str | None = None) -> None:
        job.result, job.error = result, error
        if self._exchange is not None:
            self._exchange.forget(job)
        self._finished.append(job)

    def _fail(self, message: str) -> None:
        """Every outstanding job ends with ``message``; the backend is stopped so the next request starts it."""
        sent = self._exchange.outstanding if self._exchange else []
        for job in [*self._queue, *sent]:
            if job is not self._hello:
                self._end(job, error=message)
        self._queue.clear()
        self._shut()
        self.state, self.problem = "failed", message

    def _shut(self) -> None:
        if self._client:
            self._client.close()
        if self._proc:
            self._proc.stop()
        self._client, self._exchange, self._proc, self._hello = None, None, None, None
        self.state = "stopped"
