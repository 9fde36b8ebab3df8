"""The GIMP plug-in inside the real GIMP 3 (gimp-console in a Debian 13 chroot), called through the PDB in
NONINTERACTIVE mode, against a real backend process that the plug-in starts over real ZeroMQ, with tiny random
networks: results equal the command line's for the same inputs in 8, 16 and 32 bits, alpha kept, one undo step; bad
input gives a message and leaves the image as it was; a killed backend gives a message and is started again; GIMP's
Cancel (which kills the plug-in) stops the backend's job.

All scenarios run in one GIMP session (inside/scenarios.py) so GIMP and the backend start once; each test
checks one scenario's record. Without the chroot (or root) the tests are skipped, except in CI (CI=true), where
that is a failure: .ci/run builds the chroot with .ci/gimp-chroot.sh.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import zmq

from plugin.common.recipe import SELECT_TO_LEARN
from tests.editors import reference
from tests.editors.gimp import harness as gh
from tests.editors.krita import harness as kh
from tests.service_helpers import CLI_IN_WEIGHTS_DIR, EDITOR_TASKS, make_weights, rgba_test_image

SIZE = (96, 80)  # the 8-bit image, w x h
ELLIPSE = (20, 12, 44, 36)  # x, y, w, h: the selection (anti-aliased, so the mask has grey edges)
STRIPE = (0, 50, 96, 14)  # the saved channel "stripe"
SIZE16 = (64, 48)
RECT16 = (8, 6, 30, 20)
RECT_FLOAT = (10, 10, 40, 30)
PREVIEW_RECT = (30, 20, 40, 36)  # x, y, w, h: the selection a preview runs on (test_gimp_dialog.py)
LEARNING = ["learn", "learn_good_enough", "learn_cancelled_in_window"]  # they need the training support (torch)
SCENARIOS = [
    "two_masks_u8",
    "size_variation",
    "bad_size",
    "bad_variation",
    "selection_u16",
    "float_linear",
    "sr2_new_image",
    "sr2_scale_image",
    "photo_sr2_half",
    "photo_sr2_auto",
    "photo_u8",
    "under_earlier_result",
    "learn",
    "no_image",
    "no_drawable",
    "two_drawables",
    "text_layer",
    "group_layer",
    "locked_layer",
    "empty_selection",
    "missing_channel",
    "strength_out_of_range",
    "learn_no_selection",
    "error_in_a_dialog",
    "grayscale",
    "indexed",
    "other_protocol",
    "backend_missing",
    "killed_backend",
    "cancelled",
]


@dataclass
class Run:
    results: dict
    output: str
    harness: gh.Harness
    data: Path
    weights: Path


def _other_protocol_server(stop: threading.Event) -> str:
    """A backend of a future protocol: answers anything with a version-2 header. It takes the plug-in's token in
    the PLAIN handshake as a real loopback backend does (its ZAP handler lets any token in)."""
    ctx = zmq.Context()  # its own: the ZAP handler's inproc address is one per context
    zap = ctx.socket(zmq.REP)
    zap.bind("inproc://zeromq.zap.01")
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.plain_server = True
    port = sock.bind_to_random_port("tcp://127.0.0.1")

    def serve() -> None:
        while not stop.is_set():
            if zap.poll(50):
                version, request_id, *_ = zap.recv_multipart()
                zap.send_multipart([version, request_id, b"200", b"OK", b"anyone", b""])
            if sock.poll(50):
                ident, header, *_ = sock.recv_multipart()
                reply = {"v": 2, "id": json.loads(header)["id"], "type": "info", "frames": [], "protocol": 2}
                sock.send_multipart([ident, json.dumps(reply).encode()])
        sock.close()
        zap.close(linger=0)
        ctx.term()

    threading.Thread(target=serve, daemon=True).start()
    return f"tcp://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def gimp(tmp_path_factory) -> Iterator[Run]:
    yield from session(tmp_path_factory, SCENARIOS)


def session(tmp_path_factory: pytest.TempPathFactory, scenarios: list[str]) -> Iterator[Run]:
    """One GIMP session that runs ``scenarios`` (inside/scenarios.py) against a backend the plug-in starts."""
    missing = gh.missing()
    if missing:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(missing)
    root = tmp_path_factory.mktemp("gimp")
    weights = make_weights(root / "weights", EDITOR_TASKS)
    env = {**os.environ, "RETEX_USER_STYLES": str(root / "user-styles"), "RETEX_RUNS": str(root / "runs")}
    harness = gh.Harness(weights, env)
    harness.start()
    stop = threading.Event()
    data = harness.root / "data"
    data.mkdir()
    cv2.imwrite(str(data / "rgba8.png"), rgba_test_image(*SIZE, 0, 255).astype(np.uint8)[..., [2, 1, 0, 3]])
    cv2.imwrite(str(data / "rgba16.png"), rgba_test_image(*SIZE16, 1, 65535).astype(np.uint16)[..., [2, 1, 0, 3]])
    inside = harness.inside
    spec = {
        "inputs": {"rgba8": f"{inside}/data/rgba8.png", "rgba16": f"{inside}/data/rgba16.png"},
        "ellipse": ELLIPSE,
        "stripe": STRIPE,
        "rect16": RECT16,
        "rect_float": RECT_FLOAT,
        "preview_rect": PREVIEW_RECT,
        "plugin": f"{inside}/home/.config/GIMP/3.0/plug-ins/retex",
        "config": f"{inside}/config",
        "cache": f"{inside}/cache",
        "out": f"{inside}/out",
        "spy": f"{inside}/out/spy.log",
        "results": f"{inside}/out/results.json",
        "other_protocol": _other_protocol_server(stop),
        "scenarios": scenarios,
    }
    try:
        # Against another backend environment (the inference-only one has no torch), the scenarios that learn a
        # texture run afterwards on this environment's backend: learning needs the training support
        # (test_gimp_training covers adding it)
        other = [s for s in scenarios if s in LEARNING] if os.environ.get("RETEX_TEST_BACKEND_PYTHON") else []
        runs = [("spec.json", "results.json", [s for s in scenarios if s not in other], harness.python)]
        runs += [("learning-spec.json", "learning.json", other, sys.executable)] if other else []
        output, results = "", {}
        for spec_name, results_name, chosen, python in [run for run in runs if run[2]]:
            harness.python = python
            out = harness.root / "out" / results_name
            (harness.root / spec_name).write_text(
                json.dumps({**spec, "scenarios": chosen, "results": f"{inside}/out/{results_name}"})
            )
            with gh.x_display() as display:
                output += harness.gimp(
                    gh.FILES / "scenarios.py", {"RETEX_GIMP_SPEC": f"{inside}/{spec_name}", "DISPLAY": display}
                )
            results |= json.loads(out.read_text()) if out.exists() else {}
        for rec in results.values():  # the dumps' paths, as seen from here
            for key in ("result", "source"):
                if isinstance(rec.get(key), dict) and "file" in rec[key]:
                    rec[key]["file"] = str(harness.path(rec[key]["file"]))
            for mask in rec.get("masks", {}).values():
                mask["file"] = str(harness.path(mask["file"]))
        yield Run(results, output, harness, data, weights)
    finally:
        stop.set()
        harness.close()


DTYPES = {"u8": np.uint8, "u16": "<u2", "float": "<f4"}


def pixels(info: dict) -> np.ndarray:
    """A dumped layer or mask as H x W x C (RGBA order for layers)."""
    model, sample = info["format"].split(" ")
    channels = len(model.replace("'", ""))
    return np.fromfile(info["file"], DTYPES[sample]).reshape(info["height"], info["width"], channels)


def mask_png(info: dict, path: Path) -> str:
    """A dumped mask as the grey PNG the command line reads (same depth)."""
    cv2.imwrite(str(path), pixels(info)[..., 0])
    return str(path)


def command_line(run: Run, image: str, args: list[str]) -> np.ndarray:
    """``python -m backend restore`` on the same input: the output PNG as RGBA (run once per input and arguments)."""
    out = run.data / f"cli-{abs(hash((image, *args)))}.png"
    if out.exists():
        return cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., [2, 1, 0, 3]]
    env = kh.same_threads_env({**os.environ, "RETEX_USER_STYLES": str(run.weights / "styles")})
    backend = [sys.executable, "-c", CLI_IN_WEIGHTS_DIR, str(run.weights)]  # photo-sr2 blends with the test sr2
    cmd = [*backend, "restore", str(run.data / image), "-o", str(out), *args]
    done = subprocess.run(cmd, cwd=gh.REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., [2, 1, 0, 3]]


def task_args(run: Run, task: str) -> list[str]:
    return ["--task", task, "--weights", str(run.weights / f"{task}.safetensors")]


def check_added(rec: dict, name: str) -> np.ndarray:
    assert rec["status"] == "success", rec["error"]
    assert rec["result"]["name"] == name
    return pixels(rec["result"])


def changes(rec: dict) -> list[str]:
    """The plug-in's calls that changed an image (from the spy), in order."""
    return [name for name, _ in rec["spy"] if not name.startswith("progress_")]


