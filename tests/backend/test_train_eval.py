"""Training and evaluation smoke runs on tiny data made here, through the real loops and the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from backend.degrade.observe import DegradeParams, observe
from backend.nets.restoration import RestorationNet
from backend.pipeline import net_input
from backend.tasks import get_task
from backend.train.restoration import TrainConfig, checkpoint_path, train_restoration
from backend.weights import load_restoration, read_tensors

REPO = Path(__file__).resolve().parents[2]


def make_images(folder: Path, n: int, size: int = 80, seed: int = 0) -> Path:
    """Smooth random images with edges: learnable structure, unlike white noise."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        img = np.zeros((size, size, 3))
        for c in range(3):
            fx, fy, ph = rng.uniform(1, 4), rng.uniform(1, 4), rng.uniform(0, 6)
            img[..., c] = 0.5 + 0.3 * np.sin(2 * np.pi * (fx * xx + fy * yy) + ph)
        img[(xx - 0.5) ** 2 + (yy - 0.5) ** 2 < rng.uniform(0.02, 0.1)] *= 0.5
        Image.fromarray((img * 255).round().astype(np.uint8)).save(folder / f"img{i}.png")
    return folder


def held_out_mse(net: RestorationNet, task_name: str, data: Path) -> float:
    task = get_task(task_name)
    clean = torch.stack([torch.from_numpy(np.array(Image.open(p))).permute(2, 0, 1) for p in sorted(data.iterdir())])
    clean = clean[:, :, :64, :64].float() / 255
    obs = observe(task, clean, torch.Generator().manual_seed(123), DegradeParams(sigma=25 / 255))
    with torch.no_grad():
        return float(((net(net_input(task, obs.image)) - clean) ** 2).mean())


def test_training_loss_falls_and_resume_continues(tmp_path: Path) -> None:
    data = make_images(tmp_path / "data", 6)
    task = get_task("denoise")
    cfg = TrainConfig(
        iters=40, batch=4, patch=32, lr=2e-3, data=[str(data)], run_dir=str(tmp_path / "runs"), device="cpu"
    )
    before = held_out_mse(RestorationNet(task.net), "denoise", data)
    export = tmp_path / "denoise.safetensors"
    cfg.iters = 25
    first = train_restoration(task, cfg, export=export, progress=False)
    assert first["iterations"] == 25
    cfg.iters = 40
    second = train_restoration(task, cfg, resume=True, export=export, progress=False)
    assert second["iterations"] == 40
    _, meta = read_tensors(checkpoint_path(task, cfg))
    assert meta["iteration"] == "40"
    after = held_out_mse(load_restoration(export, task), "denoise", data)
    assert after < 0.9 * before, (before, after)


def test_eval_cli_smoke(tmp_path: Path) -> None:
    from backend.weights import save_restoration

    sets = tmp_path / "bench"
    make_images(sets / "Tiny" / "HR", 2, size=52)
    task = get_task("sr2")
    weights = tmp_path / "sr2.safetensors"
    save_restoration(weights, RestorationNet(task.net), task)  # the identity network = bicubic
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend",
            "eval",
            "sr2",
            "--sets",
            "Tiny",
            "--data",
            str(sets),
            "--weights",
            str(weights),
            "--json",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["task"] == "sr2" and report["params"] <= 200_000 and report["macs_per_pixel"] > 0
    s = report["sets"]["Tiny"]
    assert s["images"] == 2
    for key in ("psnr_y", "ssim_y", "psnr_rgb", "baseline_psnr_y", "baseline_psnr_rgb"):
        assert isinstance(s[key], float)
    # An untrained (identity) network is exactly the bicubic baseline.
    assert s["psnr_y"] == pytest.approx(s["baseline_psnr_y"], abs=1e-6)
    assert "Tiny" in proc.stdout


def test_eval_inpaint_reports_hole_scores(tmp_path: Path) -> None:
    from backend.bench.evaluate import EvalConfig, evaluate
    from backend.weights import save_restoration

    sets = tmp_path / "bench"
    make_images(sets / "Tiny" / "HR", 2, size=64)
    task = get_task("inpaint")
    weights = tmp_path / "inpaint.safetensors"
    save_restoration(weights, RestorationNet(task.net), task)
    report = evaluate(task, EvalConfig(sets=["Tiny"], data=sets), weights=weights)
    s = report["sets"]["Tiny"]
    assert 0.04 < s["hole_fraction"] < 0.35
    assert s["hole_psnr_rgb"] > 10 and s["telea_hole_psnr_rgb"] > 10
    again = evaluate(task, EvalConfig(sets=["Tiny"], data=sets), weights=weights)
    assert again["sets"] == report["sets"]  # seeded: reproducible


def test_eval_unknown_set_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "backend", "eval", "denoise", "--sets", "Nope", "--data", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error:") and "Traceback" not in proc.stderr
