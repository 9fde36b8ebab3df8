"""Style evaluation on content no style was trained on (default BSD100, after the ``sr4`` restoration).

Per image: the clean image is degraded and restored with the task's shipped model (M), the style is applied at
strength 1 over the whole image (Z). ``gram_ratio`` = sum over images of the texture loss to the exemplar of Z
divided by the same sum for M (below 1: the output moved toward the exemplar's texture); ``perc_ratio`` = the same
ratio for the perceptual distance to the clean image (how much of the content's look the texture costs);
``swd_ratio`` = the same ratio for the sliced-Wasserstein distance between the VGG feature distributions of the
image and of the exemplar on the texture loss's layers (``texture_stats``: a second fidelity measure that sees the
features' histograms, not only their second moments), with ``swd`` and ``swd_restored`` the mean SWD per image of Z
and of M. Residual
statistics at strengths 0, 0.5, 1, 2 are measured on the residual actually added (before clamping): the largest
per-channel |mean| over the images and the mean standard deviation. The restoration result is computed once per
image and shared by every style evaluated in the same run.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import torch

from ..degrade.observe import observe
from ..errors import RetexError
from ..imaging.io import list_images, read_image
from ..nets.restoration import RestorationNet
from ..nets.vgg import WIDTHS, load_vgg
from ..paths import BENCHMARK_DIR, SHARED
from ..pipeline import process, style_residual
from ..runtime.base import StyleModel
from ..styles import find_style, load_style_file
from ..stylize import StyleSlot, compose, normalize
from ..tasks import Task, get_task
from ..train.losses import LossLayers, StyleLosses, perceptual_loss
from ..train.style import prepare_exemplar
from ..weights import default_path, load_restoration
from .texture_stats import SlicedWasserstein

STRENGTHS = (0.0, 0.5, 1.0, 2.0)


def _given(residual: torch.Tensor, _net: StyleModel) -> torch.Tensor:
    """``compose``'s residual callback for a residual already computed."""
    return residual


def exemplar_path(info: dict) -> Path:
    """Where a style's exemplar is: a path relative to the shared data folder, or absolute."""
    raw = info.get("exemplar")
    if not raw:
        raise RetexError("the style records no exemplar; pass --exemplar")
    path = Path(raw)
    return path if path.is_absolute() else SHARED / "data" / path


def _r_squared(xs: list[float], ys: list[float]) -> float:
    """R^2 of the least-squares line through (xs, ys)."""
    x, y = torch.tensor(xs, dtype=torch.float64), torch.tensor(ys, dtype=torch.float64)
    a = torch.stack([x, torch.ones_like(x)], 1)
    fit = a @ torch.linalg.lstsq(a, y[:, None]).solution
    ss_res = float(((y[:, None] - fit) ** 2).sum())
    ss_tot = float(((y - y.mean()) ** 2).sum())
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0


def vgg_bf16() -> bool:
    """Whether the VGG features are measured in bf16: where the CPU does it natively (3.4x faster here); Gram
    matrices and sums stay float32. Same machine, same numbers; reports record which precision measured them."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def contents(
    restoration: tuple[Task, RestorationNet] | None, set_name: str, paths: list[Path]
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(clean, restored) per image, as every style is evaluated on: the clean image cropped to the task's scale,
    degraded with a seed fixed per image and restored by the task's network (the clean image itself for none)."""
    for index, path in enumerate(paths):
        clean = torch.from_numpy(read_image(path).rgb)
        if restoration is None:
            yield clean, clean
            continue
        task = restoration[0]
        h, w = clean.shape[-2:]
        clean = clean[..., : h - h % task.scale, : w - w % task.scale]
        obs = observe(task, clean, torch.Generator().manual_seed(zlib.crc32(f"{set_name}/{index}".encode())))
        yield clean, process(obs.image, restoration, [], obs.mask)


