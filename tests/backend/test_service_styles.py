"""Styles through the real service: the picker's list with thumbnails, runs with texture slots (byte-identical to
the in-process pipeline), bad slots refused with stable codes, and learning a style from an exemplar frame."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from backend.pipeline import process
from backend.service.frames import from_image, to_image, to_mask
from backend.styles import library_dirs, load_style
from backend.stylize import StyleSlot
from backend.swatch import TILE as SWATCH
from backend.tasks import get_task
from backend.weights import load_restoration
from plugin.common.client import BackendError, Client
from plugin.common.exchange import Exchange, Job
from plugin.common.messages import plain
from plugin.common.protocol import ErrorCode, Frame, FrameSpec
from plugin.common.requests import FinishRequest, TrainStyleRequest
from tests.backend.test_service import random_frame
from tests.service_helpers import make_weights, start_server


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    weights = make_weights(tmp_path_factory.mktemp("weights"))
    root = tmp_path_factory.mktemp("svc")
    user = root / "user-styles"
    env = {"RETEX_USER_STYLES": str(user), "RETEX_RUNS": str(root / "runs")}
    srv = start_server(f"ipc://{root / 's.sock'}", weights, env=env)
    yield srv, weights, user
    srv.stop()


def mask_frame(w: int, h: int, sample: str = "u8", value: float | None = None) -> tuple[FrameSpec, bytes]:
    if value is not None:
        arr = np.full((h, w, 1), value, "<f4")
        return FrameSpec(w, h, "Y", "f32", "mask"), arr.tobytes()
    arr = np.zeros((h, w, 1), np.uint8)
    arr[:, : w // 2] = 255
    arr[:, w // 2 : w // 2 + 4] = 128  # a soft edge
    return FrameSpec(w, h, "Y", sample, "mask"), arr.tobytes()


def test_hello_lists_styles_with_thumbnails(setup) -> None:
    srv, _, _ = setup
    with Client(srv.endpoint) as client:
        msg = client.request("hello")
    styles = {s["name"]: s for s in msg.header["styles"]}
    assert styles["dots"]["scale"] == "fine" and styles["paint"]["scale"] == "coarse"
    spec = msg.specs[styles["dots"]["thumbnail"]]
    assert (spec.width, spec.height, spec.channels, spec.sample) == (96, 96, "RGB", "u8")
    assert len(msg.frames[styles["dots"]["thumbnail"]]) == 96 * 96 * 3


def test_run_with_slots_matches_the_in_process_pipeline(setup) -> None:
    srv, weights, _ = setup
    frame = random_frame(70, 50, "BGRA", "u16", seed=11)
    mask = mask_frame(70, 50)
    slots = [{"style": "dots", "strength": 1.3, "mask": mask}, {"style": "paint", "strength": 0.7}]
    with Client(srv.endpoint) as client:
        got = client.run("denoise", frame, slots=slots, options={"preserve_colours": True})
    task = get_task("denoise")
    rgb, alpha = to_image(*frame)
    dirs = library_dirs(weights / "styles")
    want = process(
        rgb,
        (task, load_restoration(weights / "denoise.safetensors", task)),
        [StyleSlot(load_style("dots", dirs)[0], 1.3, to_mask(*mask)), StyleSlot(load_style("paint", dirs)[0], 0.7)],
        preserve_colours=True,
    )
    assert got.frames[0] == from_image(frame[0], want, alpha)[1]


def test_a_slots_scale_and_seed_reach_the_pipeline(setup) -> None:
    srv, weights, _ = setup
    frame = random_frame(48, 40, "RGB", "u8", seed=5)
    rgb, _ = to_image(*frame)
    dots = load_style("dots", library_dirs(weights / "styles"))[0]
    with Client(srv.endpoint) as client:
        plain = client.run("none", frame, slots=[{"style": "dots"}])
        for scale, seed in ((2.0, 0), (0.5, 9), (1.0, 3)):
            got = client.run("none", frame, slots=[{"style": "dots", "scale": scale, "seed": seed}])
            want = process(rgb, None, [StyleSlot(dots, 1.0, None, scale, seed)])
            assert got.frames[0] == from_image(frame[0], want, None)[1] != plain.frames[0]


def test_strength_zero_slots_give_back_the_restoration(setup) -> None:
    srv, _, _ = setup
    frame = random_frame(40, 30, "RGBA", "u8", seed=2)
    with Client(srv.endpoint) as client:
        plain = client.run("denoise", frame)
        zero = client.run("denoise", frame, slots=[{"style": "dots", "strength": 0.0, "mask": mask_frame(40, 30)}])
    assert plain.frames[0] == zero.frames[0]


@pytest.mark.parametrize(
    "slot, code",
    [
        ({"style": "nosuch"}, ErrorCode.UNKNOWN_STYLE),
        ({"style": "../dots"}, ErrorCode.UNKNOWN_STYLE),
        ({"style": "dots", "strength": 3}, ErrorCode.BAD_OPTION),
        ({"style": "dots", "strength": "high"}, ErrorCode.BAD_OPTION),
        ({"style": "dots", "mask": "WRONG_SIZE"}, ErrorCode.BAD_FRAME),
        ({"style": "dots", "mask": "OUT_OF_RANGE"}, ErrorCode.BAD_FRAME),
        ({"style": "dots", "scale": 0.4}, ErrorCode.BAD_OPTION),
        ({"style": "dots", "scale": 3}, ErrorCode.BAD_OPTION),
        ({"style": "dots", "seed": -2}, ErrorCode.BAD_OPTION),
        ({"style": "dots", "seed": 0.5}, ErrorCode.BAD_OPTION),
    ],
)
def test_bad_slots_are_refused(setup, slot: dict, code: str) -> None:
    srv, _, _ = setup
    frame = random_frame(32, 24, "RGBA", "u8")
    if slot.get("mask") == "WRONG_SIZE":
        slot = {**slot, "mask": mask_frame(30, 24)}
    elif slot.get("mask") == "OUT_OF_RANGE":
        slot = {**slot, "mask": mask_frame(32, 24, value=1.5)}
    with Client(srv.endpoint) as client:
        with pytest.raises(BackendError) as e:
            client.run("none", frame, slots=[slot])
        assert e.value.code == code
        assert client.hello()["server"] == "retex"  # and the server is fine


def exemplar_frame(size: int = 96) -> tuple[FrameSpec, bytes]:
    yy, xx = np.indices((size, size))
    arr = np.stack([(np.sin(xx / 2.0) * 100 + 128), (np.cos(yy / 3.0) * 100 + 128), np.full((size, size), 90.0)], -1)
    return FrameSpec(size, size, "RGB", "u8", "exemplar"), arr.astype(np.uint8).tobytes()


def test_learning_a_style_from_an_exemplar_frame(setup) -> None:
    srv, _, user = setup
    events: list[float] = []
    with Client(srv.endpoint, timeout_s=120) as client:
        result = client.train_style(
            exemplar_frame(), "learned", minutes=0.1, on_progress=lambda f, s, e: events.append(f)
        )
        assert result.header["style"]["name"] == "learned" and result.header["style"]["scale"] == "fine"
        assert events and events[-1] == 1.0 and events == sorted(events)
        assert "learned" in {s["name"] for s in client.request("hello").header["styles"]}
        out = client.run("none", random_frame(40, 40, "RGBA", "u8"), slots=[{"style": "learned", "strength": 1.0}])
        assert out.specs[0].width == 40
    assert (user / "learned.safetensors").is_file() and (user / "learned.png").is_file()


def test_cancelled_learning_leaves_the_library_unchanged(setup) -> None:
    srv, _, user = setup
    started = threading.Event()
    with Client(srv.endpoint, timeout_s=120) as client:
        with pytest.raises(BackendError) as e:
            client.train_style(
                exemplar_frame(),
                "abandoned",
                minutes=5,
                on_progress=lambda f, s, eta: started.set(),
                cancel=lambda: started.is_set(),
            )
        assert e.value.code == ErrorCode.CANCELLED
    assert not (user / "abandoned.safetensors").exists()


@pytest.mark.parametrize(
    "fields, code",
    [
        ({"name": "../x"}, ErrorCode.BAD_OPTION),
        ({"name": "ok", "scale": "medium"}, ErrorCode.BAD_OPTION),
        ({"name": "ok", "minutes": 0}, ErrorCode.BAD_OPTION),
        ({"name": "tiny", "size": 32}, ErrorCode.BAD_FRAME),
    ],
)
def test_bad_train_style_requests(setup, fields: dict, code: str) -> None:
    srv, _, _ = setup
    size = fields.pop("size", 96)
    with Client(srv.endpoint) as client:
        with pytest.raises(BackendError) as e:
            client.request("train_style", {"exemplar": 0, **fields}, [exemplar_frame(size)])
        assert e.value.code == code


def test_cli_size_and_variation_through_the_server_equal_the_local_run(setup, tmp_path) -> None:
    import os
    import subprocess
    import sys

    from PIL import Image

    from tests.service_helpers import REPO

    srv, weights, _ = setup
    src, local, remote = tmp_path / "in.png", tmp_path / "local.png", tmp_path / "remote.png"
    Image.fromarray(np.random.default_rng(4).integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(src)
    base = [sys.executable, "-m", "backend", "restore", str(src), "--task", "none"]
    base += ["--style", "dots:1.2", "--texture-scale", "0.5", "--seed", "3", "--style", "paint", "--texture-scale", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RETEX_USER_STYLES": str(weights / "styles")}
    subprocess.run([*base, "-o", str(local)], cwd=REPO, env=env, check=True, timeout=120)
    subprocess.run([*base, "-o", str(remote), "--endpoint", srv.endpoint], cwd=REPO, env=env, check=True, timeout=120)
    assert local.read_bytes() == remote.read_bytes()


def test_a_run_sent_while_a_texture_is_learned_is_done_between_its_steps(setup) -> None:
    """An editor's Preview or Apply does not wait minutes for a learning run: it is done between two of its steps,
    and the learning goes on to its end (its time budget not counting the run)."""
    srv, _, user = setup
    learning = threading.Event()
    finished: list[str] = []

    def learn() -> None:
        with Client(srv.endpoint, timeout_s=120) as client:
            client.train_style(exemplar_frame(), "patient", minutes=0.1, on_progress=lambda f, s, e: learning.set())
        finished.append("learning")

    thread = threading.Thread(target=learn)
    thread.start()
    try:
        assert learning.wait(60)
        with Client(srv.endpoint, timeout_s=60) as client:
            out = client.run("denoise", random_frame(40, 40, "RGBA", "u8"), slots=[{"style": "dots", "strength": 1.0}])
        finished.append("run")
        assert out.specs[0].width == 40
    finally:
        thread.join(120)
    assert finished == ["run", "learning"]
    assert (user / "patient.safetensors").is_file()


def test_learning_shows_swatches_and_finish_keeps_the_style_as_it_is(setup) -> None:
    """ "Good enough, stop": swatches of the texture so far arrive every few seconds once it is worth saving; finish
    then ends the learning early with the style saved, listed and usable in a run."""
    srv, _, user = setup
    swatches: list[Frame] = []
    started = time.monotonic()
    with Client(srv.endpoint, timeout_s=120) as client:
        result = client.train_style(
            exemplar_frame(), "enough", minutes=5, on_swatch=swatches.append, finish=lambda: len(swatches) >= 2
        )
        seconds = time.monotonic() - started
        assert result.header["style"]["name"] == "enough" and seconds < 150, seconds  # not the 5 minutes asked
        spec, data = swatches[-1]
        assert (spec.width, spec.height, spec.channels, spec.sample) == (2 * SWATCH, SWATCH, "RGB", "u8")
        pixels = np.frombuffer(data, np.uint8).reshape(SWATCH, 2 * SWATCH, 3)
        assert pixels[:, :SWATCH].std() > 1 and swatches[0][1] != swatches[1][1]  # a texture, and it changes
        assert "enough" in {s["name"] for s in client.request("hello").header["styles"]}
        out = client.run("none", random_frame(40, 40, "RGBA", "u8"), slots=[{"style": "enough", "strength": 1.0}])
        assert out.specs[0].width == 40
    assert (user / "enough.safetensors").is_file()


def test_finish_before_the_texture_is_worth_saving_says_so_and_saves_nothing(setup) -> None:
    srv, _, user = setup
    with Client(srv.endpoint, timeout_s=120) as client:
        exchange = Exchange(client)
        job = exchange.send(Job(TrainStyleRequest(exemplar_frame(), "hasty", minutes=5)))
        while job.server_job is None:
            exchange.read(100)
        exchange.finish(job)
        while not job.done:
            exchange.read(100)
        assert job.code == ErrorCode.TOO_EARLY and job.error == plain(ErrorCode.TOO_EARLY, job.detail), job.error
        assert "nothing was saved" in job.error
        assert "hasty" not in {s["name"] for s in client.request("hello").header["styles"]}
    assert not (user / "hasty.safetensors").exists()


def test_finish_ends_a_queued_learning_job_at_once_saving_nothing(setup) -> None:
    srv, _, user = setup
    with Client(srv.endpoint, timeout_s=120) as client:
        exchange = Exchange(client)
        first = exchange.send(Job(TrainStyleRequest(exemplar_frame(), "first", minutes=5)))
        waiting = exchange.send(Job(TrainStyleRequest(exemplar_frame(), "waiting", minutes=5)))
        while first.server_job is None or waiting.server_job is None:
            exchange.read(100)
        exchange.finish(waiting)
        while not waiting.done:
            exchange.read(100)
        assert waiting.code == ErrorCode.TOO_EARLY and "nothing was saved" in waiting.error
        assert not first.done  # the running one goes on
        exchange.cancel(first)
        while not first.done:
            exchange.read(100)
    assert not (user / "waiting.safetensors").exists() and not (user / "first.safetensors").exists()


def test_finish_is_for_ones_own_learning_jobs_only(setup) -> None:
    srv, _, _ = setup
    with Client(srv.endpoint, timeout_s=60) as mine, Client(srv.endpoint, timeout_s=60) as other:
        exchange = Exchange(mine)
        job = exchange.send(Job(TrainStyleRequest(exemplar_frame(), "private", minutes=5)))
        while job.server_job is None:
            exchange.read(100)
        with pytest.raises(BackendError) as e:
            other.request(FinishRequest(job.server_job))
        assert e.value.code == ErrorCode.UNKNOWN_JOB
        exchange.cancel(job)
        while not job.done:
            exchange.read(100)
        assert job.code == ErrorCode.CANCELLED  # the other client's finish changed nothing
