"""The photo models with their clean-up strength through a real server and the command line, on the shipped
weights: equal to the in-process pipeline, bad strengths refused, every kind of image accepted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from backend.imaging.io import read_image
from backend.imaging.resize import imresize
from backend.pipeline import restore
from backend.runtime import load_net
from backend.service.frames import from_image, to_image
from backend.tasks import get_task
from plugin.common.client import BackendError, Client
from plugin.common.protocol import ErrorCode, FrameSpec
from tests.service_helpers import REPO, rgba_test_image, start_server

WEIGHTS = REPO / "weights"
PHOTO_TASKS = ("photo", "photo-sr2", "photo-sr4")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    sock = tmp_path_factory.mktemp("sock") / "retex.sock"
    srv = start_server(f"ipc://{sock}", WEIGHTS, env={"RETEX_USER_STYLES": str(sock.parent / "user-styles")})
    yield srv
    srv.stop()


def _frame(w: int, h: int, seed: int = 0) -> tuple[FrameSpec, bytes]:
    arr = rgba_test_image(w, h, seed, 255).astype(np.uint8)
    return FrameSpec(w, h, "RGBA", "u8", "image"), arr.tobytes()


def _expected(task_name: str, cleanup: float, frame: tuple[FrameSpec, bytes]) -> bytes:
    task = get_task(task_name)
    rgb, alpha = to_image(*frame)
    with torch.no_grad():
        out = restore(load_net(task, cleanup, "torch"), task, rgb)
    if alpha is not None and task.scale > 1:
        alpha = np.clip(imresize(alpha, float(task.scale)), 0, 1)
    return from_image(frame[0], out, alpha)[1]


@pytest.mark.parametrize("task", PHOTO_TASKS)
def test_photo_models_through_the_service_equal_the_pipeline(server, task: str) -> None:
    frame = _frame(36, 28, seed=3)
    with Client(server.endpoint) as client:
        for cleanup in (1.0, 0.4):
            result = client.run(task, frame, options={"cleanup": cleanup})
            assert result.frames[0] == _expected(task, cleanup, frame)
        auto = client.run(task, frame, options={"cleanup": "auto"})
        assert auto.frames[0] == _expected(task, 1.0, frame)


def test_photo_cleanup_zero_gives_the_input_back(server) -> None:
    frame = _frame(30, 20, seed=4)
    with Client(server.endpoint) as client:
        result = client.run("photo", frame, options={"cleanup": 0})
    assert result.frames[0] == frame[1]


@pytest.mark.parametrize("bad", [-0.5, 1.01, "much", [0.5], True])
def test_a_bad_cleanup_strength_is_refused_and_the_server_goes_on(server, bad) -> None:
    frame = _frame(20, 20)
    with Client(server.endpoint) as client:
        with pytest.raises(BackendError) as err:
            client.run("photo", frame, options={"cleanup": bad})
        assert err.value.code == ErrorCode.BAD_OPTION and "clean-up strength" in err.value.message
        assert client.run("photo", frame).frames[0] == _expected("photo", 1.0, frame)


@pytest.mark.parametrize("kind", ["grey", "16-bit", "alpha", "tiny", "clean"])
def test_every_kind_of_image_goes_through_the_photo_upscaler(tmp_path: Path, kind: str) -> None:
    """The command line, as a user runs it: grey, 16-bit, alpha, tiny and clean inputs all give an image."""
    import subprocess
    import sys

    rgba = rgba_test_image(24, 18, 1, 255).astype(np.uint8)
    src = tmp_path / "in.png"
    if kind == "grey":
        Image.fromarray(rgba[..., 0]).save(src)
    elif kind == "16-bit":
        import cv2

        cv2.imwrite(str(src), (rgba[..., 2::-1].astype(np.uint16) * 257))
    elif kind == "alpha":
        Image.fromarray(rgba).save(src)
    elif kind == "tiny":
        Image.fromarray(rgba[:3, :5, :3]).save(src)
    else:
        Image.fromarray(np.full((18, 24, 3), 128, np.uint8)).save(src)
    out = tmp_path / "out.png"
    cmd = [sys.executable, "-m", "backend", "restore", str(src), "-o", str(out), "--task", "photo-sr2"]
    run = subprocess.run([*cmd, "--cleanup", "0.7"], cwd=REPO, capture_output=True, text=True, timeout=120)
    if kind == "tiny":  # below the networks' minimum: the same one line as every other task gives
        clean = subprocess.run([*cmd[:-1], "sr2"], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert run.returncode == clean.returncode == 2 and run.stderr == clean.stderr
        assert "at least 8 px" in run.stderr and not out.exists()
        return
    assert run.returncode == 0, run.stderr
    got, given = read_image(out), read_image(src)
    assert got.rgb.shape[-2:] == tuple(2 * s for s in given.rgb.shape[-2:])
    assert got.bits == given.bits and (got.alpha is None) == (given.alpha is None)
    if kind == "clean":  # a flat image stays flat: nothing invented (a level or two at the borders)
        assert float(np.abs(got.rgb - 128 / 255).max()) <= 2.5 / 255
        assert abs(float(got.rgb.mean()) - 128 / 255) < 0.5 / 255


def test_a_bad_cleanup_on_the_command_line_is_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    src = tmp_path / "in.png"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(src)
    cmd = [sys.executable, "-m", "backend", "restore", str(src), "-o", str(tmp_path / "o.png"), "--task", "photo"]
    run = subprocess.run([*cmd, "--cleanup", "lots"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "clean-up strength" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "o.png").exists()
