"""Heal with texture (``backend.heal``, ``python -m backend heal``, ``bench heal``): the heal touches only the hole,
whatever its shape (rectangles, thin strips, L-shapes, at the image's border), gives the hole the ring's high-pass
energy, measures a big hole as fast as its area allows, reports the quilt's progress, refuses bad masks with one
line, and the benchmark runs end to end on a tiny input. Networks are tiny random ones where the test calls ``heal``
itself; the command line uses the shipped inpainting weights and the shipped ``grass`` style, as a user's would."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from backend.bench.heal import HealBenchOptions, Spot, bench_heal, blob
from backend.bench.report.heal import heal_section
from backend.errors import RetexError
from backend.heal import (
    EDGE,
    MIN_CROPS,
    PATCH,
    RING,
    crop_positions,
    find_hole,
    heal,
    high_pass,
    high_pass_energy,
    ring_detail,
    ring_energy,
    ring_exemplar,
)
from backend.imaging.io import write_image
from backend.nets.restoration import RestorationNet
from backend.nets.style import StyleConfig, StyleNet
from backend.tasks import get_task

REPO = Path(__file__).resolve().parents[2]


def textured(h: int = 96, w: int = 96, seed: int = 0) -> np.ndarray:
    """A grass-like test image: a smooth gradient under fine seeded noise."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.3, 0.6, w, dtype=np.float32)[None, None, None, :]
    return np.clip(ramp + 0.12 * rng.standard_normal((1, 3, h, w)).astype(np.float32), 0, 1)


@pytest.fixture(scope="module")
def nets() -> tuple:
    torch.manual_seed(0)
    task = get_task("inpaint")
    return (task, RestorationNet(task.net).eval()), StyleNet(StyleConfig.new("fine")).eval()


def test_heal_changes_only_the_hole(nets: tuple) -> None:
    inpaint, style = nets
    image, mask = textured(), blob((96, 96), 48, 48, seed=0, radius=12)
    hole = find_hole(mask)
    outside = mask == 0
    for texture in (style, None):
        healed = heal(image, mask, inpaint, texture)
        assert np.array_equal(healed.image[..., outside], image[..., outside])
        assert np.array_equal(healed.inpainted[..., outside], image[..., outside])
        assert not np.array_equal(healed.image[..., ~outside], healed.inpainted[..., ~outside])
        assert healed.strength > 0
    # the texture fades in over the hole's outer EDGE px
    assert (hole.soft[outside] == 0).all() and (hole.soft[~outside] > 0).all()
    assert 0 < (hole.soft[~outside] < 1).sum() < (hole.soft[~outside] == 1).sum()


@pytest.mark.parametrize("use_style, detail", [(False, 0.25), (False, 1.0), (True, 0.25)])
def test_the_hole_gets_the_rings_high_pass_energy(nets: tuple, use_style: bool, detail: float) -> None:
    """(A style's strength stops at MAX_STRENGTH: the tiny random style reaches detail 0.25, not 1.)"""
    inpaint, style = nets
    image, mask = textured(), blob((96, 96), 48, 48, seed=1, radius=12)
    healed, hole = heal(image, mask, inpaint, style if use_style else None, detail=detail), find_hole(mask)
    ring = high_pass_energy(image, hole.ring)
    smudge = high_pass_energy(healed.inpainted, hole.mask)
    filled = high_pass_energy(healed.image, hole.mask)
    assert smudge < 0.5 * ring  # what heal is for: the inpainting alone is smooth
    target = smudge + detail * (ring - smudge)
    assert 0.7 * target < filled < 1.3 * target


def test_the_default_share_is_chosen_per_hole(nets: tuple) -> None:
    """By default the share of the ring's detail is the hole's own (auto_detail), below the whole; a given one is
    used as given."""
    inpaint, _ = nets
    image, mask = textured(), blob((96, 96), 48, 48, seed=1, radius=12)
    chosen = heal(image, mask, inpaint)
    assert 0 < chosen.detail < 1 and chosen.strength > 0
    assert heal(image, mask, inpaint, detail=0.6).detail == 0.6
    rougher = heal(np.clip(0.45 + 2 * (image - 0.45), 0, 1), mask, inpaint)
    added = [float(((h.image - h.inpainted) ** 2).mean()) for h in (chosen, rougher)]
    assert added[1] > 2 * added[0]  # more texture around, more texture in


