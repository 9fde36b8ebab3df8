"""The fields of a request, read and checked where ``requests`` parses them: frame indices, masks, a texture slot
(style, strength, mask, texture scale and seed), the crop and the clean-up strength (standard library only)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .protocol import MAX_STRENGTH, ErrorCode, Frame, Message, ProtocolError

AUTO = "auto"  # the clean-up the model judges itself
TEXTURE_SCALES = (0.5, 2.0)  # a texture's size: least, most (1 = as trained)
MAX_SEED = 2**31 - 1  # a texture's variation: 0 (as trained) to this


@dataclass(frozen=True)
class Slot:
    """A style applied after the restoration, at ``strength`` (0..2), where ``mask`` says (None: everywhere), at
    texture ``scale`` (its size: 0.5..2, 1 = as trained) and ``seed`` (its variation: 0..MAX_SEED, 0 = as trained)."""

    style: str
    strength: float = 1.0
    mask: Frame | None = None
    scale: float = 1.0
    seed: int = 0

    def wire(self) -> dict[str, Any]:
        """The slot's entry for ``protocol.run_request``: scale and seed only when not the default, so a request
        without them is byte for byte what it was before they existed."""
        entry: dict[str, Any] = {"style": self.style, "strength": self.strength, "mask": self.mask}
        if self.scale != 1.0:
            entry["scale"] = self.scale
        if self.seed != 0:
            entry["seed"] = self.seed
        return entry


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def read_frame(msg: Message, fields: dict[str, Any], key: str) -> Frame:
    """The frame whose index is ``fields[key]``."""
    index = fields.get(key)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(msg.frames):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' must be the index of a frame")
    return msg.specs[index], msg.frames[index]


def read_mask(msg: Message, fields: dict[str, Any], key: str, size: tuple[int, int], wrong: str) -> Frame | None:
    """An optional mask frame of the image's ``size``."""
    if fields.get(key) is None:
        return None
    spec, data = read_frame(msg, fields, key)
    if (spec.width, spec.height) != size:
        raise ProtocolError(ErrorCode.BAD_FRAME, wrong)
    return spec, data


def read_slot(msg: Message, slot: Any, size: tuple[int, int]) -> Slot:
    if not isinstance(slot, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "each slot must be an object")
    style, strength = slot.get("style"), slot.get("strength", 1.0)
    if not isinstance(style, str):
        raise ProtocolError(ErrorCode.UNKNOWN_STYLE, f"unknown style {style!r}")
    if not is_number(strength):
        raise ProtocolError(ErrorCode.BAD_OPTION, f"a slot's strength must be a number in [0, {MAX_STRENGTH:g}]")
    if not 0.0 <= strength <= MAX_STRENGTH:  # also refuses NaN
        raise ProtocolError(ErrorCode.BAD_OPTION, f"strength {strength} is outside [0, {MAX_STRENGTH:g}]")
    frame = read_mask(msg, slot, "mask", size, "a slot's mask must have the image's size")
    return Slot(
        style, float(strength), frame, read_texture_scale(slot.get("scale", 1.0)), read_seed(slot.get("seed", 0))
    )


def read_texture_scale(scale: Any) -> float:
    """A slot's texture scale (its size): a number from 0.5 to 2; absent means 1."""
    lo, hi = TEXTURE_SCALES
    if not is_number(scale) or not lo <= scale <= hi:  # also refuses NaN
        raise ProtocolError(
            ErrorCode.BAD_OPTION, f"a slot's scale must be a number from {lo:g} to {hi:g} (got {scale!r})"
        )
    return float(scale)


def read_seed(seed: Any) -> int:
    """A slot's seed (its variation): a whole number from 0 to MAX_SEED; absent means 0."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ProtocolError(
            ErrorCode.BAD_OPTION, f"a slot's seed must be a whole number from 0 to {MAX_SEED} (got {seed!r})"
        )
    return seed


def read_crop(crop: Any, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
    if crop is None:
        return None
    width, height = size
    if not (
        isinstance(crop, list)
        and len(crop) == 4
        and all(isinstance(v, int) and not isinstance(v, bool) for v in crop)
        and 0 <= crop[0] < width
        and 0 <= crop[1] < height
        and 0 < crop[2] <= width - crop[0]
        and 0 < crop[3] <= height - crop[1]
    ):
        raise ProtocolError(ErrorCode.BAD_OPTION, "'crop' must be [x, y, width, height] inside the image")
    return crop[0], crop[1], crop[2], crop[3]


def read_cleanup(value: Any) -> float | None:
    """A clean-up strength in [0, 1], or None for auto (absent, null or "auto")."""
    if value is None or value == AUTO:
        return None
    if not is_number(value):
        raise ProtocolError(
            ErrorCode.BAD_OPTION, f"clean-up strength must be a number from 0 to 1, or 'auto' (got {value!r})"
        )
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ProtocolError(ErrorCode.BAD_OPTION, f"clean-up strength must be from 0 to 1 (got {value!r})")
    return float(value)
