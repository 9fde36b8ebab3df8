"""PSNR and SSIM as the restoration literature computes them."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .filters import gaussian_kernel_1d


def psnr(a: torch.Tensor, b: torch.Tensor, peak: float = 1.0, mask: torch.Tensor | None = None) -> float:
    """Peak signal-to-noise ratio in dB; with a mask, only the pixels where mask > 0.5 count."""
    diff = (a.double() - b.double()) ** 2
    if mask is not None:
        sel = (mask > 0.5).expand_as(diff)
        if not bool(sel.any()):
            raise ValueError("empty mask")
        mse = float(diff[sel].mean())
    else:
        mse = float(diff.mean())
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def ssim(a: torch.Tensor, b: torch.Tensor, peak: float = 255.0) -> float:
    """Mean SSIM (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, 'valid' borders.

    Matches MATLAB's ssim_index used by the SR benchmarks when a and b are single-channel images on [0, 255].
    """
    taps = gaussian_kernel_1d(1.5)
    # ceil(3*1.5) = 5 -> 11 taps, the standard window.
    win = (taps[:, None] * taps[None, :]).view(1, 1, 11, 11)
    a, b = a.double(), b.double()
    c = a.shape[1]
    win = win.expand(c, 1, 11, 11).to(a.device)

    def filt(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, win, groups=c)

    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    mu_a, mu_b = filt(a), filt(b)
    var_a = filt(a * a) - mu_a**2
    var_b = filt(b * b) - mu_b**2
    cov = filt(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return float((num / den).mean())
