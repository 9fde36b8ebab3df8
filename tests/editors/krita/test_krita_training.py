"""Adding the training support from the Krita docker (real Krita through kritarunner, real backends over real
ZeroMQ): on the inference-only install, "Learn" asks once whether to add the training support; No leaves the
message; Yes runs the installer (a fake one here: it prints steps, then writes the settings naming an environment
with torch, as the real one does, or fails) with a busy bar, its last line and Cancel, then restarts the backend and
learns the texture; a failed install says its last lines and changes nothing. Torch is never installed here."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from plugin.common.training import CANCELLED, NOT_INSTALLED, QUESTION, TITLE
from tests.editors.krita import harness as kh
from tests.editors.krita.test_krita_plugin import make_inputs
from tests.install.test_inference_env import python as inference_python  # noqa: F401  (the fixture)


@dataclass
class Run:
    results: dict
    output: str
    inference: str  # the inference-only environment's Python


FAKE_INSTALLER = """
    import json, sys, time
    from pathlib import Path
    print("backend: installing torch 2.13.0 (cpu)", flush=True)
    time.sleep(60 if sys.argv[1] == "slow" else 2)
    if sys.argv[1] == "fail":
        print("ERROR: could not install torch: no space left on device", flush=True)
        sys.exit(1)
    config = Path({config!r})
    config.write_text(json.dumps({{**json.loads(config.read_text()), "python": {python!r}}}))
    print("training support: torch loads", flush=True)
"""


@pytest.fixture(scope="module")
def krita(tmp_path_factory, inference_python: Path) -> Run:  # noqa: F811
    missing = kh.missing_tools("kritarunner")
    if missing:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(missing)
    root = tmp_path_factory.mktemp("krita-training")
    socket_dir = Path(tempfile.mkdtemp(prefix="rk", dir=root))
    config = kh.backend_config(kh.REPO / "weights", socket_dir)  # the shipped networks, with their ONNX graphs
    config["python"] = str(inference_python)
    extra = {"RETEX_USER_STYLES": str(root / "user-styles"), "RETEX_RUNTIME": "auto", "RETEX_RUNS": str(root / "r")}
    env = kh.krita_env(root, config, extra=extra)
    settings = Path(env["HOME"]) / ".config" / "retex" / "config.json"
    script = root / "fake_installer.py"
    script.write_text(textwrap.dedent(FAKE_INSTALLER.format(config=str(settings), python=sys.executable)))
    spec = {
        **make_inputs(root / "data"),
        "installer": [sys.executable, str(script)],
        "config": str(settings),
        "plugins": kh.plugins_dir(env),
        "out": str(root / "out"),
        "results": str(root / "results.json"),
        "scenarios": ["training_declined", "training_install_fails", "training_cancelled", "training_added"],
    }
    (root / "out").mkdir()
    (root / "spec.json").write_text(json.dumps(spec))
    proc = kh.kritarunner(env, "training_scenarios", [str(root / "spec.json")], timeout=400)
    results = json.loads((root / "results.json").read_text()) if (root / "results.json").exists() else {}
    return Run(results, proc.stdout, str(inference_python))


def test_krita_asks_once_and_no_leaves_the_message(krita: Run) -> None:
    rec = kh.record(krita, "training_declined")
    assert rec["asked"] == [QUESTION] and rec["refused"] == NOT_INSTALLED
    assert (rec["message"], rec["failed"], rec["seen"]) == (NOT_INSTALLED, True, [])
    assert rec["settings_unchanged"] and "declined" not in rec["styles"]


def test_krita_adds_the_training_support_then_learns_the_texture(krita: Run) -> None:
    rec = kh.record(krita, "training_added")
    assert rec["asked"] == [QUESTION]
    assert rec["seen"] and all(s["busy_bar"] and s["cancel"] and not s["learn"] for s in rec["seen"]), rec["seen"]
    assert any(s["message"] == f"{TITLE}\nbackend: installing torch 2.13.0 (cpu)" for s in rec["seen"]), rec["seen"]
    assert not rec["failed"] and rec["learned"] == "added", rec["message"]
    assert "Learned the texture 'added'" in rec["message"] and "added" in rec["styles"]
    assert rec["python"] == sys.executable  # the settings the installer wrote, which the restarted backend used


def test_krita_says_a_failed_install_in_one_message_and_learns_nothing(krita: Run) -> None:
    rec = kh.record(krita, "training_install_fails")
    assert rec["asked"] == [QUESTION] and rec["seen"]
    assert rec["failed"] and rec["message"].startswith("Adding the training support failed (the installer ended with 1")
    assert rec["message"].endswith("ERROR: could not install torch: no space left on device"), rec["message"]
    assert rec["settings_unchanged"] and rec["python"] == krita.inference and "failing" not in rec["styles"]


def test_krita_cancel_stops_the_installer_and_changes_nothing(krita: Run) -> None:
    rec = kh.record(krita, "training_cancelled")
    assert rec["asked"] == [QUESTION] and rec["seen"] and rec["seconds"] < 30
    assert (rec["message"], rec["failed"]) == (CANCELLED, True)
    assert rec["settings_unchanged"] and "cancelled" not in rec["styles"]
