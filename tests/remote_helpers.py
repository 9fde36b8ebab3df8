"""A real backend on a "remote" address for the tests: keys made by ``python -m backend keys`` and the backend
started with the ``serve`` command it prints, on this machine's non-loopback address (so the backend insists on
CURVE, as on a GPU box; loopback when the machine has no other address)."""

from __future__ import annotations

import shlex
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.service_helpers import REPO, ServerProcess, start_server


def lan_address() -> str:
    """This machine's address on its network (the one its route to a documentation address, 203.0.113.1, leaves
    from; no packet is sent), else 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("203.0.113.1", 9))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class Keys:
    folder: Path
    line: str  # the connection line for the editors' settings
    serve: list[str]  # the serve command as printed, ``python`` first
    output: str


def make_keys(folder: Path, host: str, port: int, *extra: str) -> Keys:
    """``python -m backend keys`` as a user runs it; the two lines it prints to copy."""
    cmd = [sys.executable, "-m", "backend", "keys", "--out", str(folder), "--host", host, "--port", str(port), *extra]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [ln.strip() for ln in done.stdout.splitlines()]
    serve = next(shlex.split(ln) for ln in lines if ln.startswith("python -m backend serve"))
    line = next(ln for ln in lines if ln.startswith("tcp://"))
    return Keys(folder, line, serve, done.stdout)


def serve_remote(keys: Keys, weights: Path, threads: int = 1) -> ServerProcess:
    """The printed serve command, run as printed (this interpreter for ``python``), with the tests' weights."""
    assert keys.serve[:4] == ["python", "-m", "backend", "serve"]
    args = keys.serve[4:]
    endpoint = args.pop(args.index("--endpoint") + 1)
    args.remove("--endpoint")
    return start_server(endpoint, weights, *args, "--threads", str(threads))
