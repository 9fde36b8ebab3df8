"""``python -m backend restore IN... -o FOLDER`` end to end, in real subprocesses: a folder of mixed files, globs,
skipping and ``--overwrite``, the output folders it refuses, and a run killed half-way that the same command resumes.

Weights are a tiny randomly initialised denoiser made here; images are small, so each run is mostly start-up.
"""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from backend.nets.restoration import RestorationNet
from backend.tasks import get_task
from backend.weights import save_restoration
from tests.service_helpers import make_weights, start_server

REPO = Path(__file__).resolve().parents[2]
SUMMARY = "{} written, {} skipped (already there), {} failed"


def noise(h: int, w: int, c: int, seed: int = 0, dtype: type = np.uint8) -> np.ndarray:
    top = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, top, size=(h, w, c), endpoint=True).astype(dtype)


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("weights") / "denoise.safetensors"
    torch.manual_seed(0)
    save_restoration(path, RestorationNet(get_task("denoise").net), get_task("denoise"))
    return path


def command(*args: str | Path, weights: Path) -> list[str]:
    extra = ["--task", "denoise", "--weights", str(weights), "--runtime", "torch"]
    return [sys.executable, "-m", "backend", "restore", *map(str, args), *extra]


ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def cli(*args: str | Path, weights: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args, weights=weights), cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300
    )


def mixed_folder(folder: Path) -> dict[str, Path]:
    """Good RGB, truncated PNG, greyscale, 16-bit PNG, RGBA, a text file (not an image: left alone)."""
    folder.mkdir()
    files = {name: folder / name for name in ("good.jpg", "cut.png", "grey.png", "deep.png", "alpha.png")}
    Image.fromarray(noise(20, 24, 3, seed=1)).save(files["good.jpg"], quality=95)
    Image.fromarray(noise(32, 32, 3, seed=2)).save(files["cut.png"])
    files["cut.png"].write_bytes(files["cut.png"].read_bytes()[:300])
    Image.fromarray(noise(18, 22, 1, seed=3)[..., 0], "L").save(files["grey.png"])
    assert cv2.imwrite(str(files["deep.png"]), noise(16, 20, 3, seed=4, dtype=np.uint16))
    Image.fromarray(noise(20, 28, 4, seed=5), "RGBA").save(files["alpha.png"])
    (folder / "notes.txt").write_text("not an image")
    return files


def no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.startswith(".")]


def test_a_mixed_folder_writes_the_good_names_the_bad_and_resumes(tmp_path: Path, weights: Path) -> None:
    files, out = mixed_folder(tmp_path / "in"), tmp_path / "out"
    first = cli(tmp_path / "in", "-o", out, weights=weights)
    assert first.returncode == 1, first.stderr
    assert "Traceback" not in first.stderr
    assert first.stdout.strip() == SUMMARY.format(4, 0, 1)
    failed = first.stderr.splitlines()
    assert len(failed) == 1 and failed[0].startswith("failed: ") and "truncated" in failed[0]
    assert failed[0].count("cut.png") == 1 and all(name not in failed[0] for name in ("good", "grey", "deep"))
    assert sorted(p.name for p in out.iterdir()) == ["alpha.png", "deep.png", "good.jpg", "grey.png"]

    deep = cv2.imread(str(out / "deep.png"), cv2.IMREAD_UNCHANGED)
    assert deep.dtype == np.uint16 and deep.shape == (16, 20, 3)
    assert np.any(deep % 257 != 0)  # 16-bit codes, not 8-bit ones scaled up
    alpha = np.asarray(Image.open(out / "alpha.png"))
    assert alpha.shape == (20, 28, 4)
    assert np.array_equal(alpha[..., 3], np.asarray(Image.open(files["alpha.png"]))[..., 3])
    with Image.open(out / "grey.png") as grey:  # as the single-file form writes it
        assert (grey.mode, grey.size) == ("RGB", (22, 18))
    single = tmp_path / "grey-single.png"
    assert cli(files["grey.png"], "-o", single, weights=weights).returncode == 0
    assert (out / "grey.png").read_bytes() == single.read_bytes()
    assert no_temp_files(out)

    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    second = cli(tmp_path / "in", "-o", out, weights=weights)
    assert second.returncode == 1 and second.stdout.strip() == SUMMARY.format(0, 4, 1)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps

    files["cut.png"].unlink()
    again = cli(tmp_path / "in", "-o", out, "--overwrite", weights=weights)
    assert again.returncode == 0 and again.stderr == ""
    assert again.stdout.strip() == SUMMARY.format(4, 0, 0)
    assert all(p.stat().st_mtime_ns != stamps[p.name] for p in out.iterdir())


