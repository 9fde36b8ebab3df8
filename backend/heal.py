"""Heal with texture: inpaint a hole, then texture the fill like its surroundings, so grass is filled with grass.

The inpainting network alone gives a smooth smudge (it cannot invent texture). Healing adds a zero-mean residual
inside the hole, fading in from its edge; the fill's low frequencies stay the inpainting's. The residual is either

- the ring's own detail (default, instant): ``ring_detail`` quilts QUILT-px crops of the ring's high-pass band (the
  image minus its blur) over the hole, each matched to the detail already there, so the texture continues the
  surroundings' across the hole's edge; or
- a style's residual: a chosen style, or one learned from the ring (the caller trains it on ``ring_exemplar``, a
  mosaic of ring crops; training is a tool and this module runs in the service).

Every crop lies wholly outside the hole and the EDGE px around it, mostly in the ring (``crop_positions``), so only
the surroundings are copied or learned. How much texture: texture that is not the missing one costs PSNR in
proportion to its energy, so by default (``detail`` None) the hole gets the share of the ring's fine detail that
adds AFFORD of the fill's expected error (``auto_detail``); a ``detail`` from 0 to 1 gives that share of it instead.
``bench heal`` (docs/benchmarks.md) measures the trade.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import RetexError
from .pipeline import process
from .runtime.base import RestorationModel, StyleModel
from .stylize import MAX_STRENGTH, StyleSlot
from .tasks import Task

RING = 32  # px around the hole whose texture the fill learns and matches
EDGE = 4  # px: the texture fades in over the hole's outer EDGE px; the ring starts EDGE px outside
PATCH = 32  # side of the ring's crops for a style's exemplar
QUILT = 16  # side of the ring's crops the detail is quilted from
OVERLAP = 4  # px a quilt crop shares with what is already there, where it is matched to it
MATCH = 1.2  # a quilt crop is drawn among those matching the overlap within this factor of the best
CANDIDATES = 512  # ring crops tried per quilt crop, at most (a big hole's ring holds thousands)
EXEMPLAR = 128  # side of the exemplar mosaic (4 x 4 crops)
MIN_CROPS = 4  # distinct crop positions the ring must hold
TILE = 256  # px: the hole's box is measured in tiles of this side (``find_hole``)
BLUR = 2  # high pass = the image minus its (2 BLUR + 1)-px box blur, applied twice (energy and ring detail)
DETAIL: float | None = None  # the default share of the ring's detail: None chooses it per hole (auto_detail)
AFFORD = 0.10  # the texture adds this share of the fill's expected error: 10 log10(1.1) = 0.4 dB of the hole's PSNR
SPREAD = 2.0  # the ring's low-pass variance counts up to this many times its fine energy (see auto_detail)


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
    """A heal's result (the whole image), the inpainting alone, the strength the texture was given and the share of
    the ring's detail the hole got."""

    image: np.ndarray
    inpainted: np.ndarray
    strength: float
    detail: float


def _distance(feature: np.ndarray, reach: int) -> np.ndarray:
    """Euclidean distance (px) from each pixel to the nearest ``feature`` pixel, exact up to ``reach`` and inf beyond:
    the distance within the column, then the best of the 2 ``reach`` + 1 columns around, in the rows that come that
    close only (Felzenszwalb & Huttenlocher's two passes, cut at ``reach``). The work grows with the area times
    ``reach``, not with the hole's outline, so a large hole is measured as fast as a small one."""
    h, w = feature.shape
    rows = np.arange(h, dtype=np.int32)[:, None]
    far = np.int32(h + reach + 1)
    above = np.maximum.accumulate(np.where(feature, rows, -far), axis=0)  # the nearest feature row above, or at
    below = np.minimum.accumulate(np.where(feature, rows, h + far)[::-1], axis=0)[::-1]  # ... and below
    column = np.minimum(rows - above, below - rows)
    near = np.flatnonzero((column <= reach).any(axis=1))  # only these rows have a pixel within reach
    sub = np.where(column[near] <= reach, column[near].astype(np.float64) ** 2, np.inf)
    best = sub.copy()
    for dx in range(1, min(reach, w - 1) + 1):
        np.minimum(best[:, dx:], sub[:, :-dx] + dx * dx, out=best[:, dx:])
        np.minimum(best[:, :-dx], sub[:, dx:] + dx * dx, out=best[:, :-dx])
    out = np.full((h, w), np.inf, np.float32)
    out[near] = np.sqrt(np.where(best <= reach * reach, best, np.inf))
    return out


