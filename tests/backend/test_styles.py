"""Stylization: losses, the style network's normalized residual, composition with masks, the library, training and
the command line. Style networks here are small random ones made by the tests (the shipped ones are measured by
``eval-style``); the VGG-16 features are the shipped ones."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from backend.errors import RetexError
from backend.nets.restoration import RestorationNet
from backend.nets.style import StyleConfig, StyleNet, coordinate_noise
from backend.nets.vgg import load_vgg
from backend.pipeline import process, style_residual
from backend.runtime.noise import smooth_noise
from backend.style_grid import without_lattice
from backend.styles import check_name, list_styles, load_style_file, save_style
from backend.stylize import StyleSlot, compose, effective_masks, normalize
from backend.tasks import get_task
from backend.train.data import ContentPool
from backend.train.losses import LossLayers, StyleLosses, gram, perceptual_loss, texture_loss
from backend.train.style import (
    ContentMaker,
    StyleTrainConfig,
    detail_std,
    nearest_style,
    train_style,
    widened,
)

REPO = Path(__file__).resolve().parents[2]


def style_net(scale: str = "fine", seed: int = 0, nominal: float = 0.02) -> StyleNet:
    torch.manual_seed(seed)
    net = StyleNet(StyleConfig.new(scale) if scale == "fine" else StyleConfig(scale=scale))  # fine: today's shape
    with torch.no_grad():
        net.log_nominal.fill_(float(np.log(nominal)))
    return net.eval().requires_grad_(False)


def image(h: int = 40, w: int = 52, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (0.25 + 0.5 * torch.rand(1, 3, h, w, generator=g)).clamp(0, 1)


# --- losses --------------------------------------------------------------------------------------------------------


def test_gram_and_texture_loss_match_hand_computed_values() -> None:
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # 1 x 2 x 1 x 2
    g = gram(f)
    assert torch.allclose(g, torch.tensor([[[5.0, 11.0], [11.0, 25.0]]]) / 4)
    target = torch.tensor([[1.0, 2.0], [2.0, 6.0]])
    # (1.25-1)^2 + 2 (2.75-2)^2 + (6.25-6)^2 = 0.0625 + 1.125 + 0.0625
    assert torch.allclose(texture_loss({2: g}, {2: target}), torch.tensor([1.25]))


def test_perceptual_loss_is_the_mean_squared_feature_difference() -> None:
    a = {7: torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])}
    b = {7: torch.tensor([[[[1.0, 0.0], [3.0, 8.0]]]])}
    assert torch.allclose(perceptual_loss(a, b), torch.tensor([(4.0 + 16.0) / 4]))


# --- the residual --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", ["fine", "coarse"])
def test_residual_is_zero_mean_and_its_std_is_strength_times_nominal(scale: str) -> None:
    net, base = style_net(scale, nominal=0.02), torch.full((1, 3, 64, 80), 0.5)
    stds = []
    for s in (0.0, 0.5, 1.0, 2.0):
        z = process(base, None, [StyleSlot(net, s)])
        r = (z - base).double()
        assert r.mean(dim=(2, 3)).abs().max() < 1e-6
        stds.append(float(r.std(unbiased=False)))
    assert stds[0] == 0.0
    assert np.allclose(stds, [0.0, 0.01, 0.02, 0.04], rtol=1e-4)


def test_normalize_weights_its_statistics_by_the_mask() -> None:
    raw = torch.randn(1, 3, 20, 20)
    mask = torch.zeros(1, 1, 20, 20)
    mask[..., 5:15, 5:15] = 1
    r = normalize(raw, mask, 0.1)[..., 5:15, 5:15]
    assert r.mean(dim=(2, 3)).abs().max() < 1e-6
    assert abs(float(r.pow(2).mean().sqrt()) - 0.1) < 1e-5


def test_strength_zero_and_empty_masks_give_back_the_restoration_exactly() -> None:
    task = get_task("denoise")
    torch.manual_seed(1)
    restoration = (task, RestorationNet(task.net).eval())
    x = image()
    plain = process(x, restoration, [])
    mask = torch.rand(1, 1, *x.shape[-2:])
    for slots in (
        [StyleSlot(style_net(), 0.0)],
        [StyleSlot(style_net(), 0.0, mask), StyleSlot(style_net("coarse"), 0.0)],
        [StyleSlot(style_net(), 1.0, torch.zeros_like(mask))],
    ):
        assert torch.equal(process(x, restoration, slots), plain)
    # where the mask is 0 the pixels are the restoration's, bit for bit
    half = torch.zeros_like(mask)
    half[..., :, :20] = 1
    z = process(x, restoration, [StyleSlot(style_net(), 1.5, half)])
    assert torch.equal(z[..., 20:], plain[..., 20:]) and not torch.equal(z[..., :20], plain[..., :20])


@pytest.mark.parametrize(
    "mask, message",
    [
        (torch.full((1, 1, 40, 52), 1.5), "[0, 1]"),
        (torch.full((1, 1, 40, 52), -0.1), "[0, 1]"),
        (torch.full((1, 1, 40, 52), float("nan")), "[0, 1]"),
        (torch.ones(1, 1, 39, 52), "52x39"),
    ],
)
def test_bad_masks_are_refused(mask: torch.Tensor, message: str) -> None:
    with pytest.raises(RetexError, match=message.replace("[", r"\[").replace("]", r"\]")):
        process(image(), None, [StyleSlot(style_net(), 1.0, mask)])


@pytest.mark.parametrize("strength", [-0.1, 2.01, float("nan")])
def test_strength_outside_zero_two_is_refused(strength: float) -> None:
    with pytest.raises(RetexError, match="strength"):
        process(image(), None, [StyleSlot(style_net(), strength)])


@pytest.mark.parametrize("scale", ["fine", "coarse"])
def test_tiled_residual_equals_the_whole_image_one(scale: str) -> None:
    net, x = style_net(scale), image(150, 170, seed=3)
    whole = style_residual(net, x, tile=4096)
    tiled = style_residual(net, x, tile=64)
    assert (whole - tiled).abs().max() < 1e-5


def test_a_region_gets_the_same_texture_as_the_whole_image() -> None:
    """A preview of a selection's box equals the same pixels of a whole-image run (the noise follows absolute
    coordinates; statistics come from the mask, which lies inside the box)."""
    net, x = style_net(), image(120, 136, seed=4)
    mask = torch.zeros(1, 1, 120, 136)
    mask[..., 40:90, 50:110] = torch.linspace(0.2, 1.0, 60)
    slots = [StyleSlot(net, 1.2, mask)]
    whole = process(x, None, slots)
    part = process(x, None, slots, region=(50, 40, 60, 50))
    assert (whole[..., 40:90, 50:110] - part).abs().max() < 1e-5


def test_coordinate_noise_is_a_function_of_position() -> None:
    a = coordinate_noise(2, 16, 16, (0, 0), torch.device("cpu"))
    b = coordinate_noise(2, 8, 8, (4, 8), torch.device("cpu"))
    assert torch.equal(a[..., 4:12, 8:16], b)
    assert -1 <= float(a.min()) and float(a.max()) <= 1 and abs(float(a.mean())) < 0.1


def test_smooth_noise_is_a_function_of_position_wider_than_a_pixel() -> None:
    """The smooth channels follow absolute coordinates like the white ones (tiles, previews), vary over about a cell,
    not a pixel, and are about as strong as the white noise."""
    a = smooth_noise(2, 64, 64, (-5, 0), 8)
    b = smooth_noise(2, 24, 40, (11, 16), 8)
    assert np.array_equal(a[..., 16:40, 16:56], b)
    white = coordinate_noise(2, 64, 64, (-5, 0), torch.device("cpu")).numpy()
    assert 0.8 < a.std() / white.std() < 1.25

    def step(x: np.ndarray) -> float:  # the mean change from a pixel to the next, in standard deviations
        return float(np.abs(np.diff(x, axis=-1)).mean() / x.std())

    assert step(a) < 0.3 < 1.0 < step(white)
    assert not np.array_equal(smooth_noise(2, 16, 16, (0, 0), 8, seed=1), smooth_noise(2, 16, 16, (0, 0), 8))


def test_a_shipped_style_widened_for_smooth_noise_draws_what_it_drew() -> None:
    """A library style of the old shape, given the new smooth-noise inputs with zero weights, is where learning can
    start from: it draws exactly what it drew."""
    torch.manual_seed(1)
    old = StyleNet(StyleConfig(scale="fine"))
    new = widened(old, StyleConfig.new("fine"))
    assert new.config == StyleConfig.new("fine") and widened(new, StyleConfig.new("fine")) is new
    x = image(32, 48)
    with torch.no_grad():
        assert torch.equal(new(x, (4, 6), seed=3), old(x, (4, 6), seed=3))
    coarse = StyleNet(StyleConfig.new("coarse"))
    assert widened(coarse, StyleConfig.new("fine")) is coarse


def test_overlapping_styles_of_one_scale_share_coarse_and_fine_stack() -> None:
    ones = torch.ones(1, 1, 8, 8)
    fine_a, fine_b, coarse = (
        StyleSlot(style_net(), 1, ones),
        StyleSlot(style_net(seed=1), 1, ones),
        StyleSlot(style_net("coarse"), 1, ones),
    )
    a, b, c = effective_masks([fine_a, fine_b, coarse], np.zeros((1, 3, 8, 8), np.float32))
    assert np.allclose(a, 0.5) and np.allclose(b, 0.5) and np.array_equal(c, ones.numpy())


def test_preserve_colours_adds_the_same_value_to_r_g_and_b() -> None:
    base = image(64, 64, seed=6) * 0.5 + 0.25
    z = compose(base, [StyleSlot(style_net(nominal=0.01), 1.0)], lambda s: style_residual(s.net, base), True)
    r = z - base
    assert torch.allclose(r[:, 0], r[:, 1], atol=1e-6) and torch.allclose(r[:, 1], r[:, 2], atol=1e-6)
    assert float(r.abs().max()) > 1e-3


# --- the library ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../evil", "a/b", "a\\b", ".hidden", "", "x" * 49, "sp ace", "nul\x00"])
def test_style_names_are_identifiers_never_paths(name: str) -> None:
    with pytest.raises(RetexError, match="not allowed"):
        check_name(name)


def test_library_round_trip(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RETEX_USER_STYLES", str(tmp_path / "user"))
    net = style_net("coarse", seed=3, nominal=0.031)
    path = save_style(tmp_path, "dots", net, {"exemplar": "x.png", "licence": "CC0"}, torch.rand(1, 3, 96, 96))
    loaded, info = load_style_file(path)
    assert loaded.config == net.config and abs(loaded.nominal - 0.031) < 1e-6 and info["licence"] == "CC0"
    x = image(64, 64)
    assert torch.equal(style_residual(loaded, x), style_residual(net, x))
    (record,) = list_styles([tmp_path])
    assert record["name"] == "dots" and record["scale"] == "coarse" and record["params"] == net.parameter_count()
    assert Path(record["thumbnail"]).is_file()


# --- the command line ----------------------------------------------------------------------------------------------


def cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backend", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def assert_one_error_line(proc: subprocess.CompletedProcess, *words: str) -> None:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode != 0, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in proc.stderr, proc.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> dict:
    """A user style folder with one trained style, a content folder, a gray exemplar and an input photo."""
    root = tmp_path_factory.mktemp("lab")
    rng = np.random.default_rng(0)
    content = root / "content"
    content.mkdir()
    for i in range(3):
        arr = (rng.random((140, 150, 3)) * 255).astype(np.uint8)
        Image.fromarray(arr).filter(ImageFilter.GaussianBlur(2)).save(content / f"{i}.png")
    stripes = (np.indices((96, 96)).sum(0) % 8 < 4).astype(np.uint8) * 200 + 20
    Image.fromarray(stripes, mode="L").save(root / "stripes.png")  # grayscale: converted to RGB
    Image.fromarray((rng.random((48, 64, 3)) * 255).astype(np.uint8)).save(root / "photo.png")
    env = {"RETEX_USER_STYLES": str(root / "styles"), "RETEX_RUNS": str(root / "runs")}
    proc = cli(
        "train-style",
        str(root / "stripes.png"),
        "--name",
        "stripes",
        "--iters",
        "3",
        "--data",
        str(content),
        "--threads",
        "1",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return {"root": root, "env": env, "content": content, "summary": json.loads(proc.stdout.strip().splitlines()[-1])}


def test_training_content_is_what_each_task_restores() -> None:
    """Each batch comes from one source: restored by a shipped network (close to the clean crop, never equal to
    it), or blurred; an unblurred "blur" source gives the crop back."""
    clean = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    for task in ("sr4", "denoise", "deblur"):
        out = ContentMaker((task,), 1.5, torch.Generator().manual_seed(0))(clean)
        assert out.shape == clean.shape and 0 <= float(out.min()) and float(out.max()) <= 1
        assert 0 < float((out - clean).abs().mean()) < 0.5
    assert torch.equal(ContentMaker(("blur",), 0.0, torch.Generator())(clean), clean)


def test_the_content_pool_serves_what_was_made_and_renews_the_oldest_chunk() -> None:
    """Content is made once per chunk, not per step: each served crop comes from a chunk in the pool, and every
    ``refresh`` batches the oldest chunk is made anew."""
    made: list[int] = []

    def make() -> torch.Tensor:
        made.append(len(made))
        return torch.full((2, 3, 16, 16), float(made[-1]))

    pool = ContentPool(make, chunks=2, refresh=3, gen=torch.Generator().manual_seed(0))
    seen = set()
    for _ in range(5):
        batch = pool.batch(4, 8)
        assert batch.shape == (4, 3, 8, 8)
        seen |= {float(v) for v in batch.flatten()}
    assert made == [0, 1, 2]  # two at the start, one after the 3rd batch (the 6th would be next)
    assert seen <= {0.0, 1.0, 2.0} and 2.0 in seen
    assert {float(v) for v in pool.batch(64, 8).flatten()} == {2.0, 3.0}  # the 6th renewed chunk 1: 0 and 1 gone


def test_learning_starts_from_the_shipped_style_nearest_the_exemplar() -> None:
    """The start is the shipped style of the same shape whose texture on the content is nearest the exemplar's (or
    the fresh network when none is nearer); its nominal strength is the exemplar's."""
    vgg = load_vgg()
    exemplar = torch.from_numpy(np.asarray(Image.open(REPO / "weights" / "styles" / "wicker.png"), np.float32) / 255)
    losses = StyleLosses(vgg, LossLayers(), exemplar.permute(2, 0, 1)[None])
    content = image(64, 64)
    torch.manual_seed(0)
    net = StyleNet(StyleConfig.new("fine"))
    name = nearest_style(net, losses, content, 0.05)

    def distance(candidate: StyleNet) -> float:
        with torch.no_grad():
            z = content + normalize(without_lattice(candidate(content), candidate.config.multiple), None, 0.05)
            return float(losses.texture(vgg(z, losses.layers.texture)).mean())

    folder = REPO / "weights" / "styles"
    every = {p.stem: load_style_file(p)[0] for p in sorted(folder.glob("*.safetensors"))}
    shipped = {k: w for k, v in every.items() if (w := widened(v, net.config)).config == net.config}
    assert name in shipped
    weights = {k: v for k, v in net.state_dict().items() if k != "log_nominal"}
    assert all(torch.equal(v, shipped[name].state_dict()[k]) for k, v in weights.items())
    assert abs(net.nominal - 0.05) < 1e-6
    assert distance(net) <= min(map(distance, shipped.values())) + 1e-6


