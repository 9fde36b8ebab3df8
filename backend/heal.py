"""Heal with texture: inpaint a hole, then texture the fill like its surroundings, so grass is filled with grass.

The inpainting network alone gives a smooth smudge (it cannot invent texture). Healing adds a zero-mean residual
inside the hole, fading in from its edge, scaled so that the hole gets ``detail`` times the high-pass energy it lacks
against the ring around it; the fill's low frequencies stay the inpainting's. The residual is either

- the ring's own detail (default, instant): ``ring_detail`` quilts PATCH-px crops of the ring's high-pass band
  (the image minus its blur) over the hole, overlapping windows normalised to keep their energy; or
- a style's residual: a chosen style, or one learned from the ring (the caller trains it on ``ring_exemplar``, a
  mosaic of ring crops; training is a tool and this module runs in the service).

Every crop lies wholly outside the hole and the EDGE px around it, mostly in the ring (``crop_positions``), so only
the surroundings are copied or learned. ``bench heal`` (docs/benchmarks.md) measures the trade ``detail`` makes: more
of the ring's energy looks more like the surroundings and costs more PSNR (the detail is not the missing one).
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
EDGE = 4  # px: the texture fades in over the hole's outer EDGE px; the ring starts EDGE px outside
PATCH = 32  # side of the ring's crops (the detail's quilt, a style's exemplar)
EXEMPLAR = 128  # side of the exemplar mosaic (4 x 4 crops)
MIN_CROPS = 4  # distinct crop positions the ring must hold
BLUR = 2  # high pass = the image minus its (2 BLUR + 1)-px box blur, applied twice (energy and ring detail)
DETAIL = 0.25  # the fraction of the missing high-pass energy the fill gets by default (see the module's text)


@dataclass
class Hole:
    """A hole and its surroundings, all H x W: the hole; the texture's weight (rising from 0 outside to 1 at EDGE px
    inside the hole, so the texture fades in and nothing outside changes); the guard (the hole and the EDGE px
    around it, which a selection's edge often shares with what it removes: no crop or ring statistic comes from
    it); the ring (EDGE to RING px outside); and the box (x0, y0, x1, y1) holding them all."""

    mask: np.ndarray
    soft: np.ndarray
    guard: np.ndarray
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
    """The hole of a 0/1 mask (H x W, or N x 1 x H x W) with its texture weight, guard and ring; a mask with no hole,
    or one covering the whole image, is an error."""
    hole = np.asarray(mask).reshape(mask.shape[-2:]) > 0.5
    H, W = hole.shape
    if not hole.any():
        raise RetexError("the mask has no hole to heal (white = pixels to fill)")
    if hole.all():
        raise RetexError("the mask covers the whole image: nothing around the hole to learn its texture from")
    ys, xs = np.nonzero(hole)
    box = (max(0, xs.min() - RING), max(0, ys.min() - RING), min(W, xs.max() + 1 + RING), min(H, ys.max() + 1 + RING))
    outside, inside = _distance(hole, box), _distance(~hole, box)  # px to the hole, px to its outside
    x0, y0, x1, y1 = box
    soft, guard, ring = np.zeros((H, W), np.float32), np.zeros((H, W), bool), np.zeros((H, W), bool)
    soft[y0:y1, x0:x1] = np.clip(inside / EDGE, 0, 1)
    guard[y0:y1, x0:x1] = outside <= EDGE
    ring[y0:y1, x0:x1] = (outside > EDGE) & (outside <= RING)
    return Hole(hole, soft, guard, ring, box)


def crop_positions(hole: Hole, patch: int = PATCH) -> list[tuple[int, int]]:
    """Top-left corners (y, x) of the ``patch``-px squares inside the ring's box that do not touch the guard and lie
    mostly in the ring (at least half their pixels), on a 4-px grid."""
    x0, y0, x1, y1 = hole.box
    blocked = hole.guard[y0:y1, x0:x1]
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


def ring_crops(hole: Hole) -> list[tuple[int, int]]:
    """``crop_positions``, or an error when the ring (near the image's border, around a huge hole) holds too few."""
    positions = crop_positions(hole)
    if len(positions) < MIN_CROPS:
        raise RetexError(
            f"too little texture around the hole: the ring of {RING} px around it holds {len(positions)} clean "
            f"{PATCH}-px squares, {MIN_CROPS} are needed (a smaller selection, or one farther from the image's edge)"
        )
    return positions


def ring_exemplar(image: np.ndarray, hole: Hole, seed: int = 0) -> np.ndarray:
    """1 x 3 x EXEMPLAR x EXEMPLAR: a mosaic of PATCH-px crops of ``image`` (N x 3 x H x W) drawn (seeded) from the
    ring, what a style is learned from."""
    positions = ring_crops(hole)
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


def high_pass(image: np.ndarray) -> np.ndarray:
    """The image minus its blur: the fine detail a smooth fill lacks."""
    return image - _box_blur(_box_blur(image, BLUR), BLUR)


def high_pass_energy(image: np.ndarray, where: np.ndarray) -> float:
    """Mean squared high-pass value of ``image`` (N x 3 x H x W) over the pixels ``where`` (H x W bool), the three
    channels together."""
    return float((high_pass(image)[..., where] ** 2).mean())


def ring_detail(image: np.ndarray, hole: Hole, seed: int = 0) -> np.ndarray:
    """1 x 3 x h x w over the hole's box: seeded ring crops of the image's high pass, laid on a half-PATCH grid with
    Hann windows; dividing by the root of the summed squared windows keeps the crops' energy where they overlap
    (independent crops add in energy, not in amplitude)."""
    positions = ring_crops(hole)
    detail = high_pass(image)
    x0, y0, x1, y1 = hole.box
    h, w = y1 - y0, x1 - x0
    acc = np.zeros((1, 3, h + PATCH, w + PATCH), np.float32)
    weight = np.zeros((h + PATCH, w + PATCH), np.float32)
    window = (np.outer(np.hanning(PATCH), np.hanning(PATCH)) + 1e-3).astype(np.float32)
    rng = np.random.default_rng(seed)
    for y in range(0, h, PATCH // 2):
        for x in range(0, w, PATCH // 2):
            py, px = positions[int(rng.integers(len(positions)))]
            acc[..., y : y + PATCH, x : x + PATCH] += window * detail[:1, :, py : py + PATCH, px : px + PATCH]
            weight[y : y + PATCH, x : x + PATCH] += window * window
    return (acc / np.sqrt(np.maximum(weight, 1e-6)))[..., :h, :w]


def heal(
    image: np.ndarray,
    mask: np.ndarray,
    inpaint: tuple[Task, RestorationModel],
    style: StyleModel | None = None,
    seed: int = 0,
    detail: float = DETAIL,
) -> Healed:
    """Inpaint the hole of ``mask`` in ``image`` (N x 3 x H x W on [0, 1]), then add the ring's detail (``style``
    None) or ``style``'s texture (brightness only: a short-learned style's colour speckle stays out) inside it,
    fading in from its edge, at the strength that gives the hole ``detail`` times the high-pass energy it lacks
    against the ring. Only the hole's pixels change."""
    hole = find_hole(mask)
    x0, y0, x1, y1 = hole.box
    region = (x0, y0, x1 - x0, y1 - y0)
    inpainted = image.copy()
    inpainted[..., y0:y1, x0:x1] = process(image, inpaint, [], hole.mask.astype(np.float32)[None, None], region=region)
    crop = inpainted[..., y0:y1, x0:x1]
    soft = hole.soft[None, None, y0:y1, x0:x1]
    inside, ring = hole.mask[y0:y1, x0:x1], hole.ring[y0:y1, x0:x1]
    if style is None:
        unit = soft * ring_detail(image, hole, seed)
    else:
        unit = process(crop, None, [StyleSlot(style, 1.0, soft, 1.0, seed)], preserve_colours=True) - crop
    # texture and smudge are nearly uncorrelated, so their energies add: fill the deficit's chosen fraction
    deficit = high_pass_energy(image[..., y0:y1, x0:x1], ring) - high_pass_energy(crop, inside)
    gain = np.sqrt(max(detail * deficit, 0.0) / max(high_pass_energy(unit, inside), 1e-12))
    strength = float(np.clip(gain, 0.0, MAX_STRENGTH))
    out = inpainted.copy()
    out[..., y0:y1, x0:x1] = np.clip(crop + strength * unit, 0, 1)
    return Healed(out, inpainted, strength)
