"""Scenarios run inside the real Krita by kritarunner (``kritarunner -s scenarios SPEC.json``): each drives the Retex
docker's real widgets on a real document, against the backend the plug-in starts itself, and records what happened
(messages, document fingerprints, raw pixels). ../test_krita_plugin.py checks the records; nothing is asserted
here, so one failing scenario never hides the others.

Krita's ``kritarunner`` always exits 0, so this script ends with ``os._exit`` itself.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from krita import Document, Krita, Node
from kutil import add_layer_from, document_from_raw, nodes, open_image, paint_layer, select, snapshot, spin_until

SCENARIOS: dict[str, Callable[[dict], dict]] = {}


def scenario(fn: Callable[[dict], dict]) -> Callable[[dict], dict]:
    SCENARIOS[fn.__name__] = fn
    return fn


def panel_for(doc: Document | None, node: Node | None, target: Callable | None = None):
    """A docker panel whose 'active' document and layer are these, or what ``target()`` says (kritarunner has no
    views, so nothing is active by itself)."""
    from retex.panel import Panel
    from retex.pump import pump

    panel = Panel(pump(), target=target or (lambda: (doc, node)))
    panel.show()  # connects the backend, as showing the docker does
    return panel


def configure(
    panel, task: str, slots: list[tuple[str, str, float]] = (), preserve: bool = False, cleanup: float | None = None
):
    """Set the widgets: ``slots`` are (mask source label, style, strength); ``cleanup`` the clean-up slider (None:
    Auto)."""
    panel.task.setCurrentIndex(panel.task.findData(task))
    panel.cleanup_auto.setChecked(cleanup is None)
    if cleanup is not None:
        panel.cleanup.setValue(round(cleanup * 100))
    spin_until(lambda: panel.pump.session.state not in ("starting", "connecting"), 120)
    for label, style, strength in slots:
        row = panel.add_slot()
        row.mask.refresh()
        row.mask.setCurrentIndex(row.mask.findText(label))
        row.style.setCurrentIndex(row.style.findData(style))
        row.strength.setValue(round(strength * 100))
    panel.preserve.setChecked(preserve)


def press(panel, button) -> dict:
    """Click ``button``, wait for the job, and report the message."""
    button.click()
    spin_until(lambda: not panel.flow.busy, 300)
    return {"message": panel.flow.message, "failed": panel.flow.failed, "busy": panel.flow.busy}


def dump(ctx: dict, name: str, node: Node, doc: Document) -> dict:
    path = Path(ctx["out"]) / f"{name}.bin"
    path.write_bytes(bytes(node.pixelData(0, 0, doc.width(), doc.height())))
    return {"file": str(path), "width": doc.width(), "height": doc.height(), "depth": node.colorDepth()}


def applied(ctx: dict, name: str, doc: Document, panel, source: Node) -> dict:
    """Apply, then describe the document: the layer stack, and the new layer's pixels."""
    out = press(panel, panel.apply_button)
    stack = [[n.name(), n.type()] for n in nodes(doc)]
    out["layers"] = stack
    new = [n for n in nodes(doc) if n.name().startswith("Retex:")]
    if new:
        out["result"] = dump(ctx, name, new[0], doc)
        out["input"] = dump(ctx, name + "-input", source, doc)
        out["above_source"] = nodes(doc).index(new[0]) + 1 == nodes(doc).index(source)
    return out


def refused(doc: Document | None, node: Node | None, task: str, slots=(), button: str = "apply") -> dict:
    """Press a button on bad input; the record holds the message and whether the document stayed the same."""
    panel = panel_for(doc, node)
    configure(panel, task, slots)
    before = snapshot(doc) if doc is not None else None
    out = press(panel, getattr(panel, f"{button}_button"))
    out["unchanged"] = before == (snapshot(doc) if doc is not None else None)
    return out


# --- results equal the command line's ---------------------------------------------------------------------------


@scenario
def selection_u8(ctx: dict) -> dict:
    doc = open_image(ctx["rgba8"])
    select(doc, *ctx["rect"])
    source = paint_layer(doc)
    panel = panel_for(doc, source)
    configure(panel, "denoise", [("Current selection", "dots", 0.8)])
    return applied(ctx, "selection_u8", doc, panel, source)


