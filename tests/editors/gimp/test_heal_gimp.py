"""Heal with texture in the real GIMP 3 (gimp-console in a Debian 13 chroot), its procedure called through the PDB
in NONINTERACTIVE mode against a real backend the plug-in starts over real ZeroMQ: the selected hole of a textured
image is healed into a new layer above the source in one undo step, changed only in the hole, with more fine detail
than the plain inpainting of the same hole, the source untouched; a style and a variation name the layer; no
selection, a hole too big to heal or a variation that is not whole is one message and changes nothing.

The scenarios are inside/heal_scenarios.py. Without the chroot (or root) the tests are skipped, except in CI.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from backend.heal import heal, high_pass_energy
from backend.pipeline import restore
from tests.backend.test_service_heal import smooth_inpainting
from tests.editors import reference
from tests.editors.gimp import harness as gh
from tests.editors.gimp.test_gimp_plugin import check_one_undo_step
from tests.editors.krita.test_heal_krita import as_rgb, textured
from tests.service_helpers import make_weights

HOLE, TOO_BIG = (54, 38, 21, 21), (24, 8, 80, 80)  # x, y, w, h of the discs' boxes


@dataclass
class Run:
    results: dict
    output: str
    source: np.ndarray  # the textured image, H x W x 4 BGRA u8
    weights: Path


@pytest.fixture(scope="module")
def gimp(tmp_path_factory) -> Iterator[Run]:
    missing = gh.missing()
    if missing:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(missing)
    root = tmp_path_factory.mktemp("gimp-heal")
    weights = make_weights(root / "weights", ("inpaint",))
    smooth_inpainting(weights)
    harness = gh.Harness(weights, {**os.environ, "RETEX_USER_STYLES": str(root / "user-styles")})
    harness.start()
    try:
        source = textured()
        (harness.root / "data").mkdir()
        cv2.imwrite(str(harness.root / "data" / "textured.png"), source)
        inside = harness.inside
        spec = {
            "textured": f"{inside}/data/textured.png",
            "hole": list(HOLE),
            "too_big": list(TOO_BIG),
            "out": f"{inside}/out",
            "spy": f"{inside}/out/spy.log",
            "results": f"{inside}/out/results.json",
            "scenarios": ["heal_surroundings", "heal_style", "heal_no_selection", "heal_too_big", "heal_bad_variation"],
        }
        (harness.root / "spec.json").write_text(json.dumps(spec))
        with gh.x_display() as display:
            output = harness.gimp(
                gh.FILES / "heal_scenarios.py", {"RETEX_GIMP_SPEC": f"{inside}/spec.json", "DISPLAY": display}
            )
        out = harness.root / "out" / "results.json"
        results = json.loads(out.read_text()) if out.exists() else {}
        for rec in results.values():  # the dumps' paths, as seen from here
            for key in ("result", "source", "selection"):
                if isinstance(rec.get(key), dict):
                    rec[key]["file"] = str(harness.path(rec[key]["file"]))
        yield Run(results, output, source, weights)
    finally:
        harness.close()


def pixels(info: dict, channels: int = 4) -> np.ndarray:
    return np.fromfile(info["file"], np.uint8).reshape(info["height"], info["width"], channels)


def test_gimp_heals_the_selection_into_a_new_layer_in_one_undo_step(gimp: Run) -> None:
    rec = gh.record(gimp, "heal_surroundings")
    assert rec["status"] == "success", rec["error"]
    assert rec["result"]["name"] == "Retex: Heal" and rec["layers"][0] == "Retex: Heal" and rec["above_source"]
    check_one_undo_step(rec)
    got, source = pixels(rec["result"]), pixels(rec["source"])
    hole = pixels(rec["selection"], 1)[..., 0] > 127
    assert 300 < hole.sum() < 400  # the disc, hard-edged
    np.testing.assert_array_equal(source, gimp.source[..., [2, 1, 0, 3]])  # the source layer is untouched
    np.testing.assert_array_equal(got[~hole], source[~hole])
    assert (got[hole] != source[hole]).any()
    # the texture plain inpainting lacks, and the same result as the heal in-process (one level: thread counts)
    bgra = source[..., [2, 1, 0, 3]]
    task, net = reference.restoration(gimp.weights, "inpaint")  # on the backend's runtime
    mask = hole.astype(np.float32)[None, None]
    plain = restore(net, task, as_rgb(bgra), mask)
    assert high_pass_energy(as_rgb(got[..., [2, 1, 0, 3]]), hole) > 1.5 * high_pass_energy(plain, hole)
    want = heal(as_rgb(bgra), mask, (task, net)).image
    assert np.abs(np.round(want * 255) - as_rgb(got[..., [2, 1, 0, 3]]) * 255).max() <= 1


def test_gimp_heals_with_a_style_and_a_variation(gimp: Run) -> None:
    rec = gh.record(gimp, "heal_style")
    assert rec["status"] == "success", rec["error"]
    assert rec["result"]["name"] == "Retex: Heal with dots variation 3"
    check_one_undo_step(rec)


@pytest.mark.parametrize(
    "name, words",
    [
        ("heal_no_selection", "Inpainting uses the selection, but nothing is selected"),
        ("heal_too_big", "The backend could not do it: too little texture around the hole"),
        ("heal_bad_variation", "The variation must be a whole number"),
    ],
)
def test_gimp_bad_input_is_one_message_and_changes_nothing(gimp: Run, name: str, words: str) -> None:
    rec = gh.record(gimp, name)
    assert rec["status"] == "execution-error" and rec["error"].startswith(words), rec["error"]
    assert rec["unchanged"] and rec["layers"] == ["Background"]
