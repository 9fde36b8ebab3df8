"""The editor contract: every call Retex makes into an editor (a *host*), and the seam to the backend's jobs.

A host implements ``Host`` (pixels, masks, layers, messages) and hands ``flow.Flow`` a ``Jobs`` (the session that
submits and follows a job); everything else, from the request to the layer's name and every message, is the flow's.
The target and mask sources are the host's own objects (a Krita node, a GIMP layer or channel name): the flow only
hands them back. Standard library only: the editors' Pythons have no numpy. docs/new-host.md says how to write one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any, Protocol

from .protocol import Frame
from .recipe import Recipe
from .replies import Reply

Rect = tuple[int, int, int, int]  # x, y, width, height
Target = Any  # the host's layer (and its image), as ``Host.target`` returns it
MaskSource = Any  # what the user picked as a mask, in the host's terms; the flow only hands it back
Done = Callable[[Reply | None, str | None], None]  # a job's end: its result, or an error in plain words


class Host(Protocol):
    """What an editor does for Retex. Every call may raise ``recipe.UserError`` with a sentence for the user; the
    flow shows it through ``say`` and leaves the image alone."""

    def target(self) -> Target:
        """The layer to work on, checked: an image is open, one pixel layer is chosen, unlocked, in a colour model
        Retex reads; otherwise a UserError saying what to change."""
        ...

    def mask(self, target: Target, source: MaskSource, what: str) -> Any | None:
        """Find the mask ``source`` names (``what``: the texture or "Inpainting", for the message): None for the
        whole image, a UserError when it is missing or selects nothing. No backend is reached before this."""
        ...

    def read_mask(self, target: Target, mask: Any, what: str) -> Frame:
        """The mask ``mask`` returned, as a one-channel (or colour: luminance x alpha) frame of the image's size."""
        ...

    def read_image(self, target: Target) -> Frame:
        """The layer's pixels as the host holds them (any depth the protocol knows, alpha kept)."""
        ...

    def selection_box(self, target: Target) -> Rect | None:
        """The selection's bounding box on the layer (a preview runs there), None without a selection."""
        ...

    def read_selected(self, target: Target) -> Frame | None:
        """The selected pixels of the layer (learning a texture), None without a selection."""
        ...

    def still_there(self, target: Target) -> Target | None:
        """The target again once a job ends (the user may have deleted the layer meanwhile), None if gone."""
        ...

    def new_layer(self, target: Target, name: str, result: Frame, origin: tuple[int, int], scale: int) -> None:
        """A new layer named ``name`` holding ``result`` at ``origin``, where it shows (``layers.landing``) and
        selected; ``scale`` > 1: the image is scaled by it first (super-resolution into this image)."""
        ...

    def new_image(self, target: Target, recipe: Recipe, result: Frame, preview: bool) -> str:
        """A new image holding ``result`` (super-resolution), named after the source (``recipe.document_name``),
        its layer ``recipe.name()``; a preview's replaces the previous preview's. Returns its name."""
        ...

    def show_preview(self, target: Target, result: Frame, origin: tuple[int, int]) -> None:
        """The one preview layer, replacing any earlier one; the target stays the layer the user works on. Only
        called for hosts that offer Preview."""
        ...

    def say(self, message: str, failed: bool) -> None:
        """The flow's message changed (``failed``: a problem): show it, or note it for the caller."""
        ...


class Jobs(Protocol):
    """The backend's side of the flow: the session's business, reached through this narrow seam. A polling host
    (Krita) returns from ``submit`` at once and calls ``done`` from its timer; a blocking one (GIMP) calls ``done``
    before ``submit`` returns."""

    def catalogue(self) -> tuple[Collection[str], Collection[str] | None] | None:
        """The backend's styles and tasks when known (a blocking host may connect here), else None."""
        ...

    def submit(self, kind: str, fields: dict[str, Any], frames: list[Frame], title: str, done: Done) -> Any:
        """Send one request and follow it (progress titled ``title``); ``done`` once it ends. Returns a handle
        for ``cancel`` (a job that has ``fraction`` and ``eta`` for progress bars)."""
        ...

    def cancel(self, job: Any) -> None:
        """Stop a job; it still ends through ``done`` (with the cancelled message)."""
        ...

    def finish(self, job: Any) -> None:
        """End a learning job now, keeping its style as learned so far; it still ends through ``done``. (A blocking
        host finishes from its own window while it waits, and may leave this empty.)"""
        ...
