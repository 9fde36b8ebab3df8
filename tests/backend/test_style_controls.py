"""A texture's size (scale 0.5x-2x, a resampled working grid) and variation (seed, another noise field): they do
what they say, agree across tiles and previews, and scale 1 / seed 0 are the textures of before, bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from backend.errors import RetexError
from backend.nets.style import StyleConfig, StyleNet, coordinate_noise
from backend.pipeline import process, style_residual
from backend.runtime import load_style_model
from backend.styles import find_style
from backend.stylize import StyleSlot

# computed before scales and seeds existed; its outputs recomputed once the border mirror and the fold lattice's
# removal (backend.style_grid) changed every texture on purpose
BASELINE = Path(__file__).parent / "data" / "style_baseline.pt"


def style_net(scale: str = "fine", seed: int = 0, nominal: float = 0.02) -> StyleNet:
    """A random style network; "smooth": a fine one of today's shape, with smooth noise."""
    torch.manual_seed(seed)
    net = StyleNet(StyleConfig.new("fine") if scale == "smooth" else StyleConfig(scale=scale))
    with torch.no_grad():
        net.log_nominal.fill_(float(np.log(nominal)))
    return net.eval().requires_grad_(False)


def image(h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.25 + 0.5 * torch.rand(1, 3, h, w, generator=g)


def wavelength(residual: torch.Tensor) -> float:
    """The residual's dominant wavelength in pixels: 1 / the power-weighted mean radial frequency of its
    luminance (the radially averaged power spectrum's centroid)."""
    y = residual[0].mean(0).double().numpy()
    power = np.abs(np.fft.fft2(y - y.mean())) ** 2
    f = np.hypot(np.fft.fftfreq(y.shape[0])[:, None], np.fft.fftfreq(y.shape[1])[None, :])
    return float(power.sum() / (power * f).sum())


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the baseline was computed on one thread
    yield
    torch.set_num_threads(threads)


def test_scale_one_and_seed_zero_are_the_textures_of_before(one_thread) -> None:
    before = torch.load(BASELINE)
    x = before["image"]
    assert torch.equal(coordinate_noise(4, 12, 20, (5, 33), torch.device("cpu")), before["noise"])
    assert torch.equal(coordinate_noise(4, 12, 20, (5, 33), torch.device("cpu"), seed=0), before["noise"])
    for scale in ("fine", "coarse"):
        net = style_net(scale)
        for slot in (StyleSlot(net, 1.0), StyleSlot(net, 1.0, None, 1.0, 0)):
            # equal up to float rounding: the pipeline's statistics are numpy's sums since it runs without torch
            assert torch.allclose(process(x, None, [slot]), before[f"{scale}/process"], rtol=0, atol=1e-6)
            region = process(x, None, [slot], region=(20, 12, 28, 24))
            assert torch.allclose(region, before[f"{scale}/region"], rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["grass", "starry-night"])  # a fine and a coarse shipped style
def test_the_dominant_wavelength_follows_the_scale(name: str) -> None:
    net = load_style_model(find_style(name), "torch")
    grey = torch.full((1, 3, 320, 320), 0.5)
    base = wavelength(style_residual(net, grey))
    for scale in (0.5, 2.0):
        ratio = wavelength(style_residual(net, grey, scale=scale)) / base
        assert 0.75 * scale < ratio < 1.35 * scale, (name, scale, ratio)


@pytest.mark.parametrize("kind", ["fine", "coarse", "smooth"])
@pytest.mark.parametrize(("scale", "seed"), [(0.5, 0), (2.0, 0), (0.5, 7), (2.0, 123456), (0.7, 3)])
def test_tiles_and_previews_equal_the_whole_image_at_any_scale_and_seed(kind: str, scale: float, seed: int) -> None:
    net, x = style_net(kind), image(150, 170, seed=3)
    whole = style_residual(net, x, tile=4096, scale=scale, seed=seed)
    tiled = style_residual(net, x, tile=64, scale=scale, seed=seed)
    assert (whole - tiled).abs().max() < 1e-5
    mask = torch.zeros(1, 1, 150, 170)
    mask[..., 40:90, 50:110] = torch.linspace(0.2, 1.0, 60)
    slots = [StyleSlot(net, 1.2, mask, scale, seed)]
    full = process(x, None, slots)
    part = process(x, None, slots, region=(50, 40, 60, 50))
    assert (full[..., 40:90, 50:110] - part).abs().max() < 1e-5


@pytest.mark.parametrize("kind", ["fine", "smooth"])
@pytest.mark.parametrize("scale", [1.0, 0.5, 2.0])
def test_a_seed_repeats_exactly_and_two_seeds_differ(scale: float, kind: str) -> None:
    net, x = style_net(kind), image(64, 72, seed=1)
    a = process(x, None, [StyleSlot(net, 1.0, None, scale, 11)])
    assert torch.equal(a, process(x, None, [StyleSlot(net, 1.0, None, scale, 11)]))
    b = process(x, None, [StyleSlot(net, 1.0, None, scale, 12)])
    c = process(x, None, [StyleSlot(net, 1.0, None, scale, 0)])
    assert (a - b).abs().mean() > 1e-3 and (a - c).abs().mean() > 1e-3
    # another noise field, the same texture's amplitude
    assert abs(float((a - x).std()) / float((b - x).std()) - 1) < 0.2


def test_onnx_runtime_takes_the_same_scale_and_seed() -> None:
    path = find_style("grass")
    torch_net, onnx_net = load_style_model(path, "torch"), load_style_model(path, "onnx")
    x = image(48, 64, seed=2)
    for scale, seed in ((1.0, 9), (0.5, 0), (2.0, 4)):
        a = process(x, None, [StyleSlot(torch_net, 1.0, None, scale, seed)])
        b = process(x, None, [StyleSlot(onnx_net, 1.0, None, scale, seed)])
        assert (a - b).abs().max() < 1e-4


@pytest.mark.parametrize(
    ("scale", "seed", "words"),
    [(0.49, 0, "texture scale"), (2.01, 0, "texture scale"), (float("nan"), 0, "texture scale"),
     (1.0, -1, "seed"), (1.0, 1.5, "seed"), (1.0, True, "seed"), (1.0, 2**31, "seed")],
)  # fmt: skip
def test_bad_scales_and_seeds_are_refused(scale: float, seed: int, words: str) -> None:
    with pytest.raises(RetexError, match=words):
        process(image(16, 16), None, [StyleSlot(style_net(), 1.0, None, scale, seed)])
