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

from tests import krita_harness as kh
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
    assert result["done"], result
    assert result["layers"] == [["Retex: denoise", "paintlayer"], ["Background", "paintlayer"]]
    assert result["message"] == "Added the layer 'Retex: denoise'." and "connected" in result["status"]