def test_the_learned_strength_stays_within_its_ceiling(tmp_path: Path) -> None:
    """Left free, the nominal strength kept growing past where the texture looks best on new photos: after every
    step it is at most ``max_nominal`` times the exemplar's own detail, wherever the run had taken it (here a
    checkpoint far above)."""
    from backend.weights import read_tensors, save_tensors

    exemplar = image(64, 64)
    cfg = StyleTrainConfig(
        iters=1, warmup=1, batch=1, patch=32, data=[], start_from="scratch", threads=1, pool=0, usable_steps=1,
        run_dir=str(tmp_path / "runs"), library=str(tmp_path / "styles"),
    )  # fmt: skip
    train_style(exemplar, "capped", "fine", cfg, progress=False)
    detail = detail_std(exemplar, StyleNet(StyleConfig.new("fine")))
    checkpoint = tmp_path / "runs" / "capped" / "checkpoint.safetensors"
    tensors, meta = read_tensors(checkpoint)
    tensors["net.log_nominal"] = torch.tensor(float(np.log(10 * detail)))
    save_tensors(checkpoint, tensors, meta)
    cfg.iters = 2
    train_style(exemplar, "capped", "fine", cfg, resume=True, progress=False)
    net, _ = load_style_file(tmp_path / "styles" / "capped.safetensors")
    assert net.nominal == pytest.approx(cfg.max_nominal * detail, rel=1e-4)