@scenario
def two_masks(ctx: dict) -> dict:
    doc = open_image(ctx["rgba8"])
    select(doc, *ctx["rect"])
    source = paint_layer(doc)
    add_layer_from(doc, ctx["strokes"], "strokes")
    panel = panel_for(doc, source)
    configure(panel, "none", [("Current selection", "dots", 1.3), ("Alpha of strokes", "paint", 0.7)], preserve=True)
    return applied(ctx, "two_masks", doc, panel, source)


@scenario
def size_variation(ctx: dict) -> dict:
    """A texture at 200 % size, variation 7 (the slot row's Size and Variation boxes)."""
    doc = open_image(ctx["rgba8"])
    select(doc, *ctx["rect"])
    source = paint_layer(doc)
    panel = panel_for(doc, source)
    configure(panel, "none", [("Current selection", "dots", 1.3)])
    panel.rows[-1].size.setValue(200)
    panel.rows[-1].variation.setValue(7)
    return applied(ctx, "size_variation", doc, panel, source)


@scenario
def bad_size(ctx: dict) -> dict:
    """A size the box would not offer (as a script or a later widget could set it): one message, nothing added."""
    doc = open_image(ctx["rgba8"])
    panel = panel_for(doc, paint_layer(doc))
    configure(panel, "none", [("Whole image", "dots", 1.0)])
    panel.rows[-1].size.setMaximum(500)
    panel.rows[-1].size.setValue(300)
    before = snapshot(doc)
    out = press(panel, panel.apply_button)
    out["unchanged"] = before == snapshot(doc)
    return out


@scenario
def selection_u16(ctx: dict) -> dict:
    doc = open_image(ctx["rgba16"])
    select(doc, *ctx["rect16"])
    source = paint_layer(doc)
    panel = panel_for(doc, source)
    configure(panel, "denoise", [("Current selection", "paint", 1.5)])
    return applied(ctx, "selection_u16", doc, panel, source)


@scenario
def inpaint_u8(ctx: dict) -> dict:
    doc = open_image(ctx["rgba8"])
    select(doc, *ctx["rect"])
    source = paint_layer(doc)
    panel = panel_for(doc, source)
    configure(panel, "inpaint")
    panel.hole.refresh()
    panel.hole.setCurrentIndex(panel.hole.findText("Current selection"))
    return applied(ctx, "inpaint_u8", doc, panel, source)


def upscaled(ctx: dict, name: str, task: str, cleanup: float | None = None) -> dict:
    """Apply an upscaling task to the 8-bit image (``cleanup``: the docker's clean-up slider, None: Auto); the
    record describes the new document it opens."""
    doc = open_image(ctx["rgba8"])
    source = paint_layer(doc)
    panel = panel_for(doc, source)
    configure(panel, task, cleanup=cleanup)
    out = press(panel, panel.apply_button)
    made = panel.host.opened[-1:]
    if made:
        out["result"] = dump(ctx, name, paint_layer(made[-1]), made[-1])
        out["layers"] = [[n.name(), n.type()] for n in nodes(made[-1])]
        out["document"] = [made[-1].name(), made[-1].fileName()]
    out["source_layers"] = [[n.name(), n.type()] for n in nodes(doc)]
    out["cleanup_shown"] = panel.cleanup_row.isVisibleTo(panel) and panel.cleanup_label.isVisibleTo(panel)
    return out


@scenario
def sr2_u8(ctx: dict) -> dict:
    return upscaled(ctx, "sr2_u8", "sr2")


@scenario
def photo_sr2_half(ctx: dict) -> dict:
    return upscaled(ctx, "photo_sr2_half", "photo-sr2", 0.5)


@scenario
def photo_sr2_auto(ctx: dict) -> dict:
    return upscaled(ctx, "photo_sr2_auto", "photo-sr2")