def evaluate_styles(
    names: list[str],
    task_name: str = "sr4",
    sets: list[str] | None = None,
    data: Path = BENCHMARK_DIR,
    limit: int | None = None,
    exemplar: Path | None = None,
) -> dict[str, dict]:
    """``{style: report}`` with the report layout of the ``eval-style`` command."""
    task = get_task(task_name) if task_name != "none" else None
    restoration = (task, load_restoration(default_path(task), task)) if task else None
    vgg, layers = load_vgg(), LossLayers()
    bf16 = vgg_bf16()

    def features(x: torch.Tensor, which: tuple[int, ...]) -> dict[int, torch.Tensor]:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            return vgg(x, which)

    sliced = SlicedWasserstein({k: WIDTHS[k - 1] for k in layers.texture})
    styles = {}
    for name in names:
        net, info = load_style_file(find_style(name))
        ex = prepare_exemplar(torch.from_numpy(read_image(exemplar or exemplar_path(info)).rgb), net.config.scale)
        with torch.no_grad():
            target = sliced.profile(features(ex, layers.texture))
        styles[name] = (net, StyleLosses(vgg, layers, ex), target)
    reports: dict[str, dict[str, Any]] = {
        name: {"style": name, "task": task_name, "vgg_precision": "bf16" if bf16 else "fp32", "sets": {}}
        for name in names
    }
    for set_name in sets or ["BSD100"]:
        folder = data / set_name / "HR"
        paths = list_images(folder)[:limit] if folder.is_dir() else []
        if not paths:
            raise RetexError(f"benchmark set '{set_name}' not found or empty (expected images in {folder})")
        keys = ("tex_z", "tex_m", "perc_z", "perc_m", "swd_z", "swd_m")
        sums = {n: dict.fromkeys(keys, 0.0) for n in names}
        res_mean = {n: dict.fromkeys(STRENGTHS, 0.0) for n in names}
        res_std = {n: dict.fromkeys(STRENGTHS, 0.0) for n in names}
        for clean, base in contents(restoration, set_name, paths):
            with torch.no_grad():  # the style runs in float32 exactly as in the product; only VGG may use bf16
                ref = features(clean, layers.perceptual)
                feats_m = features(base, layers.all)
                perc_m = float(perceptual_loss({k: feats_m[k] for k in layers.perceptual}, ref).sum())
                profile_m = sliced.profile(feats_m)  # shared by every style: the same directions
                for name, (net, losses, target) in styles.items():
                    raw = style_residual(net, base)
                    z = compose(base, [StyleSlot(net, 1.0)], partial(_given, raw))
                    feats_z = features(z, layers.all)
                    sums[name]["tex_z"] += float(losses.texture(feats_z).sum())
                    sums[name]["tex_m"] += float(losses.texture(feats_m).sum())
                    sums[name]["perc_z"] += float(
                        perceptual_loss({k: feats_z[k] for k in layers.perceptual}, ref).sum()
                    )
                    sums[name]["perc_m"] += perc_m
                    sums[name]["swd_z"] += sliced.distance(sliced.profile(feats_z), target)
                    sums[name]["swd_m"] += sliced.distance(profile_m, target)
                    for s in STRENGTHS:
                        r = normalize(raw, None, s * net.nominal) if s > 0 else torch.zeros_like(raw)
                        mean = float(r.mean(dim=(2, 3)).abs().max())
                        res_mean[name][s] = max(res_mean[name][s], mean)
                        res_std[name][s] += float(r.std()) / len(paths)
        for name in names:
            t = sums[name]
            stds = [res_std[name][s] for s in STRENGTHS]
            reports[name]["sets"][set_name] = {
                "images": len(paths),
                "gram_ratio": round(t["tex_z"] / max(t["tex_m"], 1e-12), 4),
                "perc_ratio": round(t["perc_z"] / max(t["perc_m"], 1e-12), 4),
                "swd_ratio": round(t["swd_z"] / max(t["swd_m"], 1e-12), 4),
                "swd": round(t["swd_z"] / len(paths), 5),
                "swd_restored": round(t["swd_m"] / len(paths), 5),
                "residual_mean": {str(s): round(v, 7) for s, v in res_mean[name].items()},
                "residual_std": {str(s): round(v, 6) for s, v in res_std[name].items()},
                "std_linearity_r2": round(_r_squared(list(STRENGTHS), stds), 6),
            }
    return reports


def write_json(report: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def styles_markdown(manifest: dict) -> str:
    """The shipped styles and their recorded scores as a Markdown table (for weights/README.md)."""
    tasks = ("sr4", "denoise", "deblur")
    lines = [
        "| style | scale | params | MACs/px | train min (steps) | exemplar | gram ratio sr4 / denoise / deblur "
        "| SWD ratio sr4 / denoise / deblur | perc ratio sr4 | residual std at 0 / 0.5 / 1 / 2 (R²) | max abs mean |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in sorted(manifest.get("styles", {}).items(), key=lambda kv: (kv[1].get("scale"), kv[0])):
        ev: dict[str, Any] = {t: next(iter(s.get("eval", {}).get(t, {}).values()), None) for t in tasks}
        grams = " / ".join(f"{ev[t]['gram_ratio']:.3f}" if ev[t] else "–" for t in tasks)
        swds = " / ".join(f"{ev[t]['swd_ratio']:.3f}" if ev[t] and "swd_ratio" in ev[t] else "–" for t in tasks)
        sr4 = ev["sr4"] or {}
        stds = " / ".join(f"{v:.4f}" for v in sr4.get("residual_std", {}).values())
        mean = max(sr4.get("residual_mean", {"": 0}).values())
        lines.append(
            f"| {name} | {s['scale']} | {s['params']} | {s['macs_per_pixel']} | {s.get('train_minutes')} "
            f"({s.get('iterations')}) | {s.get('exemplar')} | {grams} | {swds} | {sr4.get('perc_ratio', '–')} "
            f"| {stds} ({sr4.get('std_linearity_r2', '–')}) | {mean:.1e} |"
        )
    return "\n".join(lines)
