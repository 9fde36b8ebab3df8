"""What the user asked for, whatever the editor: a restoration task, texture slots and options; the request that
carries them and the name of the layer that shows the result."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from .fields import MAX_SEED, TEXTURE_SCALES
from .heal import Heal
from .protocol import Frame, run_request

# The photo models first: they handle what photos carry (noise, JPEG, mild blur); the clean-image models after.
TASKS = {
    "none": "No restoration",
    "photo-sr2": "Upscale ×2 (photos: also removes noise and JPEG)",
    "photo-sr4": "Upscale ×4 (photos: also removes noise and JPEG)",
    "photo": "Clean up noise and JPEG (photos)",
    "sr2": "Super-resolution ×2",
    "sr4": "Super-resolution ×4",
    "denoise": "Denoise",
    "deblur": "Deblur",
    "inpaint": "Inpaint (fill a mask)",
}
SCALES = {"sr2": 2, "sr4": 4, "photo-sr2": 2, "photo-sr4": 4}
PHOTO_TASKS = ("photo", "photo-sr2", "photo-sr4")  # these take a clean-up strength
# What a layer says was done: the menu's words without the explanation in brackets.
DONE = {key: label.split(" (")[0] for key, label in TASKS.items()}

# Words both editors show, so they say the same.
KEEP_COLOURS = "Keep colours"
KEEP_COLOURS_TIP = "Texture the lightness only: hue and saturation stay as restored"
SIZE_TIP = "The texture's size: 100 % as learned, 50 % finer, 200 % coarser"
VARIATION_TIP = "Another variation of the same texture: each number gives its own, the same number the same again"
CLEANUP_TIP = "Clean-up: how much noise and JPEG to remove (0 % keeps close to the input, 100 % removes the most)"
SELECT_TO_LEARN = "Select an area of the texture to learn first (at least 64 pixels a side; 128 for a coarse style)."
NAME_TO_LEARN = "Give the new texture a name."
BUSY = "Retex is still working: wait for it, or Cancel it first."
LEARNING = "Retex is already learning a texture: wait for it, or Cancel it first."
NEEDS_MASK = "Inpainting needs a mask: choose what to fill (e.g. the current selection)."
HEAL_ACTION = "Heal with texture"  # the action: fill the selection, textured like what is around it
HEAL_TIP = "Fill the selection and give it the texture around it, in a new layer (select a hole with texture around it)"
HEAL_HOLE = "Select the hole to heal, with some of the texture around it inside the image."
SELECT_TO_HEAL = f"There is no selection. {HEAL_HOLE}"
SURROUNDINGS = "The texture around it"  # a heal's texture when no style is chosen
RESULT_PREFIX = "Retex"  # every layer Retex adds is named so, the preview too
PREVIEW_NAME = "Retex preview"


class UserError(Exception):
    """Something the user can put right; the message says what, in plain words."""


@dataclass(frozen=True)
class Shown:
    """Which options a task uses, so an editor shows (or greys out) only those."""

    fill: bool  # the mask of what to fill (inpainting)
    cleanup: bool  # the clean-up strength (photo models)
    output: bool  # where a larger result goes (upscaling)

    @classmethod
    def of(cls, task: str) -> Shown:
        return cls(task == "inpaint", task in PHOTO_TASKS, task in SCALES)


@dataclass
class Slot:
    style: str
    strength: float = 1.0
    mask: Frame | None = None  # None: the whole image
    scale: float = 1.0  # the texture's size ("Size", 50 to 200 %)
    seed: int = 0  # the texture's variation ("Variation", a whole number)

    def words(self) -> str:
        """How the slot reads in a layer's name: ``grass 80 %``, ``grass 80 % size 200 % variation 7``."""
        text = f"{self.style} {round(self.strength * 100)} %"
        if self.scale != 1:
            text += f" size {round(self.scale * 100)} %"
        return text + (f" variation {self.seed}" if self.seed else "")

    def check(self) -> None:
        lo, hi = TEXTURE_SCALES
        if not 0 <= self.strength <= 2:
            raise UserError(f"The strength of '{self.style}' must be between 0 and 2.")
        if not lo <= self.scale <= hi:
            raise UserError(f"The size of '{self.style}' must be between {lo:.0%} and {hi:.0%}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= MAX_SEED:
            raise UserError(f"The variation of '{self.style}' must be a whole number from 0 to {MAX_SEED}.")

    def wire(self) -> dict[str, Any]:
        """The slot as ``protocol.run_request`` takes it: size and variation only when not the default."""
        entry: dict[str, Any] = {"style": self.style, "strength": self.strength, "mask": self.mask}
        if self.scale != 1:
            entry["scale"] = self.scale
        if self.seed:
            entry["seed"] = self.seed
        return entry


@dataclass
class Recipe:
    task: str
    slots: list[Slot] = field(default_factory=list)
    preserve_colours: bool = False
    cleanup: float | None = None  # photo models: 0 (close to the input) to 1; None: the backend's "auto"
    heal: Heal | None = None  # inpainting only: texture the fill like its surroundings, or as ``heal.style``

    @property
    def scale(self) -> int:
        return SCALES.get(self.task, 1)

    def name(self) -> str:
        """The result layer's name, e.g. ``Retex: Denoise + straw 80 %`` or ``Retex: Upscale ×2 (clean-up 50 %)``:
        what was done, in the menu's words, readable in the layer list (a bare number would read like a copy
        number); a photo task's clean-up strength is said unless it was auto."""
        if self.heal is not None:
            style, seed = self.heal.style, self.heal.seed
            return (
                f"{RESULT_PREFIX}: Heal" + (f" with {style}" if style else "") + (f" variation {seed}" if seed else "")
            )
        parts = [] if self.task == "none" else [DONE.get(self.task, self.task)]
        if self.task in PHOTO_TASKS and self.cleanup is not None:
            parts[0] += f" (clean-up {round(self.cleanup * 100)} %)"
        parts += [slot.words() for slot in self.slots]
        suffix = " (colours kept)" if self.preserve_colours and self.slots else ""
        return f"{RESULT_PREFIX}: " + " + ".join(parts) + suffix

    def document_name(self, source: str) -> str:
        """A super-resolution result's image name: the source's name (no extension) and the factor, ``photo ×2``."""
        stem = source.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
        stem = stem.rsplit(".", 1)[0] if "." in stem.strip(".") else stem
        return f"{stem or 'Untitled'} ×{self.scale}"

    def document_path(self, source: str, suffix: str, exists: Callable[[str], bool]) -> str:
        """Where a super-resolution image is saved by default: beside its source's file ``source``, named after it
        (``photo ×2.kra``), never over a file that exists."""
        return free_path(os.path.dirname(source), self.document_name(source), suffix, exists)

    def check(self, styles: Collection[str] | None = None, tasks: Collection[str] | None = None) -> None:
        """Refuse what the backend would refuse, before any pixels are read or sent; ``styles`` and ``tasks`` (from
        the backend's hello) are checked when known."""
        if self.task not in TASKS:
            raise UserError(f"Unknown restoration '{self.task}'.")
        if self.task == "none" and not self.slots:
            raise UserError("Nothing to do: choose a restoration or add a texture.")
        if self.cleanup is not None and not 0 <= self.cleanup <= 1:
            raise UserError("The clean-up strength must be between 0 and 1.")
        for slot in self.slots:
            slot.check()
            if styles is not None and slot.style not in styles:
                raise UserError(f"The style '{slot.style}' no longer exists. Pick another one for that texture.")
        if self.heal is not None:
            self._check_heal(styles)
        if tasks is not None and self.task != "none" and self.task not in tasks:
            raise UserError(
                f"The backend has no model for '{TASKS[self.task]}'. Run the installer again to get it, "
                "or choose another restoration."
            )

    def _check_heal(self, styles: Collection[str] | None) -> None:
        """A heal is the inpainting with its own texture: no slots; its style exists and its variation is whole."""
        assert self.heal is not None
        style, seed = self.heal.style, self.heal.seed
        if self.task != "inpaint" or self.slots:
            raise UserError(f"{HEAL_ACTION} fills the selection with its own texture: no other restoration or texture.")
        if style is not None and styles is not None and style not in styles:
            raise UserError(f"The style '{style}' no longer exists. Pick another one, or {SURROUNDINGS.lower()}.")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise UserError(f"The variation must be a whole number from 0 to {MAX_SEED}.")

    @property
    def inpaints(self) -> bool:
        return self.task == "inpaint"

    def check_hole(self, hole: object | None) -> None:
        """Inpainting without a mask is refused before any pixels are read."""
        if self.inpaints and hole is None:
            raise UserError(SELECT_TO_HEAL if self.heal is not None else NEEDS_MASK)

    def request(
        self, image: Frame, inpaint_mask: Frame | None = None, crop: tuple[int, int, int, int] | None = None
    ) -> tuple[dict[str, Any], list[Frame]]:
        """The ``run`` request's fields and frames."""
        self.check_hole(inpaint_mask)
        slots = [s.wire() for s in self.slots]
        options: dict[str, Any] = {"preserve_colours": self.preserve_colours}
        if self.task in PHOTO_TASKS:
            options["cleanup"] = "auto" if self.cleanup is None else self.cleanup
        if self.heal is not None:
            options["heal"] = self.heal.wire()
        return run_request(self.task, image, inpaint_mask=inpaint_mask, slots=slots, crop=crop, options=options)


def free_path(folder: str, stem: str, suffix: str, exists: Callable[[str], bool]) -> str:
    """``folder/stem.suffix``, numbered (``stem (2).suffix``…) past the files that exist: a result's own name, so a
    plain Save never overwrites anything."""
    for n in range(1, 1000):
        path = f"{folder}/{stem}{'' if n == 1 else f' ({n})'}{suffix}"
        if not exists(path):
            return path
    raise UserError(f"Too many files named '{stem}' in {folder}.")


def mask_coverage(mask: bytes) -> str:
    """``empty``, ``full`` or ``partial`` for a one-byte-per-pixel mask (a selection); C-speed, no numpy."""
    if mask.count(0) == len(mask):
        return "empty"
    return "full" if mask.count(255) == len(mask) else "partial"


def check_mask(data: bytes, kind: str, name: str = "") -> None:
    """Refuse a mask that selects nothing (or, for the selection, everything): almost surely not what was meant.
    ``kind``: selection, hole (the selection a heal fills), selection_mask, layer (a layer's luminance or alpha), or a
    texture's words for a channel."""
    coverage = mask_coverage(data) if data else "empty"
    if kind == "hole" and coverage != "partial":
        raise UserError(SELECT_TO_HEAL if coverage == "empty" else f"The selection covers the whole image. {HEAL_HOLE}")
    if kind == "selection" and coverage != "partial":
        raise UserError(
            "There is no selection: select the area first, or pick another mask ('Whole image'…)."
            if coverage == "empty"
            else "The selection covers the whole image: select only the area meant, or pick 'Whole image'."
        )
    if data.count(0) < len(data):
        return
    if kind == "selection_mask":
        raise UserError(f"The selection mask '{name}' is empty: select where the texture goes.")
    if kind == "layer":
        raise UserError(f"The mask layer '{name}' is empty: paint where the texture goes.")
    raise UserError(f"{kind}: its mask leaves out all of the layer '{name}', so it would do nothing.")


def channel(data: bytes, channels: int, sample_bytes: int, index: int) -> bytes:
    """One channel (e.g. alpha) of interleaved pixels, as the bytes of a one-channel frame of the same sample type:
    one strided slice per byte of a sample, so it runs at C speed without numpy."""
    pixel = channels * sample_bytes
    out = bytearray(len(data) // channels)
    for b in range(sample_bytes):
        out[b::sample_bytes] = data[index * sample_bytes + b :: pixel]
    return bytes(out)