@scenario
def photo_u8(ctx: dict) -> dict:
    """The photo clean-up on a layer at 50 %: a new layer above it."""
    doc = open_image(ctx["rgba8"])
    source = paint_layer(doc)
    panel = panel_for(doc, source)
    configure(panel, "photo", cleanup=0.5)
    return applied(ctx, "photo_u8", doc, panel, source)


def float_doc(ctx: dict, depth: str) -> dict:
    w, h = ctx["float_size"]
    doc = document_from_raw(ctx[depth.lower()], w, h, depth)
    select(doc, *ctx["rect_float"])
    source = paint_layer(doc)
    panel = panel_for(doc, source)
    configure(panel, "denoise", [("Current selection", "dots", 1.0)])
    return applied(ctx, depth.lower(), doc, panel, source)


@scenario
def f16(ctx: dict) -> dict:
    return float_doc(ctx, "F16")


@scenario
def f32(ctx: dict) -> dict:
    return float_doc(ctx, "F32")


@scenario
def preview(ctx: dict) -> dict:
    """Preview twice: one preview layer, holding the selection's bounding box; then Apply for reference."""
    doc = open_image(ctx["rgba8"])
    select(doc, *ctx["rect"])
    source = paint_layer(doc)
    panel = panel_for(doc, source)
    configure(panel, "denoise", [("Current selection", "dots", 0.5)])
    first = press(panel, panel.preview_button)
    panel.rows[0].strength.setValue(80)
    out = press(panel, panel.preview_button)
    out["first"] = first
    previews = [n for n in nodes(doc) if n.name() == "Retex preview"]
    out["previews"] = len(previews)
    if previews:
        out["preview"] = dump(ctx, "preview", previews[0], doc)
        out["preview_above_source"] = nodes(doc).index(previews[0]) + 1 == nodes(doc).index(source)
    return out


class KritaActive:
    """The active layer as Krita keeps it for a focused window: each new layer becomes active (after Preview, the
    preview layer: what users saw) until the user picks another (``pick``). kritarunner has no view, so it is kept
    here and handed to the docker as its target."""

    def __init__(self, doc: Document, node: Node) -> None:
        self.doc, self.node = doc, node
        self.known = {n.uniqueId().toString() for n in nodes(doc)}

    def pick(self, node: Node) -> None:
        self.node = node

    def __call__(self) -> tuple[Document, Node]:
        new = [n for n in nodes(self.doc) if n.uniqueId().toString() not in self.known and n.type() == "paintlayer"]
        if new:
            self.node = new[0]
        self.known = {n.uniqueId().toString() for n in nodes(self.doc)}
        return self.doc, self.node


def layer_names(doc: Document) -> list[str]:
    return [n.name() for n in nodes(doc) if n.type() == "paintlayer"]


@scenario
def preview_apply_flow(ctx: dict) -> dict:
    """Preview → Apply → Preview → Apply, the flow most users follow, with Krita's habit of activating new layers."""
    doc = open_image(ctx["rgba8"])
    select(doc, *ctx["rect"])
    source = paint_layer(doc)
    active = KritaActive(doc, source)
    panel = panel_for(None, None, target=active)
    configure(panel, "denoise", [("Current selection", "dots", 0.8)])
    out: dict = {"steps": []}
    for i, button in enumerate([panel.preview_button, panel.apply_button, panel.preview_button, panel.apply_button]):
        step = press(panel, button)
        active()  # what Krita would have made active by now
        step["layers"] = layer_names(doc)
        step["active"] = active.node.name()
        top = next((n for n in nodes(doc) if n.name().startswith("Retex")), None)
        if top is not None:
            step["top"] = dump(ctx, f"flow-{i}", top, doc)
        out["steps"].append(step)
    return out


@scenario
def source_deleted(ctx: dict) -> dict:
    """The layer previewed is deleted before Apply, and Krita activates another: a message, nothing changed; the
    next Apply works on the layer then picked."""
    doc = open_image(ctx["rgba8"])
    select(doc, *ctx["rect"])
    source = paint_layer(doc)
    top = doc.createNode("on top", "paintlayer")
    doc.rootNode().addChildNode(top, None)
    active = KritaActive(doc, source)
    panel = panel_for(None, None, target=active)
    configure(panel, "denoise")
    out = {"preview": press(panel, panel.preview_button)}
    source.remove()
    active()
    active.pick(top)  # Krita activates a neighbour of a deleted layer
    before = snapshot(doc)
    out["apply"] = press(panel, panel.apply_button)
    out["unchanged"] = before == snapshot(doc)
    out["again"] = press(panel, panel.apply_button)
    out["layers"] = layer_names(doc)
    return out


