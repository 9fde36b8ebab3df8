"""``python -m backend bench speed``: how fast restoration, and restoration plus texture, run on this machine.

For each spec (``TASK`` or ``TASK+STYLE[+STYLE...]``) and output size: output megapixels per second in-process
(``pipeline.process``) and through a real server process (ZeroMQ, u8 RGBA frames as the editors send them), the
peak resident memory of the process doing the work, the networks' multiply-accumulates per output pixel and the
fraction of the machine's peak arithmetic rate (a large matrix product measured in the same run) that this
reaches; then the time to a first result for a 512 x 512 preview crop of the largest image. On CUDA the in-process
runs use the chosen precision, ``channels_last`` and optionally ``torch.compile`` on the restoration branches.
Every figure is measured for each runtime (torch and ONNX Runtime, ``backend.runtime``) in the same run, side by
side: each row names its ``runtime``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import torch

from ..errors import RetexError
from ..pipeline import process
from ..runtime import RUNTIMES, onnx_installed, resolve_device
from ..runtime.providers import PROVIDERS
from .machine import commit, machine_info, peak_flops, peak_rss_mb, reset_peak_rss, sync
from .machine import write_json as save
from .service import BenchServer, mask_frame, rgba_frame
from .speed_specs import (
    PREVIEW,
    Spec,
    best_time,
    default_specs,
    input_size,
    load_spec,
    make_inputs,
    prepare,
    preview_row,
    report_row,
)

SIZES = (0.25, 1.0, 4.0, 16.0)  # output megapixels
QUICK_SIZES = (0.25, 1.0)
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class SpeedOptions:
    sizes: tuple[float, ...] = SIZES
    specs: list[str] | None = None  # None: every shipped model, then sr4 and denoise each with a fine style
    device: str = "auto"
    precision: str = "auto"  # in-process arithmetic; auto = bf16 on CUDA when supported, else fp32
    compile: bool = False  # CUDA: torch.compile the restoration branches (fixed tile shapes, few recompiles)
    service: bool = True
    threads: int = 0  # the server's CPU threads (0: all), as in-process
    runtimes: tuple[str, ...] | None = None  # None: torch, and ONNX Runtime when installed


def default_runtimes(device: torch.device) -> tuple[str, ...]:
    return ("torch", "onnx") if onnx_installed() and device.type == "cpu" else ("torch",)


def bench_speed(json_path: Path, opts: SpeedOptions, quick: bool = False) -> dict:
    """Measure, rewriting ``json_path`` after every run, so an interrupted run keeps what it measured."""
    device = resolve_device(opts.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RetexError("--device cuda: no CUDA device is available to torch here")
    precision = opts.precision
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    labels = default_specs(quick) if opts.specs is None else opts.specs
    if not labels:
        raise RetexError("nothing to measure: name at least one TASK[+STYLE...] in --tasks")
    runtimes = opts.runtimes or default_runtimes(device)
    for runtime in runtimes:
        if runtime not in RUNTIMES[1:]:
            raise RetexError(f"--runtimes: each of onnx, torch (got {runtime!r})")
    specs = [load_spec(label, device, runtime) for label in labels for runtime in runtimes]
    for spec in specs:
        prepare(spec, device, precision, opts.compile)
    flops = peak_flops(device)
    if precision not in flops:
        raise RetexError(f"precision {precision} is not native on {device.type} here (measured: {', '.join(flops)})")
    report: dict = {
        "kind": "speed",
        "commit": commit(),
        "machine": machine_info(device),
        "precision": precision,
        "channels_last": device.type == "cuda",
        "compiled": opts.compile and device.type == "cuda",
        "peak_flops": {k: round(v) for k, v in flops.items()},
        "runtimes": list(runtimes),
        "providers": {  # where each runtime ran: ONNX Runtime's execution provider, torch's device
            s.runtime: PROVIDERS[s.net.device] if s.runtime == "onnx" else f"torch {device.type}"
            for s in specs
            if s.net is not None
        },
        "models": {
            s.label: {"macs_per_pixel": round(s.macs_per_pixel), "scale": s.scale, "params": s.params} for s in specs
        },
        "runs": [],
        "preview": [],
        "service": {},
        "complete": False,
    }
    start = time.perf_counter()
    autocast = torch.autocast(device.type, dtype=DTYPES[precision]) if precision != "fp32" else nullcontext()
    try:
        with autocast:
            _in_process(report, specs, opts, device, flops[precision], json_path)
        if opts.service:
            for runtime in runtimes:  # the server loads its own networks: one spec per label, named by runtime
                mine = [replace(spec, runtime=runtime) for spec in specs[:: len(runtimes)]]
                _through_service(report, mine, opts, device, flops["fp32"], json_path, runtime)
    except KeyboardInterrupt:
        report["interrupted"] = True
        report["seconds"] = round(time.perf_counter() - start, 1)
        save(json_path, report)
        raise
    _ceiling(report, flops, peak_flops(device), precision)
    report["complete"] = True
    report["seconds"] = round(time.perf_counter() - start, 1)
    report["load_average_1min_end"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    save(json_path, report)
    return report


def _ceiling(report: dict, start: dict[str, float], end: dict[str, float], precision: str) -> None:
    """The peak is the machine's best of its measurements at the start and at the end of the run (on a shared
    machine one measurement varies: 185 to 292 GFLOP/s here within minutes), each run's fraction of it rescaled:
    the fraction of what the machine showed it can do, never of a slow moment's."""
    best = {k: max(start[k], end.get(k, 0.0)) for k in start}
    report["peak_flops"] = {k: round(v) for k, v in best.items()}
    report["peak_flops_measured"] = {
        "start": {k: round(v) for k, v in start.items()},
        "end": {k: round(v) for k, v in end.items()},
    }
    for row in report["runs"]:
        peak = best["fp32" if row["mode"] == "service" else precision]
        row["peak_fraction"] = round(2 * row["gmacs_per_s"] * 1e9 / peak, 5)