def test_train_style_smoke_adds_the_style_to_the_library(lab) -> None:
    assert lab["summary"]["iterations"] == 3
    proc = cli("styles", "--json", env=lab["env"])
    styles = {s["name"]: s for s in json.loads(proc.stdout)["styles"]}
    assert styles["stripes"]["scale"] == "fine" and styles["stripes"]["params"] < 60_000
    assert (lab["root"] / "styles" / "stripes.png").is_file()


def test_restore_with_styles_and_masks_on_the_command_line(lab) -> None:
    root = lab["root"]
    mask = np.zeros((48, 64), np.uint8)
    mask[:, :32] = 255
    Image.fromarray(mask).save(root / "left.png")
    out = root / "out.png"
    proc = cli(
        "restore",
        str(root / "photo.png"),
        "-o",
        str(out),
        "--task",
        "none",
        "--style",
        "stripes:1.5",
        "--mask",
        str(root / "left.png"),
        env=lab["env"],
    )
    assert proc.returncode == 0, proc.stderr
    before = np.asarray(Image.open(root / "photo.png"), dtype=np.int16)
    after = np.asarray(Image.open(out), dtype=np.int16)
    assert np.array_equal(before[:, 32:], after[:, 32:]) and not np.array_equal(before[:, :32], after[:, :32])
    zero = root / "zero.png"
    assert (
        cli(
            "restore",
            str(root / "photo.png"),
            "-o",
            str(zero),
            "--task",
            "none",
            "--style",
            "stripes:0",
            env=lab["env"],
        ).returncode
        == 0
    )
    assert np.array_equal(np.asarray(Image.open(zero)), np.asarray(Image.open(root / "photo.png")))


