"""Adding the training support from GIMP's Learn Texture (real GIMP 3 in its chroot, real backends over real
ZeroMQ): the plug-in's first backend runs on the inference-only environment, so the learning is refused; the
question is answered Yes (by the spy), the plug-in runs the installer of the Retex folder (a fake one here: it prints
steps and notes that it ran; torch is never installed), stops the backend, and the next one, which the harness now
starts on an environment with torch, learns the texture."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugin.common.training import QUESTION, TITLE
from tests.editors.gimp import harness as gh
from tests.editors.gimp.harness import record
from tests.editors.gimp.test_gimp_plugin import Run, session
from tests.install.test_inference_env import python as inference_python  # noqa: F401  (the fixture)

FAKE_INSTALLER = """\
import sys, time
from pathlib import Path
print("backend: installing torch 2.13.0 (cpu)", flush=True)
time.sleep(1)
Path(__file__).with_name("training-added").write_text(" ".join(sys.argv[1:]))
print("training support: torch loads", flush=True)
"""


def harness_on(inference: Path) -> type[gh.Harness]:
    class TrainingHarness(gh.Harness):
        """Backends on the inference-only environment until the fake installer in the Retex folder has run, then
        on this one (torch); the shipped networks (with their ONNX graphs); the spy answers questions Yes."""

        def __init__(self, weights: Path, env: dict[str, str]) -> None:
            super().__init__(gh.REPO / "weights", {**env, "RETEX_RUNTIME": "auto"})
            (self.root / "repo" / "installer.py").write_text(FAKE_INSTALLER)

        def _start(self, stem: Path, args: list[str]) -> None:
            added = (self.root / "repo" / "training-added").exists()
            self.python = sys.executable if added else str(inference)
            super()._start(stem, args)

        def gimp(self, script: Path, extra_env: dict[str, str], timeout: float = 280) -> str:
            return super().gimp(script, {**extra_env, "RETEX_GIMP_ANSWER": "yes"}, timeout)

    return TrainingHarness


@pytest.fixture(scope="module")
def gimp(tmp_path_factory, inference_python: Path) -> Iterator[Run]:  # noqa: F811
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gh, "Harness", harness_on(inference_python))
        yield from session(tmp_path_factory, ["learn_adds_training"])


def test_gimp_learn_asks_adds_the_training_support_then_learns(gimp: Run) -> None:
    rec = record(gimp, "learn_adds_training")
    assert rec["status"] == "success" and rec["values"] == ["added"], rec
    dialogs = [detail for name, detail in rec["spy"] if name == "dialog"]
    assert dialogs == [{"title": "Retex", "text": QUESTION, "on_screen": True}]
    inits = [detail for name, detail in rec["spy"] if name == "progress_init"]
    assert TITLE in inits, inits
    ran = (gimp.harness.root / "repo" / "training-added").read_text()
    assert ran == "--with-training --no-krita --no-gimp --no-demo"
    assert len(gimp.harness.backends) == 2 and gimp.harness.backends[0].poll() is not None  # stopped, then anew
    assert rec["unchanged"]  # learning leaves the image as it was
