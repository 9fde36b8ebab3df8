"""A backend an editor started does not outlive it (``serve --exit-with PID``): killed editors left gigabyte
orphans before. The editor here is a stand-in process; the real editors pass their own (plugin/common/lifetime)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.service.editor import running
from plugin.common.config import BackendConfig
from plugin.common.lifetime import IDLE_EXIT_MINUTES, owned_by
from tests.service_helpers import make_weights, start_server


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
