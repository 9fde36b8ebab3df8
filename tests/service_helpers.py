"""Start real backend server processes for the tests, with tiny random-weight networks so results are
deterministic and independent of the shipped weights."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from backend.nets.restoration import RestorationNet
from backend.nets.style import StyleConfig, StyleNet
from backend.styles import save_style
from backend.tasks import get_task
from backend.weights import save_restoration
from plugin.common.launcher import stop_process

REPO = Path(__file__).resolve().parents[1]
# The Python that runs the backend in the servers and editor suites: this one, or another environment's, e.g. the
# inference-only install's (tests/install/test_inference_env.py): RETEX_TEST_BACKEND_PYTHON=.../bin/python.
BACKEND_PYTHON = os.environ.get("RETEX_TEST_BACKEND_PYTHON") or sys.executable


# The editor suites' networks: the photo tasks too (photo-sr2 blends with sr2, its base, below 100 % clean-up).
EDITOR_TASKS = ("denoise", "sr2", "inpaint", "photo", "photo-sr2")
# ``python -m backend`` with its weights folder moved to argv[1]: where a photo upscaler's command line finds the
# base it blends with (``--weights`` names the task's own file only), so it can use the test networks' base.
CLI_IN_WEIGHTS_DIR = (
    "import runpy, sys; from pathlib import Path; import backend.paths; "
    "backend.paths.WEIGHTS_DIR = Path(sys.argv.pop(1)); runpy.run_module('backend', run_name='__main__')"
)


def make_weights(folder: Path, tasks: tuple[str, ...] = ("denoise", "sr2", "inpaint")) -> Path:
    """Tiny random restoration networks, plus two random styles (fine "dots", coarse "paint") in ``styles/``."""
    folder.mkdir(parents=True, exist_ok=True)
    for seed, (name, scale) in enumerate((("dots", "fine"), ("paint", "coarse"))):
        torch.manual_seed(seed)
        net = StyleNet(StyleConfig(scale=scale))
        with torch.no_grad():
            net.log_nominal.fill_(-4.0)
        save_style(folder / "styles", name, net, {"exemplar": "test", "licence": "CC0"}, torch.rand(1, 3, 96, 96))
    for i, name in enumerate(tasks):
        torch.manual_seed(i)
        net = RestorationNet(get_task(name).net)
        with torch.no_grad():
            for p in net.parameters():
                p.add_(0.05 * torch.randn_like(p))
        save_test_restoration(folder, name, net)
    return folder


def save_test_restoration(folder: Path, name: str, net: RestorationNet) -> None:
    """Save a test's restoration network as task ``name``'s weights in ``folder``; for a backend in another
    environment (which may have ONNX Runtime alone) its ONNX graph too, exported again whenever the weights change."""
    save_restoration(folder / f"{name}.safetensors", net, get_task(name))
    if BACKEND_PYTHON != sys.executable:
        from backend.runtime.export import export

        export(folder / f"{name}.safetensors")


@dataclass
class ServerProcess:
    proc: subprocess.Popen
    endpoint: str

    def stop(self) -> None:
        stop_process(self.proc, 10)


def start_server(
    endpoint: str,
    weights: Path,
    *extra: str,
    timeout: float = 60,
    env: dict[str, str] | None = None,
    python: str = BACKEND_PYTHON,
) -> ServerProcess:
    """Start ``python -m backend serve`` and wait for its READY line, as a plug-in does."""
    cmd = [
        python,
        "-m",
        "backend",
        "serve",
        "--endpoint",
        endpoint,
        "--weights-dir",
        str(weights),
        "--threads",
        "1",
        *extra,
    ]
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + timeout
    line = ""
    while time.monotonic() < deadline and not line.startswith("READY "):
        try:  # never block on a server that hangs without printing: the deadline holds
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None:
                break
    if line.startswith("READY "):
        return ServerProcess(proc, line.split(" ", 1)[1].strip())
    proc.kill()
    proc.wait()
    raise RuntimeError(f"server did not start: {line!r} {proc.stderr.read()}")


def rgba_test_image(w: int, h: int, seed: int, top: int) -> np.ndarray:
    """RGBA with smooth content, noise and varied alpha (a transparent corner, a half-transparent band), scaled to
    ``top`` (255 or 65535): what the editor suites open in Krita and GIMP."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    rgb = np.stack([0.5 + 0.4 * np.sin(6 * xx), 0.5 + 0.4 * np.cos(5 * yy), 0.3 + 0.5 * xx * yy], -1)
    rgb = np.clip(rgb + rng.normal(0, 0.06, rgb.shape), 0, 1)
    alpha = np.ones((h, w))
    alpha[: h // 5, : w // 5] = 0
    alpha[h // 2 : h // 2 + 6] = np.linspace(0.2, 0.9, w)
    return np.round(np.concatenate([rgb, alpha[..., None]], -1) * top)
