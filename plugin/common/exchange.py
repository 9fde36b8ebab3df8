"""The one core between a client and its jobs: it sends each job's request and routes every typed reply to its job
(accepted, progress, result or error). A polling host (Krita's Session) calls ``read()`` from a timer; a blocking
one (GIMP's plug-in, scripts, the command line) calls ``run_to_end()``. Standard library only; the socket is the
client's (``client.Client``, which decodes what arrives with ``replies.parse_reply``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .messages import plain
from .protocol import VERSION, ErrorCode, Frame
from .replies import Accepted, ErrorReply, Info, Progress, Reply
from .requests import CancelRequest, FinishRequest, Request

ProgressFn = Callable[[float, str, "float | None"], None]  # fraction, stage, eta in seconds


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


class Channel(Protocol):
    """What the exchange needs of a client: send a request, read the replies that arrived."""

    endpoint: str

    def submit(self, request: Request) -> str: ...

    def poll(self, timeout_ms: int = 0) -> list[Reply]: ...


@dataclass(eq=False)
class Job:
    """A request and what became of it. ``on_done`` is the host's (a polling host calls it once ``poll`` returns the
    job); ``on_progress`` is called on every progress event, ``on_swatch`` on every swatch (learning)."""

    request: Request | None  # dropped once sent: the pixels need not stay in memory
    on_done: Callable[[Job], None] | None = None
    on_progress: ProgressFn | None = None
    on_swatch: Callable[[Frame], None] | None = None
    kind: str = ""  # the request's type
    request_id: str | None = None
    server_job: str | None = None
    fraction: float = 0.0
    eta: float | None = None
    stage: str = ""
    swatch: Frame | None = None  # a learning run's texture as learned so far (``Progress.swatch``)
    finishing: bool = False  # asked to end now and keep what it learned
    result: Reply | None = None  # the final reply: result, info or ok
    error: str | None = None  # in plain words (messages.plain)
    code: str = ""  # the error's protocol code, and the backend's own sentence
    detail: str = ""
    cancelled: bool = False
    heard: float = 0.0  # when a reply about it last came

    def __post_init__(self) -> None:
        self.kind = self.kind or (self.request.type if self.request else "")

    @property
    def done(self) -> bool:
        return self.result is not None or self.error is not None

    def fail(self, code: str, detail: str, words: str | None = None) -> None:
        self.code, self.detail, self.error = code, detail, plain(code, detail) if words is None else words

    def outcome(self) -> Reply:
        """The final reply; a BackendError with the backend's code and sentence if the job failed."""
        if self.result is None:
            raise BackendError(self.code or ErrorCode.INTERNAL, self.detail or self.error or "")
        return self.result


def check_info(info: Reply) -> Info:
    """The reply to ``hello`` from a backend that speaks this protocol; a BackendError otherwise."""
    if isinstance(info, ErrorReply):
        raise BackendError(info.code, info.text)
    if not isinstance(info, Info):
        raise BackendError(ErrorCode.BAD_MESSAGE, f"hello answered with {info.type}")
    if info.protocol != VERSION:
        raise BackendError(ErrorCode.BAD_VERSION, f"version {info.protocol}")
    return info


class Exchange:
    def __init__(self, client: Channel) -> None:
        self.client = client
        self.heard = time.monotonic()  # when a reply last came or a request was sent (a silence starts then)
        self._sent: dict[str, Job] = {}

    @property
    def outstanding(self) -> list[Job]:
        return list(self._sent.values())

    def send(self, job: Job) -> Job:
        assert job.request is not None
        job.request_id = self.client.submit(job.request)
        job.request, job.heard = None, time.monotonic()
        self.heard = job.heard
        self._sent[job.request_id] = job
        return job

    def cancel(self, job: Job) -> None:
        """Ask the backend to stop a sent job (its error reply ends it); one not yet accepted is stopped then."""
        job.cancelled = True
        if job.server_job:
            self.client.submit(CancelRequest(job.server_job))

    def finish(self, job: Job) -> None:
        """Ask the backend to end a learning job now and save its style as learned so far (its result ends it)."""
        if job.server_job and not job.finishing:
            job.finishing = True
            self.client.submit(FinishRequest(job.server_job))

    def forget(self, job: Job) -> None:
        if job.request_id:
            self._sent.pop(job.request_id, None)

    def read(self, timeout_ms: int = 0) -> list[Job]:
        """Route what has arrived (waiting up to ``timeout_ms`` for it); returns the jobs that ended."""
        finished = []
        for reply in self.client.poll(timeout_ms):
            self.heard = time.monotonic()
            job = self._sent.get(reply.id)
            if job is None:
                continue  # the "ok" to a cancel, or a reply to a job already given up
            job.heard = self.heard
            if isinstance(reply, Accepted):
                job.server_job = reply.job
                if job.cancelled:
                    self.client.submit(CancelRequest(reply.job))
            elif isinstance(reply, Progress):
                job.fraction, job.eta, job.stage = reply.fraction, reply.eta, reply.stage
                if job.on_progress is not None:
                    job.on_progress(reply.fraction, reply.stage, reply.eta)
                if reply.swatch is not None:
                    job.swatch = reply.swatch
                    if job.on_swatch is not None:
                        job.on_swatch(reply.swatch)
            else:
                if isinstance(reply, ErrorReply):
                    job.fail(reply.code, reply.text)
                else:
                    job.result = reply
                self.forget(job)
                finished.append(job)
        return finished

    def run_to_end(
        self,
        job: Job,
        silence_s: float,
        cancel: Callable[[], bool] | None = None,
        watch: Callable[[float], None] | None = None,
        finish: Callable[[], bool] | None = None,
    ) -> Reply:
        """Send ``job`` and wait for its final reply, returned (a BackendError if it failed). The timeout counts
        silence, not total time: a long job that keeps reporting progress never times out. ``cancel()`` returning
        True asks the backend to stop the job, ``finish()`` returning True to end a learning job keeping its style;
        ``watch(quiet_s)`` is called while waiting (it may raise)."""
        self.send(job)
        while not job.done:
            quiet = time.monotonic() - job.heard
            if quiet > silence_s:
                self.forget(job)
                raise BackendUnavailable(self.client.endpoint, f"no reply for {silence_s:g} s")
            self.read(int(min(silence_s - quiet, 0.1) * 1000) + 1)
            if cancel is not None and job.server_job and not job.cancelled and cancel():
                self.cancel(job)
            if finish is not None and job.swatch is not None and not job.cancelled and finish():
                self.finish(job)
            if watch is not None and not job.done:
                watch(time.monotonic() - job.heard)
        return job.outcome()
