"""What the report's sections share: how numbers, durations and the machine's load are written."""

from __future__ import annotations


def num(v: float | None, fmt: str = ".2f") -> str:
    return "–" if v is None else format(v, fmt)


def load_note(s: dict) -> str:
    """The 1-minute load average around the run, and a warning when other work shared the CPU: judged by the load
    at the start, since the load at the end counts the benchmark's own threads."""
    m = s["machine"]
    loads = [v for v in (m.get("load_average_1min"), s.get("load_average_1min_end")) if v is not None]
    text = f"Load average at start / end: {' / '.join(f'{v:g}' for v in loads)}."
    if loads and loads[0] >= 0.5 * (m.get("logical_cpus") or 1):
        text += " **The machine was busy: these figures are below what it can do; re-run on a quiet machine.**"
    return text


def duration(seconds: dict) -> str:
    """A run's duration: its total, or the sum of its parts when it was cut short."""
    total = seconds.get("total") or sum(v for k, v in seconds.items() if k != "total")
    return f"{total / 60:.0f} min"
