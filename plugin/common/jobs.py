"""The flow's jobs through a polling session (``session.Session``): ``submit`` returns at once and the host's timer
calls ``poll`` then each ended job's ``on_done``, as Krita's pump does. pyzmq is imported by the session only, so a
host can load this module before it knows whether pyzmq is there."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from .host import Done
from .protocol import Frame

if TYPE_CHECKING:
    from .session import Job, Session


class SessionJobs:
    """``host.Jobs`` over a session; ``session`` returns it (and may raise ``UserError``, e.g. without pyzmq),
    ``wake`` asks the host's timer to poll often while the job runs."""

    def __init__(self, session: Callable[[], Session], wake: Callable[[], None] = lambda: None) -> None:
        self.session, self.wake = session, wake

    def catalogue(self) -> tuple[Collection[str], Collection[str] | None] | None:
        session = self.session()
        return ({s.name for s in session.styles}, session.info.get("tasks")) if session.state == "ready" else None

    def submit(self, kind: str, fields: dict[str, Any], frames: list[Frame], title: str, done: Done) -> Job:
        job = self.session().submit(kind, fields, frames, lambda job: done(job.result, job.error))
        self.wake()
        return job

    def cancel(self, job: Job) -> None:
        self.session().cancel(job)

    def finish(self, job: Job) -> None:
        self.session().finish(job)


def follow(session: Session) -> None:
    """Advance ``session`` and call ``on_done`` of each job that ended: one tick of a host's timer."""
    for job in session.poll():
        if job.on_done is not None:
            try:
                job.on_done(job)
            except Exception:  # a bug in one handler must not stop the timer for every other job
                traceback.print_exc()
