"""The editor-independent half of the plug-ins (plugin/common: config, recipe, messages, session), without an editor:
what a job is called, what is refused before anything is sent, and a session that starts the real backend, notices
that it died and starts it again."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from plugin.common.config import BackendConfig
from plugin.common.messages import plain
from plugin.common.protocol import SAMPLE_BYTES, FrameSpec
from plugin.common.recipe import Recipe, Slot, UserError, channel, free_path, mask_coverage
from plugin.common.session import Job, Session
from tests.service_helpers import REPO, make_weights


def test_layer_names_say_what_was_done() -> None:
    assert Recipe("denoise", [Slot("straw", 0.8)]).name() == "Retex: Denoise + straw 80 %"
    assert Recipe("none", [Slot("a", 1.0), Slot("b", 0.25)], True).name() == "Retex: a 100 % + b 25 % (colours kept)"
    assert Recipe("sr4", preserve_colours=True).name() == "Retex: Super-resolution ×4"
    assert Recipe("inpaint").name() == "Retex: Inpaint"  # the menu's words, without the explanation
    assert Recipe("photo-sr2", cleanup=0.5).name() == "Retex: Upscale ×2 (clean-up 50 %)"
    assert Recipe("photo-sr4").name() == "Retex: Upscale ×4"  # auto: nothing to say
    assert (
        Recipe("photo", [Slot("straw", 0.8)], cleanup=0).name()
        == "Retex: Clean up noise and JPEG (clean-up 0 %) + straw 80 %"
    )
    assert Recipe("denoise", cleanup=0.5).name() == "Retex: Denoise"  # only the photo models take a clean-up


@pytest.mark.parametrize(
    "source, name",
    [("/photos/cat.png", "cat ×2"), ("cat.jpeg", "cat ×2"), ("Untitled", "Untitled ×2"), ("", "Untitled ×2")],
)
def test_super_resolution_images_are_named_after_their_source(source: str, name: str) -> None:
    assert Recipe("sr2").document_name(source) == name


def test_a_result_file_name_never_takes_an_existing_file(tmp_path) -> None:
    (tmp_path / "cat ×2.kra").touch()
    (tmp_path / "cat ×2 (2).kra").touch()
    assert free_path(str(tmp_path), "cat ×2", ".kra", os.path.exists) == f"{tmp_path}/cat ×2 (3).kra"


@pytest.mark.parametrize(
    "recipe, words",
    [
        (Recipe("none"), "Nothing to do"),
        (Recipe("sharpen"), "Unknown restoration"),
        (Recipe("none", [Slot("gone")]), "'gone' no longer exists"),
        (Recipe("none", [Slot("dots", 2.5)]), "between 0 and 2"),
        (Recipe("sr4"), "no model for 'Super-resolution ×4'"),
    ],
)
def test_recipes_the_backend_would_refuse_are_refused_first(recipe: Recipe, words: str) -> None:
    with pytest.raises(UserError, match=words):
        recipe.check(styles={"dots"}, tasks={"denoise"})


def test_a_request_numbers_its_mask_frames() -> None:
    image = (FrameSpec(4, 2, "BGRA", "u16"), bytes(64))
    mask = (FrameSpec(4, 2, "Y", "u8"), bytes(8))
    fields, frames = Recipe("inpaint", [Slot("a"), Slot("b", 0.5, mask)]).request(image, mask, (1, 0, 2, 2))
    assert [f[0].channels for f in frames] == ["BGRA", "Y", "Y"]
    assert fields["inpaint_mask"] == 1 and fields["crop"] == [1, 0, 2, 2]
    assert fields["slots"] == [{"style": "a", "strength": 1.0}, {"style": "b", "strength": 0.5, "mask": 2}]
    with pytest.raises(UserError, match="needs a mask"):
        Recipe("inpaint").request(image)


@pytest.mark.parametrize("sample", ["u8", "u16", "f16", "f32"])
def test_channel_extracts_alpha_without_numpy(sample: str) -> None:
    dtype = {"u8": "<u1", "u16": "<u2", "f16": "<f2", "f32": "<f4"}[sample]
    pixels = np.random.default_rng(0).integers(0, 200, (5, 7, 4)).astype(dtype)
    got = channel(pixels.tobytes(), 4, SAMPLE_BYTES[sample], 3)
    assert got == np.ascontiguousarray(pixels[..., 3]).tobytes()


def test_mask_coverage() -> None:
    assert [mask_coverage(m) for m in (bytes(6), b"\xff" * 6, b"\x00\x80\xff")] == ["empty", "full", "partial"]


def test_plain_messages() -> None:
    assert plain("cancelled", "job j1 cancelled") == "Cancelled; nothing was changed."
    assert "another protocol version" in plain("bad_version", "")
    assert plain("unknown_style", "unknown style 'x'").endswith("(unknown style 'x')")
    assert plain("internal", "boom") == "The backend could not do it: boom"


def test_config_reads_the_shared_file_and_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RETEX_CONFIG_DIR", str(tmp_path))
    monkeypatch.delenv("RETEX_BACKEND_PYTHON", raising=False)
    found = BackendConfig.load()
    assert found.repo == str(REPO) and found.python == str(REPO / ".venv" / "bin" / "python")  # from the checkout
    BackendConfig("/py", "/repo", "ipc:///x", ["--device", "cpu"]).save()
    assert json.loads((tmp_path / "config.json").read_text())["args"] == ["--device", "cpu"]
    assert BackendConfig.load() == BackendConfig("/py", "/repo", "ipc:///x", ["--device", "cpu"])
    monkeypatch.setenv("RETEX_BACKEND_PYTHON", "/other/python")
    assert BackendConfig.load().python == "/other/python"
    (tmp_path / "config.json").write_text("{not json")
    assert BackendConfig.load().repo == str(REPO)


def wait(session: Session, job: Job, timeout: float = 120) -> Job:
    deadline = time.monotonic() + timeout
    while not job.done and time.monotonic() < deadline:
        session.poll()
        time.sleep(0.02)
    assert job.done, session.status()
    return job


def test_a_missing_backend_python_is_explained(tmp_path: Path) -> None:
    session = Session(BackendConfig(str(tmp_path / "nope"), str(REPO), f"ipc://{tmp_path / 's'}"), "test")
    job = wait(session, session.submit("hello", {}, []))
    assert "cannot find the backend's Python" in job.error and session.state == "failed"


def test_a_backend_that_cannot_start_says_why(tmp_path: Path) -> None:
    config = BackendConfig(sys.executable, str(REPO), f"ipc://{tmp_path / 's'}", ["--weights-dir"])
    session = Session(config, "test")
    job = wait(session, session.submit("hello", {}, []))
    assert "could not start (exit status 2: " in job.error and "--weights-dir" in job.error


def test_session_runs_restarts_a_killed_backend_and_stops_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("RETEX_USER_STYLES", str(tmp_path / "user-styles"))  # not the developer's own library
    weights = make_weights(tmp_path / "weights", tasks=("denoise",))
    args = ["--weights-dir", str(weights), "--threads", "1"]
    session = Session(BackendConfig(sys.executable, str(REPO), f"ipc://{tmp_path / 's'}", args), "test")
    image = (FrameSpec(40, 30, "BGRA", "u8"), bytes(range(200)) * 24)
    job = wait(session, session.submit("run", *Recipe("denoise", [Slot("dots", 0.5)]).request(image)))
    assert job.error is None and job.result.specs[0] == image[0] and job.fraction == 1.0
    assert {s.name: s.scale for s in session.styles} == {"dots": "fine", "paint": "coarse"}
    assert all(len(s.thumbnail) == 96 * 96 * 3 for s in session.styles) and "connected" in session.status()
    first = session.pid
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while session.state == "ready" and time.monotonic() < deadline:  # noticed while idle, as the docker's timer does
        session.poll()
        time.sleep(0.02)
    assert "killed by signal 9" in session.status()
    again = wait(session, session.submit("run", *Recipe("denoise").request(image)))
    assert again.error is None and session.pid not in (None, first)
    assert (tmp_path / "cache" / "retex" / "test-backend.log").is_file()
    proc = session._proc.proc
    session.close()
    assert proc.poll() is not None and session.state == "stopped"
