"""Benchmark evaluation with the field's protocol, next to the baseline it must beat.

Super-resolution: HR cropped to a multiple of the scale, LR made with MATLAB bicubic and stored as 8 bits, border
of ``scale`` pixels ignored, PSNR/SSIM on BT.601 Y plus RGB PSNR; the baseline is bicubic upsampling. Other tasks:
the baseline is the degraded input itself; denoising keeps the noisy input unclipped (as DnCNN/FFDNet report).
Inpainting also reports PSNR over the hole pixels only, for the network and for OpenCV's Telea on the same masks.
Every degradation is seeded from the set name and image index, so numbers are reproducible.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..degrade.observe import DegradeParams, Observation, observe, quantize
from ..degrade.real import RW_GRID, rw_observe
from ..errors import RetexError
from ..imaging.colour import rgb_to_y
from ..imaging.io import list_images, read_image
from ..imaging.metrics import psnr, ssim
from ..manifest import update_manifest
from ..nets.restoration import RestorationNet
from ..paths import BENCHMARK_DIR
from ..pipeline import net_input, restore
from ..tasks import Task, base_of
from ..weights import default_path, load_restoration, read_tensors

DEFAULT_SETS = {
    "sr4": "Set5,Set14,BSD100",
    "sr2": "Set5,Set14,BSD100",
    "denoise": "CBSD68",
    "deblur": "BSD100",
    "inpaint": "BSD100",
    "photo": "Set14,BSD100",
    "photo-sr2": "Set14,BSD100",
    "photo-sr4": "Set14,BSD100",
}


@dataclass
class EvalConfig:
    sets: list[str] | None = None  # None: the task's default sets
    data: Path = field(default_factory=lambda: BENCHMARK_DIR)
    sigma: float = 25.0  # denoise, on 0..255
    blur_sigma: float = 2.0  # deblur, pixels
    blur_noise: float = 0.0  # deblur, on 0..255
    limit: int | None = None  # first N images per set (smoke runs)
    clean_inputs: bool = False  # photo models: the clean model's degradation instead of the RW grid

    def degrade_params(self) -> DegradeParams:
        return DegradeParams(sigma=self.sigma / 255, blur_sigma=self.blur_sigma, blur_noise=self.blur_noise / 255)


def _scores(out: torch.Tensor, ref: torch.Tensor, border: int) -> tuple[float, float, float]:
    if border:
        out, ref = out[..., border:-border, border:-border], ref[..., border:-border, border:-border]
    y_out, y_ref = rgb_to_y(out), rgb_to_y(ref)
    return psnr(y_out, y_ref, peak=255.0), ssim(y_out, y_ref), psnr(out, ref)


def _telea(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    import cv2

    img = (image[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    m = (mask[0, 0].numpy() > 0.5).astype(np.uint8) * 255
    out = cv2.inpaint(np.ascontiguousarray(img[..., ::-1]), m, 3, cv2.INPAINT_TELEA)[..., ::-1]
    return torch.from_numpy(out.copy()).permute(2, 0, 1)[None].float() / 255


def _observe(task: Task, clean: torch.Tensor, set_name: str, index: int, cfg: EvalConfig) -> Observation:
    """The seeded input for image ``index``: the RW grid for photo models, the task's own degradation otherwise."""
    if task.degradation == "real" and not cfg.clean_inputs:
        lr = rw_observe(clean[0].permute(1, 2, 0).numpy(), task.scale, set_name, index)
        return Observation(torch.from_numpy(lr).permute(2, 0, 1)[None].contiguous())
    if task.degradation == "real":
        task = base_of(task)
    gen = torch.Generator().manual_seed(zlib.crc32(f"{set_name}/{index}".encode()))
    return observe(task, clean, gen, cfg.degrade_params())


def evaluate_set(net: RestorationNet, task: Task, folder: Path, cfg: EvalConfig) -> dict:
    paths = list_images(folder)[: cfg.limit]
    if not paths:
        raise RetexError(f"no images in {folder}")
    border = task.scale if task.scale > 1 else 0
    rows = []
    for index, path in enumerate(paths):
        clean = torch.from_numpy(read_image(path).rgb)
        if task.scale > 1:
            h, w = clean.shape[-2:]
            clean = clean[..., : h - h % task.scale, : w - w % task.scale]
        obs = _observe(task, clean, folder.parent.name, index, cfg)
        out = quantize(restore(net, task, obs.image, obs.mask))
        baseline = quantize(net_input(task, obs.image)) if task.scale > 1 else obs.image
        row = dict(zip(("psnr_y", "ssim_y", "psnr_rgb"), _scores(out, clean, border), strict=True))
        base = _scores(baseline.clamp(0, 1) if task.scale > 1 else baseline, clean, border)
        row.update(baseline_psnr_y=base[0], baseline_ssim_y=base[1], baseline_psnr_rgb=base[2])
        if task.uses_mask:
            row["hole_psnr_rgb"] = psnr(out, clean, mask=obs.mask)
            hole = obs.mask
            assert hole is not None  # an inpainting observation comes with its hole mask
            row["telea_hole_psnr_rgb"] = psnr(_telea(obs.image, hole), clean, mask=hole)
            row["hole_fraction"] = float(hole.mean())
        rows.append(row)
    summary: dict[str, float] = {"images": len(rows)}
    for key in rows[0]:
        summary[key] = round(float(np.mean([r[key] for r in rows])), 4)
    return summary


