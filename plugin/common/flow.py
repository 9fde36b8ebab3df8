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
from .protocol import Frame, train_style_request
from .recipe import BUSY, LEARNING, NAME_TO_LEARN, SELECT_TO_LEARN, Recipe, UserError
from .replies import Reply, Result
from .training import NOT_INSTALLED

NO_RESULT = "The backend sent no result."
STOPPING = "Stopping: the texture is saved as it is now…"
GOOD_ENOUGH = "Good enough, stop"  # the button that ends a learning run, keeping the texture
GOOD_ENOUGH_TIP = "Stop learning now and keep the texture as the picture shows it"
SWATCH_TIP = "The texture learned so far: on plain grey, and on a blurred part of the selection"
SWATCH_SOON = "The texture learned so far shows here once it is worth keeping."
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
    """One host's runs: ``run`` (Apply, Preview) one at a time, and beside it ``learn`` one at a time, since
    learning takes minutes and the backend does runs between its steps; ``cancel``. ``job``/``eta`` (the run),
    ``learning``/``learning_eta`` and its ``swatch``, ``message`` and ``failed`` say where things stand."""

    def __init__(self, host: Host, jobs: Jobs, clock: Callable[[], float] = time.monotonic) -> None:
        self.host, self.jobs, self.clock = host, jobs, clock
        self.job: Any = None  # the running Apply or Preview's handle (``fraction`` for a progress bar)
        self.eta = Eta(clock)  # the time left in ``job``
        self.learning: Any = None  # the texture being learned, likewise
        self.learning_eta = Eta(clock)
        self.message, self.failed = "", False
        self.learned = ""  # the name of the last style learned
        self.asked: tuple[str, str, float | None] | None = None  # the last learning asked for (``relearn``)
        self.wants_training = False  # it failed for want of the training support: the host offers to add it

    @property
    def busy(self) -> bool:
        """Anything under way."""
        return self.job is not None or self.learning is not None

    @property
    def swatch(self) -> Frame | None:
        """The texture being learned as it is now (the style on mid-grey beside it on the blurred exemplar, RGB
        8 bits), every few seconds once it is worth saving; None before, and when nothing is learned."""
        return getattr(self.learning, "swatch", None)

    @property
    def can_finish(self) -> bool:
        """Whether "Good enough, stop" can keep something: a swatch came and it was not pressed yet."""
        return self.swatch is not None and not getattr(self.learning, "finishing", False)

    def shown(self) -> tuple[Any, Eta] | None:
        """The job a progress bar shows, with its time left: the run, else the learning."""
        if self.job is not None:
            return self.job, self.eta
        return (self.learning, self.learning_eta) if self.learning is not None else None

    def run(self, order: Order) -> None:
        """Apply (a new layer, or a new image for super-resolution) or Preview (the selection's bounding box into
        the preview layer)."""
        if self._refuse_while(self.job, BUSY):
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
        hole = host.mask(target, order.hole, "Inpainting") if recipe.inpaints else None
        recipe.check_hole(hole)
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
        if self._refuse_while(self.learning, LEARNING):
            return
        self.asked, self.wants_training = (name, scale, minutes), False
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

    def relearn(self) -> None:
        """The last learning again (once the training support was added)."""
        if self.asked is not None:
            self.learn(*self.asked)

    def finish(self) -> None:
        """Good enough, stop: the learning ends and its style is saved as it is now (once a swatch came; before,
        there is nothing worth saving and the button is off)."""
        if self.can_finish:
            self.jobs.finish(self.learning)
            self._say(STOPPING)

    def cancel(self) -> None:
        """Stop the run, else the learning."""
        job = self.job if self.job is not None else self.learning
        if job is not None:
            self.jobs.cancel(job)

    def say(self, message: str, failed: bool = False) -> None:
        """The host's own news in the message line (e.g. the training support being added)."""
        self._say(message, failed)

    def forget(self) -> None:
        """Clear the last message once it no longer applies (another image, a changed setting); a running job's
        stays."""
        if not self.busy and self.message:
            self._say("")

    # --- the machinery ----------------------------------------------------------------------------------------------

    def _refuse_while(self, job: Any, words: str) -> bool:
        if job is not None:  # e.g. a menu action while the docker's job runs: that job goes on
            self._say(words, failed=True)
        return job is not None

    def _submit(self, kind: str, fields: dict[str, Any], frames: list[Frame], title: str, done: Done) -> None:
        ended, learning = False, kind == "train_style"

        def end(result: Reply | None, error: str | None) -> None:
            nonlocal ended
            ended = True
            if learning:
                self.learning, self.wants_training = None, error == NOT_INSTALLED
            else:
                self.job = None
            if error or not isinstance(result, Result):
                self._say(error or NO_RESULT, failed=True)
            else:
                done(result, error)

        if learning:
            self.learning_eta = Eta(self.clock)
        else:
            self.eta = Eta(self.clock)
        self._say(title)
        job = self.jobs.submit(kind, fields, frames, title, end)
        if ended:  # a blocking host has finished by now
            return
        if learning:
            self.learning = job
        else:
            self.job = job

    def _ran(self, target: Target, order: Order, result: Reply | None, error: str | None) -> None:
        assert isinstance(result, Result)
        target = self.host.still_there(target)
        if result.frame is None:
            self._say(NO_RESULT, failed=True)
        elif target is None:
            self._say(SOURCE_GONE, failed=True)
        else:
            self._place(target, order, result.frame, result.origin or (0, 0))

    def _place(self, target: Target, order: Order, frame: Frame, origin: tuple[int, int]) -> None:
        """Where the result goes: a new image for upscaling (unless this image is to be scaled), the preview, or a
        new layer; then what was done is said."""
        recipe, (spec, data) = order.recipe, frame
        frame = (spec, bytes(data))
        try:
            if recipe.scale > 1 and not order.scale_image:
                name = self.host.new_image(target, recipe, frame, order.preview)
                self._say(f"Opened a new {spec.width}×{spec.height} image: {name}.")
            elif order.preview:
                self.host.show_preview(target, frame, origin)
                self._say(f"Preview updated: {recipe.name()}.")
            else:
                self.host.new_layer(target, recipe.name(), frame, origin, recipe.scale)
                self._say(f"Added the layer '{recipe.name()}'.")
        except Exception as e:  # a host call failed: say so rather than leave "Working on…" up, and let it be logged
            self._say(f"Retex could not put the result into the image ({e}).", failed=True)
            raise

    def _learnt(self, result: Reply | None, error: str | None) -> None:
        assert isinstance(result, Result)
        style = result.style or {}
        self.learned = str(style.get("name", ""))
        self._say(f"Learned the texture '{style.get('name')}' ({style.get('scale')}); it is now in the style lists.")

    def _say(self, message: str, failed: bool = False) -> None:
        self.message, self.failed = message, failed
        self.host.say(message, failed)
