"""The degradation estimator behind clean-up "auto": noise level against known sigma on real photos, JPEG's step
through the real codec, and the inputs the photo models accept (grey, tiny, 16-bit, float, flat, alpha)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend import noise_level
from backend.imaging.io import list_images
from backend.paths import BENCHMARK_DIR
from plugin.common.client import Client
from plugin.common.protocol import FrameSpec
from tests.service_helpers import REPO, start_server

needs_data = pytest.mark.skipif(not BENCHMARK_DIR.is_dir(), reason="benchmark data not present")
SIGMAS = (0, 5, 10, 15, 25, 50)


def _photos(name: str, count: int) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in list_images(BENCHMARK_DIR / name / "HR")[:count]]


def _noisy(photo: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """The photo on [0, 1] plus Gaussian noise of ``sigma`` on 0..255, unclipped (as the denoising benchmarks)."""
    rng = np.random.default_rng(seed)
    return photo / 255.0 + rng.normal(0, sigma / 255.0, photo.shape)


def _jpeg(photo: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


@needs_data
@pytest.mark.parametrize("name", ["CBSD68", "BSD100"])
def test_noise_sigma_matches_known_sigma(name: str) -> None:
    """Within 0.6 of the added sigma from 5 to 50 (worst on the 68 CBSD68 photos: 0.44, at sigma 50), near 0 on the
    clean photos, textured ones included, and increasing with sigma on every photo."""
    for i, photo in enumerate(_photos(name, 6)):
        found = [noise_level.noise_sigma(_noisy(photo, s, seed=i)) for s in SIGMAS]
        assert found[0] < 1.5, (i, found)
        for s, f in zip(SIGMAS[1:], found[1:], strict=True):
            assert abs(f - s) < 0.6, (i, s, f)
        assert all(a < b for a, b in zip(found, found[1:], strict=False)), (i, found)


@needs_data
def test_noise_sigma_is_deterministic_and_fast() -> None:
    photo = _photos("BSD100", 1)[0]
    noisy = _noisy(photo, 15, seed=1)
    assert noise_level.noise_sigma(noisy) == noise_level.noise_sigma(noisy.copy())
    big = np.tile(np.clip(noisy, 0, 1), (4, 4, 1))[:1200, :1700]  # 2 MP: the cost does not grow with the image
    start = time.perf_counter()
    noise_level.estimate(big)
    assert time.perf_counter() - start < 2.0  # ~0.1 s on one idle core; generous for a loaded test machine


@needs_data
def test_jpeg_step_reads_the_quality_through_the_codec() -> None:
    """The quantizer's step after a real JPEG round trip (libjpeg's luma table scaled by the quality: 4 at 85, 7 at
    70, 12 at 50) and 1 on photos as stored. The benchmark photos compressed before are seen as such, stored and
    re-encoded (Set14's coastguard and foreman are video frames, zebra and Set5's woman old JPEGs; a re-encode may
    read the first compression's step). Set14's ppt3, a slide of flat colours, reads 3 as stored."""
    compressed = {"coastguard", "foreman", "zebra", "woman"}
    paths = [*list_images(BENCHMARK_DIR / "Set14" / "HR"), *list_images(BENCHMARK_DIR / "Set5" / "HR")]
    paths += list_images(BENCHMARK_DIR / "BSD100" / "HR")[:4]
    for path in paths:
        photo = np.asarray(Image.open(path).convert("RGB"))
        steps = [noise_level.jpeg_step(_jpeg(photo, q) if q else photo) for q in (0, 95, 85, 70, 50)]
        if path.stem in compressed:
            assert min(steps) >= 4.0, (path.name, steps)
        elif path.stem == "ppt3":
            assert steps == [3.0, 3.0, 4.0, 7.0, 12.0], steps
        else:
            assert steps == [1.0, 1.0, 4.0, 7.0, 12.0], (path.name, steps)


def test_layouts_and_types_give_the_same_estimate() -> None:
    rng = np.random.default_rng(3)
    base = np.clip(rng.normal(0.5, 10 / 255, (64, 80, 3)), 0, 1)
    want = noise_level.estimate(base)
    assert 8 < want.sigma < 12
    same = [
        base.transpose(2, 0, 1)[None],  # the pipeline's N x C x H x W
        base.transpose(2, 0, 1),
        np.concatenate([base, np.ones((64, 80, 1))], axis=2),  # alpha is ignored
        base.astype(np.float32),
    ]
    for x in same:
        got = noise_level.estimate(x)
        assert got.sigma == pytest.approx(want.sigma, abs=1e-3) and got.jpeg_step == want.jpeg_step
    as16 = noise_level.estimate(np.round(base * 65535).astype(np.uint16))
    assert as16.sigma == pytest.approx(want.sigma, abs=0.05)
    as8 = noise_level.estimate(np.round(base * 255).astype(np.uint8))
    assert as8.sigma == pytest.approx(want.sigma, abs=0.3)  # 8-bit rounding adds 0.29 of noise


def test_grey_tiny_and_flat_images() -> None:
    rng = np.random.default_rng(4)
    grey = np.clip(rng.normal(0.5, 20 / 255, (48, 48)), 0, 1)
    assert 17 < noise_level.noise_sigma(grey) < 23
    assert noise_level.noise_sigma(grey[..., None]) == noise_level.noise_sigma(grey)
    tiny = np.clip(rng.normal(0.5, 20 / 255, (16, 16, 3)), 0, 1)
    assert 10 < noise_level.noise_sigma(tiny) < 30  # few patches: rough, but a number
    for flat in (np.zeros((40, 40, 3)), np.full((40, 40, 3), 0.7), np.zeros((3, 2, 3))):
        found = noise_level.estimate(flat)
        assert found.sigma == 0.0 and found.jpeg_step == 1.0
        assert noise_level.cleanup_strength(flat) == 0.0
    with pytest.raises(ValueError):
        noise_level.estimate(np.zeros(5))


def test_strength_mapping_is_monotone_and_bounded() -> None:
    D = noise_level.Degradation
    assert noise_level.strength_from(D(0.0, 1.0)) == 0.0
    assert noise_level.strength_from(D(50.0, 1.0)) == 1.0
    assert noise_level.strength_from(D(0.0, 11.0)) == 1.0
    sigmas = [noise_level.strength_from(D(s, 1.0)) for s in np.linspace(0, 20, 41)]
    steps = [noise_level.strength_from(D(0.5, q)) for q in range(1, 20)]
    for seq in (sigmas, steps):
        assert all(a <= b for a, b in zip(seq, seq[1:], strict=False)) and 0 <= min(seq) and max(seq) <= 1


@needs_data
def test_auto_leaves_clean_photos_and_cleans_noisy_ones() -> None:
    """What "auto" is for: a clean photo gets (almost) no clean-up, a noisy or JPEG one the full strength."""
    for photo in _photos("BSD100", 4):
        assert noise_level.cleanup_strength(photo) <= 0.25
        assert noise_level.cleanup_strength(np.clip(_noisy(photo, 15, seed=0), 0, 1)) == 1.0
        assert noise_level.cleanup_strength(_jpeg(photo, 50)) == 1.0


def _crop_png(path: Path, photo: np.ndarray) -> np.ndarray:
    """A 96 x 96 crop of ``photo`` saved as PNG at ``path``; returns its pixels."""
    crop = np.ascontiguousarray(photo[40:136, 40:136])
    Image.fromarray(crop).save(path)
    return crop


@needs_data
def test_auto_through_the_command_line_keeps_a_clean_photo_and_cleans_a_jpeg(tmp_path: Path) -> None:
    """``restore --task photo`` at the default "auto": a clean photo comes back as it was (strength 0 is exactly
    the input for the x1 model); the same photo as JPEG 50 is cleaned as at strength 1."""
    photo = _photos("BSD100", 1)[0]
    clean = _crop_png(tmp_path / "clean.png", photo)
    _crop_png(tmp_path / "jpeg.png", _jpeg(photo, 50))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def restore(name: str, *extra: str) -> np.ndarray:
        out = tmp_path / f"out-{name}-{len(extra)}.png"
        cmd = [
            sys.executable,
            "-m",
            "backend",
            "restore",
            str(tmp_path / f"{name}.png"),
            "-o",
            str(out),
            "--task",
            "photo",
        ]
        subprocess.run([*cmd, *extra], cwd=REPO, env=env, check=True, capture_output=True)
        return np.asarray(Image.open(out).convert("RGB"))

    assert np.array_equal(restore("clean"), clean)
    assert not np.array_equal(restore("clean", "--cleanup", "1"), clean)
    assert np.array_equal(restore("jpeg"), restore("jpeg", "--cleanup", "1"))


@needs_data
def test_auto_through_the_service_reads_each_image(tmp_path: Path) -> None:
    """A job with the protocol's "auto" (no strength sent): the clean crop back unchanged, the JPEG one as at 1."""
    photo = _photos("BSD100", 1)[0]
    clean = np.ascontiguousarray(photo[40:136, 40:136])
    jpeg = np.ascontiguousarray(_jpeg(photo, 50)[40:136, 40:136])
    spec = FrameSpec(96, 96, "RGB", "u8", "image")
    srv = start_server(f"ipc://{tmp_path / 'retex.sock'}", REPO / "weights")
    try:
        with Client(srv.endpoint) as client:
            assert client.run("photo", (spec, clean.tobytes())).frames[0] == clean.tobytes()
            full = client.run("photo", (spec, jpeg.tobytes()), options={"cleanup": 1.0}).frames[0]
            assert client.run("photo", (spec, jpeg.tobytes()), options={"cleanup": "auto"}).frames[0] == full
    finally:
        srv.stop()