def evaluate(
    task: Task,
    cfg: EvalConfig,
    weights: Path | None = None,
    json_path: Path | None = None,
    update_manifest: bool = False,
) -> dict:
    """Evaluate the task's network on each benchmark set; optionally write JSON and record it in the manifest."""
    weights = weights or default_path(task)
    net = load_restoration(weights, task)
    sets = cfg.sets or DEFAULT_SETS[task.name].split(",")
    report: dict[str, Any] = {
        "task": task.name,
        "params": net.parameter_count(),
        "macs_per_pixel": round(net.macs_per_pixel()),
        "weights": str(weights),
        "degradation": _describe(task, cfg),
        "sets": {},
    }
    for name in sets:
        folder = cfg.data / name / "HR"
        if not folder.is_dir():
            raise RetexError(f"benchmark set '{name}' not found (expected {folder})")
        real = task.degradation == "real" and not cfg.clean_inputs
        report["sets"][f"RW-{name}" if real else name] = evaluate_set(net, task, folder, cfg)
    if task.degradation == "real" and not cfg.clean_inputs and "Set14" in sets:
        # Clean inputs must not be harmed: the clean model's own protocol, beside the RW scores.
        clean_cfg = replace(cfg, clean_inputs=True)
        report["sets"]["Set14 (clean)"] = evaluate_set(net, task, cfg.data / "Set14" / "HR", clean_cfg)
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2) + "\n")
    if update_manifest:
        _record(task, net, weights, report)
    return report


def _describe(task: Task, cfg: EvalConfig) -> dict:
    if task.degradation == "real" and not cfg.clean_inputs:
        return {"scale": task.scale, "rw_grid": [g.name for g in RW_GRID], "see": "backend/degrade/real.py RW_GRID"}
    if task.degradation == "real":
        task = base_of(task)
    if task.scale > 1:
        return {"scale": task.scale, "resize": "MATLAB bicubic, 8-bit LR"}
    if task.name == "denoise":
        return {"sigma": cfg.sigma, "clipped": False}
    if task.name == "deblur":
        return {"blur_sigma": cfg.blur_sigma, "noise_sigma": cfg.blur_noise}
    return {"holes": "random strokes and blobs, 5-30 % of the image", "telea_radius": 3}


def _record(task: Task, net: RestorationNet, weights: Path, report: dict) -> None:
    _, meta = read_tensors(weights)
    info = json.loads(meta.get("info", "{}"))
    update_manifest(
        task.name,
        {
            "file": weights.name,
            "task": task.name,
            "scale": task.scale,
            "params": report["params"],
            "macs_per_pixel": report["macs_per_pixel"],
            "training_data": "T91 + BSD200 (shared/data/train)",
            "iterations": info.get("iterations"),
            "eval": {"degradation": report["degradation"], "sets": report["sets"]},
        },
    )


def print_table(report: dict) -> None:
    print(f"{report['task']}: {report['params']} parameters, {report['macs_per_pixel']} MACs/pixel")
    keys = ["psnr_y", "ssim_y", "psnr_rgb", "baseline_psnr_y", "baseline_psnr_rgb"]
    extra = [k for k in ("hole_psnr_rgb", "telea_hole_psnr_rgb") if any(k in s for s in report["sets"].values())]
    print(f"{'set':<14} {'n':>4} " + " ".join(f"{k:>17}" for k in keys + extra) + f" {'gain_y':>7}")
    for name, s in report["sets"].items():
        cells = " ".join(f"{s[k]:>17.3f}" for k in keys + extra)
        print(f"{name:<14} {s['images']:>4} {cells} {s['psnr_y'] - s['baseline_psnr_y']:>+7.2f}")


def manifest_markdown(manifest: dict) -> str:
    """The shipped models and their recorded scores as a Markdown table (for weights/README.md)."""
    lines = [
        "| model | params | MACs/px | iterations | set | PSNR-Y | SSIM-Y | PSNR-RGB | baseline PSNR-Y"
        " | baseline PSNR-RGB | gain Y | hole PSNR (ours / Telea) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in sorted(manifest.get("models", {}).items()):
        ev = m.get("eval", {})
        for set_name, s in ev.get("sets", {}).items():
            holes = f"{s['hole_psnr_rgb']:.2f} / {s['telea_hole_psnr_rgb']:.2f}" if "hole_psnr_rgb" in s else ""
            lines.append(
                f"| {name} {_short(ev.get('degradation', {}))} | {m['params']} | {m['macs_per_pixel']} |"
                f" {m.get('iterations')} | {set_name} | {s['psnr_y']:.2f} | {s['ssim_y']:.4f} | {s['psnr_rgb']:.2f} |"
                f" {s['baseline_psnr_y']:.2f} | {s['baseline_psnr_rgb']:.2f} |"
                f" {s['psnr_y'] - s['baseline_psnr_y']:+.2f} | {holes} |"
            )
    return "\n".join(lines)


def _short(degradation: dict) -> str:
    keys = ("sigma", "blur_sigma", "noise_sigma")
    return " ".join(f"{k}={degradation[k]:g}" for k in keys if k in degradation)
