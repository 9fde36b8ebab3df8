"""Krita documents in and out: a layer's pixels as a protocol frame in the depth Krita holds (BGRA, 8/16-bit
integer or 16/32-bit float, never converted), and results written as a new layer or a new document.

Called from Qt slots only, so every Krita call happens on the GUI thread.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from krita import Document, Krita, Node

from .common.layers import landing
from .common.protocol import Frame, FrameSpec
from .common.recipe import PREVIEW_NAME, Recipe, UserError

SAMPLES = {"U8": "u8", "U16": "u16", "F16": "f16", "F32": "f32"}
KINDS = {
    "grouplayer": "group layer",
    "vectorlayer": "vector layer",
    "filelayer": "file layer",
    "clonelayer": "clone layer",
    "filllayer": "fill layer",
    "filterlayer": "filter layer",
}


def walk(node: Node) -> Iterator[Node]:
    """Every node under ``node``, top of the stack first."""
    for child in reversed(node.childNodes()):
        yield child
        yield from walk(child)


def node_id(node: Node) -> str:
    return node.uniqueId().toString()


def find_node(doc: Document, uid: str) -> Node | None:
    return next((n for n in walk(doc.rootNode()) if node_id(n) == uid), None) if doc.rootNode() else None


@dataclass
class Target:
    """The paint layer a job reads, and where its result goes."""

    doc: Document
    node: Node

    @property
    def size(self) -> tuple[int, int]:
        return self.doc.width(), self.doc.height()

    def frame(self, rect: tuple[int, int, int, int] | None = None) -> Frame:
        """The layer's pixels over ``rect`` (default: the whole canvas) exactly as Krita holds them."""
        x, y, w, h = rect or (0, 0, *self.size)
        spec = FrameSpec(w, h, "BGRA", SAMPLES[self.node.colorDepth()], "image")
        return spec, bytes(self.node.pixelData(x, y, w, h))


def target(doc: Document | None, node: Node | None) -> Target:
    """Check that ``node`` is a layer Retex can read; the message says what to change otherwise."""
    if doc is None:
        raise UserError("Open an image first.")
    if node is None or node.type() != "paintlayer":
        if not any(n.type() == "paintlayer" for n in walk(doc.rootNode())):
            raise UserError("This image has no paint layer. Add one, or convert the layer to a paint layer.")
        if node is None:
            raise UserError("Select the paint layer to work on in the Layers docker.")
        kind = KINDS.get(node.type(), node.type())
        raise UserError(f"'{node.name()}' is a {kind}. Retex works on a paint layer: select one.")
    if node.locked():
        raise UserError(f"The layer '{node.name()}' is locked. Unlock it in the Layers docker first.")
    model, depth = node.colorModel(), node.colorDepth()
    if model != "RGBA" or depth not in SAMPLES:
        raise UserError(
            f"'{node.name()}' is {model} {depth}. Retex works on RGB/Alpha layers of 8 or 16-bit integer or 16 or "
            "32-bit float: convert it with Image > Convert Image Color Space… first."
        )
    return Target(doc, node)


def selection_rect(doc: Document) -> tuple[int, int, int, int] | None:
    """The selection's bounding box clipped to the canvas, or None without a (non-empty) selection."""
    sel = doc.selection()
    if sel is None or sel.width() <= 0 or sel.height() <= 0:
        return None
    x0, y0 = max(sel.x(), 0), max(sel.y(), 0)
    x1, y1 = min(sel.x() + sel.width(), doc.width()), min(sel.y() + sel.height(), doc.height())
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


def is_preview(node: Node) -> bool:
    return node.name() == PREVIEW_NAME and node.type() == "paintlayer"


def remove_previews(doc: Document) -> None:
    for old in [n for n in walk(doc.rootNode()) if is_preview(n)]:
        old.remove()


def visible_anchor(source: Node) -> Node:
    """The layer a result goes right above (``common.layers.landing``): the source, or an earlier Retex layer."""
    siblings = source.parentNode().childNodes()  # bottom of the stack first
    start = next(i for i, n in enumerate(siblings) if node_id(n) == node_id(source))
    return siblings[start + landing([n.name() for n in siblings[start + 1 :]])]


def add_layer(t: Target, name: str, spec: FrameSpec, data: bytes, origin: tuple[int, int]) -> Node:
    """A paint layer where it shows (``visible_anchor``), in the source's colour space (which may differ from the
    image's)."""
    node = t.doc.createNode(name, "paintlayer")
    t.node.parentNode().addChildNode(node, visible_anchor(t.node))
    space = (t.node.colorModel(), t.node.colorDepth(), t.node.colorProfile())
    if (node.colorModel(), node.colorDepth(), node.colorProfile()) != space:
        node.setColorSpace(*space)
    node.setPixelData(data, origin[0], origin[1], spec.width, spec.height)
    t.doc.refreshProjection()
    return node


def replace_preview(t: Target, spec: FrameSpec, data: bytes, origin: tuple[int, int]) -> Node:
    """The one preview layer, where it shows, replacing the previous preview wherever it is; the source stays the
    active layer, so the next Apply or Preview works on it and not on the preview."""
    remove_previews(t.doc)
    node = add_layer(t, PREVIEW_NAME, spec, data, origin)
    t.doc.setActiveNode(t.node)
    return node


def open_document(t: Target, recipe: Recipe, spec: FrameSpec, data: bytes, preview: bool) -> Document:
    """A new image holding a result of another size (super-resolution), with the source's colour space, named after
    the source (``photo ×2``). An Apply's image gets a file name beside the source's file (a .kra no file has yet),
    so Save offers it; a preview's stays unnamed."""
    app = Krita.instance()
    title = recipe.document_name(t.doc.fileName() or t.doc.name()) + (" (preview)" if preview else "")
    doc = app.createDocument(
        spec.width, spec.height, title, "RGBA", t.node.colorDepth(), t.node.colorProfile(), t.doc.resolution()
    )
    if t.doc.fileName() and not preview:
        doc.setFileName(recipe.document_path(t.doc.fileName(), ".kra", os.path.exists))
    layer = next(n for n in doc.rootNode().childNodes() if n.type() == "paintlayer")
    layer.setName(recipe.name())
    layer.setPixelData(data, 0, 0, spec.width, spec.height)
    doc.refreshProjection()
    if app.activeWindow() is not None:
        app.activeWindow().addView(doc)
    return doc
