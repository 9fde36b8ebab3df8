"""Tiles: the output boxes a large image is processed in, each read with the context (halo) its network needs, so
memory is bounded by the tile size and a tiled run equals the whole-image run."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Output tile side for the tiled run: bounds memory whatever the image size. Larger tiles waste less on halos
# (at 4 MP sr4 does 1.32x a whole-image run's convolutions with 512-px tiles, 1.10x with 1024) and ONNX Runtime
# gains from them (a restoration graph alone, 2 threads: sr4 +15 %, denoise +6 % with 1024), but torch eager on
# the CPU loses more (1024: denoise at 4 MP 1.6x slower, one thread): each runtime says its own (``tile``).
TILE = 512
ONNX_TILE = 1024
MIN_TILE = 64  # the smallest side a tile that ran out of memory is retried at, before the CPU takes it


def tile_grid(h: int, w: int, tile: int) -> list[tuple[int, int]]:
    return [(y, x) for y in range(0, h, tile) for x in range(0, w, tile)]


def split(box: tuple[int, int, int, int], side: int) -> list[tuple[int, int, int, int]]:
    """Output box (y0, x0, y1, x1) cut into boxes of at most ``side`` pixels a side (an out-of-memory retry)."""
    y0, x0, y1, x1 = box
    return [(y, x, min(y + side, y1), min(x + side, x1)) for y in range(y0, y1, side) for x in range(x0, x1, side)]


def window(y0: int, x0: int, y1: int, x1: int, h: int, w: int, halo: int) -> tuple[int, int, int, int]:
    """The box read for output box [y0, y1) x [x0, x1): ``halo`` more on each side, inside the h x w input."""
    return max(0, y0 - halo), max(0, x0 - halo), min(h, y1 + halo), min(w, x1 + halo)


def tiled_map(
    fn: Callable[[np.ndarray, tuple[int, int]], np.ndarray],
    x: np.ndarray,
    halo: int,
    multiple: int,
    tile: int = TILE,
    on_step: Callable[[], None] | None = None,
) -> np.ndarray:
    """``fn(crop, origin)`` over ``x`` tile by tile, each tile read with ``halo`` pixels of context (rounded up to
    ``multiple`` so pooling and pixel folds stay on the global grid); equals ``fn(x, (0, 0))`` up to float rounding
    when ``halo`` covers fn's receptive field. Memory is bounded by the tile size, not the image."""
    h, w = x.shape[-2:]
    if h % multiple or w % multiple:
        raise ValueError(f"input sides must be multiples of {multiple}")
    tile = max(multiple, tile - tile % multiple)
    halo = -(-halo // multiple) * multiple
    out = None
    for y0, x0 in tile_grid(h, w, tile):
        y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
        ry0, rx0, ry1, rx1 = window(y0, x0, y1, x1, h, w, halo)
        r = fn(x[..., ry0:ry1, rx0:rx1], (ry0, rx0))
        if out is None:
            out = np.empty((x.shape[0], r.shape[1], h, w), r.dtype)
        out[..., y0:y1, x0:x1] = r[..., y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0]
        if on_step is not None:
            on_step()
    assert out is not None  # h, w >= multiple: at least one tile
    return out