def check_one_undo_step(rec: dict) -> None:
    calls = changes(rec)
    assert calls[0] == "undo_group_start" and calls[-1] == "undo_group_end", calls
    assert calls.count("undo_group_start") == 1 and calls.count("undo_group_end") == 1
    assert "insert_layer" in calls


# --- results equal the command line's -----------------------------------------------------------------------------


def test_gimp_size_and_variation_equal_the_command_line_and_change_the_texture(gimp: Run) -> None:
    got = check_added(gh.record(gimp, "size_variation"), "Retex: dots 130 % size 200 % variation 7")
    args = ["--task", "none", "--style", "dots:1.3"]
    np.testing.assert_array_equal(got, command_line(gimp, "rgba8.png", [*args, "--texture-scale", "2", "--seed", "7"]))
    assert (got != command_line(gimp, "rgba8.png", args)).any()  # not the default size and variation


def test_gimp_selection_and_channel_as_masks_equal_the_command_line(gimp: Run) -> None:
    rec = gh.record(gimp, "two_masks_u8")
    name = "Retex: Denoise + dots 80 % + paint 130 %"
    got = check_added(rec, name)
    assert rec["layers"] == ["top", name, "Background"]  # above the layer it was run on
    masks = {k: mask_png(v, gimp.data / f"{k}.png") for k, v in rec["masks"].items()}
    assert 0 < pixels(rec["masks"]["sel"]).mean() < 255 and len(np.unique(pixels(rec["masks"]["sel"]))) > 2
    args = [*task_args(gimp, "denoise"), "--style", "dots:0.8", "--mask", masks["sel"]]
    args += ["--style", "paint:1.3", "--mask", masks["stripe"]]
    np.testing.assert_array_equal(got, command_line(gimp, "rgba8.png", args))
    np.testing.assert_array_equal(got[..., 3], pixels(rec["source"])[..., 3])  # alpha kept
    check_one_undo_step(rec)
    progress = [detail for name, detail in rec["spy"] if name == "progress_update"]
    assert len(progress) > 2 and progress == sorted(progress) and progress[-1] == 1.0  # GIMP's bar follows the job


