"""Adding the training support from an editor: "Learn texture" on the inference-only install asks once, then runs the
installer's backend step with ``--with-training`` (no plug-in copy, no demo) and shows its progress; both editors
share this, Krita polling ``Install`` from its timer, GIMP waiting in ``Install.wait``. A failed install changes
nothing the user sees and says the installer's last lines.

Standard library only: the editors' Pythons have no numpy.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from .config import BackendConfig
from .launcher import stop_process
from .messages import plain
from .protocol import ErrorCode

# What --with-training adds to the 206 MB inference-only environment: torch and what training and evaluation need,
# 1132 MB measured with `du -smc` over the site-packages folders requirements-training.txt brings (torch 754 MB).
SIZE = "about 1.1 GB"
NOT_INSTALLED = plain(ErrorCode.TRAINING_NOT_INSTALLED, "")  # the sentence the flow gets from the backend
QUESTION = f"Learning a texture needs the training support ({SIZE}: PyTorch). Add it now?"
TITLE = "Adding the training support…"
CANCELLED = "Cancelled: the training support was not added. Nothing was changed."
LAST_LINES = 5  # of the installer's output, in the failure message
STOP_GRACE_S = 5.0


def command(config: BackendConfig) -> list[str]:
    """The installer's backend step with the training support, run by the system's Python from the Retex folder
    (the installer makes or updates ``.venv`` there, which the settings' ``python`` names, and writes the
    settings again). ``--device cpu`` goes along when the settings keep the backend on the CPU."""
    python = shutil.which("python3") or shutil.which("python") or config.python
    line = [python, str(Path(config.repo) / "installer.py"), "--with-training", "--no-krita", "--no-gimp", "--no-demo"]
    at = config.args.index("--device") + 1 if "--device" in config.args[:-1] else 0
    if at and config.args[at] == "cpu":  # the backend is kept on the CPU: no CUDA build of torch either
        line += ["--device", "cpu"]
    return line


def problem(config: BackendConfig) -> str | None:
    """Why the training support cannot be added from here (a remote backend, no Retex folder), else None."""
    if config.backend == "remote":
        return "The backend runs on another machine: add the training support there (installer.py --with-training)."
    if not config.repo or not (Path(config.repo) / "installer.py").is_file():
        return f"Retex's installer was not found in '{config.repo}': run python3 installer.py --with-training there."
    return None


class Install:
    """One installer run, its output read by a thread: ``poll`` (None while it runs, then the exit code), ``step``
    (its last line, for a status line), ``cancel``; ``failure`` says what went wrong in one message."""

    def __init__(self, line: list[str], cwd: str | None = None) -> None:
        self.lines: deque[str] = deque(maxlen=LAST_LINES)
        self.step = "Starting the installer…"
        self.cancelled = False
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # each line as it is printed
        self.proc = subprocess.Popen(
            line,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
            start_new_session=True,  # its own process group: Cancel stops pip with it
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @classmethod
    def start(cls, config: BackendConfig, line: list[str] | None = None) -> Install:
        """The installer for ``config`` (``line``: another command, e.g. a test's)."""
        return cls(line or command(config), config.repo or None)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            text = raw.strip()
            if text:
                self.lines.append(text)
                self.step = text if len(text) <= 100 else text[:99] + "…"

    def poll(self) -> int | None:
        code = self.proc.poll()
        if code is not None:
            self._reader.join(timeout=2)  # the last lines
        return code

    def wait(self, tick: Callable[[str], bool], every_s: float = 0.1) -> int:
        """Block until the installer ends (GIMP): ``tick(step)`` is called ``every_s``; True from it cancels."""
        while (code := self.poll()) is None:
            if tick(self.step):
                self.cancel()
            time.sleep(every_s)
        return code

    def cancel(self) -> None:
        """Stop the installer and what it started (pip): a half-done environment is repaired by its next run."""
        self.cancelled = True
        if sys.platform == "win32":
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(self.proc.pid)], capture_output=True)
        else:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except OSError:  # already gone
                pass
        stop_process(self.proc, STOP_GRACE_S)

    def failure(self) -> str | None:
        """None once the installer succeeded, else one message (cancelled, or its last lines)."""
        code = self.poll()
        if code == 0 and not self.cancelled:
            return None
        if self.cancelled:
            return CANCELLED
        last = " / ".join(self.lines) or "no output"
        return f"Adding the training support failed (the installer ended with {code}): {last}"