@pytest.mark.parametrize(
    "args, words",
    [
        (["--style", "nosuch"], ["unknown style 'nosuch'"]),
        (["--style", "../stripes"], ["not allowed"]),
        (["--style", "stripes:2.5"], ["outside [0, 2]"]),
        (["--style", "stripes:x"], ["strength"]),
        (["--style", "stripes", "--mask", "MASK_SMALL"], ["is 10x10 but the image is 64x48"]),
    ],
)
def test_restore_bad_style_arguments(lab, args: list[str], words: list[str]) -> None:
    root = lab["root"]
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(root / "small.png")
    args = [str(root / "small.png") if a == "MASK_SMALL" else a for a in args]
    out = root / "bad.png"
    proc = cli("restore", str(root / "photo.png"), "-o", str(out), "--task", "none", *args, env=lab["env"])
    assert_one_error_line(proc, *words)
    assert not out.exists()


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: Image.fromarray(np.zeros((40, 80, 3), np.uint8)).save(p), ["at least 64 px"]),
        (lambda p: p.write_text("not an image"), ["not"]),
        (lambda p: Image.fromarray(np.full((96, 96, 3), 120, np.uint8)).save(p), ["flat", "no texture"]),
    ],
)
def test_train_style_bad_exemplars(lab, make, words: list[str]) -> None:
    path = lab["root"] / "bad_exemplar.png"
    make(path)
    proc = cli("train-style", str(path), "--name", "bad", "--iters", "2", "--data", str(lab["content"]), env=lab["env"])
    assert_one_error_line(proc, *words)
    assert not (lab["root"] / "styles" / "bad.safetensors").exists()