def _measure_memory(device: torch.device, fn: Callable[[], float]) -> tuple[float, dict]:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        seconds = fn()
        return seconds, {"peak_cuda_mb": round(torch.cuda.max_memory_allocated(device) / 2**20, 1)}
    base = reset_peak_rss(os.getpid())
    seconds = fn()
    return seconds, {"peak_rss_mb": peak_rss_mb(os.getpid()), "base_rss_mb": base}


def _run(spec: Spec, device: torch.device, image: torch.Tensor, mask: torch.Tensor | None, region=None) -> None:
    restoration = (spec.task, spec.net) if spec.task is not None and spec.net is not None else None
    process(image, restoration, spec.slots(), mask, region=region)
    sync(device)


def _in_process(
    report: dict, specs: list[Spec], opts: SpeedOptions, device: torch.device, flops: float, json_path: Path
) -> None:
    for spec in specs:
        _run(spec, device, *make_inputs(spec, (64, 64), device))  # first call: kernels and allocator warm up
        for mp in opts.sizes:
            side = input_size(mp, spec.scale)
            job = partial(_run, spec, device, *make_inputs(spec, side, device))
            seconds, memory = _measure_memory(device, partial(best_time, job))
            report["runs"].append({**report_row(spec, "in-process", mp, side, seconds, flops), **memory})
            save(json_path, report)
        side = input_size(max(opts.sizes), 1)  # the preview crop is cut from an input image of the largest size
        crop = min(PREVIEW // spec.scale, *side)
        region = ((side[1] - crop) // 2, (side[0] - crop) // 2, crop, crop)
        job = partial(_run, spec, device, *make_inputs(spec, side, device), region)
        t0 = time.perf_counter()
        job()
        first = time.perf_counter() - t0
        report["preview"].append(preview_row(spec, "in-process", side, crop, first, best_time(job)))
        save(json_path, report)


def _through_service(
    report: dict,
    specs: list[Spec],
    opts: SpeedOptions,
    device: torch.device,
    flops: float,
    json_path: Path,
    runtime: str,
) -> None:
    """The specs through a server running on ``runtime``; the first runtime's server figures are the report's
    ``service`` fields (as before runtimes were compared), each runtime's are under ``service.runtimes``."""
    with tempfile.TemporaryDirectory() as tmp, BenchServer(Path(tmp), device.type, opts.threads, runtime) as server:
        figures: dict[str, Any] = {"start_s": round(server.start_s, 3), "threads": opts.threads}  # 0: all cores
        hello = server.client.hello()
        figures.update(device=hello["device"], runtime=hello.get("runtime"), noop_round_trip_s={})
        for key, value in figures.items():
            report["service"].setdefault(key, value)
        report["service"].setdefault("runtimes", {})[runtime] = figures
        # previews first, so each spec's first request includes loading its networks in the server
        for spec in specs:
            side = input_size(max(opts.sizes), 1)
            image, mask = make_inputs(spec, side, torch.device("cpu"))
            frame, mframe = rgba_frame(image), None if mask is None else mask_frame(mask)
            crop = min(PREVIEW // spec.scale, *side)
            region = ((side[1] - crop) // 2, (side[0] - crop) // 2, crop, crop)
            task = spec.task.name if spec.task else "none"
            styles = [n for n, _ in spec.styles]
            first = server.run(task, frame, styles, mframe, region)
            warm = best_time(partial(server.run, task, frame, styles, mframe, region))
            report["preview"].append(preview_row(spec, "service", side, crop, first, warm))
            save(json_path, report)
        noop = figures["noop_round_trip_s"]
        for mp in opts.sizes:  # the protocol's own cost: a job that changes nothing
            frame = rgba_frame(make_inputs(Spec("none", None, None), input_size(mp, 1), torch.device("cpu"))[0])
            noop[str(mp)] = round(best_time(partial(server.run, "none", frame, [], None)), 4)
        for spec in specs:
            task, styles = (spec.task.name if spec.task else "none"), [n for n, _ in spec.styles]
            for mp in opts.sizes:
                side = input_size(mp, spec.scale)
                image, mask = make_inputs(spec, side, torch.device("cpu"))
                frame, mframe = rgba_frame(image), None if mask is None else mask_frame(mask)
                base = reset_peak_rss(server.proc.pid)
                seconds = best_time(partial(server.run, task, frame, styles, mframe))
                row = report_row(spec, "service", mp, side, seconds, flops)
                report["runs"].append({**row, "peak_rss_mb": peak_rss_mb(server.proc.pid), "base_rss_mb": base})
                save(json_path, report)
