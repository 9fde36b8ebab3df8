"""The style networks' coordinate noise, the one copy of its hash: numpy, since the ONNX graph takes the noise as
an input; ``nets.style.coordinate_noise`` hands it to torch for training and the torch runtime."""

from __future__ import annotations

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


def _seed_term(seed: int) -> int:
    """The seed's own lowbias32 hash (0 for seed 0), mixed into every pixel's key before the per-pixel hash."""
    if seed == 0:
        return 0
    v = (seed * 0x9E3779B1 + 0x7F4A7C15) & _M32
    for shift, mul in ((16, 0x7FEB352D), (15, 0x846CA68B)):
        v = ((v ^ (v >> shift)) * mul) & _M32
    return v ^ (v >> 16)
