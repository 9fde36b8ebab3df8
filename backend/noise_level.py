"""How degraded an image is, read from its pixels: what the photo models' clean-up "auto" is set from.

Two measures, numpy only (the inference path stays torch-free):

- ``noise_sigma``: the Gaussian-equivalent noise level on 0..255, by Chen, Zhu and Heng, "An efficient statistical
  method for image noise level estimation" (ICCV 2015): the eigenvalues of the covariance of the image's patches
  are image structure plus noise; structure lives in a few directions, so the smallest eigenvalues are noise alone.
  Their rule takes the largest set of the smallest eigenvalues whose mean equals their median (i.e. that look like
  one noise variance) and returns the square root of that mean. Colour images use 5 x 5 x 3 patches, so the
  channels' correlation separates texture from noise better (grey: 7 x 7). Patches are taken on a regular grid,
  at most ``PATCHES`` of them, so the cost does not grow with the image (and the result is deterministic).
- ``jpeg_step``: the quantization step JPEG left in the image, after Fan and de Queiroz, "Identification of bitmap
  compression history: JPEG detection and quantizer estimation" (IEEE TIP 2003): on JPEG's 8 x 8 grid, the DCT
  coefficients of a decoded JPEG's luma sit on multiples of the quantizer's step. For the lowest AC frequencies the
  step is the largest q at which the coefficients (those beyond q/2) line up, |mean(exp(2 pi i c / q))| > 1/2; the
  median over five frequencies is returned. Blocks with a pixel at 0 or 255 are left out: the decoder's clipping
  moves their coefficients off the multiples (a photo's saturated sky hid its JPEG). 1 means no JPEG seen (or
  quality 90 and above); libjpeg's quality 85 gives 4, 70 gives 7, 50 gives 12.

``cleanup_strength`` maps both to the clean-up strength, calibrated on the RW benchmark by
``python tools/auto_cleanup.py`` (see docs/design.md, "Clean-up 'auto'").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PATCHES = 10_000  # patches sampled for the noise estimate: sigma within ~0.1, ~0.05 s on one core
BLOCK = 8  # JPEG's block size
BLOCKS = 6_000  # blocks sampled for the JPEG step
FREQUENCIES = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0))  # the lowest AC frequencies: never quantized to all zeros
LINED_UP = 0.5  # |mean(exp(2 pi i c / q))| above this: the coefficients sit on multiples of q
MAX_STEP = 40

# The mapping, fitted by tools/auto_cleanup.py: strength = clip(max((sigma - SIGMA_ZERO) / SIGMA_SPAN,
# (jpeg_step - STEP_ZERO) / STEP_SPAN), 0, 1).
SIGMA_ZERO, SIGMA_SPAN = 2.0, 3.0
STEP_ZERO, STEP_SPAN = 2.0, 2.0


@dataclass(frozen=True)
class Degradation:
    """What ``estimate`` read from an image."""

    sigma: float  # Gaussian-equivalent noise level on 0..255
    jpeg_step: float  # JPEG's quantization step at the lowest frequencies (1: no JPEG seen)


def _layout(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The first image of ``image`` as an H x W x C view, and the factor that puts its values on 0..255. Accepted:
    H x W, H x W x C (C <= 4), C x H x W and N x C x H x W (the pipeline's layout); uint8 is 0..255, uint16
    0..65535, floats 0..1. Alpha is dropped. Nothing is converted here: only the sampled pixels are, later."""
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
    return a, {np.dtype(np.uint8): 1.0, np.dtype(np.uint16): 1 / 257}.get(a.dtype, 255.0)


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
    a, to_255 = _layout(image)
    side = 5 if a.shape[-1] == 3 else 7
    if min(a.shape[:2]) < side:
        return 0.0
    x = _patches(a, side, PATCHES).astype(np.float64) * to_255
    x = x - x.mean(axis=0)
    eig = np.sort(np.linalg.eigvalsh(x.T @ x / max(len(x) - 1, 1)))
    mean = 0.0
    for k in range(len(eig), 0, -1):
        mean = float(eig[:k].mean())
        if np.sum(eig[:k] > mean) == np.sum(eig[:k] < mean):  # mean == median: these eigenvalues are noise alone
            break
    return float(np.sqrt(max(mean, 0.0)))


def _dct_matrix() -> np.ndarray:
    k = np.arange(BLOCK)
    m = np.sqrt(2 / BLOCK) * np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * BLOCK))
    m[0] /= np.sqrt(2)
    return m


def jpeg_step(image: np.ndarray) -> float:
    """Fan and de Queiroz's (2003) quantizer estimate on the luma's lowest AC frequencies: 1 when no JPEG is seen."""
    a, to_255 = _layout(image)
    rows, cols = a.shape[0] // BLOCK, a.shape[1] // BLOCK
    every = int(np.ceil(np.sqrt(rows * cols / BLOCKS))) if rows * cols > BLOCKS else 1  # whole blocks, on the grid
    ys = (np.arange(0, rows, every)[:, None] * BLOCK + np.arange(BLOCK)).ravel()
    xs = (np.arange(0, cols, every)[:, None] * BLOCK + np.arange(BLOCK)).ravel()
    picked = a[ys[:, None], xs].astype(np.float64) * to_255
    y = picked @ np.array([0.299, 0.587, 0.114]) if a.shape[-1] == 3 else picked[..., 0]  # JPEG's own luma
    h, w = y.shape
    blocks = y.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).transpose(0, 2, 1, 3).reshape(-1, BLOCK, BLOCK)
    saturated = ((picked < 0.5) | (picked > 254.5)).reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK, a.shape[-1])
    blocks = blocks[~saturated.any(axis=(1, 3, 4)).ravel()]  # the decoder's clipping moves them off the multiples
    m = _dct_matrix()
    coefs = m @ (blocks - 128) @ m.T
    c = np.stack([coefs[:, u, v] for u, v in FREQUENCIES])[:, None, :]  # frequency x 1 x block
    q = np.arange(2, MAX_STEP + 1, dtype=np.float64)[None, :, None]
    kept = np.abs(c) > q / 2  # zeros line up at every q: only the coefficients JPEG kept count
    count = kept.sum(axis=2)
    turns = np.where(kept, np.exp(2j * np.pi * c / q), 0).sum(axis=2)
    lined_up = (count >= 30) & (np.abs(turns) > LINED_UP * np.maximum(count, 1))
    steps = [float(q.ravel()[np.flatnonzero(f)[-1]]) if f.any() else 1.0 for f in lined_up]  # the largest
    return float(np.median(steps))


def estimate(image: np.ndarray) -> Degradation:
    """Both measures of one image."""
    return Degradation(noise_sigma(image), jpeg_step(image))


def strength_from(found: Degradation) -> float:
    """The clean-up strength for a measured degradation: 0 for a clean image, 1 once noise or JPEG is clear; in
    steps of 0.05, so the service's blend of the last strength serves the next similar image too."""
    s = max((found.sigma - SIGMA_ZERO) / SIGMA_SPAN, (found.jpeg_step - STEP_ZERO) / STEP_SPAN)
    return round(float(np.clip(s, 0.0, 1.0)) * 20) / 20


def cleanup_strength(image: np.ndarray) -> float:
    """The photo models' "auto" clean-up strength for ``image``."""
    return strength_from(estimate(image))
