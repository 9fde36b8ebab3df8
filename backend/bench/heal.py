"""``bench heal``: heal with texture against plain inpainting, G'MIC's patch inpainting and OpenCV's Telea, on
fixed holes in textured regions of BSD100.

Each hole is a seeded blob 40-60 px across at a named spot of a named image, chosen by what it is in (the
texture, before any tuning) and kept whatever it scores. Methods: ``inpaint`` (the network
alone), ``heal`` (the ring's detail, its share chosen per hole: ``auto_detail``), ``heal@F`` (at the share F of the
missing energy), ``heal-style`` (a style learned from each ring in ``seconds``, or a chosen one, its share chosen
per hole), ``gmic``, ``telea``. Per method and hole:

- ``psnr``: PSNR (dB, RGB, 8-bit levels) over the hole's pixels (the only ones any method changes).
- ``swd``: the sliced-Wasserstein distance (``texture_stats``: 64 seeded projections, the texture loss's layers
  relu1_2, relu3_1, relu4_2, mean over the layers) between the VGG-16 features of the result's hole and those of the
  original's ring (EDGE to RING px around the hole). The features are computed on the box holding the hole and its
  ring (the result's box, the original's box); a layer's samples are its positions whose centre pixel lies in the
  hole, respectively in the ring. Lower: the hole's texture is closer to its surroundings'. ``original_swd`` measures
  the untouched image the same way (what a perfect fill scores).

G'MIC: the Debian ``gmic`` command line's built-in patch-based ``inpaint`` (CImg's ``inpaint_patch``, the engine
of GIMP's "Inpaint [Patch-Based]" filter): patch 9, lookup 16, lookup factor 0.1, blend scales 10, outer blending.
Missing, its column is empty. Telea: ``cv2.inpaint`` radius 5.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..cleanup import AUTO_STRENGTH
from ..files import atomic_write, atomic_write_text
from ..heal import AFFORD, Hole, find_hole, heal
from ..imaging.io import read_image, write_image
from ..nets.vgg import WIDTHS, load_vgg
from ..paths import BENCHMARK_DIR
from ..runtime import load_net, load_style_model
from ..runtime.base import StyleModel
from ..styles import find_style
from ..tasks import get_task
from ..train.losses import LossLayers
from .texture_stats import directions, sorted_distance, sorted_projections

METHODS = ("inpaint", "heal", "heal-style", "gmic", "telea")
DETAILS = (0.5, 1.0)  # heal also at these fractions of the missing energy: the texture-for-PSNR trade
GMIC_ARGS = "9,16,0.1,1,0,0,0.05,10,1"  # patch, lookup size, lookup factor, increment, blend size/threshold/decay...
RADIUS = 25  # a hole's mean radius, px


@dataclass(frozen=True)
class Spot:
    """A hole: what it is in, BSD100's image, and its centre (x, y)."""

    texture: str
    image: str
    x: int
    y: int


SPOTS = (
    Spot("grass", "291000", 120, 262),
    Spot("foliage", "108070", 400, 60),
    Spot("gravel", "175043", 380, 230),
    Spot("pine needles", "175032", 90, 415),
    Spot("grain", "58060", 180, 140),
    Spot("straw", "163085", 90, 272),
    Spot("fabric stripes", "145086", 400, 250),
    Spot("bark", "109053", 450, 120),
)


