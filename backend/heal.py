"""Heal with texture: inpaint a hole, then texture the fill like its surroundings, so grass is filled with grass.

The inpainting network alone gives a smooth smudge (it cannot invent texture). Healing adds a style's zero-mean
residual inside the hole, with a soft edge, at the strength that gives the hole the high-pass energy of the ring
around it (what the smudge lacks), so the fill's low frequencies (and most of its PSNR) stay the inpainting's.

The texture is a chosen style, or one learned from the ring (the caller trains it: training is a tool, and this
module runs in the service). ``ring_exemplar`` gives the trainer the ring: a mosaic of square crops, each lying
wholly outside the hole and its soft edge and within ``RING`` px of the hole, so only the surroundings are learned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import RetexError
from .pipeline import process
from .runtime.base import RestorationModel, StyleModel
from .stylize import MAX_STRENGTH, StyleSlot
from .tasks import Task

RING = 32  # px around the hole whose texture the fill learns and matches
EDGE = 4  # the texture fades out over this many px outside the hole (0 from EDGE px on)
PATCH = 32  # side of the ring's crops that make the exemplar
EXEMPLAR = 128  # side of the exemplar mosaic (4 x 4 crops)
MIN_CROPS = 4  # distinct crop positions the ring must hold
BLUR = 2  # the high-pass energy is measured above a (2 BLUR + 1)-px box blur, twice


@dataclass
class Hole:
    """A hole and its surroundings, all H x W: the hole, its soft edge's weight (1 in the hole, falling to 0 at
    EDGE px outside), the ring (EDGE to RING px outside) and the box (x0, y0, x1, y1) holding all three."""

    mask: np.ndarray
    soft: np.ndarray
    ring: np.ndarray
    box: tuple[int, int, int, int]


@dataclass
class Healed:
    """A heal's result (the whole image), the inpainting alone, and the strength the texture was given."""

    image: np.ndarray
    inpainted: np.ndarray
    strength: float


def _distance(mask: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Euclidean distance (px) from each pixel of ``box`` to the nearest hole pixel; 0 in the hole."""
    x0, y0, x1, y1 = box
    inner = mask[y0:y1, x0:x1]
    padded = np.pad(inner, 1)
    edge = inner & ~(padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    ey, ex = np.nonzero(edge)
    yy, xx = np.mgrid[0 : y1 - y0, 0 : x1 - x0]
    best = np.full(inner.shape, np.inf, dtype=np.float32)
    for start in range(0, len(ey), 256):  # boundary pixels in chunks: memory stays at box x 256 floats
        dy = yy[..., None] - ey[None, None, start : start + 256]
        dx = xx[..., None] - ex[None, None, start : start + 256]
        best = np.minimum(best, np.sqrt(dy * dy + dx * dx).min(axis=-1))
    return np.where(inner, 0, best).astype(np.float32)


def find_hole(mask: np.ndarray) -> Hole:
    """The hole of a 0/1 mask (H x W, or N x 1 x H x W) with its soft edge and ring; a mask with no hole, or one that
    leaves no ring to learn from, is an error."""
    hole = np.asarray(mask).reshape(mask.shape[-2:]) > 0.5
    H, W = hole.shape
    if not hole.any():
        raise RetexError("the mask has no hole to heal (white = pixels to fill)")
    if hole.all():
        raise RetexError("the mask covers the whole image: nothing around the hole to learn its texture from")
    ys, xs = np.nonzero(hole)
    box = (max(0, xs.min() - RING), max(0, ys.min() - RING), min(W, xs.max() + 1 + RING), min(H, ys.max() + 1 + RING))
    dist = _distance(hole, box)
    x0, y0, x1, y1 = box
    soft, ring = np.zeros((H, W), np.float32), np.zeros((H, W), bool)
    soft[y0:y1, x0:x1] = np.clip(1 - dist / EDGE, 0, 1)
    ring[y0:y1, x0:x1] = (dist > EDGE) & (dist <= RING)
    return Hole(hole, soft, ring, box)


def crop_positions(hole: Hole, patch: int = PATCH) -> list[tuple[int, int]]:
    """Top-left corners (y, x) of the ``patch``-px squares inside the ring's box that touch neither the hole nor its
    soft edge and lie mostly in the ring (at least half their pixels), on a 4-px grid."""
    x0, y0, x1, y1 = hole.box
    blocked = (hole.soft > 0)[y0:y1, x0:x1]
    ring = hole.ring[y0:y1, x0:x1]
    # integral images: a square's count of blocked and ring pixels in O(1)
    bi = np.pad(blocked.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    ri = np.pad(ring.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    out = []
    for y in range(0, y1 - y0 - patch + 1, 4):
        for x in range(0, x1 - x0 - patch + 1, 4):

            def count(ii: np.ndarray, y: int = y, x: int = x) -> int:
                return int(ii[y + patch, x + patch] - ii[y, x + patch] - ii[y + patch, x] + ii[y, x])

            if count(bi) == 0 and 2 * count(ri) >= patch * patch:
                out.append((y0 + y, x0 + x))
    return out


def ring_exemplar(image: np.ndarray, hole: Hole, seed: int = 0) -> np.ndarray:
    """1 x 3 x EXEMPLAR x EXEMPLAR: a mosaic of PATCH-px crops of ``image`` (N x 3 x H x W) drawn (seeded) from the
    ring, what the texture is learned from. Too thin a ring (near the image's border) is an error."""
    positions = crop_positions(hole)
    if len(positions) < MIN_CROPS:
        raise RetexError(
            f"too little texture around the hole: the ring of {RING} px around it holds {len(positions)} clean "
            f"{PATCH}-px squares, {MIN_CROPS} are needed (a smaller selection, or one farther from the image's edge)"
        )
    per_side = EXEMPLAR // PATCH
    pick = np.random.default_rng(seed).choice(len(positions), per_side * per_side, replace=len(positions) < 16)
    rows = []
    for r in range(per_side):
        row = [image[0, :, y : y + PATCH, x : x + PATCH] for y, x in (positions[i] for i in pick[r::per_side])]
        rows.append(np.concatenate(row, axis=-1))
    return np.concatenate(rows, axis=-2)[None].astype(np.float32)


def _box_blur(x: np.ndarray, r: int) -> np.ndarray:
    """Mean over a (2r + 1)-px square, edges replicated."""
    p = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(r, r), (r, r)], mode="edge")
    c = np.pad(p.cumsum(-2).cumsum(-1), [(0, 0)] * (x.ndim - 2) + [(1, 0), (1, 0)])
    k = 2 * r + 1
    return (c[..., k:, k:] - c[..., :-k, k:] - c[..., k:, :-k] + c[..., :-k, :-k]) / (k * k)