def test_gimp_16_bit_image_equals_the_command_line(gimp: Run) -> None:
    rec = gh.record(gimp, "selection_u16")
    assert rec["encoding"] == "R'G'B'A u16"
    got = check_added(rec, "Retex: Denoise + paint 150 % (colours kept)")
    assert got.dtype == np.dtype("<u2")
    mask = mask_png(rec["masks"]["sel"], gimp.data / "sel16.png")
    args = [*task_args(gimp, "denoise"), "--style", "paint:1.5", "--mask", mask, "--preserve-colours"]
    np.testing.assert_array_equal(got, command_line(gimp, "rgba16.png", args))
    np.testing.assert_array_equal(got[..., 3], pixels(rec["source"])[..., 3])


def test_gimp_32_bit_linear_image_keeps_full_precision(gimp: Run) -> None:
    """The command line reads 8/16-bit files only, so the float result is checked against the pipeline it runs."""
    import torch

    from backend.pipeline import process
    from backend.service.frames import from_image, to_image, to_mask
    from backend.stylize import StyleSlot
    from plugin.common.protocol import FrameSpec

    rec = gh.record(gimp, "float_linear")
    assert rec["encoding"] == "RGBA float"  # stored linear; the plug-in reads and writes perceptual floats
    got = check_added(rec, "Retex: Denoise + dots 100 %")
    source, mask = pixels(rec["source"]), pixels(rec["masks"]["sel"])
    h, w = source.shape[:2]
    spec = FrameSpec(w, h, "RGBA", "f32")
    rgb, alpha = to_image(spec, source.tobytes())
    with torch.no_grad(), kh.same_threads():
        out = process(
            rgb,
            reference.restoration(gimp.weights, "denoise"),
            [
                StyleSlot(
                    reference.style(gimp.weights, "dots"), 1.0, to_mask(FrameSpec(w, h, "Y", "f32"), mask.tobytes())
                )
            ],
        )
    want = np.frombuffer(from_image(spec, out, alpha)[1], "<f4").reshape(h, w, 4)
    np.testing.assert_allclose(got, want, atol=2e-6)  # GIMP stores it linear: one round trip through babl
    assert np.abs(got * 255 - np.round(got * 255)).max() > 0.01  # not squeezed through 8 bits
    np.testing.assert_allclose(got[..., 3], source[..., 3], atol=1e-7)


