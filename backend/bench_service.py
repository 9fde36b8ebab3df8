"""Benchmarks (not tests): ``python -m backend bench service --json PATH``.

Measures, through a real server process on this machine: the protocol's round-trip overhead (a no-op job on 1, 4
and 16 MP u8 RGBA images) next to the denoise compute time for the same 16 MP, the tiled throughput of every
installed task, and the server's peak resident memory during a 24 MP denoise.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from plugin.common.client import Client
from plugin.common.protocol import FrameSpec

from .paths import REPO, WEIGHTS_DIR


def _frame(megapixels: float) -> tuple[FrameSpec, bytes]:
    side = int((megapixels * 1e6) ** 0.5)
    w, h = side, int(megapixels * 1e6) // side
    gen = torch.Generator().manual_seed(0)
    data = torch.randint(0, 256, (h * w * 4,), dtype=torch.uint8, generator=gen).numpy().tobytes()
    return FrameSpec(w, h, "RGBA", "u8", "image"), data


def _peak_rss_mb(pid: int) -> float:
    """The process's high-water resident memory (Linux /proc; NaN elsewhere)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _start(endpoint: str, device: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "backend", "serve", "--endpoint", endpoint, "--device", device],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        proc.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return proc


def _timed(client: Client, task: str, frame: tuple[FrameSpec, bytes]) -> float:
    t0 = time.perf_counter()
    client.run(task, frame)
    return time.perf_counter() - t0


def bench_service(
    json_path: Path | None, device: str = "auto", big_mp: float = 24.0, markdown: Path | None = None
) -> dict:
    tasks = [p.stem for p in sorted(WEIGHTS_DIR.glob("*.safetensors"))]
    report: dict = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
        "noop_round_trip_s": {},
        "throughput_mp_per_s": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        endpoint = f"ipc://{tmp}/bench.sock"
        proc = _start(endpoint, device)
        try:
            with Client(endpoint, timeout_s=600) as client:
                report["device"] = client.hello()["device"]
                for mp in (1, 4, 16):
                    frame = _frame(mp)
                    _timed(client, "none", frame)  # warm
                    report["noop_round_trip_s"][f"{mp}MP"] = round(
                        min(_timed(client, "none", frame) for _ in range(3)), 4
                    )
                if "denoise" in tasks:
                    t = _timed(client, "denoise", _frame(16))
                    report["denoise_16MP_s"] = round(t, 2)
                    report["noop_overhead_vs_denoise_16MP"] = round(report["noop_round_trip_s"]["16MP"] / t, 4)
                for task in tasks:
                    mp = 1.0 if task.startswith("sr") else 2.0  # SR output is scale^2 larger
                    frame = _frame(mp / (4 if task == "sr2" else 16 if task == "sr4" else 1))
                    if task == "inpaint":
                        w, h = frame[0].width, frame[0].height
                        mask = FrameSpec(w, h, "Y", "u8", "mask"), bytes([0, 255]) * (w * h // 2) + bytes(w * h % 2)
                        t0 = time.perf_counter()
                        client.run(task, frame, inpaint_mask=mask)
                        seconds = time.perf_counter() - t0
                    else:
                        seconds = _timed(client, task, frame)
                    report["throughput_mp_per_s"][task] = round(mp / seconds, 3)
        finally:
            proc.terminate()
            proc.wait(30)
        if "denoise" in tasks:  # a fresh server, so its memory high-water mark is this job's alone
            proc = _start(endpoint, device)
            try:
                with Client(endpoint, timeout_s=1800) as client:
                    base = _peak_rss_mb(proc.pid)
                    seconds = _timed(client, "denoise", _frame(big_mp))
                    report[f"denoise_{big_mp:g}MP"] = {
                        "seconds": round(seconds, 1),
                        "peak_rss_mb": round(_peak_rss_mb(proc.pid), 1),
                        "idle_rss_mb": round(base, 1),
                    }
            finally:
                proc.terminate()
                proc.wait(30)
    if json_path:
        json_path.write_text(json.dumps(report, indent=2) + "\n")
    if markdown:
        markdown.write_text(service_markdown(report))
    return report


def service_markdown(report: dict) -> str:
    """The service figures as a Markdown section (docs/benchmarks.md is written from this, never by hand)."""
    noop = report["noop_round_trip_s"]
    lines = [
        "# Benchmarks",
        "",
        "Every figure here is written by the command named in its section; restoration quality scores are in",
        "[`weights/README.md`](../weights/README.md).",
        "",
        "## Service (`python -m backend bench service --markdown docs/benchmarks.md`)",
        "",
        f"Device: {report['device']}, {report['machine']['threads']} CPU threads, torch {report['machine']['torch']}.",
        "",
        "| measure | value |",
        "|---|---|",
        *(f"| no-op round trip, {mp} u8 RGBA | {s * 1000:.1f} ms |" for mp, s in noop.items()),
    ]
    if "denoise_16MP_s" in report:
        lines += [
            f"| denoise, 16 MP | {report['denoise_16MP_s']:.1f} s |",
            f"| protocol overhead / denoise compute, 16 MP | {100 * report['noop_overhead_vs_denoise_16MP']:.2f} % |",
        ]
    lines += [
        f"| {task} throughput (tiled, output MP/s) | {v:.3f} |" for task, v in report["throughput_mp_per_s"].items()
    ]
    for key, value in report.items():
        if key.startswith("denoise_") and isinstance(value, dict):
            mp = key[len("denoise_") :]
            lines += [
                f"| denoise, {mp}: time | {value['seconds']:.1f} s |",
                f"| denoise, {mp}: server peak RSS | {value['peak_rss_mb'] / 1024:.2f} GB |",
            ]
    return "\n".join(lines) + "\n"
