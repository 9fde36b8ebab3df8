"""Run by the test-driver plug-in inside the full Krita GUI: the flow most users follow, Preview → Apply → Preview →
Apply, through the plug-in's menu actions and its docker. Records layer stacks, messages, the result layers and the
canvas; ../test_krita_gui.py checks them. (Under Xvfb Krita never changes the active layer, not even through its
own actions, so scenarios.py covers what the plug-in does when Krita activates a new layer.)"""

import os
from pathlib import Path

from krita import Krita
from kutil import nodes, open_image, paint_layer, select, spin_until

app = Krita.instance()
window = app.activeWindow()
OUT = Path(os.environ["RETEX_TEST_OUT_DIR"])
RECT = (16, 10, 30, 24)


def show(path: str):
    doc = open_image(path)
    window.addView(doc)
    doc.setActiveNode(paint_layer(doc))
    spin_until(lambda: doc.activeNode() is not None, 10)
    return doc


def dump(name: str, node, doc) -> str:
    path = OUT / f"{name}.bin"
    path.write_bytes(bytes(node.pixelData(0, 0, doc.width(), doc.height())))
    return str(path)


def press(action: str, panel) -> dict:
    """Trigger a menu action as a user (or a shortcut) would, and wait for its job."""
    app.action(action).trigger()
    spin_until(lambda: not panel.flow.busy, 180)
    return {"message": panel.flow.message, "failed": panel.flow.failed, "busy": panel.flow.busy}


def state(doc, out: dict, name: str) -> dict:
    out["layers"] = [n.name() for n in nodes(doc) if n.type() == "paintlayer"]
    found = [n for n in nodes(doc) if n.name().startswith("Retex")]
    if found:
        out["top_retex"] = dump(name, found[0], doc)
    out["canvas"] = str(OUT / f"{name}-canvas.bin")
    Path(out["canvas"]).write_bytes(bytes(doc.pixelData(0, 0, doc.width(), doc.height())))
    return out


from retex.extension import docker_of  # noqa: E402  (Krita has loaded the plug-in by now)

panel = docker_of(window).panel
app.action("retex_docker").trigger()
spin_until(lambda: False, 2)  # a docker seen with no image open starts no backend
idle_without_image = panel.pump.session.state
doc = show(os.environ["RETEX_TEST_IMAGE"])  # an image opened in a window: now it starts
spin_until(lambda: panel.pump.session.state == "ready", 180)
panel.task.setCurrentIndex(panel.task.findData("denoise"))
row = panel.add_slot()
row.mask.refresh()
row.mask.setCurrentIndex(row.mask.findText("Current selection"))
row.style.setCurrentIndex(row.style.findData("dots"))

# Preview → Apply → Preview → Apply on the same layer
select(doc, *RECT)
flow = []
for step, action in enumerate(["retex_preview", "retex_apply", "retex_preview", "retex_apply"]):
    flow.append(state(doc, press(action, panel), f"flow-{step}"))
flow_source = dump("flow-source", paint_layer(doc, "Background"), doc)

RESULT = {
    "flow": flow,
    "flow_source": flow_source,
    "size": [doc.width(), doc.height()],
    "rect": RECT,
    "idle_without_image": idle_without_image,
}
