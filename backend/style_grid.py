"""A style's raw residual over an image of any size, tile by tile, at a texture scale (size) and a seed (variation).

Scale ``s`` (0.5x to 2x) renders the texture on a working grid resampled by 1/s, with no retraining: working pixel
``u`` (counted on the full picture's working grid) samples the image at ``(u + 0.5) * s - 0.5`` (linear
interpolation: at s = 2 the mean of two pixels), the network runs there with the noise of the working grid's own
coordinates, and its residual is resampled back, image pixel ``y`` reading working position ``(y + 0.5) / s - 0.5``.
Every position is a function of absolute coordinates and each tile reads a halo scaled with ``s``, so a tile, a
crop or a preview gets the same texture as the whole image, as at scale 1; the texture's features (and the band of
the residual) grow by ``s``. Scale 1 runs the network on the image itself. The seed picks another noise field
(``nets.style.coordinate_noise``), seed 0 being the original one.

Two artefacts of the networks are taken out here, where every runtime and tool passes. The image is mirrored past
its border before the network runs, so its zero-padded convolutions never reach a kept pixel: the texture near the
border has the interior's colour and energy (without it the coarse styles left a colour cast, up to 0.9 of their
standard deviation, in the outer 8 px). And the residual's fold lattice is removed: each pixel of a fold cell (the
``multiple`` x ``multiple`` pixels one network site fills) carries an offset of its own, the same in every cell,
a hatch of that period (a 4-px grid holding 37-59 % of a coarse style's energy on flat grey). Its local estimate is
subtracted: of the detail a cell-wide smoothing leaves (smooth content and ramps stay out of it), each position's
deviation from its cell's mean, averaged over the cells around (LATTICE_CELLS each way).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import numpy as np

from .arrays import A, is_tensor, like, pad_edge, to_numpy
from .runtime.base import StyleModel, as_style_model
from .tiling import TILE, tile_grid, tiled_map

if TYPE_CHECKING:
    import torch

    from .nets.style import StyleNet

LATTICE_CELLS = 4  # reach, in fold cells, of the fold lattice's local estimate: 9 x 9 cells (a narrow notch)


def _reach(net: StyleModel) -> int:
    """Working pixels of context a residual pixel needs: the network's halo plus the lattice estimate's."""
    return net.halo + (LATTICE_CELLS + 2) * net.config.multiple


def _border(net: StyleModel) -> int:
    """How far the image is mirrored past its border: the network's halo, on its grid."""
    m = net.config.multiple
    return -(-net.halo // m) * m


def scaled_halo(net: StyleModel, scale: float) -> int:
    """Image pixels of context an output pixel needs at texture ``scale``: the network's halo on the working grid
    plus its alignment and both resamplings' reach, in image pixels."""
    if scale == 1:
        return _reach(net)
    return math.ceil(scale * (_reach(net) + net.config.multiple + 2)) + 2


def style_margin(net: StyleModel, scale: float) -> int:
    """Context around a region so that texturing the region alone equals texturing the whole image there."""
    return scaled_halo(net, scale)


def _cell_smooth(x: A, m: int, axis: int) -> A:
    """Mean over one cell's width, centred: taps 1/2, 1, ..., 1, 1/2 (over m); it keeps linear ramps and zeroes
    every periodic pattern of period ``m``. The ends mirrored; numpy or torch."""
    r = m // 2
    if is_tensor(x):
        from .imaging.filters import symmetric_pad  # torch is there whenever a tensor is

        t = symmetric_pad(cast("torch.Tensor", x), r, axis)
        n = t.shape[axis] - 2 * r
        parts = [t.narrow(axis, i, n) * (0.5 if i in (0, 2 * r) else 1.0) for i in range(2 * r + 1)]
        return cast(A, sum(parts[1:], parts[0]) / m)
    pad = [(0, 0)] * x.ndim
    pad[axis] = (r, r)
    a = np.pad(cast(np.ndarray, x), pad, mode="symmetric")
    n = x.shape[axis]
    total = 0.5 * (np.take(a, np.arange(n), axis=axis) + np.take(a, np.arange(2 * r, n + 2 * r), axis=axis))
    for i in range(1, 2 * r):
        total = total + np.take(a, np.arange(i, n + i), axis=axis)
    return cast(A, np.asarray(total / m, dtype=a.dtype))


def _cells_box(x: A, axis: int) -> A:
    """Mean over the 2 LATTICE_CELLS + 1 cells around, along ``axis`` of a cell view; the ends mirrored."""
    r, k = LATTICE_CELLS, 2 * LATTICE_CELLS + 1
    if is_tensor(x):
        from .imaging.filters import symmetric_pad

        return cast(A, symmetric_pad(cast("torch.Tensor", x), r, axis).unfold(axis, k, 1).mean(dim=-1))
    pad = [(0, 0)] * x.ndim
    pad[axis] = (r + 1, r)
    a = cast(np.ndarray, x)
    c = np.cumsum(np.pad(a, pad, mode="symmetric"), axis=axis, dtype=np.float64)
    n = a.shape[axis]
    hi, lo = np.take(c, np.arange(k, n + k), axis=axis), np.take(c, np.arange(n), axis=axis)
    return cast(A, ((hi - lo) / k).astype(a.dtype))


def without_lattice(raw: A, m: int) -> A:
    """``raw`` (sides multiples of ``m``, its cells on the picture's grid) less its fold lattice (module docstring):
    the detail a cell-wide smoothing leaves, each position's deviation from its cell's mean there, averaged over the
    cells around. Smooth content and ramps stay. On a torch tensor too, so that a trainer can differentiate
    through it."""
    if m == 1:
        return raw
    n, c, h, w = raw.shape
    detail = raw - _cell_smooth(_cell_smooth(raw, m, -1), m, -2)
    if is_tensor(detail):
        cells = cast("torch.Tensor", detail).reshape(n, c, h // m, m, w // m, m)
        lattice = cells - cells.mean(dim=(3, 5), keepdim=True)
    else:
        cells_np = cast(np.ndarray, detail).reshape(n, c, h // m, m, w // m, m)
        lattice = cells_np - cells_np.mean(axis=(3, 5), keepdims=True)
    return cast(A, raw - _cells_box(_cells_box(lattice, 2), 4).reshape(raw.shape))


def _span(start: int, n: int, scale: float, m: int) -> tuple[int, np.ndarray, np.ndarray]:
    """For image pixels [start, start + n) on one axis: the working grid's first index (a multiple of ``m``, so
    the network's pooling and folds line up with the whole picture's), where each working pixel samples the image,
    and where each image pixel reads the working grid (both in absolute float64 coordinates)."""
    back = (np.arange(start, start + n, dtype=np.float64) + 0.5) / scale - 0.5
    u0 = math.floor(float(np.floor(back[0])) / m) * m
    u1 = int(np.floor(back[-1])) + 2
    forth = (np.arange(u0, u1, dtype=np.float64) + 0.5) * scale - 0.5
    return u0, forth, back


def _resample(x: np.ndarray, positions: np.ndarray, lo: int, dim: int) -> np.ndarray:
    """``x`` linearly interpolated along ``dim`` (-2 rows, -1 columns) at absolute ``positions``, its index 0
    being absolute ``lo``; positions past either end read the edge."""
    f = np.floor(positions)
    t = (positions - f).astype(x.dtype)
    n = x.shape[dim]
    i0 = np.clip(f.astype(np.int64) - lo, 0, n - 1)
    i1 = np.clip(f.astype(np.int64) + 1 - lo, 0, n - 1)
    a, b = np.take(x, i0, axis=dim), np.take(x, i1, axis=dim)
    t = t.reshape(-1, 1) if dim == -2 else t.reshape(-1)
    return a + (b - a) * t


def _scaled(net: StyleModel, scale: float, seed: int) -> Callable[[np.ndarray, tuple[int, int]], np.ndarray]:
    """The raw residual of a crop at absolute ``origin``, rendered on the working grid of texture ``scale``."""
    m = net.config.multiple

    def fn(crop: np.ndarray, origin: tuple[int, int]) -> np.ndarray:
        h, w = crop.shape[-2:]
        u0, rows, rows_back = _span(origin[0], h, scale, m)
        v0, cols, cols_back = _span(origin[1], w, scale, m)
        work = _resample(_resample(crop, rows, origin[0], -2), cols, origin[1], -1)
        wh, ww = work.shape[-2:]
        work = pad_edge(work, (-wh) % m, (-ww) % m)
        raw = without_lattice(net(work, (u0, v0), seed), m)
        return _resample(_resample(raw, rows_back, u0, -2), cols_back, v0, -1)

    return fn


def style_residual(
    net: StyleModel | StyleNet,
    image: A,
    origin: tuple[int, int] = (0, 0),
    tile: int = TILE,
    on_step: Callable[[], None] | None = None,
    scale: float = 1.0,
    seed: int = 0,
) -> A:
    """A style network's raw residual over ``image`` of any size, tile by tile; ``origin`` places ``image`` in the
    full picture so a preview crop gets the same texture as the whole image; ``scale`` is the texture's size and
    ``seed`` its variation (module docstring). A torch network or tensor (the tools') is taken as well."""
    model, x = as_style_model(net), to_numpy(image)
    h, w = x.shape[-2:]
    b = _border(model) if scale == 1 else scaled_halo(model, scale)
    x = np.pad(x, [(0, 0), (0, 0), (b, b), (b, b)], mode="symmetric")  # past the border: the image mirrored
    oy, ox, tile = origin[0] - b, origin[1] - b, tile + 2 * b  # the tiles as many as without the mirror
    if scale != 1:
        scaled = _scaled(model, scale, seed)
        out = tiled_map(lambda t, o: scaled(t, (oy + o[0], ox + o[1])), x, scaled_halo(model, scale), 1, tile, on_step)
        return like(out[..., b : b + h, b : b + w], image)
    m = model.config.multiple
    x = pad_edge(x, (-x.shape[-2]) % m, (-x.shape[-1]) % m)
    out = tiled_map(
        lambda t, o: without_lattice(model(t, (oy + o[0], ox + o[1]), seed), m), x, _reach(model), m, tile, on_step
    )
    return like(out[..., b : b + h, b : b + w], image)


def style_tiles(h: int, w: int, net: StyleModel, tile: int = TILE, scale: float = 1.0) -> int:
    """How many tiles ``style_residual`` runs over an h x w image (for progress)."""
    if scale != 1:
        b = scaled_halo(net, scale)
        return len(tile_grid(h + 2 * b, w + 2 * b, tile + 2 * b))
    m, b = net.config.multiple, _border(net)
    h, w, tile = h + 2 * b, w + 2 * b, tile + 2 * b
    return len(tile_grid(h + (-h) % m, w + (-w) % m, max(m, tile - tile % m)))
