"""MATLAB-compatible bicubic ``imresize`` (Keys a = -0.5, antialiased when shrinking, symmetric borders).

Super-resolution benchmarks make their low-resolution images with MATLAB's ``imresize``; a different kernel or
border rule shifts every PSNR by tenths of a dB, so this follows MATLAB's ``contributions`` routine step by step.
A resize along one axis is a fixed matrix, built once per (in, out) length and applied as two matrix products.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's 'bicubic')."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    far = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return near + far


@lru_cache(maxsize=128)
def _matrix(in_len: int, out_len: int, scale: float) -> np.ndarray:
    width = 4.0
    if scale < 1:  # antialiasing: stretch the kernel so it also low-passes
        kernel = lambda t: scale * cubic(scale * t)  # noqa: E731
        width = width / scale
    else:
        kernel = cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - width / 2.0)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    weights = kernel(u[:, None] - idx)
    weights /= weights.sum(axis=1, keepdims=True)
    # Symmetric border (MATLAB's aux = [1:in, in:-1:1]), 0-based.
    aux = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    src = aux[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]  # idx is 1-based, like MATLAB's
    m = np.zeros((out_len, in_len), dtype=np.float64)
    np.add.at(m, (np.repeat(np.arange(out_len), taps), src.ravel()), weights.ravel())
    return m


def resize_matrix(in_len: int, out_len: int, scale: float | None = None) -> torch.Tensor:
    """The (out_len, in_len) matrix of a 1-D MATLAB bicubic resize; scale defaults to out_len / in_len."""
    if in_len < 1 or out_len < 1:
        raise ValueError("lengths must be positive")
    return torch.from_numpy(_matrix(in_len, out_len, float(scale if scale is not None else out_len / in_len)))


def imresize(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Resize an NCHW float tensor by ``scale`` like MATLAB's ``imresize(x, scale)`` (output ceil(size*scale))."""
    h, w = x.shape[-2:]
    oh, ow = math.ceil(h * scale), math.ceil(w * scale)
    mh = resize_matrix(h, oh, scale).to(dtype=x.dtype, device=x.device)
    mw = resize_matrix(w, ow, scale).to(dtype=x.dtype, device=x.device)
    return torch.matmul(torch.matmul(mh, x), mw.T)
