"""Run the real Krita for the tests and the docker screenshot: a throw-away HOME with the plug-in installed (as a user
would) and a backend config, then kritarunner (headless) or the full GUI under Xvfb.

Krita quirks handled here (see ../shared/notes/host-testing.md): kritarunner always exits 0, so results travel in
JSON files; the GUI needs X, so it runs under xvfb-run; Krita leaves files in TMPDIR, so each run gets its own; and
a run is started in its own process group so that a hung Krita is killed together with the backend it started.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import pytest

from install.plugins import copy_plugin

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = Path(__file__).resolve().parent / "inside"  # what runs inside Krita
PACKAGES = "krita python3-pyqt5 python3-zmq xvfb xauth"
# The backend's CPU threads in the editor tests (RETEX_TEST_THREADS, default 1), and the command line's and the
# in-test pipeline's they are compared with: a convolution sums in another order on another thread count, so runs
# on different counts may differ by one level on a few pixels. Same count, same machine: the same bytes.
THREADS = int(os.environ.get("RETEX_TEST_THREADS", "1"))


def same_threads_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) for a command line that must run on the backend's thread count."""
    return {**(os.environ if env is None else env), "OMP_NUM_THREADS": str(THREADS)}


@contextmanager
def same_threads() -> Iterator[None]:
    """Run this process's torch on the backend's thread count (the tests' own default is one), then set it back."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def missing_tools(*tools: str) -> str | None:
    """None when every tool is installed, else a sentence saying what is missing and how to get it."""
    absent = [t for t in tools if shutil.which(t) is None]
    if not absent:
        return None
    return f"{', '.join(absent)} not installed (apt-get install --no-install-recommends {PACKAGES})"


def write_config(home: Path, config: dict) -> None:
    """Make ``config`` the Retex backend config of the test HOME ``home``."""
    (home / ".config" / "retex").mkdir(parents=True, exist_ok=True)
    (home / ".config" / "retex" / "config.json").write_text(json.dumps(config))


def krita_env(root: Path, config: dict, gui: bool = False, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A fresh HOME under ``root`` with the plug-in installed and ``config`` as the Retex backend config; returns the
    environment to run Krita with. ``gui`` also installs and enables the test-driver plug-in in kritarc."""
    home = root / "home"
    pykrita = home / ".local" / "share" / "krita" / "pykrita"
    copy_plugin("krita", pykrita)
    write_config(home, config)
    if gui:
        shutil.copytree(SCRIPTS / "retex_testdriver", pykrita / "retex_testdriver", dirs_exist_ok=True)
        shutil.copy2(SCRIPTS / "retex_testdriver.desktop", pykrita)
        (home / ".config" / "kritarc").write_text("[python]\nenable_retex=true\nenable_retex_testdriver=true\n")
    runtime = root / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    (root / "tmp").mkdir(exist_ok=True)
    drop = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "RETEX_CONFIG_DIR", "RETEX_BACKEND_PYTHON", "DISPLAY")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(HOME=str(home), TMPDIR=str(root / "tmp"), XDG_RUNTIME_DIR=str(runtime), PYTHONPATH=str(SCRIPTS))
    if not gui:
        env["QT_QPA_PLATFORM"] = "offscreen"
    env.update(extra or {})
    return env


def plugins_dir(env: dict[str, str]) -> str:
    return str(Path(env["HOME"]) / ".local" / "share" / "krita" / "pykrita")


def run(cmd: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """Run Krita in its own process group; whatever is left of the group afterwards (a hung Krita, the backend it
    started) is killed, so no test leaves processes behind."""
    proc = subprocess.Popen(
        cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        out += f"\n[killed after {timeout:.0f} s]"
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return subprocess.CompletedProcess(cmd, proc.returncode, out, "")


def kritarunner(env: dict[str, str], module: str, args: list[str], timeout: float = 280) -> subprocess.CompletedProcess:
    return run(["kritarunner", "-s", module, *args], env, timeout)


def krita_gui(env: dict[str, str], script: Path, out: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    """Full Krita under Xvfb; the test-driver plug-in runs ``script`` once the window is up and writes ``out``."""
    env = {**env, "KRITA_TEST_SCRIPT": str(script), "KRITA_TEST_OUT": str(out)}
    cmd = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "krita", "--nosplash"]
    done = run(cmd, env, timeout)
    if "could not connect to display" in done.stdout:  # xvfb-run -a raced another X server for the display
        done = run(cmd, env, timeout)
    return done


def backend_config(weights: Path, socket_dir: Path, python: str | None = None) -> dict:
    """The config a test HOME gets: the backend's interpreter (``python``, by default RETEX_TEST_BACKEND_PYTHON's,
    e.g. the inference-only environment's, or this one), this checkout, tiny test weights, ``THREADS`` threads."""
    return {
        "python": python or os.environ.get("RETEX_TEST_BACKEND_PYTHON") or sys.executable,
        "repo": str(REPO),
        "endpoint": f"ipc://{socket_dir / 'krita.sock'}",
        "args": ["--weights-dir", str(weights), "--threads", str(THREADS)],
    }


class Ran(Protocol):
    """An editor run of scenarios (each test file's ``Run``): their records by name, and the editor's output."""

    results: dict
    output: str


def record(run: Ran, name: str) -> dict:
    """A scenario's record from an editor run, or the test fails with what the editor said."""
    rec = run.results.get(name)
    if rec is None:
        pytest.fail(f"scenario {name} did not run; Krita's output ends with:\n{run.output[-3000:]}")
    if "crash" in rec or rec["slot_errors"]:
        pytest.fail(f"scenario {name} raised inside Krita:\n{rec.get('crash') or rec['slot_errors'][0]}")
    return rec
