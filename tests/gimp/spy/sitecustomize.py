"""Loaded by every Python that GIMP starts in the tests (PYTHONPATH). In the Retex plug-in only, it logs each call
that changes an image, and the undo group calls around them, to $RETEX_GIMP_SPY: GIMP 3's PDB cannot undo, so this
is how a test sees that a run's changes form one undo step."""

import json
import os
import sys

if os.environ.get("RETEX_GIMP_SPY") and os.path.basename(sys.argv[0] if sys.argv else "") == "retex.py":
    import gi

    gi.require_version("Gimp", "3.0")
    from gi.repository import Gimp

    def _spy(cls: type, name: str) -> None:
        original = getattr(cls, name)

        def logged(self, *args):  # noqa: ANN001, ANN002, ANN202
            with open(os.environ["RETEX_GIMP_SPY"], "a", encoding="utf-8") as log:
                log.write(json.dumps([name, self.get_id()]) + "\n")
            return original(self, *args)

        setattr(cls, name, logged)

    for _name in ("undo_group_start", "undo_group_end", "insert_layer", "scale", "resize", "remove_layer"):
        _spy(Gimp.Image, _name)
    for _name in ("set_offsets", "resize", "scale", "fill", "merge_shadow"):
        _spy(Gimp.Layer, _name)