def test_globs_and_files_mix_and_a_file_named_twice_is_done_once(tmp_path: Path, weights: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for n in range(3):
        Image.fromarray(noise(16, 16, 3, seed=n)).save(src / f"p{n}.png")
    Image.fromarray(noise(16, 16, 3, seed=9)).save(src / "other.bmp")
    result = cli(str(src / "p*.png"), src / "p0.png", src / "other.bmp", "-o", out, weights=weights)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.strip() == SUMMARY.format(4, 0, 0)
    assert sorted(p.name for p in out.iterdir()) == ["other.png", "p0.png", "p1.png", "p2.png"]  # .bmp -> .png


def test_two_inputs_with_one_output_name_fail_alone(tmp_path: Path, weights: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    Image.fromarray(noise(16, 16, 3, seed=1)).save(src / "a.bmp")
    Image.fromarray(noise(16, 16, 3, seed=2)).save(src / "a.png")
    result = cli(src, "-o", out, weights=weights)
    assert result.returncode == 1 and result.stdout.strip() == SUMMARY.format(1, 0, 1)
    assert len(result.stderr.splitlines()) == 1 and "a.bmp" in result.stderr and "rename one" in result.stderr
    assert [p.name for p in out.iterdir()] == ["a.png"]
    assert cli(src / "a.png", "-o", tmp_path / "single.png", weights=weights).returncode == 0
    assert (out / "a.png").read_bytes() == (tmp_path / "single.png").read_bytes()  # a.png's own result


def assert_refused(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_an_output_folder_inside_an_input_folder_is_refused(tmp_path: Path, weights: Path) -> None:
    files = mixed_folder(tmp_path / "in")
    before = {p: p.read_bytes() for p in files.values()}
    for out in (tmp_path / "in", tmp_path / "in" / "restored"):
        assert_refused(cli(tmp_path / "in", "-o", out, weights=weights), "inside the input folder")
    assert_refused(cli(str(tmp_path / "in" / "*.png"), "-o", tmp_path / "in" / "x", weights=weights), "inside")
    assert {p: p.read_bytes() for p in files.values()} == before
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == sorted([*files, "notes.txt"])


def test_an_output_folder_that_cannot_be_written_is_refused(tmp_path: Path, weights: Path) -> None:
    mixed_folder(tmp_path / "in")
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    assert_refused(cli(tmp_path / "in", "-o", blocker, weights=weights), "is a file")
    assert_refused(cli(tmp_path / "in", "-o", blocker / "out", weights=weights), "cannot write in the output folder")
    assert blocker.read_text() == "a file where a folder should be"

    locked = tmp_path / "locked"  # root writes past permission bits, not past the immutable flag
    locked.mkdir()
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(locked)], check=True)
    else:
        locked.chmod(0o555)
    try:
        assert_refused(cli(tmp_path / "in", "-o", locked, weights=weights), "cannot write in the output folder")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(locked)], check=True)
        locked.chmod(0o755)
    assert list(locked.iterdir()) == []


def test_inputs_that_name_nothing_and_masks_are_refused(tmp_path: Path, weights: Path) -> None:
    mixed_folder(tmp_path / "in")
    out = tmp_path / "out"
    assert_refused(cli(str(tmp_path / "in" / "*.tif"), "-o", out, weights=weights), "no image files match")
    assert_refused(cli(tmp_path / "in", tmp_path / "absent.png", "-o", out, weights=weights), "not found")
    (tmp_path / "empty").mkdir()
    assert_refused(cli(tmp_path / "empty", "-o", out, weights=weights), "no image files in")
    assert_refused(cli(tmp_path / "in", "-o", out, "--mask", tmp_path / "in" / "grey.png", weights=weights), "--mask")
    assert not out.exists()


