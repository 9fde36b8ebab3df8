"""A style's raw residual over an image of any size, tile by tile, at a texture scale (size) and a seed (variation).

Scale ``s`` (0.5x to 2x) renders the texture on a working grid resampled by 1/s, with no retraining: working pixel
``u`` (counted on the full picture's working grid) samples the image at ``(u + 0.5) * s - 0.5`` (linear
interpolation: at s = 2 the mean of two pixels), the network runs there with the noise of the working grid's own
coordinates, and its residual is resampled back, image pixel ``y`` reading working position ``(y + 0.5) / s - 0.5``.
Every position is a function of absolute coordinates and each tile reads a halo scaled with ``s``, so a tile, a
crop or a preview gets the same texture as the whole image, as at scale 1; the texture's features (and the band of
the residual) grow by ``s``. Scale 1 runs the network on the image itself: the same bits as before scales existed.
The seed picks another noise field (``nets.style.coordinate_noise``), seed 0 being the original one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .arrays import A, like, pad_edge, to_numpy
from .runtime.base import StyleModel, as_style_model
from .tiling import TILE, tile_grid, tiled_map

if TYPE_CHECKING:
    from .nets.style import StyleNet


def scaled_halo(net: StyleModel, scale: float) -> int:
    """Image pixels of context an output pixel needs at texture ``scale``: the network's halo on the working grid
    plus its alignment and both resamplings' reach, in image pixels."""
    if scale == 1:
        return net.halo
    return math.ceil(scale * (net.halo + net.config.multiple + 2)) + 2


def style_margin(net: StyleModel, scale: float) -> int:
    """Context around a region so that texturing the region alone equals texturing the whole image there."""
    return scaled_halo(net, scale)


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
        raw = net(work, (u0, v0), seed)
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
    if scale != 1:
        scaled = _scaled(model, scale, seed)
        out = tiled_map(
            lambda t, o: scaled(t, (origin[0] + o[0], origin[1] + o[1])),
            x,
            scaled_halo(model, scale),
            1,
            tile,
            on_step,
        )
        return like(out, image)
    m = model.config.multiple
    h, w = x.shape[-2:]
    x = pad_edge(x, (-h) % m, (-w) % m)
    out = tiled_map(lambda t, o: model(t, (origin[0] + o[0], origin[1] + o[1]), seed), x, model.halo, m, tile, on_step)
    return like(out[..., :h, :w], image)


def style_tiles(h: int, w: int, net: StyleModel, tile: int = TILE, scale: float = 1.0) -> int:
    """How many tiles ``style_residual`` runs over an h x w image (for progress)."""
    if scale != 1:
        return len(tile_grid(h, w, tile))
    m = net.config.multiple
    return len(tile_grid(h + (-h) % m, w + (-w) % m, max(m, tile - tile % m)))
