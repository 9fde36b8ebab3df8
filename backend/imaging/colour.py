"""Colour conversions used by the benchmarks."""

from __future__ import annotations

import torch


def rgb_to_y(rgb: torch.Tensor) -> torch.Tensor:
    """ITU-R BT.601 luma in [16, 235] (MATLAB's rgb2ycbcr) from RGB in [0, 1], NCHW -> N1HW.

    This is the Y channel on which the super-resolution literature reports PSNR and SSIM.
    """
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    return 16.0 + 65.481 * r + 128.553 * g + 24.966 * b
