"""``python -m backend bench real``: restoration of realistically degraded photos, Retex side by side with the
peers users run instead (``backend/bench/peers.py``), on the same inputs, in the same run, with the same threads.

Inputs: "RW" versions of benchmark sets, each clean image cropped to a multiple of the scale, then degraded by
``backend.degrade.real.rw_observe`` (the fixed ``RW_GRID`` settings, seeded per set and image: the same for every
method and every run). Scores as ``backend/bench/evaluate.py`` computes them (8-bit outputs, border = scale, PSNR and
SSIM on BT.601 Y) plus LPIPS (VGG, v0.1) on the same crop, and the output megapixels per second of each method. The
denoisers that take a noise level (CBM3D, FFDNet, NLM) get the oracle one: the standard deviation of
(observation - clean) over the image's pixels and channels, which counts JPEG and blur error too.

The JSON file is rewritten after each set and scale, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..degrade.real import RW_GRID, rw_observe
from ..errors import RetexError
from ..imaging.io import list_images, read_image
from ..imaging.lpips import LPIPS
from ..paths import BENCHMARK_DIR, REPO
from ..pipeline import restore
from ..runtime import load_restoration_model, resolve_device
from ..runtime import name as runtime_name
from ..runtime.base import RestorationModel
from ..tasks import Task, get_task
from ..weights import default_path, load_restoration
from .evaluate import _scores
from .machine import commit, machine_info, write_json
from .peers import PeerSpec, make_peers

SETS = ("Set14", "BSD100")
SCALES = (4, 2, 1)
RETEX = {4: ("photo-sr4", "sr4"), 2: ("photo-sr2", "sr2"), 1: ("photo", "denoise")}  # the photo model first
WARM_UP = 32  # input pixels per side of each method's untimed first call
DATA_HINT = "set RETEX_SHARED (the folder holding data/benchmark) or pass --data; sources: ../shared/data/SOURCES.md"


@dataclass
class RealOptions:
    data: Path = field(default_factory=lambda: BENCHMARK_DIR)
    sets: list[str] = field(default_factory=lambda: list(SETS))
    scales: list[int] = field(default_factory=lambda: list(SCALES))
    limit: int | None = None  # first N images of each set
    limit_slow: int = 10  # first N images for the slow peers (RealESRGAN_x4plus, CBM3D: ~0.002-0.03 MP/s here)
    threads: int = 2  # torch, ONNX Runtime, ncnn and OpenCV threads for every method
    runtime: str = "auto"  # Retex's runtime (backend.runtime): auto = ONNX Runtime when installed, as the product


@dataclass
class Method:
    name: str
    kind: str  # "retex", "peer" or "input"
    run: Callable[[np.ndarray, float], np.ndarray]
    slow: bool = False
    info: dict = field(default_factory=dict)


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def protocol() -> dict:
    return {
        "inputs": "clean HR cropped to a multiple of the scale, then backend.degrade.real.rw_observe (RW_GRID "
        "setting index % 4, seed crc32('RW-<set>/<index>'))",
        "grid": [g.name for g in RW_GRID],
        "scores": "8-bit outputs; PSNR-Y and SSIM-Y (BT.601) as backend/bench/evaluate.py, border = scale (0 at x1); "
        "LPIPS VGG v0.1 on the same RGB crop",
        "noise_level": "CBM3D, FFDNet and NLM get the oracle std of (observation - clean) over the image",
        "throughput": "output megapixels / seconds of the method's call, summed over the images it ran on",
        "retex_runtime": "backend.runtime.load_restoration_model (auto: ONNX Runtime when installed, as the product)",
    }


def bench_real(json_path: Path, opts: RealOptions, say: Callable[[str], None] = print) -> dict:
    """Measure every set and scale asked, writing ``json_path`` after each; raises RetexError naming any missing
    benchmark folder once the rest is measured."""
    if not opts.data.is_dir():
        raise RetexError(f"{opts.data} not found: {DATA_HINT}")
    bad = [s for s in opts.scales if s not in RETEX]
    if bad:
        raise RetexError(f"scale {bad[0]} is not measured: choose among {', '.join(map(str, SCALES))}")
    torch.set_num_threads(opts.threads)
    report: dict = {
        "kind": "real",
        "commit": commit(),
        "machine": machine_info(resolve_device("cpu")),
        "data": str(opts.data),
        "limit": opts.limit,
        "limit_slow": opts.limit_slow,
        "threads": opts.threads,
        "protocol": protocol(),
        "complete": False,
        "seconds": {},
        "skipped": [],
        "missing": [],
        "results": {},
    }

    def note(line: str) -> None:
        if line not in report["skipped"]:
            report["skipped"].append(line)
            say(line)

    lpips = LPIPS()
    start = time.perf_counter()
    try:
        for scale in opts.scales:
            methods = _methods(scale, opts.threads, opts.runtime, note)
            for set_name in opts.sets:
                folder = opts.data / set_name / "HR"
                if not folder.is_dir():
                    if f"{folder} not found: {DATA_HINT}" not in report["missing"]:
                        report["missing"].append(f"{folder} not found: {DATA_HINT}")
                    continue
                t0 = time.perf_counter()
                rows = measure(folder, set_name, scale, methods, lpips, opts)
                report["results"].setdefault(f"RW-{set_name}", {})[f"x{scale}"] = rows
                report["seconds"][f"RW-{set_name} x{scale}"] = round(time.perf_counter() - t0, 1)
                write_json(json_path, report)
                print_rows(f"RW-{set_name} x{scale}", rows, say)
    except KeyboardInterrupt:
        report["interrupted"] = True
        report["seconds"]["total"] = round(time.perf_counter() - start, 1)
        write_json(json_path, report)
        raise
    report["seconds"]["total"] = round(time.perf_counter() - start, 1)
    report["complete"] = not report["missing"]
    report["load_average_1min_end"] = machine_info(resolve_device("cpu"))["load_average_1min"]
    write_json(json_path, report)
    if report["missing"]:
        raise RetexError(f"not measured: {'; '.join(report['missing'])} (the rest is in {json_path})")
    return report


def _methods(scale: int, threads: int, runtime: str, note: Callable[[str], None]) -> list[Method]:
    """The input itself (x1), the Retex models whose weights exist, then the peers whose packages are installed."""
    methods = [Method("input", "input", lambda img, _: img)] if scale == 1 else []
    for name in RETEX[scale]:
        task = get_task(name)
        path = default_path(task)
        if not path.is_file():
            note(f"Retex {name} skipped: {_rel(path)} not found")
            continue
        net = load_restoration_model(path, task, runtime)  # what the product runs: ONNX Runtime when installed
        info = {"params": load_restoration(path, task).parameter_count(), "runtime": runtime_name(net)}
        info.update(weights=_rel(path), weights_mtime=_mtime(path))
        methods.append(Method(f"Retex {name}", "retex", _retex(net, task), info=info))
    methods += [
        Method(n, "peer", run, spec.slow, _peer_info(spec))
        for n, (spec, run) in make_peers(scale, threads, note).items()
    ]
    return methods


def _mtime(path: Path) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(path.stat().st_mtime))


def _peer_info(spec: PeerSpec) -> dict:
    info: dict = {"params": spec.params} if spec.params else {}
    return {**info, "given_noise_level": True} if spec.uses_sigma else info


def _retex(net: RestorationModel, task: Task) -> Callable[[np.ndarray, float], np.ndarray]:
    @torch.no_grad()
    def run(img: np.ndarray, _sigma: float) -> np.ndarray:
        return restore(net, task, _tensor(img))[0].permute(1, 2, 0).numpy()

    return run


def _tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None].float()


def _quantize(img: np.ndarray) -> np.ndarray:
    return (np.round(np.clip(img, 0, 1) * 255) / 255).astype(np.float32)


def measure(folder: Path, set_name: str, scale: int, methods: list[Method], lpips: LPIPS, opts: RealOptions) -> dict:
    """Every method on the set's RW inputs at ``scale``: mean scores per method and its throughput."""
    paths = list_images(folder)[: opts.limit]
    if not paths:
        raise RetexError(f"no images in {folder}")
    border = scale if scale > 1 else 0
    acc: dict[str, dict] = {m.name: {"rows": [], "seconds": 0.0, "pixels": 0} for m in methods}
    for index, path in enumerate(paths):
        clean = torch.from_numpy(read_image(path).rgb)
        h, w = clean.shape[-2:]
        clean = clean[..., : h - h % scale, : w - w % scale]
        clean_hwc = clean[0].permute(1, 2, 0).numpy()
        obs = rw_observe(clean_hwc, scale, set_name, index)
        sigma = float(np.std(obs - clean_hwc)) if scale == 1 else 0.0
        ref = clean[..., border:-border, border:-border] if border else clean
        ref_features = lpips.features(ref)
        if index == 0:  # one-time costs (library loading, ncnn's and torch's first-call set-up) are not throughput
            for m in methods:
                m.run(obs[:WARM_UP, :WARM_UP], sigma)
        for m in methods:
            if m.slow and index >= opts.limit_slow:
                continue
            t0 = time.perf_counter()
            out = m.run(obs, sigma)
            seconds = time.perf_counter() - t0
            if out.shape != clean_hwc.shape:
                raise RetexError(f"{m.name} gave {out.shape[1]}x{out.shape[0]} for {clean.shape[-1]}x{clean.shape[-2]}")
            t = _tensor(_quantize(out))
            psnr_y, ssim_y, _ = _scores(t, clean, border)
            crop = t[..., border:-border, border:-border] if border else t
            row = {"psnr_y": psnr_y, "ssim_y": ssim_y, "lpips": float(lpips.distance(crop, ref_features)[0])}
            if scale == 1:
                row["sigma"] = sigma * 255
            a = acc[m.name]
            a["rows"].append(row)
            a["seconds"] += seconds
            a["pixels"] += out.shape[0] * out.shape[1]
    results: dict = {}
    for m in methods:
        a = acc[m.name]
        if not a["rows"]:
            continue
        entry = {"kind": m.kind, "images": len(a["rows"]), **m.info}
        for key in a["rows"][0]:
            entry[key] = round(float(np.mean([r[key] for r in a["rows"]])), 4)
        # Per image, so a slow peer run on the first images only is compared with the others on those same images.
        entry["per_image"] = {k: [round(r[k], 4) for r in a["rows"]] for k in ("psnr_y", "ssim_y", "lpips")}
        entry["seconds"] = round(a["seconds"], 3)
        entry["mp_per_s"] = None if m.kind == "input" else round(a["pixels"] / 1e6 / max(a["seconds"], 1e-9), 4)
        results[m.name] = entry
    return results


def print_rows(title: str, rows: dict, say: Callable[[str], None] = print) -> None:
    say(f"{title}: {'method':<24} {'n':>3} {'PSNR-Y':>7} {'SSIM-Y':>7} {'LPIPS':>6} {'MP/s':>8}")
    for name, r in rows.items():
        mp = "–" if r["mp_per_s"] is None else f"{r['mp_per_s']:.4f}"
        say(
            f"{' ' * len(title)}  {name:<24} {r['images']:>3} {r['psnr_y']:>7.2f} {r['ssim_y']:>7.4f} "
            f"{r['lpips']:>6.3f} {mp:>8}"
        )
