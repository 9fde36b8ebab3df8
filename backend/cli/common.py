"""What several commands share: comma-separated lists, the --runtime and --device options, ending on a signal."""

from __future__ import annotations

import argparse
import os
import signal

from ..errors import RetexError
from ..runtime import RUNTIMES
from ..runtime.providers import DEVICES
from ..tasks import TASKS

TASK_NAMES = ", ".join(TASKS)  # for help texts


def floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise RetexError(f"--sizes wants comma-separated megapixels, not {text!r}") from None


def ints(text: str, flag: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise RetexError(f"{flag} wants comma-separated integers, not {text!r}") from None


def names(text: str | None) -> list[str] | None:
    return None if text is None else [v for v in text.split(",") if v and v != "none"]


def runtime_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default=os.environ.get("RETEX_RUNTIME", "auto"),
        help="run the networks on ONNX Runtime or torch (default: $RETEX_RUNTIME, else auto: ONNX Runtime when "
        "installed); a server started by an editor inherits RETEX_RUNTIME",
    )


def device_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where the networks run: cpu, cuda (NVIDIA), dml (DirectML: any GPU on Windows), coreml (Apple); "
        "auto (default): the best GPU this ONNX Runtime offers, else torch's CUDA, else the CPU",
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def end_on_signals() -> None:
    """Ctrl-C and a polite kill both raise KeyboardInterrupt, even when the parent shell started us with SIGINT
    ignored (background jobs of non-interactive shells are): the command ends with what it has (a checkpoint, the
    JSON measured so far) and ``main`` exits with status 130."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