def high_pass_energy(image: np.ndarray, where: np.ndarray) -> float:
    """Mean squared high-pass value of ``image`` (N x 3 x H x W) over the pixels ``where`` (H x W bool), the three
    channels together: the texture's energy that a smooth fill lacks."""
    hp = image - _box_blur(_box_blur(image, BLUR), BLUR)
    return float((hp[..., where] ** 2).mean())


def heal(
    image: np.ndarray,
    mask: np.ndarray,
    inpaint: tuple[Task, RestorationModel],
    style: StyleModel,
    seed: int = 0,
    energy: float = 1.0,
    luminance: bool = True,
) -> Healed:
    """Inpaint the hole of ``mask`` in ``image`` (N x 3 x H x W on [0, 1]), then add ``style``'s texture inside it
    (soft edge) at the strength that gives the hole the ring's high-pass energy (``energy`` < 1: that fraction of
    what the inpainting lacks, trading texture for PSNR). ``luminance``: texture the brightness only (a short-learned
    style's colour speckle stays out). Pixels EDGE px or more from the hole are returned unchanged."""
    hole = find_hole(mask)
    x0, y0, x1, y1 = hole.box
    region = (x0, y0, x1 - x0, y1 - y0)
    hole_mask = hole.mask.astype(np.float32)[None, None]
    inpainted = image.copy()
    inpainted[..., y0:y1, x0:x1] = process(image, inpaint, [], hole_mask, region=region)
    crop = inpainted[..., y0:y1, x0:x1]
    soft = hole.soft[None, None, y0:y1, x0:x1]
    inside, ring = hole.mask[y0:y1, x0:x1], hole.ring[y0:y1, x0:x1]
    # residual energy at strength 1, then the strength that fills the ring's energy deficit (texture and smudge
    # are nearly uncorrelated, so their energies add)
    textured = process(crop, None, [StyleSlot(style, 1.0, soft, 1.0, seed)], preserve_colours=luminance)
    unit = high_pass_energy(textured - crop, inside)
    deficit = high_pass_energy(image[..., y0:y1, x0:x1], ring) - high_pass_energy(crop, inside)
    strength = float(np.clip(np.sqrt(max(energy * deficit, 0.0) / max(unit, 1e-12)), 0.0, MAX_STRENGTH))
    out = inpainted.copy()
    if strength > 0:
        slot = StyleSlot(style, strength, soft, 1.0, seed)
        out[..., y0:y1, x0:x1] = process(crop, None, [slot], preserve_colours=luminance)
    return Healed(out, inpainted, strength)
