"""The two runtimes: every shipped model and style has an ONNX graph of its very weights, ONNX Runtime and torch give
the same pictures through the one pipeline (8-bit: at most 1 level apart on at most 0.1 % of values; float: 1e-4),
the same progress and cancel, and a missing, corrupt or stale graph is one warning and a torch run."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from backend.arrays import Array, to_numpy
from backend.errors import RetexError
from backend.paths import STYLES_DIR, WEIGHTS_DIR
from backend.pipeline import process
from backend.runtime import blend, load_restoration_model, load_style_model, name, resolve
from backend.runtime.base import RestorationModel
from backend.stylize import StyleSlot
from backend.tasks import TASKS, get_task
from backend.weights import load_restoration, save_restoration

pytest.importorskip("onnxruntime")
from backend.runtime.onnx import OnnxRestoration, OnnxStyle, onnx_path  # noqa: E402

MODELS = [t for t in TASKS if (WEIGHTS_DIR / f"{t}.safetensors").is_file()]
STYLES = sorted(p.stem for p in STYLES_DIR.glob("*.safetensors"))
FLOAT_TOL = 1e-4


def assert_same_8bit(a: Array, b: Array) -> None:
    """8-bit identical, or 1 level apart on at most 0.1 % of the values."""
    diff = np.abs(np.rint(to_numpy(a) * 255) - np.rint(to_numpy(b) * 255))
    assert float(diff.max()) <= 1 and float((diff > 0).mean()) <= 1e-3


def assert_same_picture(a: Array, b: Array) -> None:
    """The issue's bar: float within 1e-4, and the 8-bit pictures the same (``assert_same_8bit``)."""
    assert float(np.abs(to_numpy(a) - to_numpy(b)).max()) <= FLOAT_TOL
    assert_same_8bit(a, b)


