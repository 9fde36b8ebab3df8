"""MATLAB-compatible bicubic ``imresize`` (Keys a = -0.5, antialiased when shrinking, symmetric borders).

Super-resolution benchmarks make their low-resolution images with MATLAB's ``imresize``; a different kernel or
border rule shifts every PSNR by tenths of a dB, so this follows MATLAB's ``contributions`` routine step by step.
A resize along one axis is a fixed matrix, built once per (in, out) length and applied as two matrix products:
in numpy for the pipeline, in torch (on the tensor's device) for the tools that hold tensors.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, cast

import numpy as np

from ..arrays import A, is_tensor

if TYPE_CHECKING:
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


def resize_matrix(in_len: int, out_len: int, scale: float | None = None) -> np.ndarray:
    """The (out_len, in_len) float64 matrix of a 1-D MATLAB bicubic resize; scale defaults to out_len / in_len."""
    if in_len < 1 or out_len < 1:
        raise ValueError("lengths must be positive")
    return _matrix(in_len, out_len, float(scale if scale is not None else out_len / in_len))


def imresize(x: A, scale: float) -> A:
    """Resize an NCHW float array or tensor by ``scale`` like MATLAB's ``imresize(x, scale)`` (output
    ceil(size*scale)), in its own dtype (and, for a tensor, on its device)."""
    h, w = x.shape[-2:]
    oh, ow = math.ceil(h * scale), math.ceil(w * scale)
    mh, mw = resize_matrix(h, oh, scale), resize_matrix(w, ow, scale)
    if is_tensor(x):
        import torch

        t = cast("torch.Tensor", x)
        th, tw = (torch.from_numpy(m).to(dtype=t.dtype, device=t.device) for m in (mh, mw))
        return cast(A, torch.matmul(torch.matmul(th, t), tw.T))
    a = cast(np.ndarray, x)
    return cast(A, np.matmul(np.matmul(mh.astype(a.dtype), a), mw.T.astype(a.dtype)))
