"""The worker thread: runs the queued jobs one at a time, never on the socket loop. ZeroMQ sockets belong to one
thread, so its events (progress, result, error) go through an inproc PUSH socket that the loop forwards."""

from __future__ import annotations

import collections
import functools
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import zmq

from plugin.common.protocol import ErrorCode, Frame, ProtocolError
from plugin.common.replies import ErrorReply, Progress, Reply
from plugin.common.requests import TrainStyleRequest

from ..runtime.memory import out_of_memory
from .jobs import Cancelled, Job, run_job, train_style_job
from .registry import Registry

PROGRESS_STEP = 0.01  # a progress event at most every 1 % of the job ...
PROGRESS_QUIET_S = 1.0  # ... unless this long passed: a client's silence timer never runs out on a slow tile


@dataclass
class JobQueue:
    """The jobs waiting and the one running, shared by the socket loop and the worker under ``lock``."""

    queue: collections.deque[Job] = field(default_factory=collections.deque)
    running: Job | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)  # re-entrant: stop() may run in a signal handler
    wake: threading.Condition = field(init=False)
    stopping: bool = False

    def __post_init__(self) -> None:
        self.wake = threading.Condition(self.lock)


def work(ctx: zmq.Context, events_addr: str, state: JobQueue, registry: Registry) -> None:
    """The worker thread: run queued jobs one at a time until the server stops, sending their events (progress,
    then result or error) through an inproc socket that the socket loop forwards."""
    push = ctx.socket(zmq.PUSH)
    push.setsockopt(zmq.LINGER, 1000)
    push.connect(events_addr)
    try:
        while True:
            with state.lock:
                while not state.queue and not state.stopping:
                    state.wake.wait()
                if state.stopping:
                    for job in state.queue:
                        ending = ErrorReply(ErrorCode.CANCELLED, "the server is shutting down", id=job.request_id)
                        push.send_multipart([job.client, *ending.to_frames()])
                    state.queue.clear()
                    return
                job = state.running = state.queue.popleft()
            final = _run(job, push, registry, functools.partial(_run_waiting, state, push, registry, job))
            with state.lock:  # not running any more before the client hears the outcome
                state.running = None
            push.send_multipart([job.client, *final.to_frames()], copy=False)
    finally:
        push.close()


def _run_waiting(state: JobQueue, push: zmq.Socket, registry: Registry, learning: Job) -> float:
    """Between two steps of learning a texture: run the restorations queued meanwhile (an editor's Preview or
    Apply), so a learning run of minutes does not hold them up; other learning runs wait their turn. Returns the
    seconds spent, which do not count against the learning's time."""
    started = time.monotonic()
    while True:
        with state.lock:
            job = next((j for j in state.queue if not isinstance(j.request, TrainStyleRequest)), None)
            if job is None or state.stopping:
                break
            state.queue.remove(job)
            state.running = job
        final = _run(job, push, registry)
        with state.lock:
            state.running = learning
        push.send_multipart([job.client, *final.to_frames()], copy=False)
    return time.monotonic() - started


def _run(job: Job, push: zmq.Socket, registry: Registry, between: Callable[[], float] | None = None) -> Reply:
    """Run one job, streaming progress; returns its final reply (result or error). ``between`` runs between a
    learning job's steps."""

    last = [-1.0, 0.0]  # fraction and time of the last event sent

    def progress(fraction: float, stage: str, eta: float | None, swatch: Frame | None = None) -> None:
        now = time.monotonic()
        quiet = fraction - last[0] < PROGRESS_STEP and now - last[1] < PROGRESS_QUIET_S
        if fraction < 1.0 and quiet and swatch is None:  # a swatch comes every few seconds at most: always sent
            return  # coalesced: an sr4 job on a 4096² image has ~6,000 tiles and branches
        last[:] = [fraction, now]
        rounded = None if eta is None else round(eta, 2)
        event = Progress(job.id, round(fraction, 4), stage, rounded, swatch, id=job.request_id)
        push.send_multipart([job.client, *event.to_frames()])

    def fail(code: str, message: str) -> Reply:
        return ErrorReply(code, message, id=job.request_id)

    try:
        if isinstance(job.request, TrainStyleRequest):
            return train_style_job(job, job.request, registry, progress, between)
        return run_job(job, job.request, registry, progress)
    except Cancelled:
        return fail(ErrorCode.CANCELLED, "cancelled")
    except ProtocolError as e:
        return fail(e.code, e.message)
    except Exception as e:
        if out_of_memory(e):  # even the CPU, with the smallest tiles (the pipeline tried those first)
            return fail(ErrorCode.OUT_OF_MEMORY, "out of memory: try a smaller image or region")
        print(f"job {job.id} failed: {type(e).__name__}: {e}", file=sys.stderr)
        return fail(ErrorCode.INTERNAL, f"internal error: {type(e).__name__}: {e}")
