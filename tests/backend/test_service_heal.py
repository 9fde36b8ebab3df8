"""Heal with texture through a real server process over real ZeroMQ (``options.heal`` on an inpainting run): only
the hole changes, and it gets more fine detail than the plain inpainting of the same hole; a rectangle heals too;
the result equals the in-process heal; a chosen style and a seed are used; progress and cancel work as for other
runs, also while the ring's detail is quilted; a bad hole or bad options are one error with a stable code. Tiny
random networks (tests/service_helpers.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from backend.heal import find_hole, heal, high_pass_energy
from backend.nets.restoration import RestorationNet
from backend.service.frames import from_image, to_image
from backend.tasks import get_task
from backend.weights import load_restoration
from plugin.common.client import BackendError, Client
from plugin.common.heal import Heal
from plugin.common.protocol import ErrorCode, FrameSpec
from plugin.common.requests import RawRequest
from tests.service_helpers import make_weights, save_test_restoration, start_server

W, H = 112, 96
HOLE = (56, 48, 12)  # a disc's centre x, y and radius


def smooth_inpainting(weights: Path) -> None:
    """The inpainting network as initialised (a near pass-through of the smooth pre-fill, as a trained one's fill is
    smooth): make_weights' perturbed one fills with noise, which leaves a heal nothing to add."""
    torch.manual_seed(0)
    net = RestorationNet(get_task("inpaint").net)
    with torch.no_grad():  # a trace of noise: an exact zero layer would be folded out of its ONNX graph
        for p in net.parameters():
            p.add_(1e-5 * torch.randn_like(p))
    save_test_restoration(weights, "inpaint", net)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    weights = make_weights(tmp_path_factory.mktemp("weights"))
    smooth_inpainting(weights)
    root = tmp_path_factory.mktemp("svc")
    srv = start_server(f"ipc://{root / 's.sock'}", weights, env={"RETEX_USER_STYLES": str(root / "user-styles")})
    yield srv, weights
    srv.stop()


def textured(w: int = W, h: int = H, seed: int = 0) -> tuple[FrameSpec, bytes]:
    """A grass-like RGBA u8 frame: a gradient under fine seeded noise, opaque."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(60, 160, w)[None, :, None]
    rgb = np.clip(ramp + 30 * rng.standard_normal((h, w, 3)), 0, 255)
    rgba = np.concatenate([rgb, np.full((h, w, 1), 255)], -1).astype(np.uint8)
    return FrameSpec(w, h, "RGBA", "u8", "image"), rgba.tobytes()


def disc(disc: tuple[int, int, int] = HOLE, w: int = W, h: int = H) -> np.ndarray:
    """H x W bool: the disc (centre x, y and radius)."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.hypot(xx - disc[0], yy - disc[1]) <= disc[2]


def hole_frame(where: np.ndarray | None = None) -> tuple[FrameSpec, bytes]:
    """A Y u8 mask: 255 ``where`` (default: the disc ``HOLE``)."""
    where = disc() if where is None else where
    h, w = where.shape
    return FrameSpec(w, h, "Y", "u8", "hole"), (where * 255).astype(np.uint8).tobytes()


def rgba(frame: tuple[FrameSpec, bytes]) -> np.ndarray:
    spec, data = frame
    return np.frombuffer(data, np.uint8).reshape(spec.height, spec.width, 4)


def test_heal_changes_only_the_hole_and_adds_the_detail_inpainting_lacks(setup) -> None:
    srv, weights = setup
    image, mask = textured(), hole_frame()
    events: list[tuple[float, str]] = []
    with Client(srv.endpoint) as client:
        healed = client.run(
            "inpaint", image, inpaint_mask=mask, heal=Heal(), on_progress=lambda f, s, e: events.append((f, s))
        )
        plain = client.run("inpaint", image, inpaint_mask=mask)
    got, smudge, source = (
        rgba((healed.specs[0], healed.frames[0])),
        rgba((plain.specs[0], plain.frames[0])),
        rgba(image),
    )
    hole = disc()
    assert got.shape == source.shape and healed.header["origin"] == [0, 0]
    assert np.array_equal(got[~hole], source[~hole])  # nothing outside the hole changes, alpha included
    assert (got[hole][:, :3] != smudge[hole][:, :3]).any()
    as_float = [np.ascontiguousarray(a[..., :3].transpose(2, 0, 1)[None] / 255.0) for a in (got, smudge, source)]
    ring = find_hole(hole.astype(np.float32)).ring
    filled, plain_energy = (high_pass_energy(a, hole) for a in as_float[:2])
    assert filled > 1.5 * plain_energy  # the texture the smudge lacks ...
    assert filled < high_pass_energy(as_float[2], ring)  # ... up to a share of the ring's
    assert events[0] == (0.0, "heal: filling the hole") and events[-1][0] == 1.0
    quilting = [f for f, stage in events if stage == "heal: texturing"]
    assert quilting and quilting == sorted(quilting) and 0.5 <= quilting[0] and quilting[-1] < 1


def test_a_rectangle_heals(setup) -> None:
    """What users mostly select: a rectangle (its straight sides leave a shallower ring than a disc's)."""
    srv, _ = setup
    where = np.zeros((H, W), bool)
    where[30:60, 40:80] = True
    image = textured()
    with Client(srv.endpoint) as client:
        healed = client.run("inpaint", image, inpaint_mask=hole_frame(where), heal=Heal())
    got, source = rgba((healed.specs[0], healed.frames[0])), rgba(image)
    assert np.array_equal(got[~where], source[~where]) and not np.array_equal(got[where], source[where])


