"""Heal with texture on the wire: a ``run`` of the inpainting whose ``options.heal`` asks the backend to texture the
fill like the ring around the hole (``backend/heal.py``), read and checked where ``requests`` parses a run.

A heal has its own texture (the ring's detail, or ``style``), so it takes no texture slots; and it reads the ring
around the hole, so it runs on the whole image, never a crop. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .fields import MAX_SEED, is_number
from .protocol import ErrorCode, ProtocolError

KEYS = ("style", "seed", "detail")


@dataclass(frozen=True)
class Heal:
    """The texture of a heal: ``style`` None is the ring's own detail (instant), else that style's; ``seed`` its
    variation; ``detail`` the share of the ring's fine detail the fill gets (0..1; None: the backend's default)."""

    style: str | None = None
    seed: int = 0
    detail: float | None = None

    def wire(self) -> dict[str, Any]:
        """``options.heal``: only what is not the default."""
        entry: dict[str, Any] = {}
        if self.style is not None:
            entry["style"] = self.style
        if self.seed:
            entry["seed"] = self.seed
        if self.detail is not None:
            entry["detail"] = self.detail
        return entry


def read_heal(value: Any) -> Heal | None:
    """``options.heal`` of a run: absent is no heal; else an object with the optional keys ``KEYS``."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - set(KEYS):
        raise ProtocolError(ErrorCode.BAD_OPTION, f"'heal' must be an object with at most {', '.join(KEYS)}")
    style, seed, detail = value.get("style"), value.get("seed", 0), value.get("detail")
    if style is not None and not isinstance(style, str):
        raise ProtocolError(ErrorCode.UNKNOWN_STYLE, f"unknown style {style!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ProtocolError(ErrorCode.BAD_OPTION, f"a heal's seed must be a whole number from 0 to {MAX_SEED}")
    if detail is not None and not (is_number(detail) and 0 <= detail <= 1):  # also refuses NaN
        raise ProtocolError(ErrorCode.BAD_OPTION, f"a heal's detail must be a number from 0 to 1 (got {detail!r})")
    return Heal(style, seed, None if detail is None else float(detail))


def check_heal_run(task: str, slots: int, crop: object) -> None:
    """A heal is the inpainting of the whole image, with its own texture."""
    if task != "inpaint" or slots or crop is not None:
        raise ProtocolError(
            ErrorCode.BAD_OPTION,
            "a heal is a run of the 'inpaint' task on the whole image: no texture slots, no crop",
        )
