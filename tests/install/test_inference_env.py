"""The inference-only install: a virtual environment made from requirements.txt alone (what ``python3 installer.py``
installs by default) has no torch, weighs at most 250 MB, and runs every task and style through the command line
and the service; "learn texture" there is one clear error, never a traceback.

The environment is built once and reused (``~/.cache/retex/test-inference-env-<hash of requirements.txt>``, or
``RETEX_TEST_CACHE``; pip's own cache makes a rebuild quick), or named with ``RETEX_INFERENCE_PYTHON``. The editors'
real-editor suites run against it with ``RETEX_TEST_BACKEND_PYTHON=<its python>`` (tests/service_helpers.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from backend.imaging.io import read_image, write_image
from plugin.common.client import Client
from plugin.common.exchange import BackendError
from plugin.common.messages import plain
from plugin.common.protocol import ErrorCode, FrameSpec
from tests.service_helpers import rgba_test_image, start_server

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "requirements.txt"
MAX_MB = 250  # the bar for the inference-only environment
NO_TRAINING = "Learning a texture needs the training support: run python3 installer.py --with-training"


def _build(folder: Path) -> None:
    """A fresh venv with requirements.txt, as install/backend.py makes it (built beside, renamed in: a killed
    build is never reused)."""
    staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        subprocess.run([sys.executable, "-m", "venv", str(staging)], check=True)
        pip = [str(staging / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@pytest.fixture(scope="module")
def python() -> Path:
    """The inference-only environment's Python."""
    if os.environ.get("RETEX_INFERENCE_PYTHON"):
        return Path(os.environ["RETEX_INFERENCE_PYTHON"])
    cache = Path(os.environ.get("RETEX_TEST_CACHE") or Path.home() / ".cache" / "retex")
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    folder = cache / f"test-inference-env-{digest}"
    if not (folder / "bin" / "python").is_file():
        cache.mkdir(parents=True, exist_ok=True)
        _build(folder)
    return folder / "bin" / "python"


def run(python: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RETEX_RUNTIME": "auto"}  # the suite's default is torch (conftest)
    return subprocess.run([str(python), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_no_torch_and_within_the_size_bar(python: Path) -> None:
    probe = "import importlib.util as u; print([m for m in ('torch', 'cv2', 'onnx') if u.find_spec(m)])"
    assert run(python, "-c", probe).stdout.strip() == "[]"
    done = run(python, "-c", "import torch")
    assert done.returncode != 0 and "No module named 'torch'" in done.stderr
    # the whole service and command line import without torch
    imports = "import sys, backend.__main__, backend.service.server, backend.cli.restore; print('torch' in sys.modules)"
    assert run(python, "-c", imports).stdout.strip() == "False"
    env = Path(run(python, "-c", "import sys; print(sys.prefix)").stdout.strip())
    size_mb = int(subprocess.run(["du", "-sm", str(env)], capture_output=True, text=True).stdout.split()[0])
    print(f"inference-only environment {env}: {size_mb} MB (du -sm)")
    assert size_mb <= MAX_MB


def test_restore_a_task_and_a_style_without_torch(python: Path, tmp_path: Path) -> None:
    """The command line on the shipped weights gives the picture the full environment gives on ONNX Runtime."""
    rgb = rgba_test_image(72, 56, seed=4, top=1.0)[..., :3].transpose(2, 0, 1)[None].astype(np.float32)
    write_image(tmp_path / "in.png", rgb)
    args = ["restore", str(tmp_path / "in.png"), "--task", "sr2", "--style", "wood-grain", "--texture-scale", "1.5"]
    done = run(python, "-m", "backend", *args, "-o", str(tmp_path / "light.png"))
    assert done.returncode == 0, done.stderr
    full = subprocess.run(
        [sys.executable, "-m", "backend", *args, "--runtime", "onnx", "-o", str(tmp_path / "full.png")],
        cwd=REPO,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
    )
    assert full.returncode == 0, full.stderr
    light, ref = read_image(tmp_path / "light.png").rgb, read_image(tmp_path / "full.png").rgb
    assert light.shape == (1, 3, 112, 144) and np.array_equal(light, ref)
    torch_run = run(python, "-m", "backend", *args, "--runtime", "torch", "-o", str(tmp_path / "t.png"))
    assert torch_run.returncode == 2 and "Traceback" not in torch_run.stderr
    assert "python3 installer.py --with-training" in torch_run.stderr and not (tmp_path / "t.png").exists()
    tool = run(python, "-m", "backend", "train-style", str(tmp_path / "in.png"), "--name", "mine")
    assert tool.returncode == 2 and tool.stderr == (
        "error: train-style needs the training support (torch is not installed): "
        "run python3 installer.py --with-training\n"
    )


def test_the_service_without_torch(python: Path, tmp_path: Path) -> None:
    """hello, one job (denoise then a style, on a masked region), and "learn texture" as one clear error."""
    env = {"RETEX_RUNTIME": "auto"}
    server = start_server(f"ipc://{tmp_path / 's.sock'}", REPO / "weights", env=env, python=str(python))
    try:
        with Client(server.endpoint, timeout_s=120) as client:
            hello = client.hello()
            assert hello["runtime"] == "onnx" and "denoise" in hello["tasks"]
            assert any(s["name"] == "wood-grain" for s in hello["styles"])
            image = rgba_test_image(64, 48, seed=1, top=255).astype(np.uint8)
            frame = (FrameSpec(64, 48, "RGBA", "u8", "image"), image.tobytes())
            mask = (FrameSpec(64, 48, "Y", "u8", "mask"), np.tile(np.arange(64, dtype=np.uint8) * 4, 48).tobytes())
            slots = [{"style": "wood-grain", "strength": 0.8, "mask": mask, "scale": 1.5, "seed": 3}]
            result = client.run("denoise", frame, slots=slots, crop=(4, 4, 40, 32))
            assert (result.frame[0].width, result.frame[0].height) == (40, 32)
            exemplar = rgba_test_image(256, 256, seed=2, top=255).astype(np.uint8)
            with pytest.raises(BackendError) as refused:
                client.train_style((FrameSpec(256, 256, "RGBA", "u8", "exemplar"), exemplar.tobytes()), "mine")
            assert refused.value.code == ErrorCode.TRAINING_NOT_INSTALLED and refused.value.message == NO_TRAINING
            assert plain(refused.value.code, refused.value.message) == NO_TRAINING  # what both editors show
    finally:
        server.stop()
    log = server.proc.stderr.read() if server.proc.stderr else ""
    assert "Traceback" not in log, log
