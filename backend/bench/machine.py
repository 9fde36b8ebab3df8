"""What a benchmark ran on, and what that machine can do at best: speed figures mean little without the CPU, the
thread count, the torch build and the peak arithmetic rate measured in the same run."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path

import torch

from ..files import atomic_write
from ..paths import REPO


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (Linux), else what platform reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def commit() -> str | None:
    """The checkout's commit, with ``+dirty`` when tracked files changed: which code produced the numbers."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "-uno"], cwd=REPO, capture_output=True, text=True)
    except OSError:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if head.returncode == 0 else None


def machine_info(device: torch.device) -> dict:
    info = {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
        "device": device.type,
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    return info


def peak_flops(device: torch.device, n: int = 2048, repeats: int = 3) -> dict[str, float]:
    """Floating-point operations per second of an n x n matrix product (best of ``repeats``), per precision the
    device does natively: the ceiling that a network's achieved rate is compared with."""
    dtypes = {"fp32": torch.float32}
    if device.type == "cuda":
        dtypes["fp16"] = torch.float16
        if torch.cuda.is_bf16_supported():
            dtypes["bf16"] = torch.bfloat16
    elif torch.ops.mkldnn._is_mkldnn_bf16_supported():
        dtypes["bf16"] = torch.bfloat16
    out = {}
    for name, dtype in dtypes.items():
        gen = torch.Generator(device=device).manual_seed(0)
        a = torch.randn(n, n, generator=gen, device=device).to(dtype)
        b = torch.randn(n, n, generator=gen, device=device).to(dtype)
        best = float("inf")
        for _ in range(repeats + 1):  # the first product is a warm-up
            sync(device)
            t0 = time.perf_counter()
            a @ b
            sync(device)
            best = min(best, time.perf_counter() - t0)
        out[name] = 2 * n**3 / best
    return out


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _status_mb(pid: int, key: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def peak_rss_mb(pid: int) -> float | None:
    """The process's resident-memory high-water mark (Linux /proc; None elsewhere)."""
    return _status_mb(pid, "VmHWM")


def reset_peak_rss(pid: int) -> float | None:
    """Restart the high-water mark at the current resident size (Linux >= 4.0), so each run gets its own peak;
    returns that size, the part of the peak that earlier work left allocated."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return None
    return _status_mb(pid, "VmRSS")


def write_json(path: Path, report: dict) -> None:
    """Atomic, so an interrupted run leaves the previous complete snapshot, never half a file."""
    text = json.dumps(report, indent=2) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text))