def blob(size: tuple[int, int], x: int, y: int, seed: int, radius: float = RADIUS) -> np.ndarray:
    """H x W 0/1: a star-shaped blob around (x, y), its radius ``radius`` +- 20 % along a few seeded harmonics."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0 : size[0], 0 : size[1]].astype(np.float32)
    angle, dist = np.arctan2(yy - y, xx - x), np.hypot(yy - y, xx - x)
    edge = np.ones_like(angle)
    for k in (2, 3, 5):
        edge += rng.uniform(-0.08, 0.08) * np.sin(k * angle + rng.uniform(0, 2 * math.pi))
    return (dist <= radius * edge).astype(np.float32)


def psnr(result: np.ndarray, reference: np.ndarray, where: np.ndarray) -> float:
    """PSNR over the pixels ``where`` (H x W), RGB, on 8-bit levels."""
    a, b = np.round(result * 255), np.round(reference * 255)
    mse = float(((a - b)[..., where] ** 2).mean())
    return 10 * math.log10(255**2 / max(mse, 1e-10))


class TextureDistance:
    """SWD between the VGG features of a result's hole and of the original's ring (see the module's text)."""

    def __init__(self) -> None:
        self.vgg, self.layers = load_vgg(), LossLayers().texture
        self.dirs = {k: directions(WIDTHS[k - 1], seed=k) for k in self.layers}

    def _samples(self, image: np.ndarray, hole: Hole, where: np.ndarray) -> dict[int, torch.Tensor]:
        x0, y0, x1, y1 = hole.box
        with torch.no_grad():
            feats = self.vgg(torch.from_numpy(np.ascontiguousarray(image[..., y0:y1, x0:x1])), self.layers)
        out = {}
        for k, f in feats.items():
            stride = (y1 - y0) / f.shape[-2]
            cy = np.minimum(((np.arange(f.shape[-2]) + 0.5) * stride).astype(int), y1 - y0 - 1)
            cx = np.minimum(((np.arange(f.shape[-1]) + 0.5) * (x1 - x0) / f.shape[-1]).astype(int), x1 - x0 - 1)
            pick = torch.from_numpy(where[y0:y1, x0:x1][np.ix_(cy, cx)])
            out[k] = sorted_projections(f[0].permute(1, 2, 0)[pick], self.dirs[k])
        return out

    def __call__(self, result: np.ndarray, original: np.ndarray, hole: Hole) -> float:
        a, b = self._samples(result, hole, hole.mask), self._samples(original, hole, hole.ring)
        return sum(sorted_distance(a[k], b[k]) for k in self.layers) / len(self.layers)


def gmic_fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """G'MIC's patch-based inpainting of ``mask`` (H x W) in ``image``; None when ``gmic`` is not installed."""
    exe = shutil.which("gmic")
    if exe is None:
        return None
    with tempfile.TemporaryDirectory(prefix="retex-gmic-") as tmp:
        src, hole, out = Path(tmp) / "in.png", Path(tmp) / "mask.png", Path(tmp) / "out.png"
        write_image(src, image)
        write_image(hole, np.broadcast_to(mask, (1, 3, *mask.shape)))
        cmd = [exe, "-v", "-1", str(src), str(hole), "-channels[1]", "0", "-inpaint[0]", f"[1],{GMIC_ARGS}"]
        subprocess.run([*cmd, "-rm[1]", "-o", str(out)], check=True, capture_output=True, timeout=600)
        return read_image(out).rgb


def telea_fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """OpenCV's Telea inpainting (radius 5) on 8-bit levels."""
    import cv2

    bgr = np.round(image[0].transpose(1, 2, 0)[..., ::-1] * 255).astype(np.uint8)
    out = cv2.inpaint(np.ascontiguousarray(bgr), (mask > 0.5).astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
    return (out[..., ::-1].transpose(2, 0, 1)[None] / 255).astype(np.float32)


@dataclass
class HealBenchOptions:
    data: Path = BENCHMARK_DIR
    spots: tuple[Spot, ...] = SPOTS
    seconds: float = 90.0  # learning budget per hole (0: no heal-style)
    threads: int = 1
    style: str | None = None  # a chosen style instead of learning each ring's
    sheet: Path | None = Path("docs/heal.png")
    seed: int = 0  # the holes' shapes: spot i's blob is drawn with seed + i (other seeds: other shapes, same spots)


Learner = Callable[[np.ndarray, Hole], tuple[StyleModel, int]]  # (image, hole) -> (style, training steps)


def bench_heal(path: Path, opts: HealBenchOptions, learn: Learner) -> dict:
    """Measure every method on every spot; write the JSON at ``path`` (rewritten after each hole) and the sheet."""
    task = get_task("inpaint")
    inpaint = (task, load_net(task, AUTO_STRENGTH))
    chosen = load_style_model(find_style(opts.style)) if opts.style else None
    distance = TextureDistance()
    report: dict[str, Any] = {
        "kind": "heal",
        "command": f"python -m backend bench heal --json {path}" + (f" --seed {opts.seed}" if opts.seed else ""),
        "seed": opts.seed,
        "psnr": "RGB, 8-bit levels, over the hole",
        "swd": "texture_stats SWD, VGG-16 relu1_2/relu3_1/relu4_2: result's hole vs the original's ring",
        "detail": f"per hole: the share of the ring's detail adding {AFFORD:g} of the fill's expected error",
        "style": opts.style or f"learned from each ring: train-style, {opts.seconds:g} s, {opts.threads} thread(s)",
        "gmic": _gmic_version(),
        "holes": [],
    }
    rows = []
    t0 = time.monotonic()
    for index, spot in enumerate(opts.spots):
        original = read_image(opts.data / "BSD100" / "HR" / f"{spot.image}.png").rgb
        mask = blob(original.shape[-2:], spot.x, spot.y, seed=opts.seed + index)
        hole = find_hole(mask)
        healed = heal(original, mask, inpaint)
        results = {"inpaint": healed.inpainted, "heal": healed.image, "telea": telea_fill(original, mask)}
        for f in DETAILS:
            results[f"heal@{f:g}"] = heal(original, mask, inpaint, detail=f).image
        steps = 0
        if chosen or opts.seconds > 0:
            style, steps = (chosen, 0) if chosen else learn(original, hole)
            results["heal-style"] = heal(original, mask, inpaint, style).image
        gmic = gmic_fill(original, mask)
        if gmic is not None:
            results["gmic"] = gmic
        entry: dict[str, Any] = {
            "texture": spot.texture,
            "image": spot.image,
            "centre": [spot.x, spot.y],
            "pixels": int(hole.mask.sum()),
            "strength": round(healed.strength, 3),
            "detail": round(healed.detail, 3),
            "learning_steps": steps,
            "original_swd": distance(original, original, hole),
            "methods": {m: _scores(r, original, hole, distance) for m, r in results.items()},
        }
        report["holes"].append(entry)
        rows.append((spot, hole, original, results))
        report["mean"] = _means(report["holes"])
        report["seconds"] = round(time.monotonic() - t0, 1)
        atomic_write_text(path, json.dumps(report, indent=1) + "\n")
    if opts.sheet is not None:
        draw_sheet(opts.sheet, rows)
    return report


def _scores(result: np.ndarray, original: np.ndarray, hole: Hole, distance: TextureDistance) -> dict[str, float]:
    return {"psnr": psnr(result, original, hole.mask), "swd": distance(result, original, hole)}


def _means(holes: list[dict]) -> dict[str, dict[str, float]]:
    """Per method: the mean PSNR and SWD over the holes it ran on, and the SWD relative to plain inpainting's."""
    out = {}
    for m in (*METHODS, *(f"heal@{f:g}" for f in DETAILS)):
        got = [h for h in holes if m in h["methods"]]
        if got:
            out[m] = {k: sum(h["methods"][m][k] for h in got) / len(got) for k in ("psnr", "swd")}
            out[m]["swd_vs_inpaint"] = sum(h["methods"][m]["swd"] / h["methods"]["inpaint"]["swd"] for h in got) / len(
                got
            )
    return out


def _gmic_version() -> str | None:
    exe = shutil.which("gmic")
    if exe is None:
        print("gmic is not installed (apt-get install gmic): its column stays empty")
        return None
    done = subprocess.run([exe, "-version"], capture_output=True, text=True, timeout=60)
    found = re.search(r"\d+\.\d+\.\d+", done.stdout)
    return found.group(0) if found else "unknown"


def draw_sheet(path: Path, rows: list[tuple[Spot, Hole, np.ndarray, dict[str, np.ndarray]]]) -> None:
    """Per hole a row of its box, 2x: the hole (blanked), each method's fill, and the original (the ground truth)
    with the hole outlined."""
    from PIL import Image, ImageDraw

    cell, label = 2 * 128, 18
    names = ("hole", "inpaint", "heal", "heal-style", "gmic", "telea", "original")
    sheet = Image.new("RGB", (cell * len(names), (cell + label) * len(rows) + label), "white")
    pen = ImageDraw.Draw(sheet)
    for c, name in enumerate(names):
        pen.text((c * cell + 4, 2), name, fill="black")
    for r, (spot, hole, original, results) in enumerate(rows):
        x0, y0, x1, y1 = hole.box
        top = label + r * (cell + label)
        pen.text((4, top + 2), f"{spot.texture} ({spot.image})", fill="black")
        outline = hole.mask[y0:y1, x0:x1]
        edge = outline & ~np.pad(outline, 1)[2:, 1:-1] | outline & ~np.pad(outline, 1)[:-2, 1:-1]
        edge |= outline & ~np.pad(outline, 1)[1:-1, 2:] | outline & ~np.pad(outline, 1)[1:-1, :-2]
        for c, name in enumerate(names):
            if name not in ("hole", "original") and name not in results:
                continue
            crop = results.get(name, original)[0, :, y0:y1, x0:x1].transpose(1, 2, 0)
            rgb = np.round(np.clip(crop, 0, 1) * 255).astype(np.uint8).copy()
            if name == "original":
                rgb[edge] = (255, 255, 0)
            elif name == "hole":
                rgb[outline] = (255, 255, 255)
            tile = Image.fromarray(rgb)
            scale = cell / max(tile.size)
            tile = tile.resize((round(tile.size[0] * scale), round(tile.size[1] * scale)), Image.Resampling.NEAREST)
            sheet.paste(tile, (c * cell, top + label))
    atomic_write(path, lambda tmp: sheet.save(tmp, format="PNG"))
