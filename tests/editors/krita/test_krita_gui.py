"""Smoke test of the installed plug-in in the full Krita GUI (under Xvfb): installed into a fresh HOME as a user
would, enabled through kritarc, loaded by Krita itself, its real menu action triggered, the new layer present."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.editors.krita import harness as kh
from tests.service_helpers import make_weights


def test_krita_gui_action_adds_a_layer(tmp_path: Path) -> None:
    missing = kh.missing_tools("krita", "xvfb-run")
    if missing:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(missing)
    image = tmp_path / "in.png"
    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 256, (48, 64, 4), np.uint8))
    socket_dir = Path(tempfile.mkdtemp(prefix="rk", dir=tmp_path))
    env = kh.krita_env(
        tmp_path,
        kh.backend_config(make_weights(tmp_path / "weights"), socket_dir),
        gui=True,
        extra={"RETEX_TEST_IMAGE": str(image), "RETEX_USER_STYLES": str(tmp_path / "user-styles")},
    )
    out = tmp_path / "result.json"
    proc = kh.krita_gui(env, kh.SCRIPTS / "gui_smoke.py", out)
    assert out.exists(), proc.stdout[-3000:]
    result = json.loads(out.read_text())
    assert "crash" not in result and not result["slot_errors"], result.get("crash") or result["slot_errors"]
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert result["plugins_loaded"] and result["docker_visible"]
    assert result["default_task"] == "photo"  # at auto: a clean photo comes back unchanged, a noisy one cleaned
    assert result["done"], result
    assert result["layers"] == [["Retex: Denoise", "paintlayer"], ["Background", "paintlayer"]]
    assert result["message"] == "Added the layer 'Retex: Denoise'." and "connected" in result["status"]


def gui_run(tmp_path: Path, script: str) -> dict:
    """Run ``script`` (in inside/) in the full Krita GUI with the plug-in installed; its RESULT, checked for
    crashes and errors raised in Qt slots (an AttributeError in a handler lands there)."""
    missing = kh.missing_tools("krita", "xvfb-run")
    if missing:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(missing)
    image = tmp_path / "in.png"
    rgb = np.random.default_rng(1).integers(0, 256, (48, 64, 3), np.uint8)
    cv2.imwrite(str(image), np.dstack([rgb, np.full((48, 64), 255, np.uint8)]))  # opaque: the canvas is the top
    socket_dir = Path(tempfile.mkdtemp(prefix="rk", dir=tmp_path))
    (tmp_path / "dumps").mkdir()
    env = kh.krita_env(
        tmp_path,
        kh.backend_config(make_weights(tmp_path / "weights"), socket_dir),
        gui=True,
        extra={
            "RETEX_TEST_IMAGE": str(image),
            "RETEX_TEST_OUT_DIR": str(tmp_path / "dumps"),
            "RETEX_USER_STYLES": str(tmp_path / "user-styles"),
        },
    )
    out = tmp_path / "result.json"
    proc = kh.krita_gui(env, kh.SCRIPTS / script, out)
    assert out.exists(), proc.stdout[-3000:]
    result = json.loads(out.read_text())
    assert "crash" not in result and not result["slot_errors"], result.get("crash") or result["slot_errors"]
    assert proc.returncode == 0, proc.stdout[-3000:]
    return result


def layer(path: str, size: list[int]) -> np.ndarray:
    return np.fromfile(path, np.uint8).reshape(size[1], size[0], 4)


RESULT_NAME = "Retex: Denoise + dots 100 %"


def test_krita_gui_preview_apply_preview_apply_through_the_menu(tmp_path: Path) -> None:
    """Both always work on the layer the user chose: one preview layer at most, the same result twice, no error
    in a handler, every message final (none left at 'Previewing…'), the result on the canvas."""
    result = gui_run(tmp_path, "gui_flow.py")
    assert result["idle_without_image"] == "stopped"  # Krita with no image open runs no backend
    flow, size = result["flow"], result["size"]
    for step in flow:
        assert not step["failed"] and not step["busy"], step["message"]
    assert [s["message"] for s in flow] == [
        f"Preview updated: {RESULT_NAME}.",
        f"Added the layer '{RESULT_NAME}'.",
        f"Preview updated: {RESULT_NAME}.",
        f"Added the layer '{RESULT_NAME}'.",
    ]
    assert flow[0]["layers"] == ["Retex preview", "Background"]
    assert flow[1]["layers"] == [RESULT_NAME, "Background"]  # Apply removed the preview
    assert flow[2]["layers"] == ["Retex preview", RESULT_NAME, "Background"]
    assert flow[3]["layers"] == [RESULT_NAME, RESULT_NAME, "Background"]
    first, second = layer(flow[1]["top_retex"], size), layer(flow[3]["top_retex"], size)
    source = layer(result["flow_source"], size)
    np.testing.assert_array_equal(second, first)  # the second Apply read the source again, not a Retex layer
    assert (first != source).any()
    x, y, w, h = result["rect"]
    preview = layer(flow[2]["top_retex"], size)
    np.testing.assert_array_equal(preview[y : y + h, x : x + w], first[y : y + h, x : x + w])
    preview[y : y + h, x : x + w] = 0
    assert not preview.any()  # the preview holds the selection's box only
    np.testing.assert_array_equal(layer(flow[3]["canvas"], size), second)  # and the result is what one sees


def test_krita_docker_fits_the_width_krita_gives_it(tmp_path: Path) -> None:
    """Where Krita first docks it, with a slot and every section open: no horizontal scrollbar, nothing cut off,
    and a long message wraps without moving the buttons; a message does not follow the user to another image."""
    result = gui_run(tmp_path, "gui_layout.py")
    assert not result["floating"], result
    assert not result["hbar"] and result["panel_needs"] <= result["viewport_width"], result
    assert result["cut"] == [], result["cut"]
    assert result["buttons_after"] == result["buttons_before"], result
    assert result["refused"].startswith("Nothing to do") and result["after_switch"] == ""  # not carried over