@scenario
def under_earlier_result(ctx: dict) -> dict:
    """Apply on a layer under an earlier, opaque Retex layer: the new layer goes above that one, and shows."""
    doc = open_image(ctx["texture"])
    source = paint_layer(doc)
    earlier = doc.createNode("Retex: an earlier result", "paintlayer")
    doc.rootNode().addChildNode(earlier, None)
    w, h = doc.width(), doc.height()
    earlier.setPixelData(bytes([40, 200, 90, 255]) * (w * h), 0, 0, w, h)
    panel = panel_for(doc, source)
    configure(panel, "denoise")
    out = press(panel, panel.apply_button)
    doc.refreshProjection()
    doc.waitForDone()
    out["layers"] = layer_names(doc)
    new = nodes(doc)[0]
    out["top_visible"] = new.visible()
    out["shows"] = bytes(doc.pixelData(0, 0, w, h)) == bytes(new.pixelData(0, 0, w, h))
    return out


# --- bad input: a message, the document unchanged -----------------------------------------------------------------


@scenario
def no_document(ctx: dict) -> dict:
    return refused(None, None, "denoise")


@scenario
def no_paint_layer(ctx: dict) -> dict:
    doc = Krita.instance().createDocument(32, 32, "groups only", "RGBA", "U8", "", 72.0)
    group = doc.createGroupLayer("only a group")
    doc.rootNode().addChildNode(group, None)
    paint_layer(doc).remove()
    return refused(doc, group, "denoise")


@scenario
def group_layer(ctx: dict) -> dict:
    doc = open_image(ctx["rgba8"])
    group = doc.createGroupLayer("Group 1")
    doc.rootNode().addChildNode(group, None)
    return refused(doc, group, "denoise")


@scenario
def locked_layer(ctx: dict) -> dict:
    doc = open_image(ctx["rgba8"])
    paint_layer(doc).setLocked(True)
    return refused(doc, paint_layer(doc), "denoise")


@scenario
def grey_document(ctx: dict) -> dict:
    doc = Krita.instance().createDocument(32, 24, "grey", "GRAYA", "U8", "", 72.0)
    return refused(doc, paint_layer(doc), "denoise")


@scenario
def cmyk_document(ctx: dict) -> dict:
    doc = Krita.instance().createDocument(32, 24, "cmyk", "CMYKA", "U8", "", 72.0)
    return refused(doc, paint_layer(doc), "denoise")


@scenario
def empty_selection(ctx: dict) -> dict:
    doc = open_image(ctx["rgba8"])
    select(doc, 0, 0, 0, 0)
    return refused(doc, paint_layer(doc), "denoise", [("Current selection", "dots", 1.0)])


@scenario
def full_selection(ctx: dict) -> dict:
    doc = open_image(ctx["rgba8"])
    select(doc, 0, 0, doc.width(), doc.height())
    return refused(doc, paint_layer(doc), "denoise", [("Current selection", "dots", 1.0)])


@scenario
def mask_layer_deleted(ctx: dict) -> dict:
    doc = open_image(ctx["rgba8"])
    strokes = add_layer_from(doc, ctx["strokes"], "strokes")
    panel = panel_for(doc, paint_layer(doc, "Background"))
    configure(panel, "none", [("Alpha of strokes", "paint", 1.0)])
    strokes.remove()
    before = snapshot(doc)
    out = press(panel, panel.apply_button)
    out["unchanged"] = before == snapshot(doc)
    return out