def test_an_edge_in_the_ring_is_not_texture() -> None:
    """A bright bar across the ring (a trunk's edge, a background) barely moves the ring's fine energy, which is
    what the fill gets: the mean rises by more than a third."""
    image, hole = textured(), find_hole(blob((96, 96), 48, 48, seed=1, radius=12))
    barred = image.copy()
    barred[..., :, 20:24] = 1.0
    assert high_pass_energy(barred, hole.ring) > 1.3 * high_pass_energy(image, hole.ring)
    assert abs(ring_energy(barred, hole) / ring_energy(image, hole) - 1) < 0.1


def test_the_quilt_continues_the_surroundings() -> None:
    """Each crop is matched to the detail already around it, so stripes run on into the hole (in phase: the quilt
    correlates with the hidden stripes), which crops drawn blindly would not."""
    x = np.arange(128, dtype=np.float32)
    stripes = np.broadcast_to(0.5 + 0.3 * np.sin(2 * np.pi * x / 7), (1, 3, 128, 128)).copy()
    mask = blob((128, 128), 64, 64, seed=0, radius=20)
    hole = find_hole(mask)
    x0, y0, x1, y1 = hole.box
    inside = hole.mask[y0:y1, x0:x1]
    quilt, truth = ring_detail(stripes, hole)[..., inside], high_pass(stripes)[..., y0:y1, x0:x1][..., inside]
    assert np.corrcoef(quilt.ravel(), truth.ravel())[0, 1] > 0.8


@pytest.mark.parametrize("use_style", [False, True])
def test_a_smooth_ring_adds_no_texture(nets: tuple, use_style: bool) -> None:
    inpaint, style = nets
    flat = np.full((1, 3, 96, 96), 0.5, np.float32)
    healed = heal(flat, blob((96, 96), 48, 48, seed=0, radius=12), inpaint, style if use_style else None)
    assert healed.strength == 0 and np.array_equal(healed.image, healed.inpainted)


def test_ring_and_exemplar() -> None:
    mask = blob((128, 128), 64, 64, seed=0, radius=20)
    hole = find_hole(mask)
    assert hole.ring.any() and not (hole.ring & hole.guard).any()  # the ring starts past the guard
    assert (hole.guard[mask > 0]).all() and hole.guard.sum() > (mask > 0).sum()
    x0, y0, x1, y1 = hole.box
    assert x1 - x0 <= 2 * (24 + RING) + 1 and EDGE < RING
    assert ring_exemplar(textured(128, 128), hole).shape == (1, 3, 128, 128)


def _rect(h: int, w: int, *boxes: tuple[int, int, int, int]) -> np.ndarray:
    """H x W 0/1: the union of the (y0, x0, y1, x1) rectangles."""
    mask = np.zeros((h, w), np.float32)
    for y0, x0, y1, x1 in boxes:
        mask[y0:y1, x0:x1] = 1
    return mask


