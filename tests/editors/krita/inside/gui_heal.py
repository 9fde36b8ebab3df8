"""Run by the test-driver plug-in inside the full Krita GUI: Heal from the docker on a selected hole, then Krita's
own Undo (Edit → Undo) and Redo. Records the layer stacks; ../test_heal_krita.py checks them."""

import os

from krita import Krita, Selection
from kutil import nodes, open_image, paint_layer, spin_until

app = Krita.instance()
window = app.activeWindow()


def layers(doc) -> list[str]:
    return [n.name() for n in nodes(doc) if n.type() == "paintlayer"]


from retex.extension import docker_of  # noqa: E402  (Krita has loaded the plug-in by now)

panel = docker_of(window).panel
app.action("retex_docker").trigger()
doc = open_image(os.environ["RETEX_TEST_IMAGE"])
window.addView(doc)
doc.setActiveNode(paint_layer(doc))
spin_until(lambda: doc.activeNode() is not None, 10)
spin_until(lambda: panel.pump.session.state == "ready", 180)
with open(os.environ["RETEX_TEST_HOLE"], "rb") as f:
    selection = Selection()
    selection.setPixelData(f.read(), 0, 0, doc.width(), doc.height())
doc.setSelection(selection)
panel.heal_row.button.click()
spin_until(lambda: not panel.flow.busy, 180)
RESULT = {"message": panel.flow.message, "failed": panel.flow.failed, "healed": layers(doc)}
app.action("edit_undo").trigger()
spin_until(lambda: False, 1)  # Krita applies the undo on its own thread
RESULT["undone"] = layers(doc)
app.action("edit_redo").trigger()
spin_until(lambda: False, 1)
RESULT["redone"] = layers(doc)
