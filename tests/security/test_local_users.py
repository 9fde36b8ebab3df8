"""Item 1 (and the token file of item 3, the second server of item 5): another local user can neither receive an
editor's image nor answer in the backend's place."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from plugin.common.client import Client
from plugin.common.config import BackendConfig, UnsafeFolder, default_endpoint
from plugin.common.session import Session
from tests.security.conftest import as_user
from tests.service_helpers import REPO, start_server


def serve(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """``python -m backend serve`` expected to refuse at once."""
    return subprocess.run(
        [sys.executable, "-m", "backend", "serve", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def one_line_error(proc: subprocess.CompletedProcess, words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert proc.stderr.startswith("error: ") and words in proc.stderr, proc.stderr


def fallback_env(shared: Path) -> dict[str, str]:
    """No XDG_RUNTIME_DIR: the socket folder falls back to TMPDIR/retex-UID."""
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    return {**env, "TMPDIR": str(shared)}


def wait(session: Session, timeout: float = 60) -> str:
    job = session.submit("hello", {}, [])
    deadline = time.monotonic() + timeout
    while not job.done and time.monotonic() < deadline:
        session.poll()
        time.sleep(0.02)
    return job.error or ""


def test_a_socket_folder_made_by_another_user_is_refused(attacker, shared_tmp, weights, monkeypatch) -> None:
    folder = shared_tmp / f"retex-{os.getuid()}"
    made = as_user(attacker, f"import os; os.mkdir({str(folder)!r}); os.chmod({str(folder)!r}, 0o777)")
    assert made.returncode == 0, made.stderr
    # the plug-ins' choice of endpoint
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(shared_tmp))
    with pytest.raises(UnsafeFolder, match=f"{folder} belongs to another user"):
        default_endpoint("krita")
    # the plug-in session: its job ends with the reason, no backend starts
    monkeypatch.setenv("XDG_CACHE_HOME", str(shared_tmp / "cache"))
    session = Session(BackendConfig(sys.executable, str(REPO), "", ["--weights-dir", str(weights)]), "krita")
    error = wait(session)
    assert "could not prepare its backend" in error and "belongs to another user" in error
    assert session.pid is None and list(folder.iterdir()) == []
    # the backend's own default endpoint
    one_line_error(serve("--weights-dir", str(weights), env=fallback_env(shared_tmp)), "belongs to another user")


def test_a_symlinked_socket_folder_is_refused_and_its_target_untouched(attacker, shared_tmp, weights) -> None:
    mine = Path(tempfile.mkdtemp(dir="/tmp"))
    mine.chmod(0o755)
    try:
        link = shared_tmp / f"retex-{os.getuid()}"
        made = as_user(attacker, f"import os; os.symlink({str(mine)!r}, {str(link)!r})")
        assert made.returncode == 0, made.stderr
        one_line_error(serve("--weights-dir", str(weights), env=fallback_env(shared_tmp)), "is a link")
        assert stat.S_IMODE(mine.stat().st_mode) == 0o755 and list(mine.iterdir()) == []  # not chmod-ed, not used
    finally:
        os.rmdir(mine)


def test_socket_file_is_private_whatever_the_umask(attacker, shared_tmp, weights) -> None:
    sock = shared_tmp / "explicit.sock"
    old = os.umask(0)
    try:
        srv = start_server(f"ipc://{sock}", weights)
    finally:
        os.umask(old)
    try:
        assert stat.S_IMODE(sock.stat().st_mode) & 0o077 == 0
        probe = as_user(
            attacker,
            "import socket\ns = socket.socket(socket.AF_UNIX)\n"
            f"try:\n    s.connect({str(sock)!r}); print('connected')\nexcept OSError as e:\n    print(e.errno)",
        )
        assert probe.stdout.strip() == "13", probe  # EACCES
    finally:
        srv.stop()
    assert not sock.exists()


def test_a_socket_in_a_folder_others_can_change_is_refused(attacker, shared_tmp, weights) -> None:
    theirs = shared_tmp / "theirs"
    made = as_user(attacker, f"import os; os.mkdir({str(theirs)!r}); os.chmod({str(theirs)!r}, 0o777)")
    assert made.returncode == 0, made.stderr
    proc = serve("--endpoint", f"ipc://{theirs / 's.sock'}", "--weights-dir", str(weights))
    one_line_error(proc, "can be changed by other users")


def test_an_abstract_socket_needs_the_token(attacker, weights, tmp_path) -> None:
    endpoint = f"ipc://@retex-sec-{uuid.uuid4().hex[:8]}"
    srv = start_server(endpoint, weights, env={"RETEX_CONFIG_DIR": str(tmp_path)})  # makes the token, mode 0600
    try:
        token = tmp_path / "token"
        assert stat.S_IMODE(token.stat().st_mode) == 0o600
        probe = as_user(
            attacker,
            "from plugin.common.client import BackendError, Client\n"
            f"with Client({endpoint!r}, timeout_s=10) as c:\n"
            "    try:\n        c.hello(); print('answered')\n    except BackendError as e:\n        print(e.code)",
        )
        assert probe.stdout.strip() == "unauthorized", probe
        with Client(endpoint, token=token.read_text().strip()) as client:
            assert client.hello()["server"] == "retex"
    finally:
        srv.stop()


def test_a_token_file_others_can_read_is_refused(weights, tmp_path) -> None:
    token = tmp_path / "token"
    token.write_text("guessable\n")
    token.chmod(0o644)
    proc = serve("--endpoint", "tcp://127.0.0.1:0", "--token-file", str(token), "--weights-dir", str(weights))
    one_line_error(proc, "readable or owned by another user (mode 644)")


def test_a_second_server_on_a_live_socket_refuses_and_the_first_keeps_serving(weights, tmp_path) -> None:
    endpoint = f"ipc://{tmp_path / 'one.sock'}"
    first = start_server(endpoint, weights)
    try:
        proc = serve("--endpoint", endpoint, "--weights-dir", str(weights))
        one_line_error(proc, f"another Retex server (pid {first.proc.pid}) is already listening on {endpoint}")
        with Client(endpoint, timeout_s=10) as client:
            assert client.hello()["pid"] == first.proc.pid
    finally:
        first.stop()
    second = start_server(endpoint, weights)  # a stale lock file from a stopped server does not block
    second.stop()
