"""The remote-backend scenarios, run inside the real GIMP 3 by ../test_gimp_remote.py with the helpers of
scenarios.py (run first, with no scenarios of its own): the plug-in's own Backend Settings procedure switches it to
a backend on another address (CURVE), the same job runs there and locally, and wrong settings give their message.
"""

# ruff: noqa: F821  (GIMP's python-fu-eval supplies Gimp; scenarios.py supplies SPEC, call, load, dump...)

import json
import os
import traceback
from pathlib import Path

exec(open(os.environ["RETEX_GIMP_HELPERS"]).read())  # scenarios.py: SPEC, call, load, result_layer, cleanup

SETTINGS = "plug-in-retex-backend-settings"
CONFIG = Path(SPEC["config"]) / "config.json"


def textured(name: str) -> dict:
    """Denoise and a texture on the whole layer: the job run on each backend."""
    image, bg = load("rgba8")
    rec = call(RESTORE, image, [bg], task="denoise", style_1="dots", strength_1=0.8)
    rec.update(result=result_layer(rec, "u8"))
    cleanup(image)
    return rec


def settings(backend: str, line: str = "") -> dict:
    """Backend Settings as a script (or the dialog's OK) sets them; what the config file says before and after."""
    before = CONFIG.read_text()
    rec = call(SETTINGS, None, [], backend=backend, connection=line)
    rec.update(before=before, after=CONFIG.read_text())
    return rec


def refused(line: str) -> dict:
    rec = {"settings": settings("remote", line)}
    image, bg = load("rgba8")
    rec.update(call(RESTORE, image, [bg], task="denoise"))
    cleanup(image)
    return rec


def local_run() -> dict:
    return textured("local")


def remote_run() -> dict:
    return {"settings": settings("remote", SPEC["line"]), **textured("remote")}


def remote_wrong_key() -> dict:
    return refused(SPEC["stranger"])


def remote_no_answer() -> dict:
    return refused(SPEC["nobody"])


def remote_bad_line() -> dict:
    return settings("remote", SPEC["bad_line"])


def back_to_local() -> dict:
    return {"settings": settings("local"), **textured("back")}


for scenario in SPEC["remote_scenarios"]:
    try:
        results[scenario] = globals()[scenario]()
    except Exception:
        results[scenario] = {"crash": traceback.format_exc()}
    Path(SPEC["results"]).write_text(json.dumps(results, indent=1, default=str))
