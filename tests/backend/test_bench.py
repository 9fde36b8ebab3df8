"""bench quality / speed / report on tiny inputs with the shipped weights: the JSON layouts, the same protocol as
``eval`` and ``eval-style``, partial runs that keep what they measured, one-line errors, and the generated page."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from backend.bench.evaluate import EvalConfig, evaluate
from backend.bench.evaluate_style import evaluate_styles
from backend.bench.quality import QualityOptions, bench_quality, differences
from backend.bench.report import write_report
from backend.paths import BENCHMARK_DIR
from backend.tasks import get_task

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not BENCHMARK_DIR.is_dir(), reason="benchmark data not present")


def _cli(*args: str, **kw) -> subprocess.Popen:
    """``python -m backend bench ARGS`` on one thread, like the rest of the tests."""
    threads = ["--threads", "1"] if args[0] in ("quality", "speed") else []
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "backend", "bench", *args, *threads],
        cwd=REPO,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


@pytest.fixture(scope="module")
def quality(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("quality") / "quality.json"
    opts = QualityOptions(limit=1, sets=["Set5", "BSD100"], tasks=["sr4"], styles=["straw"])
    report = bench_quality(path, opts)
    assert json.loads(path.read_text()) == report
    return report


@pytest.fixture(scope="module")
def speed(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("speed") / "speed-cpu.json"
    proc = _cli("speed", "--json", str(path), "--sizes", "0.04", "--tasks", "sr4+straw,inpaint", "--device", "cpu")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return json.loads(path.read_text())


def test_quality_layout_and_protocol(quality):
    assert quality["kind"] == "quality" and quality["complete"] and not quality["missing"]
    sr4 = quality["models"]["sr4"]
    assert set(sr4["sets"]) == {"Set5", "BSD100"} and sr4["params"] > 0 and sr4["macs_per_pixel"] > 0
    # the same numbers as `eval` and `eval-style` give: same protocol, same seeds
    direct = evaluate(get_task("sr4"), EvalConfig(sets=["Set5", "BSD100"], limit=1))
    assert sr4["sets"] == direct["sets"] and sr4["degradation"] == direct["degradation"]
    straw = quality["styles"]["straw"]
    assert set(straw["eval"]) == {"sr4"} and straw["scale"] == "fine"  # --tasks also picks the styles' step
    assert straw["eval"]["sr4"] == evaluate_styles(["straw"], "sr4", sets=["BSD100"], limit=1)["straw"]["sets"]
    assert quality["seconds"]["total"] > 0 and quality["machine"]["torch_threads"] >= 1


def test_differences_only_where_the_same_images_were_scored():
    run = {"models": {"sr4": {"sets": {"Set5": {"images": 5, "psnr_y": 30.0}, "Set14": {"images": 1, "psnr_y": 1.0}}}}}
    run["styles"] = {"straw": {"eval": {"sr4": {"BSD100": {"images": 100, "gram_ratio": 0.3}}}}}
    manifest = {
        "models": {"sr4": {"eval": {"sets": {"Set5": {"images": 5, "psnr_y": 30.0}, "Set14": {"images": 14}}}}},
        "styles": {"straw": {"eval": {"sr4": {"BSD100": {"images": 100, "gram_ratio": 0.31}}}}},
    }
    assert differences(run, manifest) == ["straw after sr4: gram_ratio"]
    manifest["styles"]["straw"]["eval"]["sr4"]["BSD100"]["gram_ratio"] = 0.3
    assert differences(run, manifest) == []


def test_speed_layout(speed):
    assert speed["kind"] == "speed" and speed["complete"] and speed["machine"]["cpu"]
    assert speed["peak_flops"]["fp32"] > 1e8
    measured = speed["peak_flops_measured"]  # the ceiling: the best of the start's and the end's measurement
    assert speed["peak_flops"]["fp32"] == max(measured["start"]["fp32"], measured["end"]["fp32"])
    assert speed["providers"] == {"torch": "torch cpu", "onnx": "CPUExecutionProvider"}  # where each runtime ran
    assert speed["models"]["sr4+straw"]["macs_per_pixel"] > speed["models"]["inpaint"]["macs_per_pixel"] / 4
    runs = {(r["spec"], r["mode"]): r for r in speed["runs"]}
    assert set(runs) == {(s, m) for s in ("sr4+straw", "inpaint") for m in ("in-process", "service")}
    for r in runs.values():
        assert r["mp_per_s"] > 0 and r["peak_fraction"] > 0 and r["peak_rss_mb"] > 0
    assert runs["sr4+straw", "service"]["output"][0] == 4 * 48  # 0.04 MP of output: a 48 px input x 4
    assert {(p["spec"], p["mode"]) for p in speed["preview"]} == set(runs)
    assert all(p["first_s"] > 0 and p["warm_s"] > 0 for p in speed["preview"])
    assert speed["service"]["start_s"] > 0 and list(speed["service"]["noop_round_trip_s"]) == ["0.04"]


def test_report_writes_markdown_and_plots(quality, speed, tmp_path):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "quality.json").write_text(json.dumps(quality))
    (folder / "speed-cpu.json").write_text(json.dumps(speed))
    proc = _cli("report", "--dir", str(folder), "--markdown", str(tmp_path / "benchmarks.md"))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    page = (tmp_path / "benchmarks.md").read_text()
    assert "Figure 5" in page and "| **Retex sr4** (Y)" in page and "SMFANet" in page
    assert "smoke run on the first 1 images" in page and "| straw | fine |" in page
    assert speed["machine"]["cpu"] in page and "No GPU figure has been measured yet" in page
    for png in ("psnr-vs-params.png", "gram-ratio.png", "speed-cpu.png"):
        assert f"]({'benchmarks/' + png})" in page
        with Image.open(folder / png) as im:
            assert im.format == "PNG" and im.width > 300
    # a GPU run is shown under its device's name
    gpu = {**speed, "machine": {**speed["machine"], "device": "cuda", "gpu": "Test GPU 9000", "cuda": "12.8"}}
    (folder / "speed-cuda.json").write_text(json.dumps(gpu))
    page = write_report(folder, tmp_path / "benchmarks.md").read_text()
    assert "No GPU figures yet" not in page and "**Test GPU 9000** (CUDA 12.8)" in page.split("## Speed on GPU")[1]


def test_missing_data_folder_is_one_line(tmp_path):
    proc = _cli("quality", "--json", str(tmp_path / "q.json"), "--data", str(tmp_path / "nowhere"))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "Traceback" not in err
    assert err.strip().splitlines() == [
        f"error: {tmp_path / 'nowhere'} not found: set RETEX_SHARED (the folder holding data/benchmark) or pass "
        "--data; sources: ../shared/data/SOURCES.md"
    ]
    assert not (tmp_path / "q.json").exists()


def test_missing_set_keeps_what_was_measured(tmp_path):
    data = tmp_path / "benchmark"
    data.mkdir()
    (data / "Set5").symlink_to(BENCHMARK_DIR / "Set5")
    out = tmp_path / "q.json"
    proc = _cli(
        "quality", "--json", str(out), "--data", str(data), "--tasks", "sr4", "--styles", "none", "--limit", "1"
    )
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"{data / 'Set14' / 'HR'} not found" in err and f"{data / 'BSD100' / 'HR'} not found" in err
    report = json.loads(out.read_text())
    assert list(report["models"]["sr4"]["sets"]) == ["Set5"] and not report["complete"]
    assert len(report["missing"]) == 2 and report["differs_from_manifest"] == []  # 1 image: nothing to compare


def test_interrupted_run_keeps_what_was_measured(tmp_path):
    out = tmp_path / "q.json"
    # started with SIGINT ignored, as background jobs of a non-interactive shell are: Ctrl-C must still work
    proc = _cli(
        "quality", "--json", str(out), "--tasks", "sr4,sr2", "--styles", "none", "--limit", "1",
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not out.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    report = json.loads(out.read_text())
    assert proc.returncode == 130 and "Traceback" not in err
    assert report["interrupted"] and not report["complete"] and report["models"]
