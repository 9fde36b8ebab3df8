"""The Krita side of the editor contract (``common.host``): the layer Retex works on, its pixels and masks, and
results written as layers and documents; and the backend's jobs through the docker's one session, polled by the
pump (``common.jobs``). What Apply, Preview and Learn do is ``common.flow``'s."""

from __future__ import annotations

from collections.abc import Callable

from krita import Document, Node

from . import document, masks
from .common.host import Rect
from .common.layers import Layer, LayerMemory
from .common.protocol import Frame
from .common.recipe import Recipe
from .document import Target, find_node, node_id
from .masks import MaskSource
from .qt import QObject, pyqtSignal

Active = Callable[[], "tuple[Document | None, Node | None]"]


class KritaHost(QObject):
    changed = pyqtSignal()  # the flow's message changed

    def __init__(self, active: Active) -> None:
        super().__init__()
        self.active = active  # the document and layer the user has active
        self.memory = LayerMemory()  # per document (its root node's id): the layer the user chose
        self.preview_doc: Document | None = None  # super-resolution previews open as a document, replaced each time
        self.opened: list[Document] = []  # Krita closes a script-made document once no Python object refers to it

    def target(self) -> Target:
        doc, node = self.active()
        if doc is not None:  # the layer the user chose, never the preview or the result Retex selected
            active = None if node is None else Layer(node_id(node), node.name(), document.is_preview(node))
            uid = self.memory.source(node_id(doc.rootNode()), active, lambda u: find_node(doc, u) is not None)
            node = node if node is not None and uid == node_id(node) else find_node(doc, uid) if uid else None
        return document.target(doc, node)

    def mask(self, t: Target, source: MaskSource, what: str) -> Frame | None:
        return masks.read(t.doc, source)  # read at once: Krita masks are checked by their pixels

    def read_mask(self, t: Target, mask: Frame, what: str) -> Frame:
        return mask

    def read_image(self, t: Target) -> Frame:
        return t.frame()

    def selection_box(self, t: Target) -> Rect | None:
        return document.selection_rect(t.doc)

    def read_selected(self, t: Target) -> Frame | None:
        rect = document.selection_rect(t.doc)
        return None if rect is None else t.frame(rect)

    def still_there(self, t: Target) -> Target | None:
        source = find_node(t.doc, node_id(t.node))
        return None if source is None else Target(t.doc, source)

    def new_layer(self, t: Target, name: str, result: Frame, origin: tuple[int, int], scale: int) -> None:
        document.remove_previews(t.doc)  # Apply supersedes the preview
        made = document.add_layer(t, name, *result, origin)
        t.doc.setActiveNode(made)  # selected, so the user sees which layer is new
        self.memory.made(node_id(t.doc.rootNode()), node_id(made))

    def new_image(self, t: Target, recipe: Recipe, result: Frame, preview: bool) -> str:
        if preview and self.preview_doc is not None:
            self.preview_doc.setModified(False)
            self.preview_doc.close()
        made = document.open_document(t, recipe, *result, preview)
        self.opened.append(made)
        self.preview_doc = made if preview else self.preview_doc
        return made.name()

    def show_preview(self, t: Target, result: Frame, origin: tuple[int, int]) -> None:
        document.replace_preview(t, *result, origin)

    def say(self, message: str, failed: bool) -> None:
        self.changed.emit()