@scenario
def mask_from_other_image(ctx: dict) -> dict:
    """A mask layer picked while another image, of another size, was the active one."""
    other = open_image(ctx["rgba8"])
    add_layer_from(other, ctx["strokes"], "strokes")
    active = [other, paint_layer(other, "Background")]
    panel = panel_for(None, None, target=lambda: tuple(active))
    configure(panel, "none", [("Alpha of strokes", "paint", 1.0)])
    doc = open_image(ctx["rgba16"])
    active[:] = [doc, paint_layer(doc)]
    before = snapshot(doc)
    out = press(panel, panel.apply_button)
    out["unchanged"] = before == snapshot(doc)
    return out


@scenario
def learn(ctx: dict) -> dict:
    """Learn a style from the selection; it joins the style lists."""
    doc = open_image(ctx["texture"])
    select(doc, 0, 0, 96, 96)
    panel = panel_for(doc, paint_layer(doc))
    spin_until(lambda: panel.pump.session.state == "ready", 120)
    row = panel.add_slot()
    panel.style_name.setText("learned")
    panel.minutes.setValue(0.05)
    out = press(panel, panel.learn_button)
    spin_until(lambda: "learned" in [s.name for s in panel.pump.session.styles], 30)
    out["styles"] = [s.name for s in panel.pump.session.styles]
    out["in_picker"] = row.style.findData("learned") >= 0
    return out


@scenario
def learn_and_apply(ctx: dict) -> dict:
    """Apply while a texture is learned: the docker lets it, the result arrives while the learning goes on, and the
    learning then ends well."""
    doc = open_image(ctx["texture"])
    select(doc, 0, 0, 96, 96)
    panel = panel_for(doc, paint_layer(doc))
    spin_until(lambda: panel.pump.session.state == "ready", 120)
    panel.style_name.setText("meanwhile")
    panel.minutes.setValue(0.2)
    panel.learn_button.click()
    spin_until(lambda: panel.flow.learning is not None and panel.flow.learning.fraction > 0, 60)
    panel.refresh()
    out = {"apply_enabled": panel.apply_button.isEnabled(), "learn_enabled": panel.learn_button.isEnabled()}
    panel.task.setCurrentIndex(panel.task.findData("denoise"))
    panel.apply_button.click()
    spin_until(lambda: panel.flow.job is None, 120)
    out["applied"] = panel.flow.message
    out["still_learning"] = panel.flow.learning is not None
    out["layers"] = [n.name() for n in nodes(doc) if n.type() == "paintlayer"]
    spin_until(lambda: not panel.flow.busy, 120)
    out.update(message=panel.flow.message, failed=panel.flow.failed)
    return out


@scenario
def eta(ctx: dict) -> dict:
    """The time left of a 20-second job as the docker shows it, sampled against the time it really took and against
    the backend's own estimate: learning a texture."""
    doc = open_image(ctx["texture"])
    select(doc, 0, 0, 96, 96)
    panel = panel_for(doc, paint_layer(doc))
    spin_until(lambda: panel.pump.session.state == "ready", 120)
    panel.style_name.setText("timed")
    panel.minutes.setValue(0.33)
    samples: list[list] = []
    shown: set[str] = set()

    def sample() -> bool:
        job = panel.flow.learning
        if job is not None:
            panel.refresh()
            samples.append([time.monotonic(), job.fraction, panel.flow.learning_eta.left(job.fraction), job.eta])
            shown.add(panel.progress.format())
        return job is None

    panel.learn_button.click()
    spin_until(sample, 300)
    ended = time.monotonic()
    return {
        "message": panel.flow.message,
        "failed": panel.flow.failed,
        # [really left, done, shown, the backend's own estimate]
        "samples": [[ended - t, fraction, left, backend] for t, fraction, left, backend in samples],
        "shown": sorted(shown),
    }


@scenario
def style_gone(ctx: dict) -> dict:
    """A style deleted from the library after the docker listed it."""
    doc = open_image(ctx["rgba8"])
    panel = panel_for(doc, paint_layer(doc))
    configure(panel, "none", [("Whole image", "learned", 1.0)])
    for suffix in (".safetensors", ".png"):
        Path(ctx["user_styles"], "learned" + suffix).unlink(missing_ok=True)
    before = snapshot(doc)
    out = press(panel, panel.apply_button)
    out["unchanged"] = before == snapshot(doc)
    return out


