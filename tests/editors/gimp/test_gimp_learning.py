"""The learning window of GIMP's Learn Texture (real GIMP 3 in its chroot, real backend over real ZeroMQ, tiny
random restoration networks): while a texture is learned it shows the texture so far, "Good enough, stop" is on
only once a swatch came, and pressing it (the spy does, at the first swatch) saves the style at once, long before
the 5 minutes asked; the style is then used in Restore & Texture. The scenario is inside/scenarios.py's
``learn_good_enough``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.swatch import TILE
from plugin.common.flow import GOOD_ENOUGH
from tests.editors.gimp.harness import record
from tests.editors.gimp.test_gimp_plugin import Run, session


@pytest.fixture(scope="module")
def gimp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    yield from session(tmp_path_factory, ["learn_good_enough", "learn_cancelled_in_window"])


def test_gimp_shows_the_texture_being_learned_and_good_enough_keeps_it(gimp: Run) -> None:
    rec = record(gimp, "learn_good_enough")
    assert rec["status"] == "success" and rec["values"] == ["enough"], rec
    swatches = [detail for name, detail in rec["spy"] if name == "swatch"]
    first = {"size": [2 * TILE, TILE], "stop_before": False, "stop": True, "on_screen": True, "label": GOOD_ENOUGH}
    assert swatches and swatches[0] == first, swatches
    assert ["pressed", {"stop": False}] in rec["spy"]
    assert rec["seconds"] < 200 and rec["unchanged"], rec["seconds"]  # far from the 5 minutes asked
    assert rec["use"]["status"] == "success" and rec["use"]["layers"][0].startswith("Retex:"), rec["use"]


def test_gimp_cancel_in_the_learning_window_saves_nothing(gimp: Run) -> None:
    rec = record(gimp, "learn_cancelled_in_window")
    assert rec["status"] == "cancel" and rec["unchanged"], rec
    assert [name for name, _ in rec["spy"] if name == "dialog"] == []  # a cancel is no error to show
    assert rec["use"]["status"] == "execution-error" and "'dropped' no longer exists" in rec["use"]["error"], rec["use"]
