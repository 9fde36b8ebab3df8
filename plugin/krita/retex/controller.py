"""What Apply, Preview and Learn do: check the inputs, read pixels and masks, send one job, and write its result
where it belongs. No widgets here: the docker shows ``message``, ``job`` and the session's status."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from krita import Document, Node

from . import document, masks
from .common.eta import Eta
from .common.protocol import train_style_request
from .common.recipe import BUSY, NAME_TO_LEARN, SELECT_TO_LEARN, Recipe, Slot, UserError
from .masks import MaskSource
from .pump import Pump
from .qt import QObject, pyqtSignal

if TYPE_CHECKING:  # the session imports pyzmq, which the pump loads late to explain its absence
    from .common.session import Job


@dataclass
class SlotChoice:
    source: MaskSource
    style: str
    strength: float


@dataclass
class Choice:
    """The docker's settings, as plain data."""

    task: str
    slots: list[SlotChoice] = field(default_factory=list)
    preserve_colours: bool = False
    inpaint_source: MaskSource = masks.SELECTION
    cleanup: float | None = None  # photo models: 0 to 1; None: auto


class Controller(QObject):
    changed = pyqtSignal()  # a job started or ended, or the message changed

    def __init__(self, pump: Pump) -> None:
        super().__init__()
        self.pump = pump
        self.job: Job | None = None
        self.eta = Eta()  # the time left in ``job``
        self.message, self.failed = "", False
        self.preview_doc: Document | None = None  # super-resolution previews open as a document, replaced each time
        self.opened: list[Document] = []  # Krita closes a script-made document once no Python object refers to it
        # Per document (its root node's id): the layer the user chose, as (id, name), and the result layer Retex
        # made active itself; neither that result nor the preview layer is ever taken for the user's choice.
        self._chosen: dict[str, tuple[str, str]] = {}
        self._selected: dict[str, str] = {}

    @property
    def busy(self) -> bool:
        return self.job is not None

    def run(self, doc: Document | None, node: Node | None, choice: Choice, preview: bool = False) -> None:
        """Apply (a new layer, or a new document for super-resolution) or Preview (the selection's bounding box,
        into the preview layer). Any problem is reported in ``message`` and the document is left as it was."""
        if self.busy:  # e.g. the menu action while the docker's job runs
            self._say(BUSY, failed=True)
            return
        try:
            t = document.target(doc, self.source(doc, node))
            session = self.pump.session
            slots = [Slot(s.style, s.strength) for s in choice.slots]
            recipe = Recipe(choice.task, slots, choice.preserve_colours, choice.cleanup)
            styles = {s.name for s in session.styles} if session.state == "ready" else None
            recipe.check(styles, session.info.get("tasks") if styles is not None else None)
            for slot, wanted in zip(recipe.slots, choice.slots, strict=True):
                slot.mask = masks.read(t.doc, wanted.source)
            hole = masks.read(t.doc, choice.inpaint_source) if recipe.task == "inpaint" else None
            crop = document.selection_rect(t.doc) if preview else None
            fields, frames = recipe.request(t.frame(), hole, crop)
            job = session.submit("run", fields, frames, partial(self._run_done, t, recipe, preview))
            self._start(job, f"{'Previewing' if preview else 'Working on'} '{recipe.name()}'…")
        except UserError as e:
            self._say(str(e), failed=True)

    def learn(self, doc: Document | None, node: Node | None, name: str, scale: str, minutes: float) -> None:
        """Learn a new style from the selected pixels of the layer."""
        if self.busy:
            self._say(BUSY, failed=True)
            return
        try:
            t = document.target(doc, self.source(doc, node))
            rect = document.selection_rect(t.doc)
            if rect is None:
                raise UserError(SELECT_TO_LEARN)
            if not name.strip():
                raise UserError(NAME_TO_LEARN)
            fields, frames = train_style_request(t.frame(rect), name.strip(), scale=scale, minutes=minutes)
            job = self.pump.session.submit("train_style", fields, frames, self._learn_done)
            self._start(job, f"Learning the texture '{name.strip()}' from the selection…")
        except UserError as e:
            self._say(str(e), failed=True)

    def source(self, doc: Document | None, active: Node | None) -> Node | None:
        """The layer to work on: the active one when the user picked it, else the one they picked before (after a
        Preview or an Apply, the active layer may be one Retex made)."""
        if doc is None:
            return active
        key = document.node_id(doc.rootNode())
        chosen = self._chosen.get(key)
        remembered = document.find_node(doc, chosen[0]) if chosen else None
        if chosen and remembered is None:  # deleted: whatever Krita made active instead was not chosen
            del self._chosen[key]
            raise UserError(
                f"The layer '{chosen[1]}' that Retex worked on was deleted. Select the layer to work on in the "
                "Layers docker, then try again."
            )
        if active is None or document.is_preview(active) or document.node_id(active) == self._selected.get(key):
            if remembered is None and active is not None:
                raise UserError(f"'{active.name()}' only shows a preview. Select the layer to work on.")
            return remembered
        self._chosen[key] = (document.node_id(active), active.name())
        return active

    def cancel(self) -> None:
        if self.job is not None:
            self.pump.session.cancel(self.job)

    def _start(self, job: Job, doing: str) -> None:
        self.job, self.eta = job, Eta()
        self.pump.wake()
        self._say(doing)

    def _run_done(self, t: document.Target, recipe: Recipe, preview: bool, job: Job) -> None:
        self.job = None
        if job.error or job.result is None:
            self._say(job.error or "The backend sent no result.", failed=True)
            return
        source = document.find_node(t.doc, document.node_id(t.node))
        if source is None:
            self._say("The layer was closed or deleted before the result arrived; nothing was changed.", failed=True)
            return
        try:
            self._place(document.Target(t.doc, source), recipe, preview, job)
        except Exception as e:  # a Krita call failed: say so rather than leave "Working on…" up; the pump logs it
            self._say(f"Retex could not put the result into the image ({e}).", failed=True)
            raise

    def _place(self, t: document.Target, recipe: Recipe, preview: bool, job: Job) -> None:
        assert job.result is not None
        spec, data = job.result.specs[0], bytes(job.result.frames[0])
        origin = tuple(job.result.header.get("origin", (0, 0)))
        if recipe.scale > 1:
            if preview and self.preview_doc is not None:
                self.preview_doc.setModified(False)
                self.preview_doc.close()
            made = document.open_document(t, recipe, spec, data, preview)
            self.opened.append(made)
            self.preview_doc = made if preview else self.preview_doc
            self._say(f"Opened a new {spec.width}×{spec.height} image: {made.name()}.")
        elif preview:
            document.replace_preview(t, spec, data, origin)
            self._say(f"Preview updated: {recipe.name()}.")
        else:
            document.remove_previews(t.doc)  # Apply supersedes the preview
            made = document.add_layer(t, recipe.name(), spec, data, origin)
            t.doc.setActiveNode(made)  # selected, so the user sees which layer is new
            self._selected[document.node_id(t.doc.rootNode())] = document.node_id(made)
            self._say(f"Added the layer '{recipe.name()}'.")

    def _learn_done(self, job: Job) -> None:
        self.job = None
        if job.error or job.result is None:
            self._say(job.error or "The backend sent no result.", failed=True)
            return
        style = job.result.header.get("style", {})
        self._say(f"Learned the texture '{style.get('name')}' ({style.get('scale')}); it is now in the style lists.")

    def _say(self, message: str, failed: bool = False) -> None:
        self.message, self.failed = message, failed
        self.changed.emit()
