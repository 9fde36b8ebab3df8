"""Shared pieces of the security suite: a real server with tiny networks, and a throwaway second local user to play
the attacker (created when the tests run as root, as CI does; the tests that need one skip with the reason
otherwise)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service_helpers import REPO, ServerProcess, make_weights, start_server

ATTACKER = "retex-sec-attacker"


@pytest.fixture(scope="session")
def weights(tmp_path_factory) -> Path:
    return make_weights(tmp_path_factory.mktemp("weights"), tasks=("denoise", "sr4"))


@pytest.fixture(scope="module")
def served(weights, tmp_path_factory) -> Iterator[tuple[ServerProcess, Path]]:
    """A server on a private ipc socket, its user styles in a folder of the test's own: (server, user styles)."""
    root = tmp_path_factory.mktemp("srv")
    user = root / "user-styles"
    env = {"RETEX_USER_STYLES": str(user), "RETEX_RUNS": str(root / "runs")}
    srv = start_server(f"ipc://{root / 's.sock'}", weights, env=env)
    yield srv, user
    srv.stop()


@pytest.fixture(scope="session")
def attacker() -> Iterator[pwd.struct_passwd]:
    """Another local user, made for the test and removed after it."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a throwaway second local user (CI runs as root)")
    if not shutil.which("useradd"):
        pytest.skip("useradd is not installed: cannot create a second local user")
    made = subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ATTACKER], capture_output=True
    )
    if made.returncode not in (0, 9):  # 9: it exists (a previous run was killed before removing it)
        pytest.skip(f"useradd failed: {made.stderr.decode().strip()}")
    yield pwd.getpwnam(ATTACKER)
    subprocess.run(["userdel", ATTACKER], capture_output=True)


def as_user(user: pwd.struct_passwd, code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run Python ``code`` as ``user``, with this repository importable (nothing written into it)."""

    def drop() -> None:
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)

    env = {"PATH": os.environ.get("PATH", ""), "HOME": "/tmp", "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-c", code], cwd="/", env=env, preexec_fn=drop, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder both users can write in, sticky like /tmp: where the socket folder falls back to."""
    path = Path(tempfile.mkdtemp(prefix="retex-sec-", dir="/tmp"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)