def find_hole(mask: np.ndarray) -> Hole:
    """The hole of a 0/1 mask (H x W, or N x 1 x H x W) with its texture weight, guard and ring; a mask with no hole,
    or one covering the whole image, is an error."""
    hole = np.asarray(mask).reshape(mask.shape[-2:]) > 0.5
    H, W = hole.shape
    if not hole.any():
        raise RetexError("the mask has no hole to heal (white = pixels to fill)")
    if hole.all():
        raise RetexError("the mask covers the whole image: nothing around the hole to learn its texture from")
    ys, xs = np.flatnonzero(hole.any(1)), np.flatnonzero(hole.any(0))
    box = (max(0, xs[0] - RING), max(0, ys[0] - RING), min(W, xs[-1] + 1 + RING), min(H, ys[-1] + 1 + RING))
    x0, y0, x1, y1 = box
    soft, guard, ring = np.zeros((H, W), np.float32), np.zeros((H, W), bool), np.zeros((H, W), bool)
    for ty in range(y0, y1, TILE):  # tile by tile, skipping those farther than RING from the hole (two far holes)
        for tx in range(x0, x1, TILE):
            ay, ax = max(y0, ty - RING), max(x0, tx - RING)  # the tile and RING px around it: all that is near
            part = hole[ay : min(y1, ty + TILE + RING), ax : min(x1, tx + TILE + RING)]
            if not part.any():
                continue
            outside, inside = _distance(part, RING), _distance(~part, EDGE)  # px to the hole, px to its outside
            cut = np.s_[ty - ay : min(y1, ty + TILE) - ay, tx - ax : min(x1, tx + TILE) - ax]
            here = np.s_[ty : min(y1, ty + TILE), tx : min(x1, tx + TILE)]
            soft[here] = np.clip(inside[cut] / EDGE, 0, 1)
            guard[here] = outside[cut] <= EDGE
            ring[here] = (outside[cut] > EDGE) & (outside[cut] <= RING)
    return Hole(hole, soft, guard, ring, box)