SHAPES = {
    "square 10": _rect(160, 160, (75, 75, 85, 85)),
    "rectangle 40 x 30": _rect(160, 160, (60, 50, 90, 90)),
    "rectangle 120 x 90": _rect(192, 192, (50, 36, 140, 156)),
    "tall 20 x 90": _rect(160, 160, (35, 70, 125, 90)),
    "thin long strip": _rect(128, 192, (62, 20, 66, 172)),
    "L-shape": _rect(160, 160, (40, 40, 120, 56), (104, 40, 120, 120)),
    "at the border": _rect(128, 128, (0, 40, 30, 90)),
    "in a corner": _rect(128, 128, (88, 88, 128, 128)),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_any_selection_shape_heals(nets: tuple, shape: str) -> None:
    """Users select rectangles and lasso shapes, not discs: beside a straight side the ring (RING - EDGE px deep)
    is shallower than a PATCH-px crop, which therefore reaches past the box; every shape heals, only its hole
    changes, and no crop touches the hole or its guard."""
    inpaint, _ = nets
    mask = SHAPES[shape]
    image = textured(*mask.shape)
    hole = find_hole(mask)
    assert len(crop_positions(hole)) >= MIN_CROPS
    for y, x in crop_positions(hole):
        assert not hole.guard[y : y + PATCH, x : x + PATCH].any()
        assert 2 * hole.ring[y : y + PATCH, x : x + PATCH].sum() >= PATCH * PATCH
    healed = heal(image, mask, inpaint)
    outside = mask == 0
    assert np.array_equal(healed.image[..., outside], image[..., outside])
    assert healed.strength > 0 and not np.array_equal(healed.image[..., ~outside], healed.inpainted[..., ~outside])
    assert ring_exemplar(image, hole).shape == (1, 3, 128, 128)


def test_guard_ring_and_weight_are_the_exact_distances(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard, the ring and the texture's weight follow the Euclidean distance to the hole (and to its outside),
    against a brute-force distance, here for an L-shape whose box spans several of the tiles it is measured in."""
    monkeypatch.setattr("backend.heal.TILE", 40)
    mask = _rect(160, 160, (30, 30, 130, 44), (116, 30, 130, 140))
    hole = find_hole(mask)
    inside = mask > 0
    yy, xx = np.mgrid[0:160, 0:160]

    def distance(to: np.ndarray) -> np.ndarray:
        best = np.full((160, 160), np.inf)
        for y, x in zip(*np.nonzero(to & ~binary_interior(to)), strict=True):
            best = np.minimum(best, np.hypot(yy - y, xx - x))
        return np.where(to, 0, best)

    outside, depth = distance(inside), distance(~inside)
    assert np.array_equal(hole.guard, outside <= EDGE)
    assert np.array_equal(hole.ring, (outside > EDGE) & (outside <= RING))
    assert np.allclose(hole.soft, np.clip(depth / EDGE, 0, 1))
    assert 0 < (hole.soft[inside] < 1).sum() < inside.sum()


def binary_interior(where: np.ndarray) -> np.ndarray:
    """The pixels of ``where`` whose four neighbours are all in it (the image's edge counts as outside)."""
    p = np.pad(where, 1)
    return where & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]


def test_a_big_hole_is_measured_quickly() -> None:
    """Measuring the hole (guard, ring, weight, crop positions) takes work in proportion to the area near it: a
    400-px hole in a 6000 x 4000 image, and two holes at opposite corners (one box over the whole image), in well
    under a few seconds even on a loaded machine (it took minutes when it grew with the hole's outline)."""
    yy, xx = np.ogrid[0:4000, 0:6000]
    disc = ((yy - 2000) ** 2 + (xx - 3000) ** 2 <= 200**2).astype(np.float32)
    corners = _rect(4000, 6000, (100, 100, 140, 140), (3860, 5860, 3900, 5900))
    for mask in (disc, corners):
        start = time.perf_counter()
        hole = find_hole(mask)
        assert len(crop_positions(hole)) >= MIN_CROPS
        assert time.perf_counter() - start < 20  # about 0.2 s unloaded
        assert hole.guard.sum() > mask.sum()


def test_the_quilt_reports_its_progress_and_stops_when_asked() -> None:
    image, mask = textured(128, 128), blob((128, 128), 64, 64, seed=0, radius=30)
    hole = find_hole(mask)
    shares: list[float] = []
    ring_detail(image, hole, progress=shares.append)
    assert len(shares) > 3 and shares[0] == 0 and shares == sorted(shares) and shares[-1] < 1

    class Stop(Exception):
        pass

    def stop(share: float) -> None:
        shares.append(share)
        if share > 0.3:
            raise Stop

    shares.clear()
    with pytest.raises(Stop):
        ring_detail(image, hole, progress=stop)
    assert shares[-1] > 0.3 and len(shares) < 10


@pytest.mark.parametrize(
    "mask, message",
    [
        (np.zeros((64, 64), np.float32), "no hole"),
        (np.ones((64, 64), np.float32), "whole image"),
    ],
)
def test_bad_masks(mask: np.ndarray, message: str) -> None:
    with pytest.raises(RetexError, match=message):
        find_hole(mask)


def test_too_thin_a_ring() -> None:
    mask = np.ones((64, 64), np.float32)
    mask[:4] = 0
    with pytest.raises(RetexError, match="too little texture around the hole"):
        ring_exemplar(textured(64, 64), find_hole(mask))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backend", "heal", *args], cwd=REPO, capture_output=True, text=True, timeout=300
    )


def _files(tmp_path: Path, mask: np.ndarray) -> tuple[Path, Path]:
    image, hole = tmp_path / "in.png", tmp_path / "mask.png"
    write_image(image, textured(*mask.shape))
    write_image(hole, np.broadcast_to(mask, (1, 3, *mask.shape)))
    return image, hole


def _thin(h: int, w: int) -> np.ndarray:
    mask = np.ones((h, w), np.float32)
    mask[:4] = 0
    return mask


@pytest.mark.parametrize(
    "mask, extra, message",
    [
        (np.zeros((96, 96), np.float32), [], "the mask has no hole"),
        (_thin(96, 96), [], "too little texture around the hole"),
        (blob((96, 96), 48, 48, 0, 12), ["--style", "no-such-style"], "no-such-style"),
        (blob((96, 96), 48, 48, 0, 12), ["--seconds", "1"], "seconds from 5 to 600"),
        (blob((96, 96), 48, 48, 0, 12), ["--detail", "2"], "detail must be a number from 0"),
        (blob((96, 96), 48, 48, 0, 12), ["--seed", "-1"], "variation must be a whole number"),
        (blob((96, 96), 48, 48, 0, 12), ["--style", "grass", "--seconds", "10"], "not allowed with"),
    ],
)
def test_cli_errors(tmp_path: Path, mask: np.ndarray, extra: list[str], message: str) -> None:
    image, hole = _files(tmp_path, mask)
    out = tmp_path / "out.png"
    done = _cli(str(image), "--mask", str(hole), "-o", str(out), *extra)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(lines) == 1 or lines[0].startswith("usage:")
    assert not out.exists()


def test_cli_mask_of_another_size(tmp_path: Path) -> None:
    image, _ = _files(tmp_path, blob((96, 96), 48, 48, 0, 12))
    hole = tmp_path / "small.png"
    write_image(hole, np.broadcast_to(blob((64, 64), 32, 32, 0, 12), (1, 3, 64, 64)))
    done = _cli(str(image), "--mask", str(hole), "-o", str(tmp_path / "out.png"), "--style", "grass")
    assert done.returncode == 2 and "mask" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("extra", [[], ["--style", "grass"]])
def test_cli_heals(tmp_path: Path, extra: list[str]) -> None:
    image, hole = _files(tmp_path, blob((96, 96), 48, 48, 0, 12))
    out = tmp_path / "out.png"
    done = _cli(str(image), "--mask", str(hole), "-o", str(out), *extra)
    assert done.returncode == 0, done.stderr
    assert out.is_file() and "texture strength" in done.stdout


def test_learning_from_the_ring() -> None:
    """A few seconds of train-style on the ring give a style that heals (the bench's and --seconds' path)."""
    from backend.cli.heal import learn_ring_style

    image, mask = textured(128, 128), blob((128, 128), 64, 64, 0, 20)
    style, steps = learn_ring_style(image, find_hole(mask), seconds=2, runtime="torch", threads=1)
    assert steps >= 1
    assert heal(image, mask, (get_task("inpaint"), RestorationNet(get_task("inpaint").net)), style).strength > 0


def test_bench_on_a_tiny_input(tmp_path: Path) -> None:
    folder = tmp_path / "BSD100" / "HR"
    folder.mkdir(parents=True)
    write_image(folder / "tiny.png", textured(128, 128))
    opts = HealBenchOptions(data=tmp_path, spots=(Spot("noise", "tiny", 64, 64),), sheet=tmp_path / "sheet.png")
    opts.style = "grass"  # a chosen style: nothing learned

    def never(*_: object) -> object:
        raise AssertionError("a chosen style is not learned")

    report = bench_heal(tmp_path / "heal.json", opts, never)
    saved = json.loads((tmp_path / "heal.json").read_text())
    assert saved["holes"][0]["texture"] == "noise" and (tmp_path / "sheet.png").is_file()
    methods = saved["holes"][0]["methods"]
    assert {"inpaint", "heal", "heal@0.5", "heal@1", "heal-style", "telea"} <= set(methods)
    assert report["mean"]["heal"]["swd"] < report["mean"]["inpaint"]["swd"]
    for m in methods.values():
        assert np.isfinite(m["psnr"]) and m["swd"] >= 0
    opts.seed, opts.sheet = 7, None  # the same spot, another hole shape
    other = bench_heal(tmp_path / "heal-seed7.json", opts, never)
    assert other["holes"][0]["pixels"] != saved["holes"][0]["pixels"]
    section = "\n".join(heal_section(saved, [other]))
    assert section.startswith("## Heal with texture") and "| noise (tiny) |" in section and "| **mean** |" in section
    assert "other hole shapes (`python -m backend bench heal --json" in section and "--seed 7`)" in section
    feasible = saved["holes"][0]["original_swd"] <= 0.5 * methods["inpaint"]["swd"]
    assert ("within the SWD bar on 1 of 1 holes." if feasible else "on noise even the true texture is not.") in section
