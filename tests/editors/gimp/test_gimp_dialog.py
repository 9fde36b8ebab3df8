"""The Restore & Texture dialog inside the real GIMP 3, as a user meets it from the menu: the spy
(inside/spy/sitecustomize.py) plays the dialog, changing settings, waiting for the preview, noting what the image
and the dialog show, and pressing Cancel or OK. Preview: one 'Retex preview' layer above the chosen layer, equal
to the command line's result on the selection's box, that follows the settings and leaves nothing behind (no layer,
no undo step); thumbnails in the texture lists; the settings kept after a Cancel. One GIMP session, as in
test_gimp_plugin.py, whose set-up this shares.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from tests.editors import reference
from tests.editors.gimp.harness import record
from tests.editors.gimp.test_gimp_plugin import (
    PREVIEW_RECT,
    Run,
    changes,
    check_added,
    command_line,
    pixels,
    session,
    task_args,
)
from tests.editors.krita import harness as kh

SCENARIOS = ["preview_cancelled", "preview_applied", "remembered_after_cancel", "preview_stopped", "learn_no_drawable"]
NAME = "Retex: Denoise + dots 80 %"


@pytest.fixture(scope="module")
def gimp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    yield from session(tmp_path_factory, SCENARIOS)


def previewed(run: Run, strength: float) -> np.ndarray:
    """What the backend's pipeline makes of the selection's box with the dialog's settings (Denoise, then dots): a
    preview is that box's run with the context it needs, which may differ from the whole layer's result by a rounding
    (a level) on a few pixels, so it is checked against the same region's run."""
    import cv2
    import torch

    from backend.pipeline import process
    from backend.service.frames import from_image, to_image
    from backend.stylize import StyleSlot
    from plugin.common.protocol import FrameSpec

    source = cv2.imread(str(run.data / "rgba8.png"), cv2.IMREAD_UNCHANGED)[..., [2, 1, 0, 3]]
    rgb, alpha = to_image(FrameSpec(source.shape[1], source.shape[0], "RGBA", "u8"), source.tobytes())
    x, y, w, h = PREVIEW_RECT
    with torch.no_grad(), kh.same_threads():
        slot = StyleSlot(reference.style(run.weights, "dots"), strength)
        out = process(rgb, reference.restoration(run.weights, "denoise"), [slot], None, PREVIEW_RECT)
    frame = from_image(FrameSpec(w, h, "RGBA", "u8"), out, alpha[..., y : y + h, x : x + w])
    return np.frombuffer(frame[1], np.uint8).reshape(h, w, 4)


def check_preview(run: Run, seen: dict, want: np.ndarray) -> np.ndarray:
    """One preview layer, right above the chosen layer (which stays selected), on the selection's box, equal to the
    command line there."""
    assert seen["layers"] == ["Retex preview", "Background"] and seen["selected"] == ["Background"], seen
    preview = seen["preview"]
    assert preview["offsets"] == list(PREVIEW_RECT[:2]) and [preview["width"], preview["height"]] == [*PREVIEW_RECT[2:]]
    got = pixels({**preview, "file": str(run.harness.path(preview["file"]))})  # dumped inside the chroot
    np.testing.assert_array_equal(got, want)
    return got


def test_gimp_preview_follows_the_settings_and_is_gone_after_cancel(gimp: Run) -> None:
    rec = record(gimp, "preview_cancelled")
    seen = rec["seen"]
    first = check_preview(gimp, seen["first"], previewed(gimp, 0.8))
    second = check_preview(gimp, seen["second"], previewed(gimp, 1.6))
    assert (first != second).any()  # the stronger texture shows
    assert seen["first"]["status"] == [f"Preview updated: {NAME}."]
    assert seen["changed"]["status"] == [""]  # a setting changed: the last preview's words are gone
    failed = seen["failed"]  # a preview that cannot run: the reason in the status line, no stale preview left
    assert failed["layers"] == ["Background"] and not failed["dirty"]
    assert "which this image does not have" in failed["status"][0] and failed["lines"] == [2], failed
    assert seen["first"]["lines"] == [1] and seen["first"]["buttons"] == failed["buttons"]  # the wrap moved nothing
    assert rec["status"] == "cancel" and rec["unchanged"]  # the image as it was: layers, pixels, not dirty


def test_gimp_preview_then_ok_leaves_only_the_result(gimp: Run) -> None:
    rec = record(gimp, "preview_applied")
    check_preview(gimp, rec["seen"]["preview"], previewed(gimp, 0.8))
    got = check_added(rec, NAME)
    assert rec["layers"] == [NAME, "Background"]  # the preview is gone
    np.testing.assert_array_equal(
        got, command_line(gimp, "rgba8.png", [*task_args(gimp, "denoise"), "--style", "dots:0.8"])
    )
    calls = [name for name in changes(rec) if name not in ("waited", "seen")]  # the spy's own notes left out
    start = calls.index("undo_group_start")
    assert set(calls[:start]) <= {"insert_layer", "set_offsets", "remove_layer"}  # the preview's, kept out of undo
    assert calls[start:].count("undo_group_start") == 1 and calls[-1] == "undo_group_end"  # the result: one step


def test_gimp_cancel_during_a_preview_stops_it_at_once(gimp: Run) -> None:
    """Cancel pressed while a whole 4096 x 4096 layer is previewed: the job is stopped (no preview layer ever came,
    and the backend is idle right after), so the dialog closes without waiting for the preview to end."""
    rec = record(gimp, "preview_stopped")
    running = rec["seen"]["running"]
    assert running["layers"] == ["bg"] and running["status"][0].startswith("Previewing"), running
    assert rec["status"] == "cancel" and rec["unchanged"], rec
    assert "insert_layer" not in changes(rec) and rec["idle_after"] < 5.0, rec["idle_after"]
    assert rec["closed_at"] - running["at"] < 20.0  # 10 s measured on a loaded 2-core machine (CPU backend)


def test_gimp_texture_lists_show_thumbnails(gimp: Run) -> None:
    rows = record(gimp, "preview_cancelled")["seen"]["first"]["styles"]
    assert rows[0] == ["", "—", None]
    assert [row[:2] for row in rows[1:]] == [["dots", "dots (fine)"], ["paint", "paint (coarse)"]]
    for _, _, (width, height, colours) in rows[1:]:
        assert (width, height) == (32, 32) and colours > 16  # a picture, not a blank square


def test_gimp_dialog_keeps_its_settings_after_cancel(gimp: Run) -> None:
    rec = record(gimp, "remembered_after_cancel")
    assert rec["status"] == "cancel" and rec["unchanged"]
    again = rec["again"]
    assert again["seen"]["reopened"]["settings"] == {"task": "deblur", "style-1": "paint", "strength-1": 1.25}


def test_gimp_learning_without_a_layer_says_so_in_learning_words(gimp: Run) -> None:
    rec = record(gimp, "learn_no_drawable")
    assert rec["status"] == "execution-error" and rec["unchanged"], rec
    assert rec["error"] == "Select a layer first: Retex works on the selected layer."
