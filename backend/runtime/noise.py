"""The style networks' coordinate noise, the one copy of its hash: numpy, since the ONNX graph takes the noise as
an input; ``nets.style`` hands it to torch for training and the torch runtime.

Two kinds, both functions of absolute coordinates (tiles and previews get the very same values): white noise, one
value per pixel, and smooth noise, the same hash drawn on a grid of ``cell`` px and interpolated bilinearly. A style
network sees only ~26 px around a pixel; the smooth channels tell it where it is within a larger structure, so a
texture of pebbles or stones gets stones of their size instead of small blobs (Ulyanov et al.'s multi-scale noise,
docs/design.md).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

_M32 = 0xFFFFFFFF


def coordinate_noise(channels: int, h: int, w: int, origin: tuple[int, int], seed: int = 0) -> np.ndarray:
    """1 x C x h x w uniform noise on [-1, 1], a hash (lowbias32) of (seed, channel, row, column) from ``origin``."""
    y = np.arange(origin[0], origin[0] + h, dtype=np.int64).reshape(1, h, 1)
    x = np.arange(origin[1], origin[1] + w, dtype=np.int64).reshape(1, 1, w)
    c = np.arange(channels, dtype=np.int64).reshape(channels, 1, 1)
    v = (x * 0x27D4EB2D + y * 0x165667B1 + c * 0x9E3779B9 + 0x5BD1E995 + _seed_term(seed)) & _M32
    v = v ^ (v >> 16)
    v = (v * 0x7FEB352D) & _M32
    v = v ^ (v >> 15)
    v = (v * 0x846CA68B) & _M32
    v = v ^ (v >> 16)
    return (v.astype(np.float32) * np.float32(2.0 / 2**32) - np.float32(1.0))[None]


NOISE_CELL = 8  # px: the smooth noise's grid
SMOOTH_GAIN = 1.7  # bilinear interpolation lowers the standard deviation about as much: the white noise's again
SMOOTH_SEED, SMOOTH_SHIFT = 104729, 7919  # the grid's seed offset and column shift: another field than the white's


def smooth_noise(channels: int, h: int, w: int, origin: tuple[int, int], cell: int, seed: int = 0) -> np.ndarray:
    """1 x C x h x w: coordinate noise on a grid of ``cell`` px, interpolated bilinearly at each pixel's centre."""

    def axis(start: int, n: int) -> tuple[int, int, np.ndarray, np.ndarray]:
        pos = (np.arange(start, start + n, dtype=np.float64) + 0.5) / cell - 0.5
        first = int(np.floor(pos[0]))
        lo = np.floor(pos).astype(np.int64) - first
        return first, int(lo[-1]) + 2, lo, (pos - np.floor(pos)).astype(np.float32)

    fy, ny, ly, ty = axis(origin[0], h)
    fx, nx, lx, tx = axis(origin[1], w)
    grid = coordinate_noise(channels, ny, nx, (fy, fx + SMOOTH_SHIFT), seed + SMOOTH_SEED)[0]
    rows = grid[:, ly] * (1 - ty)[None, :, None] + grid[:, ly + 1] * ty[None, :, None]
    return (rows[:, :, lx] * (1 - tx) + rows[:, :, lx + 1] * tx)[None] * np.float32(SMOOTH_GAIN)


class NoiseShape(Protocol):
    """What a style's noise depends on: ``nets.style.StyleConfig``, or the ONNX runtime's reading of it."""

    @property
    def noise(self) -> int: ...  # white channels
    @property
    def smooth_noise(self) -> int: ...
    @property
    def noise_cell(self) -> int: ...


def style_noise(shape: NoiseShape, h: int, w: int, origin: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A style network's noise input: its white channels, then its smooth ones."""
    noise = coordinate_noise(shape.noise, h, w, origin, seed)
    if shape.smooth_noise:
        smooth = smooth_noise(shape.smooth_noise, h, w, origin, shape.noise_cell, seed)
        noise = np.concatenate([noise, smooth], axis=1)
    return noise


def _seed_term(seed: int) -> int:
    """The seed's own lowbias32 hash (0 for seed 0), mixed into every pixel's key before the per-pixel hash."""
    if seed == 0:
        return 0
    v = (seed * 0x9E3779B1 + 0x7F4A7C15) & _M32
    for shift, mul in ((16, 0x7FEB352D), (15, 0x846CA68B)):
        v = ((v ^ (v >> shift)) * mul) & _M32
    return v ^ (v >> 16)
