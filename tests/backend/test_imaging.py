"""Filters, MATLAB bicubic resize, colour and metrics against hand-computed values and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from backend.imaging.colour import rgb_to_y
from backend.imaging.filters import band_pass, gaussian_blur, gaussian_kernel_1d, high_pass
from backend.imaging.metrics import psnr, ssim
from backend.imaging.resize import cubic, imresize, resize_matrix


def rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# --- filters -------------------------------------------------------------------------------------------------------


def test_gaussian_kernel_normalized_and_symmetric() -> None:
    k = gaussian_kernel_1d(2.0)
    assert k.numel() == 13
    assert float(k.sum()) == pytest.approx(1.0, abs=1e-12)
    assert torch.equal(k, k.flip(0))


@pytest.mark.parametrize("sigma", [0.5, 1.0, 3.0, 16.0])
def test_blur_keeps_constants_and_dog_removes_them(sigma: float) -> None:
    const = torch.full((1, 3, 20, 9), 0.37, dtype=torch.float64)
    assert torch.allclose(gaussian_blur(const, sigma), const, atol=1e-12)
    assert float(band_pass(const, sigma, 2 * sigma).abs().max()) < 1e-12
    assert float(high_pass(const, sigma).abs().max()) < 1e-12


def test_blur_matches_direct_convolution_in_the_interior() -> None:
    x = rand(1, 1, 40, 40)
    k = gaussian_kernel_1d(1.5)
    r = (k.numel() - 1) // 2
    direct = sum(k[i] * k[j] * x[0, 0, 20 - r + i, 20 - r + j] for i in range(k.numel()) for j in range(k.numel()))
    assert float(gaussian_blur(x, 1.5)[0, 0, 20, 20]) == pytest.approx(float(direct), abs=1e-12)


def test_blur_works_on_images_smaller_than_the_kernel() -> None:
    x = rand(2, 3, 3, 5)
    y = gaussian_blur(x, 8.0)
    assert y.shape == x.shape and torch.isfinite(y).all()


def _gain(filter_fn, freq: float, n: int = 256) -> float:
    """Amplitude response of a filter to a horizontal cosine at ``freq`` cycles/pixel (measured mid-image)."""
    cols = torch.arange(n, dtype=torch.float64)
    x = torch.cos(2 * math.pi * freq * cols).view(1, 1, 1, n).expand(1, 1, 8, n).contiguous()
    y = filter_fn(x)[0, 0, 4, n // 4 : 3 * n // 4]
    ref = x[0, 0, 4, n // 4 : 3 * n // 4]
    return float((y * ref).sum() / (ref * ref).sum())


def test_six_bands_partition_the_spectrum() -> None:
    """The network's six DoG bands add up to the identity at every frequency, and each band peaks in its own
    octave, from the finest (band 0) to the coarsest (band 5)."""
    from backend.nets.restoration import band_edges

    bands = band_edges()
    assert len(bands) == 6 and bands[0][0] == 0 and math.isinf(bands[-1][1])
    freqs = [0.0] + [2.0**-k for k in np.arange(1, 8.5, 0.25)]
    responses = np.array([[_gain(lambda t, b=b: band_pass(t, *b), f) for f in freqs] for b in bands])
    assert np.allclose(responses.sum(axis=0), 1.0, atol=1e-9)
    peaks = [freqs[int(np.argmax(r))] for r in responses]
    assert peaks == sorted(peaks, reverse=True) and len(set(peaks)) == 6
    assert responses[0, 0] == pytest.approx(0.0, abs=1e-9)  # DC only in the low-pass band
    assert responses[5, 0] == pytest.approx(1.0, abs=1e-9)


# --- bicubic resize ------------------------------------------------------------------------------------------------


def test_cubic_kernel_values() -> None:
    # Keys a=-0.5 at the four tap distances of a x2 upsample, worked out by hand.
    assert cubic(np.array([0.25, 0.75, 1.25, 1.75])) == pytest.approx([0.8671875, 0.2265625, -0.0703125, -0.0234375])
    assert cubic(np.array([0.0, 1.0, 2.0, 2.5])) == pytest.approx([1.0, 0.0, 0.0, 0.0])


def test_upsample_x2_hand_computed() -> None:
    # Output pixel 3 (1-based) of a x2 upsample sits at input coordinate 1.75: taps on inputs 0..3 (1-based; input 0
    # mirrors input 1) at distances 1.75, 0.75, 0.25, 1.25. Output 8 sits at 4.25: inputs 3..6 at 1.25, 0.25, ...
    v = torch.tensor([3.0, 7.0, 2.0, 5.0, 11.0, 4.0], dtype=torch.float64).view(1, 1, 1, 6)
    out = imresize(v, 2.0)[0, 0, 0]
    assert float(out[2]) == pytest.approx(-0.0234375 * 3 + 0.2265625 * 3 + 0.8671875 * 7 - 0.0703125 * 2, abs=1e-12)
    assert float(out[7]) == pytest.approx(-0.0703125 * 2 + 0.8671875 * 5 + 0.2265625 * 11 - 0.0234375 * 4, abs=1e-12)


def test_downsample_antialiased_kernel_is_wide() -> None:
    m = resize_matrix(32, 8)  # x1/4: MATLAB stretches the kernel to 16 taps
    assert int((abs(m[4]) > 0).sum()) == 16
    assert abs(m.sum(1) - 1).max() < 1e-12


@pytest.mark.parametrize("scale", [0.25, 0.5, 2.0, 4.0])
def test_resize_properties(scale: float) -> None:
    const = torch.full((1, 3, 24, 20), 0.6, dtype=torch.float64)
    out = imresize(const, scale)
    assert out.shape[-2:] == (math.ceil(24 * scale), math.ceil(20 * scale))
    assert torch.allclose(out, torch.full_like(out, 0.6))


def test_upsample_reproduces_linear_ramps_inside() -> None:
    ramp = torch.arange(16, dtype=torch.float64).view(1, 1, 1, 16)
    out = imresize(ramp, 4.0)[0, 0, 0]
    centres = (torch.arange(64, dtype=torch.float64) + 0.5) / 4 - 0.5  # output pixel centres in input units
    assert torch.allclose(out[8:-8], centres[8:-8], atol=1e-12)


def test_down_then_up_is_close_on_smooth_images() -> None:
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 64), torch.linspace(0, 1, 64), indexing="ij")
    img = torch.sin(3 * xx + 2 * yy).double().view(1, 1, 64, 64)
    back = imresize(imresize(img, 0.25), 4.0)
    assert float((back - img)[..., 8:-8, 8:-8].abs().max()) < 0.02


# --- colour and metrics ---------------------------------------------------------------------------------------------


def test_rgb_to_y_bt601() -> None:
    rgb = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0]], dtype=torch.float64).T.reshape(1, 3, 1, 3)
    y = rgb_to_y(rgb)[0, 0, 0]
    assert y.tolist() == pytest.approx([16.0, 235.0, 16.0 + 65.481])


def test_psnr_known_values() -> None:
    a = torch.zeros(1, 3, 8, 8, dtype=torch.float64)
    assert psnr(a + 1 / 255, a) == pytest.approx(20 * math.log10(255), abs=1e-9)  # 48.13 dB
    assert psnr(a + 0.1, a) == pytest.approx(20.0, abs=1e-9)
    assert psnr(a, a) == math.inf
    mask = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
    mask[..., :2, :] = 1
    b = a.clone()
    b[..., :2, :] = 0.1
    assert psnr(b, a, mask=mask) == pytest.approx(20.0, abs=1e-9)


def test_ssim_known_values() -> None:
    x = rand(1, 1, 32, 32) * 255
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-12)
    # A constant shift leaves variances and covariance unchanged: SSIM is then the luminance term alone,
    # (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1), averaged over windows.
    flat = torch.full((1, 1, 32, 32), 100.0, dtype=torch.float64)
    c1 = (0.01 * 255) ** 2
    expect = (2 * 100 * 120 + c1) / (100**2 + 120**2 + c1)
    assert ssim(flat, flat + 20) == pytest.approx(expect, abs=1e-12)
    assert ssim(x, x + 20) < 1.0
    assert ssim(x, 255 - x) < 0.0
