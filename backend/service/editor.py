"""Whether the editor that started a backend still runs (``serve --exit-with PID``): a backend outlives a killed
editor as an orphan holding a gigabyte otherwise. GIMP passes its own process (each plug-in run is a short-lived
child), Krita its process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

CHECK_EVERY_S = 1.0  # how often the server looks: a process table lookup, nothing more


def running(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie (a killed editor nobody has reaped yet is gone)."""
    if sys.platform == "win32":
        return _running_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    try:  # Linux: state is the field after the parenthesised command name
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (macOS): kill(0) said it exists
    return state not in ("Z", "X")


def _running_windows(pid: int) -> bool:
    import ctypes

    synchronize, wait_timeout = 0x00100000, 0x102
    kernel = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel.OpenProcess(synchronize, False, pid)
    if not handle:
        return False
    try:
        return bool(kernel.WaitForSingleObject(handle, 0) == wait_timeout)
    finally:
        kernel.CloseHandle(handle)