def test_train_style_refuses_path_names(lab) -> None:
    proc = cli("train-style", str(lab["root"] / "stripes.png"), "--name", "../../x", env=lab["env"])
    assert_one_error_line(proc, "not allowed")


def test_interrupted_training_leaves_the_library_and_a_checkpoint_that_resumes(lab) -> None:
    root, env = lab["root"], lab["env"]
    cmd = [
        sys.executable,
        "-m",
        "backend",
        "train-style",
        str(root / "stripes.png"),
        "--name",
        "slow",
        "--minutes",
        "10",
        "--data",
        str(lab["content"]),
        "--threads",
        "1",
    ]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    checkpoint = root / "runs" / "styles" / "slow" / "checkpoint.safetensors"
    err_chars: list[str] = []
    learning = threading.Event()

    def read_progress() -> None:  # the bar's "it=N" says the run is past start-up, into the training loop
        assert proc.stderr is not None
        while char := proc.stderr.read(1):
            err_chars.append(char)
            if "it=" in "".join(err_chars[-8:]):
                learning.set()

    reader = threading.Thread(target=read_progress, daemon=True)
    reader.start()
    assert learning.wait(timeout=300), "".join(err_chars)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    reader.join(timeout=10)
    err = "".join(err_chars)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert checkpoint.is_file()
    assert not (root / "styles" / "slow.safetensors").exists()
    from backend.weights import read_tensors

    done = int(read_tensors(checkpoint)[1]["iteration"])
    resumed = cli(
        "train-style",
        str(root / "stripes.png"),
        "--name",
        "slow",
        "--resume",
        "--iters",
        str(done + 2),
        "--data",
        str(lab["content"]),
        "--threads",
        "1",
        env=env,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout.strip().splitlines()[-1])["iterations"] == done + 2
    assert (root / "styles" / "slow.safetensors").is_file()


def test_eval_style_writes_the_report(lab) -> None:
    root = lab["root"]
    bench = root / "bench" / "Tiny" / "HR"
    bench.mkdir(parents=True)
    for i in range(2):
        Image.open(lab["content"] / f"{i}.png").save(bench / f"{i}.png")
    out = root / "eval.json"
    proc = cli(
        "eval-style",
        "stripes",
        "--task",
        "none",
        "--sets",
        "Tiny",
        "--data",
        str(root / "bench"),
        "--json",
        str(out),
        env=lab["env"],
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    tiny = report["sets"]["Tiny"]
    assert report["style"] == "stripes" and tiny["images"] == 2
    assert set(tiny) >= {"gram_ratio", "perc_ratio", "residual_mean", "residual_std"}
    assert list(tiny["residual_std"]) == ["0.0", "0.5", "1.0", "2.0"]
    assert max(tiny["residual_mean"].values()) <= 1e-3 and tiny["std_linearity_r2"] >= 0.99
    missing = cli(
        "eval-style", "stripes", "--task", "none", "--sets", "Nope", "--data", str(root / "bench"), env=lab["env"]
    )
    assert_one_error_line(missing, "Nope")
