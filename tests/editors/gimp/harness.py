"""Run the real GIMP 3 for the tests: Debian 12 has none, so it runs in a Debian 13 chroot that .ci/gimp-chroot.sh
builds (default /var/cache/retex/gimp-trixie, or $RETEX_GIMP_CHROOT), with the plug-in installed in a throw-away
HOME inside it, driven by a batch script through the PDB (see ../shared/notes/host-testing.md §2).

The plug-in starts its backend itself, but the chroot has no torch: the backend config's ``python`` is a stand-in
(inside/backend-python.sh) that hands its arguments to the ``Harness`` thread here, which starts the real
backend outside the chroot and relays its output back. The chroot shares the network, so the plug-in reaches that
backend over loopback TCP, with the token the backend writes into the plug-in's config folder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import pytest

from install.plugins import copy_plugin
from tests.editors.krita.harness import THREADS  # one setting for both editors' backends (see there)

REPO = Path(__file__).resolve().parents[3]
FILES = Path(__file__).resolve().parent / "inside"  # what runs inside GIMP
CHROOT = Path(os.environ.get("RETEX_GIMP_CHROOT", "/var/cache/retex/gimp-trixie"))


@contextmanager
def x_display() -> Iterator[str]:
    """An Xvfb display on loopback TCP, for the plug-in's dialogs: the chroot shares the network, not /tmp's socket."""
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-listen", "tcp", "-ac", "-screen", "0", "800x600x24"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield f"127.0.0.1:{xvfb.stdout.readline().strip()}"
    finally:
        xvfb.kill()
        xvfb.wait()


def missing() -> str | None:
    """None when GIMP 3 can run here, else a sentence saying why not and how to fix it."""
    if not (CHROOT / "usr" / "bin" / "gimp-console-3.0").exists():
        return f"no GIMP 3 chroot at {CHROOT} (build it, as root: .ci/gimp-chroot.sh)"
    if os.geteuid() != 0:
        return "GIMP 3 runs in a chroot here, which needs root"
    if shutil.which("Xvfb") is None:
        return "Xvfb not installed (apt-get install --no-install-recommends xvfb), for the plug-in's dialogs"
    return None


class Harness(threading.Thread):
    """A folder inside the chroot for one GIMP session (HOME with the plug-in, config, spool, outputs) and the
    thread that serves it: it starts a real backend for each request the stand-in leaves in the spool, and kills
    the plug-in when a scenario asks (``out/kill-plugin``), as GIMP's Cancel does."""

    def __init__(self, weights: Path, env: dict[str, str]) -> None:
        super().__init__(daemon=True)
        (CHROOT / "tmp").mkdir(exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix="retex-gimp-", dir=CHROOT / "tmp"))
        self.inside = "/" + str(self.root.relative_to(CHROOT))
        for name in ("home", "config", "cache", "spool", "out", "spy"):
            (self.root / name).mkdir()
        self.plugin = copy_plugin("gimp", self.root / "home" / ".config" / "GIMP" / "3.0" / "plug-ins")
        shutil.copy2(FILES / "backend-python.sh", self.root / "backend-python")
        shutil.copy2(FILES / "spy" / "sitecustomize.py", self.root / "spy")
        (self.root / "repo" / "backend").mkdir(parents=True)  # what the launcher checks before starting
        config = {
            "python": f"{self.inside}/backend-python",
            "repo": f"{self.inside}/repo",
            "endpoint": "tcp://127.0.0.1:*",
            "args": [
                "--weights-dir",
                str(weights),
                "--threads",
                str(THREADS),
                "--token-file",
                str(self.root / "config/token"),
            ],
        }
        (self.root / "config" / "config.json").write_text(json.dumps(config))
        self.env = env
        self.python = os.environ.get("RETEX_TEST_BACKEND_PYTHON") or sys.executable  # e.g. the inference-only env's
        self.backends: list[subprocess.Popen] = []
        self.killed_plugins: list[int] = []
        self._stopping = threading.Event()

    def path(self, inside: str) -> Path:
        """The host's path of a path inside the chroot."""
        return CHROOT / inside.lstrip("/")

    def run(self) -> None:
        spool, trigger = self.root / "spool", self.root / "out" / "kill-plugin"
        while not self._stopping.wait(0.05):
            for request in sorted(spool.glob("*.args")):
                args = request.read_text().splitlines()
                request.unlink()
                self._start(spool / request.stem, args)
            if trigger.exists():
                trigger.unlink()
                self.kill_plugin()

    def _start(self, stem: Path, args: list[str]) -> None:
        proc = subprocess.Popen(
            [self.python, *args],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.backends.append(proc)
        threading.Thread(target=self._relay, args=(proc, stem), daemon=True).start()

    @staticmethod
    def _relay(proc: subprocess.Popen, stem: Path) -> None:
        """Copy the backend's output to the stand-in's FIFO; when it ends, hand over its exit status."""
        with open(f"{stem}.out", "wb", buffering=0) as fifo:
            for line in proc.stdout:
                try:
                    fifo.write(line)
                except OSError:
                    pass  # the stand-in is gone; keep draining so the backend never blocks on a full pipe
            code = proc.wait()
            Path(f"{stem}.status").write_text(str(code if code >= 0 else 128 - code))

    def kill_plugin(self) -> None:
        """SIGKILL this session's plug-in process, found by its script path (no /proc inside the chroot)."""
        script = f"{self.inside}/home/.config/GIMP/3.0/plug-ins/retex/retex.py".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if script in (entry / "cmdline").read_bytes():
                    os.kill(int(entry.name), signal.SIGKILL)
                    self.killed_plugins.append(int(entry.name))
            except (OSError, ValueError):
                continue

    def start_gimp(self, script: Path, extra_env: dict[str, str], timeout: float = 280) -> subprocess.Popen:
        """gimp-console with ``script`` as its batch command (``timeout`` inside the chroot ends a hung GIMP)."""
        inside_script = f"{self.inside}/{script.name}"
        shutil.copy2(script, self.path(inside_script))
        env = {
            "HOME": f"{self.inside}/home",
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "RETEX_CONFIG_DIR": f"{self.inside}/config",
            "XDG_CACHE_HOME": f"{self.inside}/cache",
            "RETEX_GIMP_SPOOL": f"{self.inside}/spool",
            "RETEX_GIMP_SPY": f"{self.inside}/out/spy.log",
            "RETEX_GIMP_USER": f"{self.inside}/out/user.json",  # the steps the spy plays in the dialog, if any
            "PYTHONPATH": f"{self.inside}/spy",
            **extra_env,
        }
        batch = f'exec(open("{inside_script}").read())'
        cmd = ["chroot", str(CHROOT), "env", "-i", *(f"{k}={v}" for k, v in env.items()), "timeout", str(int(timeout))]
        cmd += ["gimp-console-3.0", "-i", "--quit", "--batch-interpreter=python-fu-eval", "-b", batch]
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def gimp(self, script: Path, extra_env: dict[str, str], timeout: float = 280) -> str:
        """Run ``script`` in GIMP to the end; returns GIMP's output (its messages included)."""
        proc = self.start_gimp(script, extra_env, timeout)
        return proc.communicate(timeout=timeout + 30)[0]

    def close(self) -> None:
        """Stop the thread and every backend it started, then remove the folder."""
        self._stopping.set()
        self.join(5)
        for proc in self.backends:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


class Ran(Protocol):
    """An editor run of scenarios (each test file's ``Run``): their records by name, and the editor's output."""

    results: dict
    output: str


def record(run: Ran, name: str) -> dict:
    """A scenario's record from an editor run, or the test fails with what the editor said."""
    rec = run.results.get(name)
    if rec is None:
        pytest.fail(f"scenario {name} did not run; GIMP's output ends with:\n{run.output[-3000:]}")
    if "crash" in rec:
        pytest.fail(f"scenario {name} raised inside GIMP:\n{rec['crash']}")
    return rec
