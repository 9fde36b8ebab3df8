"""What Apply, Preview and Learn do in every editor, written once: check the target, read pixels and masks, build
the request, submit it and follow it, then put the result where it belongs and say what happened. The editor's
part is a ``host.Host`` (pixels, masks, layers) and a ``host.Jobs`` (the backend session); see docs/new-host.md.

Any problem becomes one message (``message``, ``failed``) and the image is left as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .eta import Eta
from .host import Done, Host, Jobs, MaskSource, Target
from .protocol import Frame, Message, train_style_request
from .recipe import BUSY, NAME_TO_LEARN, NEEDS_MASK, SELECT_TO_LEARN, Recipe, UserError

NO_RESULT = "The backend sent no result."
SOURCE_GONE = "The layer was closed or deleted before the result arrived; nothing was changed."


@dataclass
class Order:
    """What the user asked for: the recipe, one mask source per texture slot (the host's own terms), what to fill
    for inpainting, and where the result goes."""

    recipe: Recipe
    masks: list[MaskSource] = field(default_factory=list)
    hole: MaskSource = None
    preview: bool = False  # on the selection's bounding box, into the preview layer (or a preview image)
    scale_image: bool = False  # super-resolution: scale this image and add a layer, rather than open a new image


class Flow:
    """One host's runs, one at a time: ``run`` (Apply, Preview), ``learn``, ``cancel``; ``job``, ``eta``,
    ``message`` and ``failed`` say where things stand."""

    def __init__(self, host: Host, jobs: Jobs, clock: Callable[[], float] = time.monotonic) -> None:
        self.host, self.jobs, self.clock = host, jobs, clock
        self.job: Any = None  # the running job's handle (``fraction`` for a progress bar)
        self.eta = Eta(clock)  # the time left in ``job``
        self.message, self.failed = "", False
        self.learned = ""  # the name of the last style learned

    @property
    def busy(self) -> bool:
        return self.job is not None

    def run(self, order: Order) -> None:
        """Apply (a new layer, or a new image for super-resolution) or Preview (the selection's bounding box into
        the preview layer)."""
        if self._refuse_while_busy():
            return
        try:
            target, fields, frames = self.prepare(order)
            title = f"{'Previewing' if order.preview else 'Working on'} '{order.recipe.name()}'…"
            self._submit("run", fields, frames, title, lambda result, error: self._ran(target, order, result, error))
        except UserError as e:
            self._say(str(e), failed=True)

    def prepare(self, order: Order) -> tuple[Target, dict[str, Any], list[Frame]]:
        """The target and the ``run`` request: everything is checked before any pixels are read, and everything
        the host can check before the backend is reached."""
        host, recipe = self.host, order.recipe
        target = host.target()
        recipe.check()
        whats = [f"Texture {i} ({slot.style})" for i, slot in enumerate(recipe.slots, start=1)]
        masks = [host.mask(target, source, what) for source, what in zip(order.masks, whats, strict=True)]
        hole = host.mask(target, order.hole, "Inpainting") if recipe.task == "inpaint" else None
        if recipe.task == "inpaint" and hole is None:
            raise UserError(NEEDS_MASK)
        known = self.jobs.catalogue()
        if known is not None:
            recipe.check(*known)
        for slot, mask, what in zip(recipe.slots, masks, whats, strict=True):
            slot.mask = None if mask is None else host.read_mask(target, mask, what)
        hole_frame = None if hole is None else host.read_mask(target, hole, "Inpainting")
        crop = host.selection_box(target) if order.preview else None
        fields, frames = recipe.request(host.read_image(target), hole_frame, crop)
        return target, fields, frames

    def learn(self, name: str, scale: str, minutes: float | None) -> None:
        """Learn a new style from the selected pixels of the layer."""
        if self._refuse_while_busy():
            return
        try:
            target = self.host.target()
            name = name.strip()
            if not name:
                raise UserError(NAME_TO_LEARN)
            exemplar = self.host.read_selected(target)
            if exemplar is None:
                raise UserError(SELECT_TO_LEARN)
            fields, frames = train_style_request(exemplar, name, scale=scale, minutes=minutes)
            self._submit(
                "train_style", fields, frames, f"Learning the texture '{name}' from the selection…", self._learnt
            )
        except UserError as e:
            self._say(str(e), failed=True)

    def cancel(self) -> None:
        if self.job is not None:
            self.jobs.cancel(self.job)

    # --- the machinery ----------------------------------------------------------------------------------------------

    def _refuse_while_busy(self) -> bool:
        if self.busy:  # e.g. a menu action while the docker's job runs: that job goes on
            self._say(BUSY, failed=True)
        return self.busy

    def _submit(self, kind: str, fields: dict[str, Any], frames: list[Frame], title: str, done: Done) -> None:
        ended = False

        def end(result: Message | None, error: str | None) -> None:
            nonlocal ended
            ended, self.job = True, None
            if error or result is None:
                self._say(error or NO_RESULT, failed=True)
            else:
                done(result, error)

        self.eta = Eta(self.clock)
        self._say(title)
        job = self.jobs.submit(kind, fields, frames, title, end)
        if not ended:  # a blocking host has finished by now
            self.job = job

    def _ran(self, target: Target, order: Order, result: Message | None, error: str | None) -> None:
        assert result is not None
        target = self.host.still_there(target)
        if target is None:
            self._say(SOURCE_GONE, failed=True)
            return
        try:
            self._say(self._place(target, order, result))
        except Exception as e:  # a host call failed: say so rather than leave "Working on…" up, and let it be logged
            self._say(f"Retex could not put the result into the image ({e}).", failed=True)
            raise

    def _place(self, target: Target, order: Order, result: Message) -> str:
        recipe = order.recipe
        frame = (result.specs[0], bytes(result.frames[0]))
        origin = tuple(result.header.get("origin", (0, 0)))
        if recipe.scale > 1 and not order.scale_image:
            name = self.host.new_image(target, recipe, frame, order.preview)
            return f"Opened a new {frame[0].width}×{frame[0].height} image: {name}."
        if order.preview:
            self.host.show_preview(target, frame, (origin[0], origin[1]))
            return f"Preview updated: {recipe.name()}."
        self.host.new_layer(target, recipe.name(), frame, (origin[0], origin[1]), recipe.scale)
        return f"Added the layer '{recipe.name()}'."

    def _learnt(self, result: Message | None, error: str | None) -> None:
        assert result is not None
        style = result.header.get("style", {})
        self.learned = str(style.get("name", ""))
        self._say(f"Learned the texture '{style.get('name')}' ({style.get('scale')}); it is now in the style lists.")

    def _say(self, message: str, failed: bool = False) -> None:
        self.message, self.failed = message, failed
        self.host.say(message, failed)
