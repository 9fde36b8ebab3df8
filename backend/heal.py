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


def ring_detail(image: np.ndarray, hole: Hole, seed: int = 0) -> np.ndarray:
    """1 x 3 x h x w over the hole's box: the image's high pass, and in the hole QUILT-px crops of the ring's high
    pass laid row by row, OVERLAP px apart (image quilting, Efros & Freeman 2001). Each crop is drawn (seeded) among
    the ring's crops matching what is already under it (the surroundings' own detail, or crops laid before) within
    MATCH of the best, and fills only what is not there yet: the texture keeps its grain and continues the
    surroundings' across the hole's edge."""
    ring_crops(hole)  # the same message as a style's exemplar when the ring is too thin
    rng = np.random.default_rng(seed)
    positions = crop_positions(hole, QUILT)
    if len(positions) > CANDIDATES:
        positions = [positions[i] for i in rng.choice(len(positions), CANDIDATES, replace=False)]
    detail = high_pass(image)
    crops = np.stack([detail[0, :, y : y + QUILT, x : x + QUILT] for y, x in positions])  # N x 3 x Q x Q
    x0, y0, x1, y1 = hole.box
    h, w = y1 - y0, x1 - x0
    canvas = np.zeros((3, h + QUILT, w + QUILT), np.float32)
    canvas[:, :h, :w] = detail[0, :, y0:y1, x0:x1]
    known = np.zeros((h + QUILT, w + QUILT), bool)
    known[:h, :w] = ~hole.mask[y0:y1, x0:x1]
    step = QUILT - OVERLAP
    for y in range(0, h, step):
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
) -> Healed:
    """Inpaint the hole of ``mask`` in ``image`` (N x 3 x H x W on [0, 1]), then add the ring's detail (``style``
    None) or ``style``'s texture (brightness only: a short-learned style's colour speckle stays out) inside it,
    fading in from its edge, at the strength that gives the hole ``detail`` (None: ``auto_detail``) of the
    high-pass energy it lacks against the ring. Only the hole's pixels change."""
    hole = find_hole(mask)
    x0, y0, x1, y1 = hole.box
    region = (x0, y0, x1 - x0, y1 - y0)
    inpainted = image.copy()
    inpainted[..., y0:y1, x0:x1] = process(image, inpaint, [], hole.mask.astype(np.float32)[None, None], region=region)
    crop = inpainted[..., y0:y1, x0:x1]
    soft = hole.soft[None, None, y0:y1, x0:x1]
    inside = hole.mask[y0:y1, x0:x1]
    if style is None:
        unit = soft * ring_detail(image, hole, seed)
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