def test_gimp_super_resolution_opens_a_new_image_equal_to_the_command_line(gimp: Run) -> None:
    rec = gh.record(gimp, "sr2_new_image")
    got = check_added(rec, "Retex: Super-resolution ×2")
    assert rec["unchanged"]  # the source image is left alone
    assert rec["new_image"]["size"] == [2 * SIZE[0], 2 * SIZE[1]] and len(rec["new_image"]["layers"]) == 1
    assert rec["new_file"] == f"{gimp.harness.inside}/data/rgba8 ×2.xcf"  # named after its source, for Save
    np.testing.assert_array_equal(got, command_line(gimp, "rgba8.png", task_args(gimp, "sr2")))


def test_gimp_super_resolution_can_scale_the_image_and_add_the_layer(gimp: Run) -> None:
    rec = gh.record(gimp, "sr2_scale_image")
    got = check_added(rec, "Retex: Super-resolution ×2")
    assert rec["size"] == [2 * SIZE[0], 2 * SIZE[1]] and rec["layers"] == ["Retex: Super-resolution ×2", "Background"]
    assert rec["new_image"] in (None, "None")
    np.testing.assert_array_equal(got, command_line(gimp, "rgba8.png", task_args(gimp, "sr2")))
    check_one_undo_step(rec)
    calls = changes(rec)
    assert calls.index("scale") < calls.index("undo_group_end")  # the scaling is part of the same step


@pytest.mark.parametrize(
    "name, cleanup, layer",
    [
        ("photo_sr2_half", ["--cleanup", "0.5"], "Retex: Upscale ×2 (clean-up 50 %)"),
        ("photo_sr2_auto", [], "Retex: Upscale ×2"),
    ],
)
def test_gimp_photo_upscale_at_its_clean_up_equals_the_command_line(
    gimp: Run, name: str, cleanup: list, layer: str
) -> None:
    """Upscale ×2 (photos) with the arguments cleanup-auto off and cleanup 0.5, or auto (the default): the same
    pixels as ``restore --task photo-sr2 --cleanup 0.5`` (or no --cleanup)."""
    rec = gh.record(gimp, name)
    got = check_added(rec, layer)
    assert rec["unchanged"] and rec["new_image"]["size"] == [2 * SIZE[0], 2 * SIZE[1]]
    np.testing.assert_array_equal(got, command_line(gimp, "rgba8.png", [*task_args(gimp, "photo-sr2"), *cleanup]))


def test_gimp_photo_upscale_clean_up_strength_changes_the_result(gimp: Run) -> None:
    half, auto = (pixels(gh.record(gimp, name)["result"]) for name in ("photo_sr2_half", "photo_sr2_auto"))
    assert (half != auto).any()  # the argument reached the backend


def test_gimp_photo_clean_up_on_a_layer_equals_the_command_line(gimp: Run) -> None:
    rec = gh.record(gimp, "photo_u8")
    name = "Retex: Clean up noise and JPEG (clean-up 50 %)"
    got = check_added(rec, name)
    assert rec["layers"] == [name, "Background"]
    args = [*task_args(gimp, "photo"), "--cleanup", "0.5"]
    np.testing.assert_array_equal(got, command_line(gimp, "rgba8.png", args))
    np.testing.assert_array_equal(got[..., 3], pixels(rec["source"])[..., 3])  # alpha kept
    check_one_undo_step(rec)