def crop_positions(hole: Hole, patch: int = PATCH) -> list[tuple[int, int]]:
    """Top-left corners (y, x) of the ``patch``-px squares that do not touch the guard and lie mostly in the ring (at
    least half their pixels), on a 4-px grid, row by row. Beside a straight side (a rectangle's, a lasso's) a square
    needs EDGE + ``patch`` px and up to 4 more for the grid, more than the RING px the box holds: the squares may
    reach past the box by what is missing (8 px for a PATCH-px square, none for a QUILT-px one)."""
    H, W = hole.mask.shape
    x0, y0, x1, y1 = hole.box
    reach = max(0, EDGE + patch + 4 - RING)
    x0, y0 = max(0, x0 - reach), max(0, y0 - reach)
    rows, cols, k = (min(H, y1 + reach) - y0) // 4, (min(W, x1 + reach) - x0) // 4, patch // 4

    def count(where: np.ndarray) -> np.ndarray:
        """Each square's count of ``where`` pixels: sums over 4 x 4 blocks, then their integral image."""
        blocks = where[y0 : y0 + 4 * rows, x0 : x0 + 4 * cols].reshape(rows, 4, cols, 4).sum((1, 3))
        ii = np.pad(blocks.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        return ii[k:, k:] - ii[:-k, k:] - ii[k:, :-k] + ii[:-k, :-k]

    clean = (count(hole.guard) == 0) & (2 * count(hole.ring) >= patch * patch)
    return [(y0 + 4 * int(i), x0 + 4 * int(j)) for i, j in np.argwhere(clean)]


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


def ring_energy(image: np.ndarray, hole: Hole) -> float:
    """The ring's fine-detail energy: the median over its pixels of the local (17-px) mean squared high pass, so an
    edge or another surface crossing the ring does not count as the texture's."""
    x0, y0, x1, y1 = hole.box
    local = _box_blur((high_pass(image[..., y0:y1, x0:x1]) ** 2).mean(-3), 8)
    return float(np.median(local.reshape(-1, y1 - y0, x1 - x0)[0][hole.ring[y0:y1, x0:x1]]))


def auto_detail(image: np.ndarray, hole: Hole, fill: np.ndarray) -> float:
    """The share of the ring's missing detail that adds AFFORD of the fill's expected error: the smooth fill misses
    the hole's fine detail (about the ring's, ``ring_energy``) and its low frequencies (about the ring's low-pass
    variance, up to SPREAD times the fine energy: a ring crossing an edge or a background would count their contrast
    as error). ``fill`` is the inpainted box."""
    x0, y0, x1, y1 = hole.box
    box, ring = image[..., y0:y1, x0:x1], hole.ring[y0:y1, x0:x1]
    fine = ring_energy(image, hole)
    spread = float((box - high_pass(box))[..., ring].var(axis=-1).mean())
    deficit = fine - high_pass_energy(fill, hole.mask[y0:y1, x0:x1])
    return float(np.clip(AFFORD * (fine + min(spread, SPREAD * fine)) / max(deficit, 1e-12), 0.0, 1.0))


def ring_detail(
    image: np.ndarray, hole: Hole, seed: int = 0, progress: Callable[[float], None] | None = None
) -> np.ndarray:
    """1 x 3 x h x w over the hole's box: the image's high pass, and in the hole QUILT-px crops of the ring's high
    pass laid row by row, OVERLAP px apart (image quilting, Efros & Freeman 2001). Each crop is drawn (seeded) among
    the ring's crops matching what is already under it (the surroundings' own detail, or crops laid before) within
    MATCH of the best, and fills only what is not there yet: the texture keeps its grain and continues the
    surroundings' across the hole's edge. ``progress`` gets the share of the rows laid before each row (a big hole
    takes seconds; raising from it stops the quilting)."""
    ring_crops(hole)  # the same message as a style's exemplar when the ring is too thin
    rng = np.random.default_rng(seed)
    positions = crop_positions(hole, QUILT)
    if len(positions) > CANDIDATES:
        positions = [positions[i] for i in rng.choice(len(positions), CANDIDATES, replace=False)]
    x0, y0, x1, y1 = hole.box
    h, w = y1 - y0, x1 - x0
    # the high pass of the box and the 2 BLUR px its two blurs reach beyond (not of a whole 24 MP image)
    ay, ax = max(0, y0 - 2 * BLUR), max(0, x0 - 2 * BLUR)
    detail = high_pass(image[..., ay : y1 + 2 * BLUR, ax : x1 + 2 * BLUR])[..., y0 - ay :, x0 - ax :]
    crops = np.stack([detail[0, :, y - y0 : y - y0 + QUILT, x - x0 : x - x0 + QUILT] for y, x in positions])
    canvas = np.zeros((3, h + QUILT, w + QUILT), np.float32)
    canvas[:, :h, :w] = detail[0, :, :h, :w]
    known = np.zeros((h + QUILT, w + QUILT), bool)
    known[:h, :w] = ~hole.mask[y0:y1, x0:x1]
    step = QUILT - OVERLAP
    for y in range(0, h, step):
        if progress is not None:
            progress(y / h)
        for x in range(0, w, step):
            there = known[y : y + QUILT, x : x + QUILT]
            if there.all():
                continue
            under = canvas[:, y : y + QUILT, x : x + QUILT]
            if there.any():
                cost = (((crops - under) ** 2).sum(1) * there).sum((1, 2))
                near = np.flatnonzero(cost <= MATCH * cost.min() + 1e-12)
            else:
                near = np.arange(len(crops))
            pick = crops[int(near[rng.integers(len(near))])]
            under[:, ~there] = pick[:, ~there]
            there[...] = True
    return canvas[None, :, :h, :w]


def heal(
    image: np.ndarray,
    mask: np.ndarray,
    inpaint: tuple[Task, RestorationModel],
    style: StyleModel | None = None,
    seed: int = 0,
    detail: float | None = DETAIL,
    progress: Callable[[float], None] | None = None,
) -> Healed:
    """Inpaint the hole of ``mask`` in ``image`` (N x 3 x H x W on [0, 1]), then add the ring's detail (``style``
    None) or ``style``'s texture (brightness only: a short-learned style's colour speckle stays out) inside it,
    fading in from its edge, at the strength that gives the hole ``detail`` (None: ``auto_detail``) of the
    high-pass energy it lacks against the ring. Only the hole's pixels change. ``progress`` follows the ring's detail
    (``ring_detail``)."""
    hole = find_hole(mask)
    x0, y0, x1, y1 = hole.box
    region = (x0, y0, x1 - x0, y1 - y0)
    inpainted = image.copy()
    inpainted[..., y0:y1, x0:x1] = process(image, inpaint, [], hole.mask.astype(np.float32)[None, None], region=region)
    crop = inpainted[..., y0:y1, x0:x1]
    soft = hole.soft[None, None, y0:y1, x0:x1]
    inside = hole.mask[y0:y1, x0:x1]
    if style is None:
        unit = soft * ring_detail(image, hole, seed, progress)
    else:
        unit = process(crop, None, [StyleSlot(style, 1.0, soft, 1.0, seed)], preserve_colours=True) - crop
    share = auto_detail(image, hole, crop) if detail is None else detail
    # texture and smudge are nearly uncorrelated, so their energies add: fill the deficit's chosen share
    deficit = ring_energy(image, hole) - high_pass_energy(crop, inside)
    gain = np.sqrt(max(share * deficit, 0.0) / max(high_pass_energy(unit, inside), 1e-12))
    strength = float(np.clip(gain, 0.0, MAX_STRENGTH))
    out = inpainted.copy()
    out[..., y0:y1, x0:x1] = np.clip(crop + strength * unit, 0, 1)
    return Healed(out, inpainted, strength, share)