def image(h: int, w: int, seed: int = 0) -> torch.Tensor:
    """Smooth content plus noise, with odd sides so padding and partial tiles are exercised."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    rgb = torch.stack([0.5 + 0.4 * torch.sin(6 * xx), 0.5 + 0.4 * torch.cos(5 * yy), 0.3 + 0.5 * xx * yy])
    return (rgb + 0.05 * torch.randn(3, h, w, generator=g)).clamp(0, 1).unsqueeze(0)


def both(task_name: str) -> tuple[OnnxRestoration, RestorationModel]:
    path, task = WEIGHTS_DIR / f"{task_name}.safetensors", get_task(task_name)
    onnx = load_restoration_model(path, task, "onnx")
    assert isinstance(onnx, OnnxRestoration), f"{onnx_path(path)} missing or stale: python -m backend export-onnx"
    return onnx, load_restoration_model(path, task, "torch")


@pytest.mark.parametrize("task_name", MODELS)
def test_shipped_graph_is_its_weights(task_name: str) -> None:
    """The graph was exported from the safetensors beside it (hash) and computes the same bands on fresh crops."""
    onnx, net = both(task_name)
    m = net.config.multiple
    rng = np.random.default_rng(0)
    crops = [
        rng.random((1, net.config.in_channels, m * (2 + k), m * (4 - k // 2)), dtype=np.float32)
        for k in range(len(net.halos))
    ]
    for got, want in zip(onnx.run_branches(crops), net.run_branches(crops), strict=True):
        assert float(np.abs(got - want).max()) <= FLOAT_TOL
    assert onnx.halos == net.halos and np.array_equal(onnx.mix, net.mix)
    assert onnx.config.multiple == m and onnx.config.out_channels == net.config.out_channels


def test_coordinate_noise_is_the_networks_bit_for_bit() -> None:
    """The ONNX runtime's numpy noise (``runtime.noise``) is the torch network's own hash, for any origin and seed."""
    from backend.nets.style import coordinate_noise as torch_noise
    from backend.runtime.noise import coordinate_noise

    for origin, seed in [((0, 0), 0), ((5, 33), 0), ((-7, 1000), 123), ((123456, 99999), 2**31 - 1)]:
        want = torch_noise(4, 13, 21, origin, torch.device("cpu"), seed).numpy()
        assert np.array_equal(coordinate_noise(4, 13, 21, origin, seed), want)


@pytest.mark.parametrize("task_name", MODELS)
def test_restoration_same_on_both_runtimes(task_name: str) -> None:
    task = get_task(task_name)
    x = image(61 if task.scale > 1 else 117, 45 if task.scale > 1 else 150, seed=1)
    mask = None
    if task.uses_mask:
        mask = torch.zeros(1, 1, *x.shape[-2:])
        mask[..., 20:50, 30:90] = 1
    onnx, net = both(task_name)
    assert_same_picture(process(x, (task, onnx), [], mask), process(x, (task, net), [], mask))


@pytest.mark.parametrize("style", STYLES)
def test_style_same_on_both_runtimes(style: str) -> None:
    path = STYLES_DIR / f"{style}.safetensors"
    onnx, net = load_style_model(path, "onnx"), load_style_model(path, "torch")
    assert isinstance(onnx, OnnxStyle), f"{onnx_path(path)} missing or stale: python -m backend export-onnx --all"
    assert onnx.halo == net.halo and onnx.nominal == net.nominal
    assert (onnx.config.multiple, onnx.config.down, onnx.config.scale) == (
        net.config.multiple,
        net.config.down,
        net.config.scale,
    )
    x = image(90, 131, seed=2)
    mask = torch.linspace(0, 1, 131).expand(1, 1, 90, 131).contiguous()
    for slots in ([StyleSlot(onnx, 1.3)], [StyleSlot(onnx, 0.8, mask)]):
        torch_slots = [StyleSlot(net, s.strength, s.mask) for s in slots]
        assert_same_picture(
            process(x, None, slots, region=(7, 5, 100, 70)), process(x, None, torch_slots, region=(7, 5, 100, 70))
        )


@pytest.mark.parametrize("task_name", [t for t in MODELS if TASKS[t].degradation == "real"])
def test_photo_cleanup_strength_same_on_both_runtimes(task_name: str) -> None:
    """x1: the strength scales the band mix (outside the graph, exact); upscalers: the weights are interpolated
    toward the base and the graph runs with them in place of its own."""
    task = get_task(task_name)
    onnx, net = both(task_name)
    base_onnx, base_net = both(task.base) if task.scale > 1 else (None, None)
    x = image(40, 52, seed=3)
    for strength in (0.0, 0.35):
        a = process(x, (task, blend(task, onnx, base_onnx, strength)), [])
        b = process(x, (task, blend(task, net, base_net, strength)), [])
        assert_same_picture(a, b)


@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_progress_and_cancel_are_the_runtimes_alike(runtime: str) -> None:
    task = get_task("sr2")
    net = load_restoration_model(WEIGHTS_DIR / "sr2.safetensors", task, runtime)
    assert name(net) == runtime
    style = load_style_model(STYLES_DIR / f"{STYLES[0]}.safetensors", runtime)
    x, calls = image(300, 290), []
    process(x, (task, net), [StyleSlot(style)], on_tile=lambda d, t: calls.append((d, t)))
    tiles = -(-608 // net.tile) * -(-592 // net.tile)  # the 600 x 580 output padded to 16: the runtime's own tiles
    assert calls == [(d, calls[-1][1]) for d in range(1, calls[-1][1] + 1)] and calls[-1][1] == tiles * 6 + 4

    def cancel(done: int, total: int) -> None:
        if done == 3:  # mid-run on either runtime: the branches of a tile report one by one
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        process(x, (task, net), [], on_tile=cancel)


def test_runtime_choice() -> None:
    assert resolve("auto") == "onnx" and resolve("torch") == "torch" and resolve("onnx") == "onnx"
    assert resolve("auto", "cuda") == "torch"
    with pytest.raises(RetexError, match="runtime must be one of"):
        resolve("tensorrt")


def _copy_model(tmp_path: Path, task_name: str = "sr2") -> Path:
    path = tmp_path / f"{task_name}.safetensors"
    shutil.copy(WEIGHTS_DIR / path.name, path)
    shutil.copy(WEIGHTS_DIR / f"{task_name}.onnx", tmp_path / f"{task_name}.onnx")
    return path


@pytest.mark.parametrize("damage", ["missing", "truncated", "garbage", "other model", "retrained weights"])
def test_bad_graph_is_one_warning_and_a_torch_run(tmp_path: Path, damage: str, caplog) -> None:
    path, task = _copy_model(tmp_path), get_task("sr2")
    graph = onnx_path(path)
    if damage == "missing":
        graph.unlink()
    elif damage == "truncated":
        graph.write_bytes(graph.read_bytes()[:5000])
    elif damage == "garbage":
        graph.write_bytes(b"\x00not an onnx graph" * 100)
    elif damage == "other model":
        shutil.copy(WEIGHTS_DIR / "sr4.onnx", graph)
    else:
        net = load_restoration(path, task)
        with torch.no_grad():
            net.mix.mul_(0.5)
        save_restoration(path, net, task)
    before = graph.read_bytes() if graph.exists() else None
    with caplog.at_level(logging.WARNING, logger="retex.runtime"):
        model = load_restoration_model(path, task, "onnx")
    assert name(model) == "torch"
    (record,) = [r for r in caplog.records if r.name == "retex.runtime"]
    assert str(graph.name) in record.getMessage() and "running on torch instead" in record.getMessage()
    assert "export-onnx" in record.getMessage() or damage != "missing"
    assert (graph.read_bytes() if graph.exists() else None) == before  # nothing written by a load
    with caplog.at_level(logging.WARNING, logger="retex.runtime"):
        load_restoration_model(path, task, "onnx")
    assert len([r for r in caplog.records if r.name == "retex.runtime"]) == 1  # said once, not on every job


def test_auto_without_a_graph_is_no_fault(tmp_path: Path, caplog) -> None:
    """Weights the user trained have no graph until exported: ``auto`` runs them on torch and warns of nothing."""
    path = _copy_model(tmp_path, "deblur")
    onnx_path(path).unlink()
    with caplog.at_level(logging.INFO, logger="retex.runtime"):
        assert name(load_restoration_model(path, get_task("deblur"), "auto")) == "torch"
    assert [r.levelname for r in caplog.records if r.name == "retex.runtime"] == ["INFO"]


def test_broken_weights_are_an_error_not_a_fallback(tmp_path: Path) -> None:
    path = _copy_model(tmp_path)
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(RetexError, match="corrupt"):
        load_restoration_model(path, get_task("sr2"), "onnx")


def test_export_writes_a_checked_graph_or_nothing(tmp_path: Path, monkeypatch) -> None:
    from backend.runtime import export

    path = _copy_model(tmp_path, "denoise")
    onnx_path(path).unlink()
    monkeypatch.setattr(export, "TOLERANCE", 0.0)  # no graph can pass: the export must refuse and write nothing
    with pytest.raises(RetexError, match="differs from torch"):
        export.export(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["denoise.safetensors"]
    monkeypatch.undo()
    assert export.export(path) == onnx_path(path)
    assert isinstance(load_restoration_model(path, get_task("denoise"), "onnx"), OnnxRestoration)


@pytest.mark.parametrize("scale", ["coarse", "fine"])  # a new fine style: with smooth noise
def test_a_saved_style_gets_its_graph(tmp_path: Path, scale: str) -> None:
    from backend.nets.style import StyleConfig, StyleNet
    from backend.styles import save_style

    torch.manual_seed(0)
    net = StyleNet(StyleConfig.new(scale) if scale == "fine" else StyleConfig(scale=scale))
    path = save_style(tmp_path, "mine", net, {"exemplar": "x"}, torch.rand(1, 3, 32, 32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.onnx", "mine.png", "mine.safetensors"]
    onnx = load_style_model(path, "onnx")
    assert isinstance(onnx, OnnxStyle)
    x = image(64, 80)
    assert_same_picture(process(x, None, [StyleSlot(onnx)]), process(x, None, [StyleSlot(net)]))


@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_command_line_runtime_flag(tmp_path: Path, runtime: str) -> None:
    from backend.__main__ import main
    from backend.imaging.io import read_image, write_image

    write_image(tmp_path / "in.png", image(40, 56), None, bits=8)
    args = ["restore", str(tmp_path / "in.png"), "--task", "sr2", "--style", STYLES[-1], "--runtime", runtime]
    assert main([*args, "-o", str(tmp_path / f"{runtime}.png")]) == 0
    assert main([*args, "--runtime", "torch", "-o", str(tmp_path / "ref.png")]) == 0
    assert_same_8bit(read_image(tmp_path / f"{runtime}.png").rgb, read_image(tmp_path / "ref.png").rgb)


def test_service_registry_runs_the_chosen_runtime() -> None:
    from backend.service.registry import Registry

    for runtime in ("onnx", "torch"):
        reg = Registry("cpu", runtime=runtime)
        assert name(reg.net("denoise")[1]) == runtime and name(reg.style(STYLES[0])) == runtime


def test_bench_speed_measures_both_runtimes_side_by_side(tmp_path: Path) -> None:
    from backend.bench.speed import SpeedOptions, bench_speed

    opts = SpeedOptions(sizes=(0.02,), specs=["denoise+straw"], device="cpu", service=False)
    report = bench_speed(tmp_path / "speed.json", opts)
    assert report["runtimes"] == ["torch", "onnx"] and report["complete"]
    runs = {r["runtime"]: r for r in report["runs"]}
    assert set(runs) == {"torch", "onnx"} and all(r["mp_per_s"] > 0 and r["peak_fraction"] > 0 for r in runs.values())
    assert {p["runtime"] for p in report["preview"]} == {"torch", "onnx"}