def test_gimp_result_lands_above_an_earlier_retex_layer_selected(gimp: Run) -> None:
    rec = gh.record(gimp, "under_earlier_result")
    assert rec["status"] == "success", rec["error"]
    assert rec["layers"] == ["Retex: Denoise", "Retex: an earlier result", "Background"]  # shows: on top
    assert rec["selected"] == ["Retex: Denoise"]
    check_one_undo_step(rec)


def test_gimp_learns_a_texture_from_the_selection(gimp: Run) -> None:
    rec = gh.record(gimp, "learn")
    assert rec["status"] == "success", rec["error"]
    assert rec["values"][0] == "learned" and rec["unchanged"]
    assert rec["use"]["status"] == "success", rec["use"]["error"]
    assert rec["use"]["layers"][0] == "Retex: learned 100 %"


# --- bad input ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, words",
    [
        ("no_image", "Open an image first"),
        ("no_drawable", "Select a layer first"),
        ("two_drawables", "2 layers are selected"),
        ("text_layer", "'Hello' is a text layer"),
        ("group_layer", "'Group 1' is a layer group"),
        ("locked_layer", "is locked"),
        ("empty_selection", "nothing is selected"),
        ("missing_channel", "the channel 'wall', which this image does not have (its channels: 'stripe')"),
        ("strength_out_of_range", "The clean-up strength must be between 0 and 1."),
        ("bad_size", "The size of 'dots' must be between 50% and 200%."),
        ("bad_variation", "The variation of 'dots' must be a whole number from 0 to 2147483647."),
        ("grayscale", "this one is grayscale"),
        ("indexed", "this one is indexed"),
        ("other_protocol", "another protocol version"),
        ("backend_missing", "cannot find the backend's Python (/nowhere/python3)"),
    ],
)
def test_gimp_bad_input_gives_a_message_and_changes_nothing(gimp: Run, name: str, words: str) -> None:
    rec = gh.record(gimp, name)
    assert rec["status"] == "execution-error" and words in rec["error"], rec
    assert f"Restore & Texture-Warning: {rec['error']}" in gimp.output  # shown with Gimp.message
    assert rec["unchanged"] and not changes(rec)


def test_gimp_learning_without_a_selection_says_to_select_the_texture(gimp: Run) -> None:
    rec = gh.record(gimp, "learn_no_selection")
    assert rec["status"] == "execution-error" and rec["unchanged"], rec
    assert rec["error"] == SELECT_TO_LEARN  # the words the Krita docker uses


def test_gimp_menu_run_shows_its_error_in_a_dialog(gimp: Run) -> None:
    rec = gh.record(gimp, "error_in_a_dialog")
    assert rec["status"] == "execution-error" and rec["unchanged"], rec
    dialogs = [detail for name, detail in rec["spy"] if name == "dialog"]
    assert dialogs == [
        {
            "title": "Retex: Restore & Texture",
            "text": "Retex works on RGB images and this one is grayscale. Convert it (Image → Mode → RGB) first.",
            "on_screen": True,
        }
    ]


def test_gimp_killed_backend_gives_a_message_and_the_next_run_restarts_it(gimp: Run) -> None:
    rec = gh.record(gimp, "killed_backend")
    assert rec["killed_pid"], "the backend never ran the job"
    assert rec["status"] == "execution-error" and "stopped during the job" in rec["error"], rec["error"]
    assert rec["unchanged"] and not changes(rec)
    again = rec["again"]
    assert again["status"] == "success", again["error"]
    assert again["layers"][0] == "Retex: Denoise" and rec["again_pid"] != rec["killed_pid"]


def test_gimp_cancel_stops_the_backend_job_and_changes_nothing(gimp: Run) -> None:
    """GIMP's Cancel kills the plug-in; the backend stops the job of a client gone away (it would take far longer)."""
    rec = gh.record(gimp, "cancelled")
    assert gimp.harness.killed_plugins, "the plug-in was never killed"
    assert rec["status"] != "success" and rec["unchanged"]
    assert rec["idle_after"] is not None and rec["idle_after"] < 10, rec["idle_after"]
