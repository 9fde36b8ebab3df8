"""The learning swatch and "Good enough, stop" in the real Krita's docker (kritarunner, headless), against the
backend the plug-in starts itself over real ZeroMQ, with tiny random restoration networks: while a texture is
learned the docker shows the texture so far, the button is on only once it is worth keeping, and pressing it saves
the style at once, which joins the style lists. The scenario is inside/learning_scenarios.py."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.swatch import TILE
from plugin.common.flow import GOOD_ENOUGH, STOPPING, SWATCH_SOON
from tests.editors.krita import harness as kh
from tests.editors.krita.test_krita_plugin import make_inputs
from tests.service_helpers import EDITOR_TASKS, make_weights


@dataclass
class Run:
    results: dict
    output: str


@pytest.fixture(scope="module")
def krita(tmp_path_factory) -> Run:
    missing = kh.missing_tools("kritarunner")
    if missing:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(missing)
    root = tmp_path_factory.mktemp("krita-learning")
    weights = make_weights(root / "weights", EDITOR_TASKS)
    socket_dir = Path(tempfile.mkdtemp(prefix="rk", dir=root))  # ipc paths must stay short
    extra = {"RETEX_USER_STYLES": str(root / "user-styles"), "RETEX_RUNS": str(root / "runs")}
    config = kh.backend_config(weights, socket_dir, python=sys.executable)  # learning needs the training support
    env = kh.krita_env(root, config, extra=extra)
    spec = {
        **make_inputs(root / "data"),
        "plugins": kh.plugins_dir(env),
        "results": str(root / "results.json"),
        "scenarios": ["good_enough"],
    }
    (root / "spec.json").write_text(json.dumps(spec))
    proc = kh.kritarunner(env, "learning_scenarios", [str(root / "spec.json")], timeout=400)
    results = json.loads((root / "results.json").read_text()) if (root / "results.json").exists() else {}
    return Run(results, proc.stdout)


def test_krita_shows_the_texture_being_learned_and_good_enough_keeps_it(krita: Run) -> None:
    rec = kh.record(krita, "good_enough")
    early = rec["early"]
    assert early == {"visible": True, "stop_enabled": False, "text": SWATCH_SOON, "stop_label": GOOD_ENOUGH}, early
    swatch = rec["swatch"]
    assert swatch["size"] == [2 * TILE, TILE] and swatch["stop_enabled"] and swatch["visible"], swatch
    assert rec["stopping"] == STOPPING and not rec["stop_enabled_after_press"]
    assert not rec["failed"] and rec["learned"] == "enough", rec["message"]
    assert "Learned the texture 'enough'" in rec["message"] and "enough" in rec["styles"] and rec["in_picker"]
    assert rec["seconds"] < 200 and not rec["visible_after"]  # far from the 5 minutes asked; the swatch goes
