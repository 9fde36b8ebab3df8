"""Start the backend (``python -m backend serve``) and learn when it is ready, without ever blocking the editor.

The backend's stdout and stderr go to a log file rather than a pipe: a pipe nobody drains can stall the backend, and
reading a pipe without blocking is not portable. ``ready()`` reads what was appended since the last call and looks
for the ``READY <endpoint>`` line; the log's last lines explain a failed start in the backend's own words.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from .config import BackendConfig

START_TIMEOUT_S = 180.0  # a cold start imports torch and loads every network


def log_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "retex"


def stop_process(proc: subprocess.Popen, grace_s: float) -> None:
    """Ask a process to finish (SIGTERM shuts the backend down cleanly), kill it after ``grace_s``, reap it."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class LaunchError(Exception):
    """The backend could not be started; the message says why in plain words."""


class BackendProcess:
    def __init__(self, config: BackendConfig, endpoint: str, log_path: Path) -> None:
        self.config, self.endpoint, self.log_path = config, endpoint, log_path
        self.proc: subprocess.Popen | None = None
        self._offset = 0
        self._pending = b""

    def start(self) -> None:
        python, repo = self.config.python, self.config.repo
        if not python or not Path(python).is_file():
            raise LaunchError(
                f"Retex cannot find the backend's Python ({python or 'not set'}). Set it in Retex's backend "
                "settings, or run the installer."
            )
        if not repo or not (Path(repo) / "backend").is_dir():
            raise LaunchError(
                f"Retex cannot find the backend ({repo or 'folder not set'} has no 'backend' folder). Set the "
                "Retex folder in Retex's backend settings."
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [python, "-m", "backend", "serve", "--endpoint", self.endpoint, *self.config.args]
        # the editor's own Python settings (Krita's bundled Python sets some) must not leak into the backend's
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
        env["PYTHONUNBUFFERED"] = "1"
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # Windows only: no console window for the backend
        with open(self.log_path, "wb") as log:
            try:
                self.proc = subprocess.Popen(
                    cmd, cwd=repo, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                    creationflags=flags,
                )  # fmt: skip
            except OSError as e:
                raise LaunchError(f"Retex could not start its backend ({python}: {e.strerror}).") from None
        self._offset, self._pending = 0, b""

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def exit_code(self) -> int | None:
        """None while the process runs (or was never started)."""
        return self.proc.poll() if self.proc else None

    def ready(self) -> str | None:
        """The endpoint from the backend's READY line once it has printed it (reads only what is new)."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._offset)
                chunk = log.read()
        except OSError:
            return None
        self._offset += len(chunk)
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()
        for line in lines:
            text = line.decode("utf-8", "replace").strip()
            if text.startswith("READY "):
                return text.split(" ", 1)[1].strip()
        return None

    def started(self, since: float, settings: str) -> str | None:
        """One look at a backend started at ``since`` (time.monotonic): the endpoint of its READY line once printed,
        None while it starts; a LaunchError if it exited first or took over START_TIMEOUT_S (``settings`` says
        where its settings are)."""
        endpoint = self.ready()
        if endpoint:
            return endpoint
        if self.exit_code() is not None:
            raise LaunchError(f"The Retex backend could not start ({self.ending()}). Check {settings}.")
        if time.monotonic() - since > START_TIMEOUT_S:
            raise LaunchError(f"The Retex backend did not start within {START_TIMEOUT_S:.0f} s. See {self.log_path}.")
        return None

    def wait_ready(self, settings: str) -> str:
        """``started`` until the backend is ready (blocking): its endpoint."""
        since = time.monotonic()
        while (endpoint := self.started(since, settings)) is None:
            time.sleep(0.1)
        return endpoint

    def last_words(self) -> str:
        """The backend's own explanation of a failure: its ``error:`` line, else the last line of its log after the
        READY line (which explains nothing)."""
        try:
            lines = [ln.strip() for ln in self.log_path.read_text("utf-8", "replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        lines = [ln for ln in lines if not ln.startswith("READY ")]
        errors = [ln for ln in lines if ln.startswith("error:") or "Error:" in ln]
        return (errors or lines or [""])[-1][:300]

    def ending(self) -> str:
        """How the process ended, in words: "killed by signal 9", or the exit status and the backend's last words."""
        code = self.exit_code()
        if code is not None and code < 0:
            return f"killed by signal {-code}"
        words = self.last_words()
        return f"exit status {code}" + (f": {words}" if words else "")

    def stop(self) -> None:
        """Ask the backend to finish (on POSIX, SIGTERM shuts it down cleanly), then make sure it is gone."""
        if self.proc is not None:
            stop_process(self.proc, 3)
