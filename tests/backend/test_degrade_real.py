"""The realistic degradation operators (backend/degrade/real.py) and the photo models' clean-up strength."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from backend.cleanup import AUTO_STRENGTH, blend, check_cleanup
from backend.degrade.real import (
    KERNEL_KINDS,
    RW_GRID,
    RealDegradation,
    Round,
    add_noise,
    degrade_batch,
    degrade_image,
    gaussian_kernel,
    jpeg,
    random_kernel,
    rw_observe,
    sinc_kernel,
)
from backend.errors import RetexError
from backend.pipeline import restore
from backend.runtime import load_net
from backend.tasks import get_task
from backend.weights import default_path, load_restoration


def _photo(h: int = 64, w: int = 64, seed: int = 0) -> np.ndarray:
    """A smooth picture with edges: what JPEG and blur act on visibly."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([0.5 + 0.4 * np.sin(6 * xx + c) * np.cos(4 * yy) for c in range(3)], axis=-1)
    img[h // 4 : h // 2, w // 4 : w // 2] = rng.uniform(0.1, 0.9, size=3)
    return img.astype(np.float32)


@pytest.mark.parametrize("kind", range(len(KERNEL_KINDS)))
def test_every_kernel_kind_sums_to_one_and_is_point_symmetric(kind: int) -> None:
    odds = tuple(1.0 if i == kind else 0.0 for i in range(len(KERNEL_KINDS)))
    rng = np.random.default_rng(kind)
    for _ in range(5):
        k = random_kernel(Round(kernel_p=odds, blur_sigma=(0.5, 2.5)), rng)
        assert k.shape[0] == k.shape[1] and k.shape[0] % 2 == 1
        assert abs(float(k.sum()) - 1.0) < 1e-5
        assert np.allclose(k, k[::-1, ::-1], atol=1e-6)  # no shift: blur does not move the picture


def test_gaussian_kernel_has_the_asked_spread_and_sinc_rings() -> None:
    k = gaussian_kernel(41, 3.0, 1.0, 0.0)
    xx = np.arange(-20, 21)
    assert abs(np.sqrt((k.sum(0) * xx**2).sum()) - 3.0) < 0.05  # sigma along x
    assert abs(np.sqrt((k.sum(1) * xx**2).sum()) - 1.0) < 0.05
    assert sinc_kernel(21, np.pi / 3).min() < 0  # negative lobes: the ringing it stands for


def test_jpeg_really_goes_through_the_codec() -> None:
    img = _photo(96, 96)
    out = jpeg(img, 40)
    u8 = np.round(img * 255).astype(np.uint8)
    _, buf = cv2.imencode(".jpg", np.ascontiguousarray(u8[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 40])
    assert np.array_equal(np.round(out * 255).astype(np.uint8), cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
    assert np.abs(out - img).mean() > 1e-3  # lossy
    assert np.abs(jpeg(img, 95) - img).mean() < np.abs(out - img).mean()  # quality orders the loss


def test_gaussian_noise_has_its_sigma_and_grey_noise_is_the_same_in_every_channel() -> None:
    flat = np.full((256, 256, 3), 0.5, np.float32)
    rnd = Round(noise_sigma=(10, 10), poisson_p=0, camera_p=0, grey_noise_p=0)
    noise = add_noise(flat, rnd, np.random.default_rng(0)) - flat
    assert abs(noise.std() * 255 - 10) < 0.3 and abs(noise.mean()) < 1e-3
    grey = add_noise(
        flat, Round(noise_sigma=(10, 10), poisson_p=0, camera_p=0, grey_noise_p=1), np.random.default_rng(1)
    )
    assert np.allclose(grey[..., 0], grey[..., 1]) and np.allclose(grey[..., 1], grey[..., 2])


def test_shot_and_camera_noise_grow_with_the_signal() -> None:
    for rnd in (Round(poisson_p=1, grey_noise_p=0), Round(poisson_p=0, camera_p=1, grey_noise_p=0)):
        stds = []
        for level in (0.1, 0.4, 0.9):
            flat = np.full((128, 128, 3), level, np.float32)
            stds.append(float((add_noise(flat, rnd, np.random.default_rng(3)) - flat).std()))
        assert stds[0] < stds[1] < stds[2]


def test_degradation_is_seeded_sized_and_8_bit() -> None:
    img = _photo(64, 96)
    cfg = RealDegradation()
    for scale in (1, 2, 4):
        a = degrade_image(img, scale, cfg, np.random.default_rng(5))
        b = degrade_image(img, scale, cfg, np.random.default_rng(5))
        assert a.shape == (64 // scale, 96 // scale, 3) and np.array_equal(a, b)
        assert np.array_equal(a, np.round(a * 255) / 255)  # stored as a file would be
    draws = {degrade_image(img, 1, cfg, np.random.default_rng(s)).tobytes() for s in range(4)}
    assert len(draws) == 4


def test_clean_inputs_are_only_resized() -> None:
    img = _photo(64, 64)
    out = degrade_image(img, 1, RealDegradation(clean_p=1.0), np.random.default_rng(0))
    assert np.abs(out - img).max() <= 0.5 / 255 + 1e-6


def test_the_rw_benchmark_inputs_are_fixed() -> None:
    img = _photo(64, 64)
    for i in range(len(RW_GRID)):
        assert np.array_equal(rw_observe(img, 4, "BSD100", i), rw_observe(img, 4, "BSD100", i))
    assert not np.array_equal(rw_observe(img, 4, "BSD100", 0), rw_observe(img, 4, "BSD100", 1))


def test_a_batch_is_degraded_image_by_image() -> None:
    batch = torch.from_numpy(np.stack([_photo(32, 32, s) for s in range(3)])).permute(0, 3, 1, 2)
    out = degrade_batch(batch, 2, RealDegradation(), np.random.default_rng(0))
    assert out.shape == (3, 3, 16, 16) and out.dtype == torch.float32


@pytest.mark.parametrize("value", ["-0.1", "1.5", "x", "nan", "inf", True, [1]])
def test_a_bad_cleanup_strength_is_one_clear_error(value: object) -> None:
    with pytest.raises(RetexError, match="clean-up strength"):
        check_cleanup(value)


def test_cleanup_strength_parses_numbers_and_auto() -> None:
    assert check_cleanup("auto") == AUTO_STRENGTH and check_cleanup(None) == AUTO_STRENGTH
    assert check_cleanup("0.25") == 0.25 and check_cleanup(0) == 0.0 and check_cleanup(1) == 1.0


def _noisy_input(scale: int) -> torch.Tensor:
    lr = rw_observe(_photo(48, 64), scale, "test", 1)  # noise then JPEG
    return torch.from_numpy(lr).permute(2, 0, 1)[None].contiguous()


def _run(task_name: str, strength: float) -> torch.Tensor:
    task = get_task(task_name)
    with torch.no_grad():
        return restore(load_net(task, strength, "torch"), task, _noisy_input(task.scale))


def test_photo_strength_zero_is_the_input_and_the_change_grows_with_strength() -> None:
    x = _noisy_input(1)
    outs = [_run("photo", s) for s in (0.0, 0.25, 0.5, 1.0)]
    assert torch.allclose(outs[0], x, atol=1e-6)
    dist = [float((o - x).abs().mean()) for o in outs]
    assert dist == sorted(dist) and dist[-1] > 1e-3


@pytest.mark.parametrize("name", ["photo-sr2", "photo-sr4"])
def test_photo_upscale_strength_zero_is_the_clean_model_and_the_change_grows(name: str) -> None:
    task = get_task(name)
    base_task = get_task(task.base)
    with torch.no_grad():
        base = restore(load_restoration(default_path(base_task), base_task), base_task, _noisy_input(task.scale))
    outs = [_run(name, s) for s in (0.0, 0.5, 1.0)]
    assert torch.equal(outs[0], base)
    dist = [float((o - base).abs().mean()) for o in outs]
    assert dist == sorted(dist) and dist[-1] > 1e-3


def test_blend_leaves_the_clean_models_alone() -> None:
    task = get_task("sr4")
    net = load_restoration(default_path(task), task)
    assert blend(task, net, None, 0.0) is net
