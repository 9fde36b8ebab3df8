"""Heal with texture in the real Krita (kritarunner, headless), against the backend the plug-in starts itself over
real ZeroMQ: the docker's Heal button fills the selected hole of a textured image into a new layer above the source,
changed only in the hole, with more fine detail than the plain inpainting of the same hole, the source untouched; a
chosen style names the layer; no selection, or a hole too big to heal, is one message and changes nothing.

The scenarios are inside/heal_scenarios.py. Without Krita the tests are skipped, except in CI (CI=true).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from backend.heal import heal, high_pass_energy
from backend.pipeline import restore
from plugin.common.recipe import SELECT_TO_HEAL
from tests.backend.test_service_heal import smooth_inpainting
from tests.editors import reference
from tests.editors.krita import harness as kh
from tests.service_helpers import make_weights

W, H = 128, 96
HOLE, TOO_BIG = (64, 48, 10), (64, 48, 40)  # discs: centre x, y and radius


@dataclass
class Run:
    results: dict
    output: str
    source: np.ndarray  # the textured image, H x W x 4 BGRA u8
    weights: Path


def disc(x: int, y: int, r: int) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return np.hypot(xx - x, yy - y) <= r


def textured() -> np.ndarray:
    """Grass-like BGRA u8: a gradient under fine seeded noise, opaque."""
    rng = np.random.default_rng(4)
    rgb = np.clip(np.linspace(60, 160, W)[None, :, None] + 30 * rng.standard_normal((H, W, 3)), 0, 255)
    return np.concatenate([rgb, np.full((H, W, 1), 255)], -1).astype(np.uint8)


@pytest.fixture(scope="module")
def krita(tmp_path_factory) -> Run:
    missing = kh.missing_tools("kritarunner")
    if missing:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(missing)
    root = tmp_path_factory.mktemp("krita-heal")
    weights = make_weights(root / "weights", ("inpaint",))
    smooth_inpainting(weights)
    socket_dir = Path(tempfile.mkdtemp(prefix="rk", dir=root))  # ipc paths must stay short
    env = kh.krita_env(root, kh.backend_config(weights, socket_dir), extra={"RETEX_USER_STYLES": str(root / "u")})
    source = textured()
    data = root / "data"
    data.mkdir()
    cv2.imwrite(str(data / "textured.png"), source)
    for name, where in (("hole", disc(*HOLE)), ("too_big", disc(*TOO_BIG)), ("whole", np.ones((H, W), bool))):
        (data / f"{name}.raw").write_bytes((where * 255).astype(np.uint8).tobytes())
    (root / "out").mkdir()
    spec = {
        "textured": str(data / "textured.png"),
        "hole": str(data / "hole.raw"),
        "too_big": str(data / "too_big.raw"),
        "whole": str(data / "whole.raw"),
        "plugins": kh.plugins_dir(env),
        "out": str(root / "out"),
        "results": str(root / "results.json"),
        "scenarios": ["heal_surroundings", "heal_style", "heal_no_selection", "heal_whole", "heal_too_big"],
    }
    (root / "spec.json").write_text(json.dumps(spec))
    proc = kh.kritarunner(env, "heal_scenarios", [str(root / "spec.json")])
    results = json.loads((root / "results.json").read_text()) if (root / "results.json").exists() else {}
    return Run(results, proc.stdout, source, weights)


def pixels(info: dict) -> np.ndarray:
    return np.fromfile(info["file"], np.uint8).reshape(info["height"], info["width"], 4)


def as_rgb(bgra: np.ndarray) -> np.ndarray:
    """1 x 3 x H x W RGB on [0, 1]."""
    return np.ascontiguousarray(bgra[..., [2, 1, 0]].transpose(2, 0, 1)[None] / 255.0).astype(np.float32)


def test_krita_heals_the_selection_into_a_new_layer_changed_only_in_the_hole(krita: Run) -> None:
    rec = kh.record(krita, "heal_surroundings")
    assert (rec["message"], rec["failed"]) == ("Added the layer 'Retex: Heal'.", False)
    assert ["Retex: Heal", "paintlayer"] in rec["layers"] and rec["above_source"]
    assert rec["chosen"] == "The texture around it" and "new layer" in rec["tip"]
    got, source, hole = pixels(rec["result"]), pixels(rec["input"]), disc(*HOLE)
    np.testing.assert_array_equal(source, krita.source)  # the source layer is untouched
    np.testing.assert_array_equal(got[~hole], source[~hole])
    assert (got[hole] != source[hole]).any()
    # the texture plain inpainting lacks, and the same result as the heal in-process (one level: thread counts)
    task, net = reference.restoration(krita.weights, "inpaint")  # on the backend's runtime
    mask = hole.astype(np.float32)[None, None]
    plain = restore(net, task, as_rgb(source), mask)
    assert high_pass_energy(as_rgb(got), hole) > 1.5 * high_pass_energy(plain, hole)
    want = heal(as_rgb(source), mask, (task, net)).image
    assert np.abs(np.round(want * 255) - as_rgb(got) * 255).max() <= 1


def test_krita_heals_with_a_chosen_style(krita: Run) -> None:
    rec = kh.record(krita, "heal_style")
    assert (rec["message"], rec["failed"], rec["chosen"]) == ("Added the layer 'Retex: Heal with dots'.", False, "dots")
    got, surroundings = pixels(rec["result"]), pixels(kh.record(krita, "heal_surroundings")["result"])
    hole = disc(*HOLE)
    assert np.array_equal(got[~hole], surroundings[~hole]) and (got[hole] != surroundings[hole]).any()


@pytest.mark.parametrize(
    "name, words",
    [
        ("heal_no_selection", SELECT_TO_HEAL),
        ("heal_whole", "The selection covers the whole image. Select the hole to heal, with some of the texture"),
        ("heal_too_big", "The backend could not do it: too little texture around the hole"),
    ],
)
def test_krita_bad_selection_is_one_message_and_changes_nothing(krita: Run, name: str, words: str) -> None:
    rec = kh.record(krita, name)
    assert rec["failed"] and rec["message"].startswith(words) and rec["unchanged"], rec["message"]


def test_krita_heal_is_undone_and_redone_by_krita(tmp_path: Path) -> None:
    """In the full Krita GUI: Heal, then Edit → Undo removes the new layer and Redo brings it back."""
    missing = kh.missing_tools("krita", "xvfb-run")
    if missing:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(missing)
    weights = make_weights(tmp_path / "weights", ("inpaint",))
    smooth_inpainting(weights)
    cv2.imwrite(str(tmp_path / "in.png"), textured())
    (tmp_path / "hole.raw").write_bytes((disc(*HOLE) * 255).astype(np.uint8).tobytes())
    socket_dir = Path(tempfile.mkdtemp(prefix="rk", dir=tmp_path))
    extra = {"RETEX_TEST_IMAGE": str(tmp_path / "in.png"), "RETEX_TEST_HOLE": str(tmp_path / "hole.raw")}
    env = kh.krita_env(tmp_path, kh.backend_config(weights, socket_dir), gui=True, extra=extra)
    out = tmp_path / "result.json"
    proc = kh.krita_gui(env, kh.SCRIPTS / "gui_heal.py", out)
    assert out.exists(), proc.stdout[-3000:]
    result = json.loads(out.read_text())
    assert "crash" not in result and not result["slot_errors"], result.get("crash") or result["slot_errors"]
    assert (result["message"], result["failed"]) == ("Added the layer 'Retex: Heal'.", False)
    assert result["healed"][0] == "Retex: Heal", result
    assert "Retex: Heal" not in result["undone"] and result["redone"] == result["healed"], result
