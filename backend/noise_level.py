"""How degraded an image is, read from its pixels: what the photo models' clean-up "auto" is set from.

Two measures, numpy only (the inference path stays torch-free):

- ``noise_sigma``: the Gaussian-equivalent noise level on 0..255, by Chen, Zhu and Heng, "An efficient statistical
  method for image noise level estimation" (ICCV 2015): the eigenvalues of the covariance of the image's patches
  are image structure plus noise; structure lives in a few directions, so the smallest eigenvalues are noise alone.
  Their rule takes the largest set of the smallest eigenvalues whose mean equals their median (i.e. that look like
  one noise variance) and returns the square root of that mean. Colour images use 5 x 5 x 3 patches, so the
  channels' correlation separates texture from noise better (grey: 7 x 7). Patches are taken on a regular grid,
  at most ``PATCHES`` of them, so the cost does not grow with the image (and the result is deterministic).
- ``blockiness``: JPEG's 8 x 8 block edges: the mean absolute step across the block grid (columns and rows 7|8,
  15|16, ...) over the mean step elsewhere, minus 1. About 0 without JPEG, above 0.1 for qualities of 85 and below.

``cleanup_strength`` maps both to the clean-up strength, calibrated on the RW benchmark by
``python tools/auto_cleanup.py`` (see docs/design.md, "Clean-up 'auto'").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PATCHES = 10_000  # patches sampled for the noise estimate: enough for ~0.1 dB of sigma, ~0.05 s on one core
BLOCK = 8  # JPEG's block size

# The mapping, fitted by tools/auto_cleanup.py: strength = clip((sigma - SIGMA_ZERO) / SIGMA_SPAN
# + (blockiness - BLOCK_ZERO) / BLOCK_SPAN, 0, 1).
SIGMA_ZERO, SIGMA_SPAN = 2.0, 3.0
BLOCK_ZERO, BLOCK_SPAN = 0.05, 0.1


@dataclass(frozen=True)
class Degradation:
    """What ``estimate`` read from an image."""

    sigma: float  # Gaussian-equivalent noise level on 0..255
    blockiness: float  # excess of the steps across JPEG's 8 x 8 grid (0: no blocks)


def as_255(image: np.ndarray) -> np.ndarray:
    """The first image of ``image`` as H x W x C float64 on 0..255. Accepted: H x W, H x W x C (C <= 4), C x H x W
    and N x C x H x W (the pipeline's layout); uint8 is 0..255, uint16 0..65535, floats 0..1. Alpha is dropped."""
    a = np.asarray(image)
    if a.ndim == 4:
        a = a[0]
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3:
        raise ValueError(f"expected an image array, got shape {a.shape}")
    if a.shape[-1] > 4 >= a.shape[0]:  # channels first
        a = np.moveaxis(a, 0, -1)
    if a.shape[-1] in (2, 4):
        a = a[..., :-1]
    if a.dtype == np.uint8:
        return a.astype(np.float64)
    if a.dtype == np.uint16:
        return a.astype(np.float64) / 257.0
    return a.astype(np.float64) * 255.0


def _patches(image: np.ndarray, side: int, limit: int) -> np.ndarray:
    """Up to ~``limit`` side x side patches on a regular grid, one row of side*side*C values each."""
    h, w, c = image.shape
    ny, nx = h - side + 1, w - side + 1
    stride = max(1, int(np.sqrt(ny * nx / limit)))
    ys = np.arange(0, ny, stride)[:, None, None, None] + np.arange(side)[None, None, :, None]
    xs = np.arange(0, nx, stride)[None, :, None, None] + np.arange(side)[None, None, None, :]
    return image[ys, xs].reshape(-1, side * side * c)


def noise_sigma(image: np.ndarray) -> float:
    """Chen et al.'s (ICCV 2015) Gaussian-equivalent noise level, on 0..255; 0 for an image smaller than a patch."""
    a = as_255(image)
    side = 5 if a.shape[-1] == 3 else 7
    if min(a.shape[:2]) < side:
        return 0.0
    x = _patches(a, side, PATCHES)
    x = x - x.mean(axis=0)
    eig = np.sort(np.linalg.eigvalsh(x.T @ x / max(len(x) - 1, 1)))
    mean = 0.0
    for k in range(len(eig), 0, -1):
        mean = float(eig[:k].mean())
        if np.sum(eig[:k] > mean) == np.sum(eig[:k] < mean):  # mean == median: these eigenvalues are noise alone
            break
    return float(np.sqrt(max(mean, 0.0)))


def blockiness(image: np.ndarray) -> float:
    """JPEG blocks: mean step across the 8 x 8 grid over the mean step within blocks, minus 1 (0: none, or too
    small to tell)."""
    a = as_255(image).mean(axis=-1)
    ratios = []
    for steps in (np.abs(np.diff(a, axis=1)), np.abs(np.diff(a, axis=0)).T):
        if steps.shape[1] < 2 * BLOCK:
            continue
        on_grid = np.arange(steps.shape[1]) % BLOCK == BLOCK - 1
        within = float(steps[:, ~on_grid].mean())
        if within > 1e-9:
            ratios.append(float(steps[:, on_grid].mean()) / within - 1.0)
    return float(np.mean(ratios)) if ratios else 0.0


def estimate(image: np.ndarray) -> Degradation:
    """Both measures of one image."""
    return Degradation(noise_sigma(image), blockiness(image))


def strength_from(found: Degradation) -> float:
    """The clean-up strength for a measured degradation: 0 for a clean image, 1 once noise or blocks are clear."""
    s = (found.sigma - SIGMA_ZERO) / SIGMA_SPAN + (found.blockiness - BLOCK_ZERO) / BLOCK_SPAN
    return float(np.clip(s, 0.0, 1.0))


def cleanup_strength(image: np.ndarray) -> float:
    """The photo models' "auto" clean-up strength for ``image``."""
    return strength_from(estimate(image))