@pytest.mark.parametrize("channels, sample, dtype", [("BGRA", "u16", "<u2"), ("RGB", "f32", "<f4")])
def test_heal_keeps_the_layout_and_every_pixel_outside_the_hole(setup, channels: str, sample: str, dtype: str) -> None:
    srv, _ = setup
    n = len(channels)
    rng = np.random.default_rng(7)
    arr = np.clip(0.5 + 0.15 * rng.standard_normal((H, W, n)), 0, 1)
    arr = np.round(arr * 65535).astype(dtype) if sample == "u16" else arr.astype(dtype)
    with Client(srv.endpoint) as client:
        result = client.run("inpaint", (FrameSpec(W, H, channels, sample), arr.tobytes()), inpaint_mask=hole_frame(),
                            heal=Heal())  # fmt: skip
    spec = result.specs[0]
    assert (spec.width, spec.height, spec.channels, spec.sample) == (W, H, channels, sample)
    got = np.frombuffer(result.frames[0], dtype).reshape(H, W, n)
    hole = disc()
    assert np.array_equal(got[~hole], arr[~hole]) and not np.array_equal(got[hole], arr[hole])


def test_heal_equals_the_in_process_heal(setup) -> None:
    srv, weights = setup
    image, mask = textured(seed=3), hole_frame()
    with Client(srv.endpoint) as client:
        got = client.run("inpaint", image, inpaint_mask=mask, heal=Heal(seed=5, detail=0.6))
    task = get_task("inpaint")
    rgb, alpha = to_image(*image)
    net = load_restoration(weights / "inpaint.safetensors", task)
    want = heal(rgb, disc().astype(np.float32)[None, None], (task, net), None, seed=5, detail=0.6)
    expected = np.frombuffer(from_image(image[0], want.image, alpha)[1], np.uint8)
    diff = np.abs(np.frombuffer(got.frames[0], np.uint8).astype(int) - expected)
    assert diff.max() <= 1  # a convolution's sums on another thread count: one level at most


def test_a_chosen_style_and_a_seed_change_the_texture(setup) -> None:
    srv, _ = setup
    image, mask = textured(), hole_frame()
    with Client(srv.endpoint) as client:
        ring = client.run("inpaint", image, inpaint_mask=mask, heal=Heal()).frames[0]
        dots = client.run("inpaint", image, inpaint_mask=mask, heal=Heal("dots")).frames[0]
        seeded = client.run("inpaint", image, inpaint_mask=mask, heal=Heal(seed=9)).frames[0]
        again = client.run("inpaint", image, inpaint_mask=mask, heal=Heal(seed=9)).frames[0]
    assert ring != dots and ring != seeded and seeded == again


@pytest.mark.parametrize(
    "where, words",
    [
        (np.zeros((H, W), bool), "no hole"),
        (np.ones((H, W), bool), "whole image"),
        (disc((56, 48, 36)), "too little texture"),
    ],
)
def test_a_bad_hole_is_one_error(setup, where: np.ndarray, words: str) -> None:
    srv, _ = setup
    with Client(srv.endpoint) as client:
        with pytest.raises(BackendError) as info:
            client.run("inpaint", textured(), inpaint_mask=hole_frame(where), heal=Heal())
        assert client.hello()["running"] is None  # and the service goes on
    assert info.value.code == ErrorCode.BAD_OPTION and words in info.value.message


@pytest.mark.parametrize(
    "change, code",
    [
        ({"heal": {"style": "nope"}}, ErrorCode.UNKNOWN_STYLE),
        ({"heal": {"style": 3}}, ErrorCode.UNKNOWN_STYLE),
        ({"heal": {"seed": -1}}, ErrorCode.BAD_OPTION),
        ({"heal": {"seed": 1.5}}, ErrorCode.BAD_OPTION),
        ({"heal": {"detail": 2}}, ErrorCode.BAD_OPTION),
        ({"heal": {"strength": 1}}, ErrorCode.BAD_OPTION),
        ({"heal": "yes"}, ErrorCode.BAD_OPTION),
        ({"task": "denoise"}, ErrorCode.BAD_OPTION),
        ({"crop": [0, 0, 8, 8]}, ErrorCode.BAD_OPTION),
        ({"slots": [{"style": "dots", "strength": 1.0}]}, ErrorCode.BAD_OPTION),
    ],
)
def test_bad_heal_options_are_refused_with_a_stable_code(setup, change: dict, code: str) -> None:
    srv, _ = setup
    fields = {"task": "inpaint", "image": 0, "inpaint_mask": 1, "slots": [], "options": {"heal": {}}}
    heal_option = change.pop("heal", fields["options"]["heal"])
    fields = {**fields, **change, "options": {"heal": heal_option}}
    with Client(srv.endpoint) as client:
        with pytest.raises(BackendError) as info:
            client.request(RawRequest("run", fields, [textured(), hole_frame()]))
    assert info.value.code == code


@pytest.mark.parametrize("style", ["dots", None])
def test_cancel_stops_a_heal(setup, style: str | None) -> None:
    """Asked at the first report (a style's: at the first tile; the ring's detail: at the quilt's first row, a big
    hole's quilt taking about a second), the heal stops with ``cancelled``."""
    srv, _ = setup
    w = h = 384
    image, mask = textured(w, h), hole_frame(disc((192, 192, 150), w, h))
    stop = threading.Event()

    def report(fraction: float, stage: str, eta: float | None) -> None:
        if style is not None or stage == "heal: texturing":
            stop.set()

    with Client(srv.endpoint, timeout_s=120) as client:
        with pytest.raises(BackendError) as info:
            client.run(
                "inpaint",
                image,
                inpaint_mask=mask,
                heal=Heal(style),
                on_progress=report,
                cancel=stop.is_set,
            )
        assert client.hello()["running"] is None
    assert info.value.code == ErrorCode.CANCELLED
