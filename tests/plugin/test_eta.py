"""The time left both editors show (plugin/common/eta.py), on a clock the test moves."""

from __future__ import annotations

import pytest

from plugin.common.eta import Eta, left_text


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_measures_from_the_first_report_so_a_slow_start_does_not_count() -> None:
    clock = Clock()
    eta = Eta(clock)
    clock.now += 30  # start-up before the first report: not part of the estimate
    assert eta.left(0.01) is None
    clock.now += 0.5
    assert eta.left(0.03) is None  # under a second measured
    for step in range(1, 10):  # then 10 % every 2 s: 20 s for the job
        clock.now = 130.0 + 2 * step
        left = eta.left(0.01 + 0.1 * step)
    assert left == pytest.approx(2 * (1 - 0.91) / 0.1)


def test_follows_a_job_that_speeds_up() -> None:
    clock = Clock()
    eta = Eta(clock)
    eta.left(0.0)
    for fraction in (0.1, 0.2):  # 10 % every 4 s, then every second
        clock.now += 4
        eta.left(fraction)
    for fraction in (0.3, 0.4, 0.5, 0.6):
        clock.now += 1
        left = eta.left(fraction)
    assert left == pytest.approx(4 * 1.0)  # the latter half of the progress seen: 10 % a second, 40 % left


def test_counts_down_between_reports_and_starts_over_with_the_job() -> None:
    clock = Clock()
    eta = Eta(clock)
    eta.left(0.0)
    clock.now += 10
    assert eta.left(0.5) == pytest.approx(10)
    clock.now += 3
    assert eta.left(0.5) == pytest.approx(7)  # no news: it counts down, never up
    clock.now += 20
    assert eta.left(0.5) == 0.0
    assert eta.left(0.1) is None  # progress went back: a new job, measured afresh


@pytest.mark.parametrize(
    "seconds, words", [(None, ""), (0.2, "about 1 s left"), (14.2, "about 15 s left"), (480, "about 8 min left")]
)
def test_words(seconds: float | None, words: str) -> None:
    assert left_text(seconds) == words


def test_a_progress_line_says_the_job_its_stage_and_the_time_left() -> None:
    clock = Clock()
    eta = Eta(clock)
    assert eta.caption("Working on 'Retex: Denoise'…", "", 0.0) == "Working on 'Retex: Denoise'…"
    clock.now += 10
    assert eta.caption("Learning", "training", 0.5) == "Learning (training) · about 10 s left"
