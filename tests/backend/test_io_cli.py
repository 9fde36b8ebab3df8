"""Image file I/O and ``python -m backend restore`` end to end, bad inputs first.

The command line runs in a real subprocess: a bad input must give exit status != 0, exactly one ``error:`` line on
stderr, no traceback, and no output file. Weights are tiny randomly initialised networks made here, so nothing
depends on files under ``weights/``.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from backend.errors import RetexError
from backend.imaging.io import read_image, read_mask, write_image
from backend.nets.restoration import RestorationNet
from backend.tasks import get_task
from backend.weights import save_restoration

REPO = Path(__file__).resolve().parents[2]


def noise(h: int, w: int, c: int, seed: int = 0, dtype: type = np.uint8) -> np.ndarray:
    top = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, top, size=(h, w, c), endpoint=True).astype(dtype)


def codes16(x: np.ndarray) -> np.ndarray:
    return np.rint(x * 65535).astype(np.uint16)


def png_bytes(width: int, height: int, raw: bytes, colour_type: int = 2, depth: int = 8) -> bytes:
    """A PNG assembled by hand, for files Pillow refuses to write (zero width)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("weights")
    paths = {}
    torch.manual_seed(0)
    for name in ("denoise", "sr2", "inpaint"):
        task = get_task(name)
        paths[name] = folder / f"{name}.safetensors"
        save_restoration(paths[name], RestorationNet(task.net), task)
    return paths


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # small images: threads only add start-up cost
    return subprocess.run(
        [sys.executable, "-m", "backend", "restore", *map(str, args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_refused(result: subprocess.CompletedProcess[str], output: Path, *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    for needle in needles:
        assert needle in lines[0]
    assert not output.exists()
    assert not [p for p in output.parent.iterdir() if p.name.startswith(f".{output.name}.")]  # no temp files left


def assert_succeeded(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


# --- the command line refuses bad input with one line -----------------------------------------------------------


def test_cli_refuses_unreadable_file(tmp_path: Path, weights: dict[str, Path]) -> None:
    src, out = tmp_path / "junk.png", tmp_path / "out.png"
    src.write_bytes(b"this is not an image")
    assert_refused(cli(src, "-o", out, "--task", "denoise", "--weights", weights["denoise"]), out, "cannot read")


def test_cli_refuses_missing_input(tmp_path: Path, weights: dict[str, Path]) -> None:
    out = tmp_path / "out.png"
    result = cli(tmp_path / "nope.png", "-o", out, "--task", "denoise", "--weights", weights["denoise"])
    assert_refused(result, out, "not found")


def test_cli_refuses_truncated_png(tmp_path: Path, weights: dict[str, Path]) -> None:
    src, out = tmp_path / "cut.png", tmp_path / "out.png"
    Image.fromarray(noise(64, 64, 3)).save(src)
    data = src.read_bytes()
    src.write_bytes(data[: len(data) // 2])
    assert_refused(cli(src, "-o", out, "--task", "denoise", "--weights", weights["denoise"]), out, "truncated")


def test_cli_refuses_zero_size_png(tmp_path: Path, weights: dict[str, Path]) -> None:
    src, out = tmp_path / "empty.png", tmp_path / "out.png"
    src.write_bytes(png_bytes(0, 5, b""))
    assert_refused(cli(src, "-o", out, "--task", "denoise", "--weights", weights["denoise"]), out)


def test_cli_refuses_tiny_image(tmp_path: Path, weights: dict[str, Path]) -> None:
    src, out = tmp_path / "tiny.png", tmp_path / "out.png"
    Image.fromarray(noise(4, 4, 3)).save(src)
    assert_refused(cli(src, "-o", out, "--task", "denoise", "--weights", weights["denoise"]), out, "4x4", "at least")


def test_cli_refuses_unknown_task(tmp_path: Path) -> None:
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(noise(16, 16, 3)).save(src)
    assert_refused(cli(src, "-o", out, "--task", "colourise"), out, "unknown task", "colourise")


def test_cli_refuses_missing_weights(tmp_path: Path) -> None:
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(noise(16, 16, 3)).save(src)
    result = cli(src, "-o", out, "--task", "denoise", "--weights", tmp_path / "absent.safetensors")
    assert_refused(result, out, "weights file not found")


def test_cli_refuses_corrupt_weights(tmp_path: Path) -> None:
    src, out, bad = tmp_path / "in.png", tmp_path / "out.png", tmp_path / "bad.safetensors"
    Image.fromarray(noise(16, 16, 3)).save(src)
    bad.write_bytes(np.random.default_rng(1).bytes(4096))
    assert_refused(cli(src, "-o", out, "--task", "denoise", "--weights", bad), out, "corrupt")


def test_cli_refuses_weights_of_another_task(tmp_path: Path, weights: dict[str, Path]) -> None:
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(noise(16, 16, 3)).save(src)
    assert_refused(cli(src, "-o", out, "--task", "denoise", "--weights", weights["sr2"]), out, "sr2")


def test_cli_refuses_inpaint_without_mask(tmp_path: Path, weights: dict[str, Path]) -> None:
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(noise(16, 16, 3)).save(src)
    assert_refused(cli(src, "-o", out, "--task", "inpaint", "--weights", weights["inpaint"]), out, "mask")


def test_cli_refuses_mask_of_wrong_size(tmp_path: Path, weights: dict[str, Path]) -> None:
    src, mask, out = tmp_path / "in.png", tmp_path / "mask.png", tmp_path / "out.png"
    Image.fromarray(noise(16, 24, 3)).save(src)
    Image.new("L", (20, 16), 255).save(mask)
    result = cli(src, "-o", out, "--task", "inpaint", "--mask", mask, "--weights", weights["inpaint"])
    assert_refused(result, out, "20x16", "24x16")


def test_cli_refuses_unsupported_output_suffix(tmp_path: Path, weights: dict[str, Path]) -> None:
    src, out = tmp_path / "in.png", tmp_path / "out.bmp"
    Image.fromarray(noise(16, 16, 3)).save(src)
    assert_refused(cli(src, "-o", out, "--task", "denoise", "--weights", weights["denoise"]), out, ".png")


def test_cli_refuses_unwritable_output_folder(tmp_path: Path, weights: dict[str, Path]) -> None:
    src, blocker = tmp_path / "in.png", tmp_path / "file"
    Image.fromarray(noise(16, 16, 3)).save(src)
    blocker.write_text("a file where a folder should be")
    out = blocker / "out.png"
    result = cli(src, "-o", out, "--task", "denoise", "--weights", weights["denoise"])
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: cannot write")
    assert blocker.read_text() == "a file where a folder should be"


# --- the command line converts and keeps what it should -----------------------------------------------------------


def test_cli_converts_cmyk_jpeg(tmp_path: Path, weights: dict[str, Path]) -> None:
    src, out = tmp_path / "cmyk.jpg", tmp_path / "out.png"
    Image.fromarray(noise(20, 24, 3)).convert("CMYK").save(src, quality=95)
    assert Image.open(src).mode == "CMYK"
    assert_succeeded(cli(src, "-o", out, "--task", "denoise", "--weights", weights["denoise"]))
    with Image.open(out) as im:
        assert (im.mode, im.size) == ("RGB", (24, 20))


def test_cli_converts_palette_png(tmp_path: Path, weights: dict[str, Path]) -> None:
    src, out = tmp_path / "palette.png", tmp_path / "out.png"
    Image.fromarray(noise(20, 24, 3)).convert("P").save(src)
    assert_succeeded(cli(src, "-o", out, "--task", "denoise", "--weights", weights["denoise"]))
    with Image.open(out) as im:
        assert (im.mode, im.size) == ("RGB", (24, 20))


def test_cli_denoise_keeps_8bit_alpha_and_size(tmp_path: Path, weights: dict[str, Path]) -> None:
    src, out = tmp_path / "rgba.png", tmp_path / "out.png"
    pixels = noise(20, 28, 4, seed=3)
    Image.fromarray(pixels, "RGBA").save(src)
    assert_succeeded(cli(src, "-o", out, "--task", "denoise", "--weights", weights["denoise"]))
    back = np.asarray(Image.open(out))
    assert back.dtype == np.uint8 and back.shape == (20, 28, 4)
    assert np.array_equal(back[..., 3], pixels[..., 3])


def test_cli_keeps_16_bits(tmp_path: Path, weights: dict[str, Path]) -> None:
    src, out = tmp_path / "deep.png", tmp_path / "out.png"
    pixels = noise(18, 22, 3, seed=4, dtype=np.uint16)
    assert cv2.imwrite(str(src), pixels)
    assert_succeeded(cli(src, "-o", out, "--task", "denoise", "--weights", weights["denoise"]))
    back = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.shape == (18, 22, 3)
    assert np.any(back % 257 != 0)  # real 16-bit codes, not 8-bit ones scaled up


def test_cli_sr2_doubles_size_and_alpha(tmp_path: Path, weights: dict[str, Path]) -> None:
    src, out = tmp_path / "small.png", tmp_path / "big.png"
    pixels = noise(12, 16, 4, seed=5)
    pixels[..., 3] = 255
    Image.fromarray(pixels, "RGBA").save(src)
    assert_succeeded(cli(src, "-o", out, "--task", "sr2", "--weights", weights["sr2"]))
    back = np.asarray(Image.open(out))
    assert back.shape == (24, 32, 4)
    assert np.all(back[..., 3] == 255)  # an opaque alpha stays opaque after the bicubic upscale


def test_cli_inpaint_changes_only_the_hole(tmp_path: Path, weights: dict[str, Path]) -> None:
    src, mask, out = tmp_path / "in.png", tmp_path / "mask.png", tmp_path / "out.png"
    pixels = noise(24, 24, 3, seed=6)
    Image.fromarray(pixels).save(src)
    hole = np.zeros((24, 24), np.uint8)
    hole[8:16, 6:18] = 255
    Image.fromarray(hole).save(mask)
    assert_succeeded(cli(src, "-o", out, "--task", "inpaint", "--mask", mask, "--weights", weights["inpaint"]))
    back = np.asarray(Image.open(out))
    assert np.array_equal(back[hole == 0], pixels[hole == 0])


# --- read_image / write_image / read_mask -------------------------------------------------------------------------


def test_16bit_tiff_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "deep.tif"
    rgb = torch.rand(1, 3, 9, 13, generator=torch.Generator().manual_seed(0))
    alpha = torch.rand(1, 1, 9, 13, generator=torch.Generator().manual_seed(1))
    write_image(path, rgb, alpha, bits=16)
    assert cv2.imread(str(path), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    img = read_image(path)
    assert (img.bits, img.format) == (16, "TIFF")
    assert img.alpha is not None
    assert float(np.abs(img.rgb - rgb.numpy()).max()) <= 0.5 / 65535 + 1e-7
    assert float(np.abs(img.alpha - alpha.numpy()).max()) <= 0.5 / 65535 + 1e-7


def test_8bit_png_round_trip_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "rgb.png"
    pixels = noise(7, 11, 3, seed=2)
    Image.fromarray(pixels).save(path)
    img = read_image(path)
    assert (img.bits, img.format, img.alpha) == (8, "PNG", None)
    write_image(tmp_path / "again.png", img.rgb, bits=img.bits)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "again.png")), pixels)


def test_16bit_grey_and_grey_alpha_are_read_at_full_depth(tmp_path: Path) -> None:
    grey = noise(6, 10, 1, seed=7, dtype=np.uint16)[..., 0]
    assert cv2.imwrite(str(tmp_path / "grey.png"), grey)
    img = read_image(tmp_path / "grey.png")
    assert img.bits == 16 and img.alpha is None
    assert np.array_equal(img.rgb[:, 0], img.rgb[:, 2])
    assert np.array_equal(codes16(img.rgb[0, 0]), grey)
    rows = noise(4, 6, 2, seed=8, dtype=np.uint16)  # 16-bit grey + alpha: Pillow calls it RGBA, rawmode LA;16B
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in rows)
    (tmp_path / "la.png").write_bytes(png_bytes(6, 4, raw, colour_type=4, depth=16))
    img = read_image(tmp_path / "la.png")
    assert img.bits == 16 and img.alpha is not None
    assert np.array_equal(codes16(img.alpha[0, 0]), rows[..., 1])


def test_palette_transparency_becomes_alpha(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    im = Image.fromarray(noise(8, 8, 1, seed=9)[..., 0], "L").convert("P")
    im.save(path, transparency=0)
    img = read_image(path)
    assert img.alpha is not None and img.rgb.shape == (1, 3, 8, 8)


def test_jpeg_drops_alpha(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    write_image(path, torch.rand(1, 3, 8, 8), torch.zeros(1, 1, 8, 8), bits=16)
    with Image.open(path) as im:
        assert (im.format, im.mode) == ("JPEG", "RGB")
    img = read_image(path)
    assert (img.bits, img.alpha) == (8, None)


def test_unsupported_mode_is_named(tmp_path: Path) -> None:
    path = tmp_path / "float.tif"
    Image.fromarray(np.zeros((8, 8), np.float32), "F").save(path)
    with pytest.raises(RetexError, match="mode F"):
        read_image(path)


def test_failed_write_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.mkdir()  # a folder where the file should go: the final rename fails
    with pytest.raises(RetexError, match="cannot write"):
        write_image(target, torch.rand(1, 3, 8, 8))
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
    assert target.is_dir() and not any(target.iterdir())


def test_unsupported_output_suffix(tmp_path: Path) -> None:
    with pytest.raises(RetexError, match=r"\.tiff"):
        write_image(tmp_path / "out.webp", torch.rand(1, 3, 8, 8))
    assert not any(tmp_path.iterdir())


def test_read_mask_luminance_alpha_and_size(tmp_path: Path) -> None:
    grey = np.zeros((8, 10), np.uint8)
    grey[2:5, 3:7] = 200
    Image.fromarray(grey).save(tmp_path / "lum.png")
    mask = read_mask(tmp_path / "lum.png", (8, 10))
    assert mask.shape == (1, 1, 8, 10) and mask.dtype == np.float32
    assert np.array_equal(mask[0, 0] == 1, grey > 128)
    layer = np.zeros((8, 10, 4), np.uint8)  # black paint on a transparent layer: the strokes live in alpha
    layer[1:3, 1:9, 3] = 255
    Image.fromarray(layer, "RGBA").save(tmp_path / "layer.png")
    assert np.array_equal(read_mask(tmp_path / "layer.png", (8, 10))[0, 0] == 1, layer[..., 3] > 128)
    with pytest.raises(RetexError, match="10x8 but the image is 12x8"):
        read_mask(tmp_path / "lum.png", (8, 12))


# --- a texture's size and variation (--texture-scale, --seed after a --style) -------------------------------------


@pytest.fixture
def speckle(tmp_path: Path, monkeypatch) -> str:
    """A randomly initialised fine style in a user library of its own (nothing read from weights/styles)."""
    from backend.nets.style import StyleConfig, StyleNet
    from backend.styles import save_style

    torch.manual_seed(1)
    save_style(tmp_path / "styles", "speckle", StyleNet(StyleConfig()), {}, torch.full((1, 3, 8, 8), 0.5))
    monkeypatch.setenv("RETEX_USER_STYLES", str(tmp_path / "styles"))
    return "speckle"


def test_cli_texture_scale_and_seed_change_the_texture_and_repeat(tmp_path: Path, speckle: str) -> None:
    src = tmp_path / "in.png"
    Image.fromarray(noise(40, 48, 3, seed=8)).save(src)
    runs = {
        "plain": [],
        "default": ["--texture-scale", "1", "--seed", "0"],
        "big": ["--texture-scale", "2"],
        "seeded": ["--seed", "5"],
        "again": ["--seed", "5"],
    }
    got = {}
    for name, extra in runs.items():
        out = tmp_path / f"{name}.png"
        assert_succeeded(cli(src, "-o", out, "--task", "none", "--style", f"{speckle}:1.5", *extra))
        got[name] = np.asarray(Image.open(out))
    assert np.array_equal(got["plain"], got["default"]) and np.array_equal(got["seeded"], got["again"])
    assert not np.array_equal(got["plain"], got["big"]) and not np.array_equal(got["plain"], got["seeded"])


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--texture-scale", "0.4"], ["--texture-scale 0.4", "0.5 to 2"]),
        (["--texture-scale", "3"], ["0.5 to 2"]),
        (["--texture-scale", "big"], ["--texture-scale big"]),
        (["--texture-scale", "nan"], ["0.5 to 2"]),
        (["--seed", "-1"], ["--seed -1", "whole number"]),
        (["--seed", "2.5"], ["--seed 2.5", "whole number"]),
        (["--seed", "99999999999"], ["whole number"]),
    ],
)
def test_cli_refuses_bad_texture_scales_and_seeds(tmp_path: Path, speckle: str, extra: list, words: list) -> None:
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(noise(20, 24, 3)).save(src)
    result = cli(src, "-o", out, "--task", "none", "--style", speckle, *extra)
    assert result.returncode == 2
    assert_refused(result, out, *words)


def test_cli_refuses_a_seed_before_any_style(tmp_path: Path, speckle: str) -> None:
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(noise(20, 24, 3)).save(src)
    assert_refused(cli(src, "-o", out, "--task", "none", "--seed", "3", "--style", speckle), out, "after the --style")
