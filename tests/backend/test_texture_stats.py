"""The sliced-Wasserstein distance (``backend.bench.texture_stats``) and its place in the ``eval-style`` report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from backend.bench.texture_stats import (
    PROJECTIONS,
    SAMPLES,
    SlicedWasserstein,
    at_quantiles,
    directions,
    samples,
    swd,
)

REPO = Path(__file__).resolve().parents[2]


def cloud(n: int = 500, c: int = 8, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g) * torch.linspace(0.5, 2.0, c)


def test_a_set_with_itself_is_zero() -> None:
    x = cloud()
    assert swd(x, x) == 0.0
    layered = SlicedWasserstein({2: 8, 5: 8})
    feats = {2: torch.rand(1, 8, 9, 11), 5: torch.rand(2, 8, 4, 5)}
    assert layered.distance(layered.profile(feats), layered.profile(feats)) == 0.0


def test_a_shift_gives_the_mean_squared_projected_shift_and_grows_with_it() -> None:
    x = cloud()
    shift = torch.linspace(-1.0, 1.0, 8)
    d = directions(8)
    expected = float((shift @ d).pow(2).mean())  # each projection moves by shift . u, the sorted order is kept
    assert swd(x, x + shift) == pytest.approx(expected, rel=1e-4)
    values = [swd(x, x + k * shift) for k in (0.5, 1.0, 2.0)]
    assert 0 < values[0] < values[1] < values[2]
    assert values[2] == pytest.approx(4 * values[1], rel=1e-3)  # quadratic in the shift


def test_the_order_of_the_samples_does_not_matter() -> None:
    x, y = cloud(seed=1), cloud(n=300, seed=2) + 0.3
    g = torch.Generator().manual_seed(3)
    px, py = torch.randperm(len(x), generator=g), torch.randperm(len(y), generator=g)
    assert swd(x[px], y[py]) == pytest.approx(swd(x, y), rel=1e-6)
    assert swd(x, y) > 0.05  # a real difference, not 0 = 0


def test_sets_of_different_sizes_are_matched_by_quantiles() -> None:
    x = cloud(n=400)
    assert swd(x, x.repeat(3, 1)) == pytest.approx(0.0, abs=1e-10)  # the same distribution, three times the samples
    sorted_values = torch.arange(10.0).view(1, 10)
    assert torch.equal(at_quantiles(sorted_values, 10), sorted_values)
    assert at_quantiles(sorted_values, 5).tolist() == [[0.5, 2.5, 4.5, 6.5, 8.5]]  # quantiles (i + 0.5) / 5


def test_it_is_deterministic_and_the_seed_is_the_only_source_of_randomness() -> None:
    x, y = cloud(seed=4), cloud(seed=5) * 1.5
    assert swd(x, y) == swd(x, y)
    assert torch.equal(directions(16), directions(16)) and directions(16).shape == (16, PROJECTIONS)
    assert torch.allclose(directions(16).norm(dim=0), torch.ones(PROJECTIONS))
    assert swd(x, y, seed=1) != swd(x, y)
    big = torch.rand(1, 3, 200, 100)  # 20,000 pixels: read on a fixed subset of SAMPLES
    assert samples(big).shape == (SAMPLES, 3) and torch.equal(samples(big), samples(big))
    assert samples(torch.rand(2, 3, 10, 10)).shape == (200, 3)  # the images of a batch pooled


def test_eval_style_reports_the_swd_beside_the_gram_ratio(tmp_path: Path) -> None:
    bench = tmp_path / "bench" / "Tiny" / "HR"
    bench.mkdir(parents=True)
    g = torch.Generator().manual_seed(0)
    for i in range(2):
        smooth = torch.nn.functional.interpolate(torch.rand(1, 3, 8, 8, generator=g), size=(64, 64), mode="bilinear")
        Image.fromarray((smooth[0].permute(1, 2, 0) * 255).round().byte().numpy()).save(bench / f"{i}.png")
    out = tmp_path / "eval.json"
    args = ["eval-style", "straw", "--task", "none", "--sets", "Tiny", "--data", str(tmp_path / "bench")]
    proc = subprocess.run(
        [sys.executable, "-m", "backend", *args, "--json", str(out), "--threads", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    tiny = json.loads(out.read_text())["sets"]["Tiny"]
    assert tiny["images"] == 2 and tiny["gram_ratio"] > 0
    assert tiny["swd"] > 0 and tiny["swd_restored"] > 0
    assert tiny["swd_ratio"] == pytest.approx(tiny["swd"] / tiny["swd_restored"], abs=2e-3)
    assert abs(tiny["swd"] - tiny["swd_restored"]) > 1e-3  # the style moves the feature distribution


def _entry(gram: float, swd: float | None, images: int) -> dict:
    e = {"images": images, "gram_ratio": gram, "perc_ratio": 1.5, "residual_std": {"1.0": 0.05}}
    e |= {"std_linearity_r2": 1.0, "residual_mean": {"0.0": 0.0}}
    return e | ({"swd_ratio": swd} if swd is not None else {})


def test_the_report_the_readme_table_and_the_sheet_show_both_ratios() -> None:
    from backend.bench.evaluate_style import styles_markdown
    from backend.bench.report.quality import _styles
    from backend.bench.sheet import _figures

    style = {"scale": "fine", "params": 48557, "macs_per_pixel": 12096, "exemplar": "x.png"}
    style["eval"] = {"sr4": {"BSD100": _entry(0.348, 0.2871, 100)}, "denoise": {"BSD100": _entry(0.399, None, 30)}}
    row = next(line for line in _styles({"styles": {"grass": style}}) if line.startswith("| grass"))
    assert "| 0.348 / 0.399 / – | 0.287 / – / – | 100 / 30 / – |" in row
    readme = styles_markdown({"styles": {"grass": style}})
    assert "SWD ratio sr4 / denoise / deblur" in readme and "| 0.348 / 0.399 / – | 0.287 / – / – |" in readme
    assert _figures({"styles": {"grass": style}}, "grass") == [
        "Gram ratio 0.348",
        "SWD ratio 0.287",
        "(after sr4, BSD100, 100 images)",
    ]
    assert _figures({}, "grass") == ["not measured (eval-style --manifest)"]
