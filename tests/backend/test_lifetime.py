"""A backend an editor started does not outlive it (``serve --exit-with PID``): killed editors left gigabyte
orphans before. The editor here is a stand-in process; the real editors pass their own (plugin/common/lifetime)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backend.service.editor import running
from plugin.common.config import BackendConfig
from plugin.common.lifetime import IDLE_EXIT_MINUTES, owned_by
from plugin.common.session import Session
from tests.service_helpers import REPO, make_weights, start_server


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return make_weights(tmp_path_factory.mktemp("weights"), ("denoise",))


def _editor() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


@pytest.mark.parametrize("reaped", [True, False], ids=["reaped", "zombie"])
def test_the_backend_exits_once_its_editor_is_gone(weights, tmp_path, reaped: bool) -> None:
    editor = _editor()
    srv = start_server(f"ipc://{tmp_path / 'e.sock'}", weights, "--exit-with", str(editor.pid))
    try:
        assert srv.proc.poll() is None
        editor.kill()
        if reaped:
            editor.wait()
        assert srv.proc.wait(timeout=20) == 0  # killed but unreaped (a zombie) counts as gone too
        assert f"process {editor.pid}" in srv.proc.stderr.read()
    finally:
        editor.kill()
        editor.wait()
        srv.stop()


def test_the_backend_stays_while_its_editor_runs(weights, tmp_path) -> None:
    editor = _editor()
    srv = start_server(f"ipc://{tmp_path / 'e.sock'}", weights, "--exit-with", str(editor.pid))
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            srv.proc.wait(timeout=3)
    finally:
        editor.kill()
        editor.wait()
        srv.stop()


def test_running_sees_this_process_and_not_a_missing_one() -> None:
    assert running(os.getpid())
    assert not running(2**22 + 12345)  # above Linux's pid_max: never a process


def test_editors_tie_the_backend_to_themselves_unless_the_settings_say_otherwise() -> None:
    tied = owned_by(BackendConfig(args=["--threads", "2"]), 4321)
    assert tied.args == ["--threads", "2", "--idle-exit", str(IDLE_EXIT_MINUTES), "--exit-with", "4321"]
    own = owned_by(BackendConfig(args=["--idle-exit", "0"]), 4321)
    assert own.args == ["--idle-exit", "0", "--exit-with", "4321"]


def test_a_session_whose_backend_exited_unused_says_so_and_starts_it_on_the_next_run(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    weights = make_weights(tmp_path / "weights", ("denoise",))
    args = ["--weights-dir", str(weights), "--threads", "1", "--idle-exit", "0.03"]  # 1.8 s
    session = Session(BackendConfig(sys.executable, str(REPO), f"ipc://{tmp_path / 's'}", args), "krita")
    session.connect()
    deadline = time.monotonic() + 60
    while session.state != "ready" and time.monotonic() < deadline:
        session.poll()
        time.sleep(0.05)
    assert session.state == "ready", session.status()
    assert session._proc is not None and f"--exit-with {os.getpid()}" in " ".join(session._proc.proc.args)
    while session.state == "ready" and time.monotonic() < deadline:
        session.poll()
        time.sleep(0.05)
    assert session.status() == "Backend: not running (starts when needed)"
    job = session.submit("hello", {}, [])
    while not job.done and time.monotonic() < deadline + 60:
        session.poll()
        time.sleep(0.05)
    assert job.error is None and session.state == "ready"
    session.close()
