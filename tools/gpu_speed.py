"""The GPU speed run of tools/gpu-speed.sh: every shipped restoration model through the real pipeline (tiles of 512,
as the service runs them) on torch CUDA at fp32, fp16 and bf16, and on ONNX Runtime's CUDA provider when the
machine's onnxruntime has it (fp32: the shipped graphs), at 1, 4 and 16 output megapixels; then whether a 24 MP
image fits as one tile (the out-of-memory fallback, smaller tiles then the CPU, says so when it does not). The JSON
is rewritten after every measurement, so a run cut short keeps what it measured; a time budget stops it in time.

Usage: python tools/gpu_speed.py OUT.json [--device cuda] [--sizes 1,4,16] [--precisions fp32,fp16,bf16]
[--models sr4,denoise] [--budget SECONDS] [--fit 24]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
import traceback
from contextlib import nullcontext
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.paths import WEIGHTS_DIR  # noqa: E402
from backend.pipeline import net_input, restore, run_padded  # noqa: E402
from backend.runtime import load_restoration_model  # noqa: E402
from backend.runtime.base import RestorationModel  # noqa: E402
from backend.tasks import TASKS, Task, get_task  # noqa: E402

ORDER = ("sr4", "denoise", "sr2", "inpaint", "deblur", "photo", "photo-sr4", "photo-sr2")  # most asked-for first


def picture(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32) / max(h, w)
    rgb = np.stack([0.5 + 0.4 * np.sin(6 * xx), 0.5 + 0.4 * np.cos(5 * yy), 0.3 + 0.5 * xx * yy])
    return np.clip(rgb + rng.normal(0, 0.05, rgb.shape).astype(np.float32), 0, 1)[None]


def sides(task: Task, megapixels: float) -> tuple[int, int]:
    """Input sides (3:2) whose output has about ``megapixels``."""
    pixels = megapixels * 1e6 / task.scale**2
    w = int(round((pixels * 1.5) ** 0.5 / 16)) * 16
    return max(16, int(round(w / 1.5 / 16)) * 16), w


def mask_for(task: Task, h: int, w: int) -> np.ndarray | None:
    if not task.uses_mask:
        return None
    mask = np.zeros((1, 1, h, w), np.float32)
    mask[..., h // 4 : h // 2, w // 4 : w // 2] = 1
    return mask


class Run:
    """One model on one runtime and precision: timed pipeline runs, CUDA memory peak, what went wrong."""

    def __init__(self, torch_mod, model: RestorationModel, task: Task, precision: str, device: str) -> None:
        self.torch, self.model, self.task, self.precision, self.device = torch_mod, model, task, precision, device

    def __call__(self, image: np.ndarray, mask: np.ndarray | None, tile: int = 512) -> tuple[float, list[str]]:
        torch = self.torch
        dtypes = {"fp16": torch.float16, "bf16": torch.bfloat16}
        autocast = (
            torch.autocast(self.device, dtype=dtypes[self.precision]) if self.precision in dtypes else nullcontext()
        )
        notices: list[str] = []
        if self.device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with autocast:
            if tile == 512:
                restore(self.model, self.task, image, mask)
            else:  # the whole image as one tile: where the out-of-memory fallback shows
                run_padded(self.model, net_input(self.task, image, mask), tile=tile, on_notice=notices.append)
        if self.device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start, notices


def machine(torch_mod) -> dict:
    info: dict = {"python": platform.python_version(), "torch": torch_mod.__version__}
    if torch_mod.cuda.is_available():
        props = torch_mod.cuda.get_device_properties(0)
        info |= {"gpu": props.name, "gpu_memory_gb": round(props.total_memory / 2**30, 1)}
        info["bf16"] = bool(torch_mod.cuda.is_bf16_supported())
    if importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
        info["onnxruntime_providers"] = onnxruntime.get_available_providers()
    else:
        info["onnxruntime"] = None
    return info


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("json", type=Path)
    p.add_argument("--device", default="cuda")
    p.add_argument("--sizes", default="1,4,16")
    p.add_argument("--precisions", default="fp32,fp16,bf16")
    p.add_argument("--models", default=",".join(ORDER))
    p.add_argument("--budget", type=float, default=420.0, help="seconds; what is left unmeasured is listed")
    p.add_argument("--fit", type=float, default=24.0, help="megapixels of the one-tile run (0: none)")
    args = p.parse_args()
    import torch

    start = time.perf_counter()
    sizes = [float(s) for s in args.sizes.split(",")]
    models = [m for m in args.models.split(",") if m in TASKS and (WEIGHTS_DIR / f"{m}.safetensors").is_file()]
    report: dict = {
        "kind": "gpu-speed",
        "machine": machine(torch),
        "device": args.device,
        "tile": 512,
        "sizes_mp": sizes,
        "unit": "output megapixels per second through backend.pipeline.restore (tiles of 512), median of 3",
        "runs": [],
        "fit": [],
        "skipped": [],
        "errors": [],
    }
    runtimes = [("torch", prec) for prec in args.precisions.split(",")]
    providers = report["machine"].get("onnxruntime_providers") or []
    ort_device = {"cuda": "CUDAExecutionProvider"}.get(args.device, "CPUExecutionProvider")
    if ort_device in providers:
        runtimes.append(("onnx", "fp32"))
        report["onnxruntime_cuda"] = f"measured on {ort_device} (fp32 graphs)"
    else:
        why = "onnxruntime is not installed" if report["machine"]["onnxruntime"] is None else f"no {ort_device}"
        report["onnxruntime_cuda"] = f"not measured: {why} here (install onnxruntime-gpu to measure it)"

    def save() -> None:
        report["seconds"] = round(time.perf_counter() - start, 1)
        args.json.write_text(json.dumps(report, indent=2) + "\n")

    save()
    for name in models:
        task = get_task(name)
        for runtime, precision in runtimes:
            label = f"{name} {runtime} {precision}"
            if time.perf_counter() - start > args.budget:
                report["skipped"].append(label)
                continue
            try:
                model = load_restoration_model(WEIGHTS_DIR / f"{name}.safetensors", task, runtime, args.device)
                run = Run(torch, model, task, precision, args.device if runtime == "torch" else "cpu")
                for mp in sizes:
                    h, w = sides(task, mp)
                    image, mask = picture(h, w), mask_for(task, h, w)
                    run(image[..., :64, :64], None if mask is None else mask[..., :64, :64])  # warm-up
                    if args.device == "cuda":
                        torch.cuda.reset_peak_memory_stats()
                    times = sorted(run(image, mask)[0] for _ in range(3))
                    out_mp = h * w * task.scale**2 / 1e6
                    entry = {"model": name, "runtime": runtime, "on": model.device, "precision": precision}
                    entry["output_mp"] = round(out_mp, 2)
                    entry |= {"seconds": round(times[1], 4), "mp_per_s": round(out_mp / times[1], 3)}
                    if args.device == "cuda" and runtime == "torch":
                        entry["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
                    report["runs"].append(entry)
                    print(json.dumps(entry), flush=True)
                    save()
            except Exception as e:  # one model's failure is recorded, the rest still measured
                report["errors"].append({"run": label, "error": f"{type(e).__name__}: {e}"[:500]})
                traceback.print_exc()
                save()
    if args.fit:
        for name in models:
            task = get_task(name)
            if time.perf_counter() - start > args.budget:
                report["skipped"].append(f"{name} fit {args.fit} MP")
                continue
            h, w = sides(task, args.fit)
            try:
                model = load_restoration_model(WEIGHTS_DIR / f"{name}.safetensors", task, "torch", args.device)
                if args.device == "cuda":
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
                precision = "bf16" if args.device == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
                seconds, notices = Run(torch, model, task, precision, args.device)(
                    picture(h, w), mask_for(task, h, w), tile=max(h, w) * task.scale
                )
                entry = {"model": name, "output_mp": round(h * w * task.scale**2 / 1e6, 1), "precision": precision}
                entry |= {"one_tile": not notices, "notices": notices, "seconds": round(seconds, 2)}
                if args.device == "cuda":
                    entry["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
            except Exception as e:
                entry = {"model": name, "fits": False, "error": f"{type(e).__name__}: {e}"[:500]}
            report["fit"].append(entry)
            print(json.dumps(entry), flush=True)
            save()
    report["complete"] = not report["skipped"]
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
