"""Helpers for scripts that run inside Krita (Krita's own Python: no numpy, no pytest): wait on the Qt event loop,
fingerprint a document, build test documents."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from krita import Document, Krita, Node, Selection
from PyQt5.QtCore import QEventLoop, QTimer


def spin_until(done: Callable[[], bool], timeout_s: float = 120.0) -> bool:
    """Run Qt's event loop (so the plug-in's QTimer polls the backend) until ``done()`` or the timeout."""
    loop, deadline = QEventLoop(), time.monotonic() + timeout_s
    timer = QTimer()
    timer.timeout.connect(lambda: (done() or time.monotonic() > deadline) and loop.quit())
    timer.start(20)
    if not done():
        loop.exec_()
    timer.stop()
    return done()


def nodes(doc: Document) -> list[Node]:
    out: list[Node] = []

    def visit(node: Node) -> None:
        for child in reversed(node.childNodes()):
            out.append(child)
            visit(child)

    visit(doc.rootNode())
    return out


def snapshot(doc: Document) -> list:
    """Every node's name, type and pixel hash, top first, plus the selection's: equal snapshots = nothing changed."""
    w, h = doc.width(), doc.height()
    sel = doc.selection()
    sel_hash = hashlib.md5(bytes(sel.pixelData(0, 0, w, h))).hexdigest() if sel is not None else None
    return [[w, h, sel_hash]] + [
        [n.name(), n.type(), hashlib.md5(bytes(n.pixelData(0, 0, w, h))).hexdigest()] for n in nodes(doc)
    ]


def paint_layer(doc: Document, name: str | None = None) -> Node:
    return next(n for n in nodes(doc) if n.type() == "paintlayer" and (name is None or n.name() == name))


def select(doc: Document, x: int, y: int, w: int, h: int) -> None:
    sel = Selection()
    sel.select(x, y, w, h, 255)
    doc.setSelection(sel)


def open_image(path: str) -> Document:
    doc = Krita.instance().openDocument(path)
    doc.setBatchmode(True)
    return doc


def document_from_raw(path: str, w: int, h: int, depth: str) -> Document:
    """An RGBA document of ``depth`` whose layer holds the BGRA bytes in ``path``."""
    doc = Krita.instance().createDocument(w, h, f"raw {depth}", "RGBA", depth, "", 72.0)
    doc.setBatchmode(True)
    with open(path, "rb") as f:
        paint_layer(doc).setPixelData(f.read(), 0, 0, w, h)
    return doc


def add_layer_from(doc: Document, path: str, name: str) -> Node:
    """A paint layer named ``name`` holding the pixels of the image file at ``path`` (same size as ``doc``)."""
    src = open_image(path)
    node = doc.createNode(name, "paintlayer")
    doc.rootNode().addChildNode(node, None)
    node.setPixelData(paint_layer(src).pixelData(0, 0, doc.width(), doc.height()), 0, 0, doc.width(), doc.height())
    src.close()
    return node
