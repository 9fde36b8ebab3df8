"""One degradation operator per task: clean image -> what a user would hand us (the observation).

Observations are what the pipeline takes as input, so training, evaluation and the command line share one path:
for super-resolution the observation is the small image (the pipeline upsamples it), for inpainting it comes with
its hole mask. Random parameters are drawn from a ``torch.Generator`` so evaluation runs are reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..imaging.filters import gaussian_blur
from ..imaging.resize import imresize
from ..tasks import Task
from .real import RealDegradation, degrade_batch

NOISE_RANGE = (0.0, 50.0 / 255)  # denoise: blind over sigma in this range
BLUR_RANGE = (0.5, 3.0)  # deblur: Gaussian blur sigma (pixels)
BLUR_NOISE_MAX = 2.0 / 255  # deblur: added noise sigma at most this
HOLE_RANGE = (0.05, 0.30)  # inpaint: fraction of the image covered by holes


@dataclass
class Observation:
    image: torch.Tensor  # N x 3 x h x w in [0, 1] (noise may leave it slightly outside)
    mask: torch.Tensor | None = None  # N x 1 x h x w, 1 = missing pixel (inpainting only)


@dataclass(frozen=True)
class DegradeParams:
    """Fixed degradation parameters for evaluation; None draws them per image from the training range."""

    sigma: float | None = None  # denoise noise sigma on [0, 1]
    blur_sigma: float | None = None  # deblur kernel sigma in pixels
    blur_noise: float | None = None  # deblur noise sigma on [0, 1]
    real: RealDegradation = RealDegradation()  # photo models: the training pipeline, or one RW benchmark setting


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round to 8-bit levels, as an image file would."""
    return torch.round(x.clamp(0, 1) * 255) / 255


def _uniform(gen: torch.Generator, lo: float, hi: float, n: int) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def random_hole_mask(h: int, w: int, rng: np.random.Generator, coverage: float | None = None) -> np.ndarray:
    """Random strokes and blobs covering ``coverage`` of the image (drawn from HOLE_RANGE when None).

    Returns a float32 h x w array, 1 inside the holes.
    """
    target = rng.uniform(*HOLE_RANGE) if coverage is None else coverage
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    side = math.sqrt(h * w)
    covered = 0.0
    while covered < target:
        if rng.random() < 0.6:  # a brush stroke: a few joined segments
            width = int(max(2, rng.uniform(0.02, 0.08) * side))
            pts = [(rng.uniform(0, w), rng.uniform(0, h))]
            for _ in range(int(rng.integers(1, 5))):
                angle, length = rng.uniform(0, 2 * math.pi), rng.uniform(0.1, 0.4) * side
                x, y = pts[-1]
                pts.append((x + length * math.cos(angle), y + length * math.sin(angle)))
            draw.line(pts, fill=255, width=width, joint="curve")
        else:  # a blob
            rx, ry = rng.uniform(0.02, 0.12, size=2) * side
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
        covered = float(np.asarray(canvas, dtype=np.float32).mean() / 255)
    return (np.asarray(canvas) > 127).astype(np.float32)


def observe(
    task: Task, clean: torch.Tensor, gen: torch.Generator, params: DegradeParams = DegradeParams()
) -> Observation:
    """Degrade a batch of clean images (N x 3 x H x W, H and W multiples of task.scale) for ``task``."""
    n = clean.shape[0]
    if task.degradation == "real":
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        return Observation(degrade_batch(clean, task.scale, params.real, rng))
    if task.name in ("sr2", "sr4"):
        return Observation(quantize(imresize(clean, 1.0 / task.scale)))
    if task.name == "denoise":
        sigma = torch.full((n,), params.sigma) if params.sigma is not None else _uniform(gen, *NOISE_RANGE, n)
        noise = torch.randn(clean.shape, generator=gen, dtype=clean.dtype)
        return Observation(clean + sigma.view(n, 1, 1, 1).to(clean) * noise.to(clean.device))
    if task.name == "deblur":
        blur = [params.blur_sigma] * n if params.blur_sigma is not None else _uniform(gen, *BLUR_RANGE, n).tolist()
        nsig = (
            torch.full((n,), params.blur_noise)
            if params.blur_noise is not None
            else _uniform(gen, 0.0, BLUR_NOISE_MAX, n)
        )
        blurred = torch.cat([gaussian_blur(clean[i : i + 1], float(s)) for i, s in enumerate(blur)])
        noise = torch.randn(clean.shape, generator=gen, dtype=clean.dtype).to(clean.device)
        return Observation(quantize(blurred + nsig.view(n, 1, 1, 1).to(clean) * noise))
    if task.name == "inpaint":
        rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
        h, w = clean.shape[-2:]
        mask = torch.from_numpy(np.stack([random_hole_mask(h, w, rng) for _ in range(n)]))[:, None]
        mask = mask.to(clean)
        return Observation(clean * (1 - mask), mask)
    raise ValueError(f"no degradation for task {task.name}")
