"""Time left in a job, from the throughput measured in this job: both editors show it the same way.

The backend's own estimate runs from the job's start, loading the networks and the data included, and came out
3-5 times too long. Here the clock starts at the first progress report, so only the work is measured, and the rate
is taken over the latter half of the progress seen so far, so it follows a job that speeds up after its first steps
or a machine whose load changes: (time since) / (progress since) x (progress left). Between reports the estimate
counts down, so the text neither freezes nor jumps back up on every tick.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

MIN_PROGRESS = 0.02  # of the job, measured, before any estimate is shown
MIN_SECONDS = 1.0


class Eta:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._reports: list[tuple[float, float]] = []  # (time, fraction), from the first report on
        self._last_fraction = -1.0
        self._estimate: tuple[float, float] | None = None  # (seconds left, when estimated)

    def left(self, fraction: float) -> float | None:
        """Seconds left for a job ``fraction`` done (0 to 1), or None while too little has been measured."""
        now = self.clock()
        if not self._reports or fraction < self._last_fraction:  # the first report, or the job started over
            self._reports, self._estimate = [(now, fraction)], None
        elif fraction != self._last_fraction:
            t0, f0 = self._reports[0]
            if fraction - f0 >= MIN_PROGRESS and now - t0 >= MIN_SECONDS:
                half = (f0 + fraction) / 2
                t, f = next(r for r in reversed(self._reports) if r[1] <= half)
                self._estimate = ((now - t) / (fraction - f) * (1.0 - fraction), now)
            self._reports.append((now, fraction))
        self._last_fraction = fraction
        if self._estimate is None:
            return None
        seconds, at = self._estimate
        return max(seconds - (now - at), 0.0)

    def text(self, fraction: float) -> str:
        """``about 40 s left``, ``about 3 min left``, or "" while unknown."""
        return left_text(self.left(fraction))

    def caption(self, title: str, stage: str, fraction: float) -> str:
        """A progress bar's line: ``Working on 'Retex: Denoise'… (restoring) · about 40 s left``."""
        return " · ".join(part for part in (f"{title} ({stage})" if stage else title, self.text(fraction)) if part)


def left_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 90:
        return f"about {max(math.ceil(seconds), 1)} s left"
    return f"about {round(seconds / 60)} min left"
