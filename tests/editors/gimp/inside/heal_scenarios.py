"""Heal with texture run inside the real GIMP 3 by ../test_heal_gimp.py (gimp-console, ``python-fu-eval``, which
provides ``Gimp``, ``Gegl``, ``Babl``, ``Gio``): each scenario selects a disc on a textured image and calls the
installed plug-in's heal procedure through the PDB in NONINTERACTIVE mode, as a script would, and records what
happened (status, message, the calls that changed the image, pixels) in one JSON file that the tests check.
"""

# ruff: noqa: F821  (GIMP's python-fu-eval supplies Gimp, Gegl, Babl and Gio)

import hashlib
import json
import os
import traceback
from pathlib import Path

SPEC = json.loads(Path(os.environ["RETEX_GIMP_SPEC"]).read_text())
OUT = Path(SPEC["out"])
HEAL = "plug-in-retex-heal"
results: dict = {}


def raw(drawable, fmt: str) -> bytes:
    rect = Gegl.Rectangle.new(0, 0, drawable.get_width(), drawable.get_height())
    return bytes(drawable.get_buffer().get(rect, 1.0, fmt, Gegl.AbyssPolicy.NONE))


def dump(name: str, drawable, fmt: str) -> dict:
    path = OUT / f"{name}.raw"
    path.write_bytes(raw(drawable, fmt))
    return {"file": str(path), "width": drawable.get_width(), "height": drawable.get_height()}


def state(image) -> list:
    """The layers (name and a hash of their pixels) and the selection: equal states = nothing changed."""
    layers = [[layer.get_name(), hashlib.sha1(raw(layer, "R'G'B'A u8")).hexdigest()] for layer in image.get_layers()]
    return [layers, hashlib.sha1(raw(image.get_selection(), "Y u8")).hexdigest()]


def healed(name: str, disc: list | None, **args) -> dict:
    """Select ``disc`` (x, y, w, h of its box; None: nothing), call the heal procedure with ``args``; the record has
    its status, error text, the image's calls (the spy's), the new layer's and the source's pixels."""
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(SPEC["textured"]))
    source = image.get_layers()[0]
    Gimp.context_set_antialias(False)  # a hard-edged hole, as the test's disc
    if disc is None:
        Gimp.Selection.none(image)
    else:
        image.select_ellipse(Gimp.ChannelOps.REPLACE, *disc)
    procedure = Gimp.get_pdb().lookup_procedure(HEAL)
    config = procedure.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [source])
    for key, value in args.items():
        config.set_property(key, value)
    image.clean_all()
    before = state(image)
    spy = Path(SPEC["spy"])
    spy.write_text("")
    values = procedure.run(config)
    status = values.index(0).value_nick
    rec = {
        "status": status,
        "error": values.index(1) if values.length() > 1 and isinstance(values.index(1), str) else "",
        "unchanged": before == state(image) and not image.is_dirty(),
        "spy": [json.loads(line) for line in spy.read_text().splitlines()],
        "layers": [layer.get_name() for layer in image.get_layers()],
        "source": dump(f"{name}-source", source, "R'G'B'A u8"),
        "selection": dump(f"{name}-selection", image.get_selection(), "Y u8"),
    }
    if status == "success":
        layer = values.index(1)
        rec["result"] = {**dump(name, layer, "R'G'B'A u8"), "name": layer.get_name()}
        rec["above_source"] = image.get_item_position(layer) + 1 == image.get_item_position(source)
    image.delete()
    return rec


SCENARIOS = {
    "heal_surroundings": lambda: healed("heal_surroundings", SPEC["hole"]),
    "heal_style": lambda: healed("heal_style", SPEC["hole"], style="dots", variation=3.0),
    "heal_no_selection": lambda: healed("heal_no_selection", None),
    "heal_too_big": lambda: healed("heal_too_big", SPEC["too_big"]),
    "heal_bad_variation": lambda: healed("heal_bad_variation", SPEC["hole"], variation=1.5),
}

for scenario in SPEC["scenarios"]:
    try:
        results[scenario] = SCENARIOS[scenario]()
    except Exception:
        results[scenario] = {"crash": traceback.format_exc()}
    Path(SPEC["results"]).write_text(json.dumps(results, indent=1, default=str))
