"""The restoration network: size budget, any input size, determinism, band-limited branches, weights round trip."""

from __future__ import annotations

import pytest
import torch

from backend.errors import RetexError
from backend.nets.restoration import RestorationNet
from backend.pipeline import fill_holes, restore, run_padded
from backend.tasks import TASKS, get_task
from backend.weights import load_restoration, save_restoration


def trained_like(task_name: str, seed: int = 0) -> RestorationNet:
    """A network with random (non-zero) weights everywhere, so every branch contributes."""
    torch.manual_seed(seed)
    net = RestorationNet(get_task(task_name).net)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return net.eval()


@pytest.mark.parametrize("name", list(TASKS))
def test_parameter_budget_and_cost(name: str) -> None:
    net = RestorationNet(TASKS[name].net)
    assert len(net.branches) == 6
    assert net.parameter_count() <= 200_000
    assert 0 < net.macs_per_pixel() < 60_000


def test_fresh_network_is_the_identity() -> None:
    x = torch.rand(1, 3, 32, 48)
    assert torch.equal(RestorationNet(get_task("denoise").net)(x), x)


@pytest.mark.parametrize("h,w", [(37, 53), (8, 8), (17, 100), (64, 31)])
def test_any_size_including_odd(h: int, w: int) -> None:
    net = trained_like("denoise")
    x = torch.rand(1, 3, h, w)
    y = run_padded(net, x)
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_deterministic() -> None:
    net = trained_like("sr4")
    x = torch.rand(1, 3, 40, 24)
    task = get_task("sr4")
    a, b = restore(net, task, x), restore(net, task, x)
    assert a.shape == (1, 3, 160, 96)
    assert torch.equal(a, b)


def test_each_branch_output_is_band_limited() -> None:
    """Branches 0-4 end in a DoG, so their contribution has zero mean; only branch 5 (the low-pass) carries DC."""
    net = trained_like("denoise", seed=1)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        means = [float(b(x).mean(dim=(-2, -1)).abs().max()) for b in net.branches]
    assert max(means[:5]) < 1e-5
    assert means[5] > 1e-4


def test_too_small_image_is_refused() -> None:
    with pytest.raises(RetexError, match="at least"):
        restore(trained_like("denoise"), get_task("denoise"), torch.rand(1, 3, 4, 20))


def test_inpaint_changes_only_the_hole() -> None:
    task = get_task("inpaint")
    net = trained_like("inpaint")
    x = torch.rand(1, 3, 40, 40)
    mask = torch.zeros(1, 1, 40, 40)
    mask[..., 10:20, 5:30] = 1
    y = restore(net, task, x * (1 - mask), mask)
    assert torch.equal(y[..., :10, :], x[..., :10, :])
    with pytest.raises(RetexError, match="mask"):
        restore(net, task, x, torch.zeros(1, 1, 20, 40))


def test_fill_holes_is_smooth_and_keeps_known_pixels() -> None:
    x = torch.full((1, 3, 33, 17), 0.25)
    mask = torch.zeros(1, 1, 33, 17)
    mask[..., 5:25, 3:14] = 1
    filled = fill_holes(x * (1 - mask), mask)
    assert torch.allclose(filled, x, atol=1e-6)
    everything = fill_holes(torch.zeros(1, 3, 9, 9), torch.ones(1, 1, 9, 9))
    assert torch.allclose(everything, torch.full_like(everything, 0.5))


def test_safetensors_round_trip(tmp_path) -> None:
    task = get_task("sr2")
    net = trained_like("sr2")
    path = tmp_path / "sr2.safetensors"
    save_restoration(path, net, task)
    again = load_restoration(path, task)
    x = torch.rand(1, 3, 20, 20)
    assert torch.equal(restore(net, task, x), restore(again, task, x))
    with pytest.raises(RetexError, match="not for task"):
        load_restoration(path, get_task("denoise"))
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(RetexError, match="corrupt"):
        load_restoration(tmp_path / "bad.safetensors", task)
    with pytest.raises(RetexError, match="not found"):
        load_restoration(tmp_path / "missing.safetensors", task)


@pytest.mark.parametrize("name,tile", [("sr4", 64), ("denoise", 48), ("inpaint", 96)])
def test_tiled_equals_untiled(name: str, tile: int) -> None:
    """Tiles with per-branch halos reproduce the whole-image output (far below the 1/255 of an 8-bit level)."""
    from backend.pipeline import run_tiled

    net = trained_like(name, seed=2)
    x = torch.rand(1, net.config.in_channels, 208, 144)
    calls = []
    with torch.no_grad():
        whole = net(x)
        tiled = run_tiled(net, x, tile=tile, on_tile=lambda done, total: calls.append((done, total)))
    assert float((whole - tiled).abs().max()) < 1e-5
    assert calls[-1][0] == calls[-1][1] and len(calls) == calls[-1][1] > 6


@pytest.mark.parametrize("name", ["sr2", "denoise"])
def test_region_equals_the_same_pixels_of_the_whole(name: str) -> None:
    from backend.pipeline import restore_region

    task, net = get_task(name), trained_like(name, seed=3)
    x = torch.rand(1, 3, 150, 170)
    whole = restore(net, task, x)
    part = restore_region(net, task, x, (37, 21, 50, 90))
    s = task.scale
    assert part.shape[-2:] == (90 * s, 50 * s)
    assert float((part - whole[..., 21 * s : 111 * s, 37 * s : 87 * s]).abs().max()) < 1e-5
    with pytest.raises(RetexError, match="not inside"):
        restore_region(net, task, x, (160, 0, 20, 20))
