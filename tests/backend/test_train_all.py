"""train-all and pack-data, the GPU job, run for seconds on the CPU on tiny data so it is known to work before any
GPU time comes; its bad inputs are one line each and nothing shipped is touched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from backend.paths import WEIGHTS_DIR
from backend.tasks import get_task
from backend.weights import load_restoration
from tests.service_helpers import REPO


def _images(folder: Path, n: int = 2) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (80, 96, 3), dtype=np.uint8)).save(folder / f"im{i}.png")
    return folder


def _run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backend", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def test_pack_then_train_all_on_the_cpu(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    packed = _run("pack-data", "--out", str(pack), timeout=60)
    assert packed.returncode == 0, packed.stderr
    shipped = (WEIGHTS_DIR / "sr2.safetensors").stat().st_mtime_ns
    out = tmp_path / "out"
    data = _images(tmp_path / "data")
    cmd = ["train-all", "--minutes", "0.08", "--out", str(out), "--tasks", "photo-sr4,sr2", "--data", str(data)]
    run = _run(*cmd, "--device", "cpu", "--batch", "2", "--patch", "64", "--workers", "1", "--threads", "1")
    assert run.returncode == 0, run.stderr
    summary = json.loads((out / "summary.json").read_text())
    for name in ("photo-sr4", "sr2"):
        assert summary["tasks"][name]["iterations"] >= 1, summary
        load_restoration(out / f"{name}.safetensors", get_task(name))  # loads as the product would
    assert "== photo-sr4" in (out / "train-all.log").read_text()
    assert (WEIGHTS_DIR / "sr2.safetensors").stat().st_mtime_ns == shipped  # the new weights went to --out only


def test_packed_images_are_close_to_the_originals(tmp_path: Path) -> None:
    from backend.train.all import pack_data

    src = _images(tmp_path / "src", 1)
    pack_data(tmp_path / "pack", (src,))
    a = np.asarray(Image.open(src / "im0.png"), float)
    b = np.asarray(Image.open(tmp_path / "pack" / "src-im0.jpg"), float)
    assert a.shape == b.shape and 10 * np.log10(255**2 / ((a - b) ** 2).mean()) > 30  # random noise: the worst case


def test_bad_inputs_are_one_line_each(tmp_path: Path) -> None:
    data = _images(tmp_path / "data")
    cases = [
        (["--tasks", "nope", "--data", str(data)], "unknown task 'nope'"),
        (["--tasks", "sr2", "--data", str(tmp_path / "empty")], "no training images"),
        (["--tasks", "sr2", "--data", str(data), "--minutes", "0.001"], "too short for one training step"),
    ]
    for extra, message in cases:
        args = ["train-all", "--minutes", "0.1", "--out", str(tmp_path / "o"), "--device", "cpu", *extra]
        run = _run(*args, timeout=60)
        assert run.returncode == 2 and message in run.stderr and "Traceback" not in run.stderr, run.stderr