def big_document() -> Document:
    w, h = 1600, 1200
    doc = Krita.instance().createDocument(w, h, "big", "RGBA", "U8", "", 72.0)
    paint_layer(doc).setPixelData(bytes(range(256)) * (w * h * 4 // 256), 0, 0, w, h)
    return doc


@scenario
def cancel(ctx: dict) -> dict:
    doc = big_document()
    panel = panel_for(doc, paint_layer(doc))
    configure(panel, "denoise")
    before = snapshot(doc)
    panel.apply_button.click()
    out = {"started": spin_until(lambda: panel.flow.job is not None and panel.flow.job.fraction > 0, 60)}
    job = panel.flow.job
    panel.preview()  # what the menu action (or its shortcut) does, while the job runs
    out["second"] = {"message": panel.flow.message, "same_job": panel.flow.job is job}
    panel.cancel_button.click()
    spin_until(lambda: not panel.flow.busy, 60)
    out.update(message=panel.flow.message, failed=panel.flow.failed, unchanged=before == snapshot(doc))
    return out


@scenario
def killed(ctx: dict) -> dict:
    """The backend dies mid-job: a message, nothing changed; the next Apply starts a new backend and works."""
    doc = big_document()
    panel = panel_for(doc, paint_layer(doc))
    configure(panel, "denoise")
    before = snapshot(doc)
    session = panel.pump.session
    panel.apply_button.click()
    out = {"started": spin_until(lambda: panel.flow.job is not None and panel.flow.job.fraction > 0, 60)}
    out["pid"] = session.pid
    os.kill(session.pid, signal.SIGKILL)
    spin_until(lambda: not panel.flow.busy, 60)
    out.update(message=panel.flow.message, failed=panel.flow.failed, unchanged=before == snapshot(doc))
    small = open_image(ctx["rgba8"])
    again = panel_for(small, paint_layer(small))
    configure(again, "denoise")
    out["again"] = press(again, again.apply_button)
    out["again"]["pid"] = session.pid
    out["again"]["layers"] = [n.name() for n in nodes(small)]
    return out


@scenario
def other_protocol(ctx: dict) -> dict:
    """Backend settings pointing at a backend that speaks protocol version 2: a message, nothing changed. The real
    backend is set back through the same settings afterwards."""
    doc = open_image(ctx["rgba8"])
    panel = panel_for(doc, paint_layer(doc))
    settings = panel.settings_section.body
    real = settings.repo_edit.text()
    settings.repo_edit.setText(ctx["fake_repo"])
    settings.save_button.click()
    configure(panel, "denoise")
    before = snapshot(doc)
    out = press(panel, panel.apply_button)
    out.update(unchanged=before == snapshot(doc), status=panel.status.text())
    settings.repo_edit.setText(real)
    settings.save_button.click()
    configure(panel, "denoise")
    out["back"] = press(panel, panel.apply_button)
    return out


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    Krita.instance().setBatchmode(True)
    sys.path.insert(0, spec["plugins"])
    import retex  # noqa: F401  (registers the extension and the docker, as Krita does at start-up)
    from retex.pump import pump

    results: dict[str, dict] = {}
    errors: list[str] = []  # exceptions in Qt slots: recorded, not shown in Krita's (modal) error dialog
    sys.excepthook = lambda *exc: errors.append("".join(traceback.format_exception(*exc)))
    skip = set(spec.get("skip", ()))  # all, in the order of this file, by default; some may be left to another run
    for name in spec.get("scenarios") or [n for n in SCENARIOS if n not in skip]:
        started = time.monotonic()
        try:
            results[name] = SCENARIOS[name](spec)
        except Exception:
            results[name] = {"crash": traceback.format_exc()}
        results[name].update(seconds=round(time.monotonic() - started, 2), slot_errors=errors[:])
        errors.clear()
        Path(spec["results"]).write_text(json.dumps(results, indent=1))  # what ran survives a later hang
    pump().close()
    return 0


def __main__(args: list[str]) -> None:
    try:
        code = main(args[0])
    except Exception:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    os._exit(code)
