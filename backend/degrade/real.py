"""Realistic degradations: what phone photos, web images and old scans carry (blur, resizing, noise, JPEG).

A second-order pipeline in the manner of Real-ESRGAN (Wang et al. 2021) and BSRGAN (Zhang et al. 2021): each round
blurs, resizes, adds noise and compresses with the real JPEG codec (OpenCV's libjpeg), with probabilities; the
second round is optional and the last step always lands on the target size. Ranges are narrower than
Real-ESRGAN's (which targets the worst of the web): this product meets phone photos, web images and scans, and a
model trained on heavy degradations smooths the textures of mild ones (docs/design.md gives the measurements).

Every random choice comes from one ``numpy.random.Generator``, so a seeded evaluation is reproducible; the
benchmark's fixed settings (``RW_GRID``) are instances of the same dataclass with degenerate ranges, so training
and evaluation run the same operators.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch

from ..imaging.resize import imresize

Range = tuple[float, float]
KERNEL_KINDS = ("iso", "aniso", "generalized", "plateau", "sinc")
RESIZE_MODES = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}


@dataclass(frozen=True)
class Round:
    """One blur → resize → noise → JPEG round; each ``*_p`` is the probability that its step happens."""

    blur_p: float = 1.0
    blur_sigma: Range = (0.2, 1.6)  # Gaussian sigma in pixels of the image the round works on
    kernel_p: tuple[float, ...] = (0.5, 0.25, 0.1, 0.05, 0.1)  # odds of KERNEL_KINDS
    resize_p: tuple[float, float, float] = (0.2, 0.6, 0.2)  # up, down, keep
    resize_range: Range = (0.5, 1.5)  # factor drawn from [lo, 1] (down) or [1, hi] (up)
    noise_p: float = 0.8
    noise_sigma: Range = (1.0, 12.0)  # Gaussian sigma on 0..255
    grey_noise_p: float = 0.4  # the same noise in every channel (luminance noise)
    poisson_p: float = 0.25  # shot noise instead of Gaussian
    poisson_scale: Range = (0.05, 1.5)  # variance multiplier (1 = 255 photons at white)
    camera_p: float = 0.15  # signal-dependent camera noise (variance a*x + b) instead of Gaussian
    jpeg_p: float = 0.9
    jpeg_quality: Range = (45, 95)


@dataclass(frozen=True)
class RealDegradation:
    """The whole pipeline: round one, an optional round two, the final resize to the target and a final JPEG."""

    name: str = "train"
    clean_p: float = 0.1  # unchanged inputs (only resized), so a clean image is not smoothed
    # Round one resizes straight to the target: its blur acts on the clean image, its noise and JPEG on the target
    # size, as in a camera (optics, then the sensor, then the encoder).
    first_to_target: bool = False
    first: Round = Round()
    second_p: float = 0.4
    second: Round = Round(
        blur_p=0.5, blur_sigma=(0.2, 1.0), resize_range=(0.7, 1.2), noise_sigma=(1.0, 8.0), jpeg_p=0.0
    )
    final_modes: tuple[str, ...] = ("area", "bilinear", "bicubic")
    final_sinc_p: float = 0.2  # a ringing filter applied with the final resize
    final_jpeg_p: float = 0.8
    final_jpeg_quality: Range = (45, 95)


def _odd(n: float) -> int:
    n = int(round(n))
    return n if n % 2 else n + 1


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    r = size // 2
    ax = np.arange(-r, r + 1, dtype=np.float64)
    return np.meshgrid(ax, ax)


def gaussian_kernel(size: int, sx: float, sy: float, theta: float, beta: float = 2.0, plateau: bool = False):
    """Anisotropic (generalized) Gaussian or plateau kernel, rotated by ``theta``, summing to 1.

    beta = 2 is the Gaussian; other betas give the generalized Gaussian exp(-(d^2)^(beta/2)); ``plateau`` the
    flat-topped 1 / (1 + (d^2)^beta) of Real-ESRGAN."""
    xx, yy = _grid(size)
    c, s = math.cos(theta), math.sin(theta)
    u, v = c * xx + s * yy, -s * xx + c * yy
    d2 = (u / sx) ** 2 + (v / sy) ** 2
    k = 1.0 / (1.0 + d2**beta) if plateau else np.exp(-0.5 * d2 ** (beta / 2))
    return (k / k.sum()).astype(np.float32)


def _bessel_j1(x: np.ndarray) -> np.ndarray:
    """J1 by its integral (1/pi) * int_0^pi cos(t - x sin t) dt (midpoint rule, 1e-10 on the kernels' range):
    no SciPy, so training runs where only NumPy is installed."""
    t = (np.arange(256) + 0.5) * np.pi / 256
    return np.cos(t - np.multiply.outer(x, np.sin(t))).mean(axis=-1)


def sinc_kernel(size: int, cutoff: float) -> np.ndarray:
    """Circular low-pass (jinc) with cutoff in radians per pixel: the ringing and overshoot of sharpened or
    resampled images."""
    xx, yy = _grid(size)
    r = np.hypot(xx, yy)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = cutoff * _bessel_j1(cutoff * r) / (2 * np.pi * r)
    k[size // 2, size // 2] = cutoff**2 / (4 * np.pi)
    return (k / k.sum()).astype(np.float32)


def random_kernel(rnd: Round, rng: np.random.Generator) -> np.ndarray:
    kind = KERNEL_KINDS[rng.choice(len(KERNEL_KINDS), p=np.asarray(rnd.kernel_p) / sum(rnd.kernel_p))]
    lo, hi = rnd.blur_sigma
    size = _odd(min(21, max(7, 6 * hi + 1)))
    if kind == "sinc":
        return sinc_kernel(size, rng.uniform(np.pi / 3, np.pi))
    sx = rng.uniform(lo, hi)
    sy = sx if kind == "iso" else rng.uniform(lo, hi)
    theta = rng.uniform(0, np.pi)
    if kind == "generalized":
        return gaussian_kernel(size, sx, sy, theta, beta=rng.uniform(0.5, 4.0))
    if kind == "plateau":
        return gaussian_kernel(size, sx, sy, theta, beta=rng.uniform(1.0, 2.0), plateau=True)
    return gaussian_kernel(size, sx, sy, theta)


def blur(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REFLECT_101)


def resize(img: np.ndarray, h: int, w: int, mode: str) -> np.ndarray:
    return cv2.resize(img, (max(1, w), max(1, h)), interpolation=RESIZE_MODES[mode])


def add_noise(img: np.ndarray, rnd: Round, rng: np.random.Generator) -> np.ndarray:
    """Gaussian (colour or grey), Poisson shot noise, or signal-dependent camera noise (variance a*x + b)."""
    grey = rng.random() < rnd.grey_noise_p
    shape = img.shape[:2] + ((1,) if grey else (3,))
    pick = rng.random()
    if pick < rnd.poisson_p:
        scale = rng.uniform(*rnd.poisson_scale)
        photons = 255.0 / scale
        lum = img.mean(axis=2, keepdims=True) if grey else img
        noisy = rng.poisson(np.clip(lum, 0, 1) * photons) / photons
        return img + (noisy - lum).astype(np.float32)
    if pick < rnd.poisson_p + rnd.camera_p:
        sigma = rng.uniform(*rnd.noise_sigma) / 255  # the noise level at mid-grey
        a, b = sigma**2 * rng.uniform(0.5, 1.5), sigma**2 * rng.uniform(0.1, 0.5)
        std = np.sqrt(a * np.clip(img.mean(axis=2, keepdims=True) if grey else img, 0, 1) + b)
        return img + (std * rng.standard_normal(shape)).astype(np.float32)
    sigma = rng.uniform(*rnd.noise_sigma) / 255
    return img + (sigma * rng.standard_normal(shape)).astype(np.float32)


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """A real round trip through libjpeg (4:2:0 chroma, as cameras and the web save)."""
    u8 = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(u8[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if decoded is None:
        raise RuntimeError("JPEG decoding failed")
    return decoded[..., ::-1].astype(np.float32) / 255


def _round(
    img: np.ndarray, rnd: Round, rng: np.random.Generator, out_hw: tuple[int, int] | None, mode: str | None = None
) -> np.ndarray:
    if rng.random() < rnd.blur_p:
        img = blur(img, random_kernel(rnd, rng))
    h, w = img.shape[:2]
    if out_hw is None:
        way = rng.choice(3, p=np.asarray(rnd.resize_p) / sum(rnd.resize_p))
        factor = (rng.uniform(1, rnd.resize_range[1]), rng.uniform(rnd.resize_range[0], 1), 1.0)[way]
        out_hw = (round(h * factor), round(w * factor))
    if out_hw != (h, w):
        img = resize(img, *out_hw, mode=mode or str(rng.choice(list(RESIZE_MODES))))
    if rng.random() < rnd.noise_p:
        img = add_noise(img, rnd, rng)
    if rng.random() < rnd.jpeg_p:
        img = jpeg(np.clip(img, 0, 1), int(round(rng.uniform(*rnd.jpeg_quality))))
    return np.clip(img, 0, 1)


def degrade_image(clean: np.ndarray, scale: int, cfg: RealDegradation, rng: np.random.Generator) -> np.ndarray:
    """H x W x 3 float32 on [0, 1] → (H/scale) x (W/scale) x 3, quantized to 8 bits as a saved file would be."""
    h, w = clean.shape[0] // scale, clean.shape[1] // scale
    if rng.random() < cfg.clean_p:
        return _quantize(_bicubic(clean, scale))
    mode = cfg.final_modes[int(rng.integers(len(cfg.final_modes)))]
    img = _round(clean, cfg.first, rng, *(((h, w), mode) if cfg.first_to_target else (None,)))
    if rng.random() < cfg.second_p:
        img = _round(img, cfg.second, rng, None)
    sinc = rng.random() < cfg.final_sinc_p
    compress = rng.random() < cfg.final_jpeg_p
    quality = int(round(rng.uniform(*cfg.final_jpeg_quality)))
    if compress and rng.random() < 0.5:  # JPEG then resize, or resize then JPEG (Real-ESRGAN's two orders)
        img = jpeg(img, quality)
        compress = False
    if img.shape[:2] != (h, w):
        img = resize(img, h, w, mode)
    if sinc:
        img = np.clip(blur(img, sinc_kernel(_odd(rng.uniform(7, 21)), rng.uniform(np.pi / 3, np.pi))), 0, 1)
    if compress:
        img = jpeg(img, quality)
    return _quantize(np.clip(img, 0, 1))


def _bicubic(img: np.ndarray, scale: int) -> np.ndarray:
    if scale == 1:
        return img
    t = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]
    return imresize(t, 1.0 / scale)[0].permute(1, 2, 0).numpy()


def _quantize(img: np.ndarray) -> np.ndarray:
    return (np.round(np.clip(img, 0, 1) * 255) / 255).astype(np.float32)


def degrade_batch(clean: torch.Tensor, scale: int, cfg: RealDegradation, rng: np.random.Generator) -> torch.Tensor:
    """N x 3 x H x W clean batch → N x 3 x H/scale x W/scale observations (on the batch's device)."""
    arr = clean.detach().float().cpu().permute(0, 2, 3, 1).numpy()
    out = np.stack([degrade_image(a, scale, cfg, rng) for a in arr])
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous().to(clean.device)


def _fixed(name: str, **round_args) -> RealDegradation:
    """A benchmark setting: one deterministic round (each step on or off), then area resize to the target."""
    first = Round(
        blur_p=0.0,
        resize_p=(0, 0, 1),
        noise_p=0.0,
        grey_noise_p=0.0,
        poisson_p=0.0,
        camera_p=0.0,
        jpeg_p=0.0,
        kernel_p=(1, 0, 0, 0, 0),
    )
    return RealDegradation(
        name=name, clean_p=0.0, first_to_target=True, first=replace(first, **round_args), second_p=0.0,
        final_modes=("area",), final_sinc_p=0.0, final_jpeg_p=0.0,
    )  # fmt: skip


def _with_final_jpeg(cfg: RealDegradation, quality: int) -> RealDegradation:
    return replace(cfg, final_jpeg_p=1.0, final_jpeg_quality=(quality, quality))


# The RW benchmark: image i of a set gets RW_GRID[i % len(RW_GRID)], seeded from the set and the index. The settings
# span what the product meets: a web JPEG, a phone shot (noise then JPEG), a soft camera (blur, camera noise, JPEG)
# and an old scan (anisotropic blur, grey grain, strong JPEG); noise is added after the downscale, as a sensor does.
RW_GRID: tuple[RealDegradation, ...] = (
    _with_final_jpeg(_fixed("web-jpeg"), 70),
    _with_final_jpeg(_fixed("phone", noise_p=1.0, noise_sigma=(8, 8)), 85),
    _with_final_jpeg(
        _fixed("soft-camera", blur_p=1.0, blur_sigma=(1.0, 1.0), noise_p=1.0, camera_p=1.0, noise_sigma=(6, 6)), 80
    ),  # fmt: skip
    _with_final_jpeg(
        _fixed(
            "scan",
            blur_p=1.0,
            blur_sigma=(0.6, 1.4),
            kernel_p=(0, 1, 0, 0, 0),
            noise_p=1.0,
            grey_noise_p=1.0,
            noise_sigma=(5, 5),
        ),
        55,
    ),  # fmt: skip
)


def rw_setting(index: int) -> RealDegradation:
    """The RW benchmark's setting for image ``index`` of a set."""
    return RW_GRID[index % len(RW_GRID)]


def rw_seed(set_name: str, index: int) -> int:
    """The RW benchmark's seed for image ``index`` of ``set_name`` (stable across runs and machines)."""
    return zlib.crc32(f"RW-{set_name}/{index}".encode())


def rw_observe(clean: np.ndarray, scale: int, set_name: str, index: int) -> np.ndarray:
    """The RW benchmark input for one clean H x W x 3 float image (H, W multiples of ``scale``): the same for
    Retex, every peer and every run."""
    return degrade_image(clean, scale, rw_setting(index), np.random.default_rng(rw_seed(set_name, index)))
