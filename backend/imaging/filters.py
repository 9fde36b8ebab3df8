"""Gaussian, difference-of-Gaussians and high-pass filters on NCHW float tensors.

Borders are mirrored half-sample (MATLAB's 'symmetric', the border rule of imresize too), repeated as often as
needed, so every filter works on any image size, even smaller than its kernel. With that rule a symmetric kernel
keeps the image mean exactly, so band-passes (DoG, high-pass) give exactly zero-mean outputs. The kernel is a
sampled Gaussian truncated at 3 sigma and renormalized: low-passes keep constants, band-passes remove them.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F


@lru_cache(maxsize=64)
def _kernel_1d(sigma: float) -> tuple[float, ...]:
    radius = max(1, math.ceil(3.0 * sigma))
    values = [math.exp(-0.5 * (i / sigma) ** 2) for i in range(-radius, radius + 1)]
    total = sum(values)
    return tuple(v / total for v in values)


def gaussian_kernel_1d(sigma: float) -> torch.Tensor:
    """Normalized 1-D Gaussian taps (length 2*ceil(3 sigma)+1), float64."""
    if sigma <= 0:
        raise ValueError("sigma must be positive")
    return torch.tensor(_kernel_1d(float(sigma)), dtype=torch.float64)


def symmetric_pad(x: torch.Tensor, r: int, dim: int) -> torch.Tensor:
    """Pad ``r`` samples on both ends of ``dim`` by half-sample mirroring: ... b a | a b c | c b ...

    One mirror (``r <= n``) is two flipped slices: copies only, the same bits as the general gather, and in an
    exported graph a Slice and a Concat instead of a per-sample Gather (a graph traced at the smallest size it will
    see keeps this choice valid at every size)."""
    n = x.shape[dim]
    if 0 < r <= n:
        lead = (slice(None),) * (dim % x.dim())
        first, last = x[(*lead, slice(0, r))], x[(*lead, slice(-r, None))]  # a negative start: right at any size
        return torch.cat([first.flip(dim), x, last.flip(dim)], dim)
    idx = torch.arange(-r, n + r, device=x.device) % (2 * n)
    idx = torch.where(idx >= n, 2 * n - 1 - idx, idx)
    return x.index_select(dim, idx)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of an NCHW tensor; sigma 0 returns the input unchanged."""
    if sigma == 0:
        return x
    taps = gaussian_kernel_1d(sigma).to(dtype=x.dtype, device=x.device)
    r = (taps.numel() - 1) // 2
    c = int(x.shape[1])  # a constant when traced: the ONNX export needs the kernel's shape
    # Depthwise (groups=c) rather than one channel over a folded batch: its backward is several times faster.
    row = taps.view(1, 1, 1, -1).expand(c, 1, 1, -1).contiguous()
    col = taps.view(1, 1, -1, 1).expand(c, 1, -1, 1).contiguous()
    y = F.conv2d(symmetric_pad(x, r, -1), row, groups=c)
    return F.conv2d(symmetric_pad(y, r, -2), col, groups=c)


def band_pass(x: torch.Tensor, sigma_lo: float, sigma_hi: float) -> torch.Tensor:
    """Difference of Gaussians G(sigma_lo) - G(sigma_hi), keeping frequencies between the two cut-offs.

    sigma_lo = 0 means "no low-pass" (the band reaches Nyquist: a high-pass);
    sigma_hi = inf means "nothing subtracted" (the band reaches DC: a low-pass).
    """
    if not 0 <= sigma_lo < sigma_hi:
        raise ValueError("need 0 <= sigma_lo < sigma_hi")
    lo = gaussian_blur(x, sigma_lo)
    if math.isinf(sigma_hi):
        return lo
    return lo - gaussian_blur(x, sigma_hi)


def high_pass(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """x - G(sigma) * x: removes constants and everything coarser than about sigma."""
    return band_pass(x, 0.0, sigma)
