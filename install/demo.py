"""The installer's last step: restore, then texture, the bundled photo through a real backend server, the way the
editors do it (``serve``, then a client over ZeroMQ), so a user sees the whole chain work before opening an editor."""

from __future__ import annotations

import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import ROOT, InstallError

PHOTO = ROOT / "examples" / "coffee.png"
MASK = ROOT / "examples" / "table-mask.png"
TASK, STYLE = "sr2", "wood-grain"
START_TIMEOUT_S = 300.0  # a cold start imports the runtime and loads every network; slow disks take minutes


def _lines(proc: subprocess.Popen, out: queue.Queue) -> None:
    for line in proc.stdout:
        out.put(line.rstrip())
    out.put(None)


def run(python: Path, folder: Path, token: Path) -> Path:
    """Start ``serve``, wait for READY, send the job with ``restore --endpoint``, stop the server; returns the
    result's path."""
    result = folder / f"coffee-{TASK}-{STYLE}.png"
    with tempfile.TemporaryDirectory(prefix="retex-demo-") as sockets:
        endpoint = "tcp://127.0.0.1:*" if sys.platform == "win32" else f"ipc://{Path(sockets) / 'demo.sock'}"
        server = subprocess.Popen(
            [str(python), "-m", "backend", "serve", "--endpoint", endpoint, "--idle-exit", "10"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_lines, args=(server, lines), daemon=True).start()
        try:
            ready, seen, deadline = None, [], time.monotonic() + START_TIMEOUT_S
            while ready is None and time.monotonic() < deadline:
                try:
                    line = lines.get(timeout=1)
                except queue.Empty:
                    continue
                if line is None:
                    break
                seen.append(line)
                if line.startswith("READY "):
                    ready = line.split(maxsplit=1)[1]
            if ready is None:
                raise InstallError(f"the backend server did not start ({(seen or ['no output'])[-1]})")
            cmd = [str(python), "-m", "backend", "restore", str(PHOTO), "-o", str(result), "--task", TASK]
            cmd += ["--style", STYLE, "--mask", str(MASK), "--endpoint", ready]
            if ready.startswith("tcp://"):
                cmd += ["--token-file", str(token)]
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            if proc.returncode != 0:
                why = (proc.stderr.strip().splitlines() or ["no message"])[-1]
                raise InstallError(f"the demo job failed ({why})")
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return result