def test_a_killed_run_leaves_no_partial_file_and_the_same_command_resumes(tmp_path: Path, weights: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for n in range(12):
        Image.fromarray(noise(256, 256, 3, seed=n)).save(src / f"p{n:02}.png")
    run = subprocess.Popen(
        command(src, "-o", out, weights=weights),
        cwd=REPO,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (out.exists() and any(p.suffix == ".png" for p in out.iterdir())):
        assert run.poll() is None and time.monotonic() < deadline, "the run ended before writing its first file"
        time.sleep(0.01)
    run.send_signal(signal.SIGTERM)
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 130, stderr
    assert "Traceback" not in stderr and stderr.strip() == "interrupted"
    done = sorted(p.name for p in out.iterdir())
    assert 1 <= len(done) < 12 and no_temp_files(out)
    assert re.fullmatch(
        r"\d+ written, 0 skipped \(already there\), 0 failed before the interruption; .*", stdout.strip()
    )
    for name in done:  # every file there is whole
        assert cv2.imread(str(out / name)).shape == (256, 256, 3)
    stale = out / ".p11.png.x1y2z3.tmp"  # what a kill -9 in the middle of a write leaves
    stale.write_bytes(b"half a file")

    resumed = cli(src, "-o", out, weights=weights)
    assert resumed.returncode == 0 and resumed.stdout.strip() == SUMMARY.format(12 - len(done), len(done), 0)
    assert len(list(out.iterdir())) == 12 and no_temp_files(out)


def test_subfolders_with_r_a_folder_named_by_its_slash_and_weights_refused_once(tmp_path: Path, weights: Path) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / ".hidden").mkdir()
    for name in ("top.png", "sub/low.png", ".hidden/no.png"):
        Image.fromarray(noise(16, 16, 3)).save(src / name)
    flat, deep = tmp_path / "flat", tmp_path / "deep"
    assert cli(src, "-o", f"{flat}/", weights=weights).stdout.strip() == SUMMARY.format(1, 0, 0)
    assert [p.name for p in flat.iterdir()] == ["top.png"]
    assert cli(src, "-r", "-o", deep, weights=weights).stdout.strip() == SUMMARY.format(2, 0, 0)
    assert sorted(str(p.relative_to(deep)) for p in deep.rglob("*.png")) == ["sub/low.png", "top.png"]

    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(np.random.default_rng(1).bytes(4096))
    refused = subprocess.run(
        [sys.executable, "-m", "backend", "restore", str(src), "-o", str(tmp_path / "none"), "--task", "denoise"]
        + ["--weights", str(bad)],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert_refused(refused, "corrupt")  # loaded once, before any file
    assert list((tmp_path / "none").iterdir()) == []


def test_a_terminal_sees_a_progress_line_redrawn_in_place(tmp_path: Path, weights: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for n in range(3):
        Image.fromarray(noise(16, 16, 3, seed=n)).save(src / f"p{n}.png")
    master, slave = pty.openpty()
    run = subprocess.Popen(command(src, "-o", tmp_path / "out", weights=weights), cwd=REPO, env=ENV, stderr=slave)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal's other side closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    assert run.wait(timeout=300) == 0
    text = seen.decode()
    for n in range(3):
        assert f"] {n}/3 p{n}.png" in text
    assert text.startswith("\r[") and text.endswith("\r\x1b[K") and "\n" not in text.replace("\r\n", "")


def test_a_batch_through_a_server_equals_the_local_one(tmp_path: Path) -> None:
    folder = make_weights(tmp_path / "weights", ("denoise",))
    files = mixed_folder(tmp_path / "in")
    server = start_server(f"ipc://{tmp_path / 'batch.sock'}", folder)
    try:
        remote = subprocess.run(
            [sys.executable, "-m", "backend", "restore", str(tmp_path / "in"), "-o", str(tmp_path / "remote")]
            + ["--task", "denoise", "--endpoint", server.endpoint],
            cwd=REPO,
            env=ENV,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.stop()
    local = cli(tmp_path / "in", "-o", tmp_path / "local", weights=folder / "denoise.safetensors")
    for result in (remote, local):
        assert result.returncode == 1 and result.stdout.strip() == SUMMARY.format(4, 0, 1), result.stderr
        assert len(result.stderr.splitlines()) == 1 and "cut.png" in result.stderr
    for name in sorted(set(files) - {"cut.png"}):  # the same thread count on both sides: the same bytes
        assert (tmp_path / "remote" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
