"""The protocol's requests as typed messages (standard library only), each with ``to_frames`` (its multipart
message) and a validating ``from_frames``; ``parse_request`` is the one place a received request is read.

Parsing checks what the protocol itself says (docs/protocol.md): types, frame indices, sizes that must match, the
ranges of strengths, clean-up and minutes, at most MAX_SLOTS slots. What only the backend knows (installed tasks
and styles, a style name's rules, an exemplar's least size) the backend checks on the typed request. A client may
build a request with any values: nothing is checked before the receiver parses it.
"""

from __future__ import annotations

import builtins
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from .protocol import (
    MAX_MINUTES,
    MAX_SLOTS,
    MAX_STRENGTH,
    REQUESTS,
    ErrorCode,
    Frame,
    Message,
    ProtocolError,
    decode,
    encode,
    run_request,
    train_style_request,
)

AUTO = "auto"  # the clean-up the model judges itself
SCALES = ("fine", "coarse")  # a style's scale
DEFAULT_MINUTES = 8.0
R = TypeVar("R", bound="Request")


@dataclass(frozen=True)
class Request:
    """A request; ``id`` is the sender's (every reply about it carries it), set when it is sent or received."""

    type: ClassVar[str] = ""
    id: str = field(default="", kw_only=True)

    def wire(self) -> tuple[dict[str, Any], list[Frame]]:
        """The header fields beside v/id/type/frames, and the frames."""
        return {}, []

    @property
    def kind(self) -> str:
        return self.type

    def to_frames(self, msg_id: str | None = None) -> list[bytes]:
        fields, frames = self.wire()
        return encode(self.kind, msg_id or self.id, fields, frames)

    @classmethod
    def from_frames(cls: builtins.type[R], parts: list[bytes], max_pixels: int = 400_000_000) -> R:
        request = parse_request(parts, max_pixels)
        if not isinstance(request, cls):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"a {request.type} request, not {cls.type}", request.id)
        return request

    @classmethod
    def _parse(cls, msg: Message) -> Request:
        return cls(id=msg.id)


@dataclass(frozen=True)
class HelloRequest(Request):
    type: ClassVar[str] = "hello"


@dataclass(frozen=True)
class StatusRequest(Request):
    type: ClassVar[str] = "status"


@dataclass(frozen=True)
class ShutdownRequest(Request):
    type: ClassVar[str] = "shutdown"


@dataclass(frozen=True)
class CancelRequest(Request):
    type: ClassVar[str] = "cancel"
    job: str

    def wire(self) -> tuple[dict[str, Any], list[Frame]]:
        return {"job": self.job}, []

    @classmethod
    def _parse(cls, msg: Message) -> Request:
        job = msg.header.get("job")
        if not isinstance(job, str):  # no job has such an id: answered as one that does not exist
            raise ProtocolError(ErrorCode.UNKNOWN_JOB, f"no queued or running job {job!r}")
        return cls(job, id=msg.id)


@dataclass(frozen=True)
class Slot:
    """A style applied after the restoration, at ``strength`` (0..2), where ``mask`` says (None: everywhere)."""

    style: str
    strength: float = 1.0
    mask: Frame | None = None


@dataclass(frozen=True)
class RunRequest(Request):
    """Restore ``image`` with ``task`` (``none``: texture only), then texture it with ``slots`` in order."""

    type: ClassVar[str] = "run"
    task: str
    image: Frame
    slots: tuple[Slot, ...] = ()
    inpaint_mask: Frame | None = None
    crop: tuple[int, int, int, int] | None = None  # x, y, width, height: restore only that region
    preserve_colours: bool = False
    cleanup: float | None = None  # photo models: 0 (keep the input) .. 1 (remove the most); None = auto

    def wire(self) -> tuple[dict[str, Any], list[Frame]]:
        options: dict[str, Any] = {"preserve_colours": self.preserve_colours}
        if self.cleanup is not None:
            options["cleanup"] = self.cleanup
        slots = [{"style": s.style, "strength": s.strength, "mask": s.mask} for s in self.slots]
        return run_request(
            self.task, self.image, inpaint_mask=self.inpaint_mask, slots=slots, crop=self.crop, options=options
        )

    @classmethod
    def _parse(cls, msg: Message) -> Request:
        h = msg.header
        task = h.get("task")
        if not isinstance(task, str):
            raise ProtocolError(ErrorCode.UNKNOWN_TASK, f"'task' must be the name of a task, not {task!r}")
        image = _frame(msg, h, "image")
        size = (image[0].width, image[0].height)
        slots = h.get("slots", [])
        if not isinstance(slots, list):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "'slots' must be a list")
        if len(slots) > MAX_SLOTS:
            raise ProtocolError(ErrorCode.BAD_OPTION, f"at most {MAX_SLOTS} slots per request, not {len(slots)}")
        options = h.get("options", {})
        if not isinstance(options, dict) or not isinstance(options.get("preserve_colours", False), bool):
            raise ProtocolError(ErrorCode.BAD_OPTION, "'options' must be an object; preserve_colours a boolean")
        inpaint_mask = _mask(msg, h, "inpaint_mask", size, "inpaint_mask must have the image's size")
        return cls(
            task,
            image,
            tuple(_slot(msg, s, size) for s in slots),
            inpaint_mask,
            _crop(h.get("crop"), size),
            options.get("preserve_colours", False),
            _cleanup(options.get("cleanup")),
            id=msg.id,
        )


@dataclass(frozen=True)
class TrainStyleRequest(Request):
    """Learn the style ``name`` of ``scale`` (fine or coarse) from ``exemplar`` in about ``minutes``."""

    type: ClassVar[str] = "train_style"
    exemplar: Frame
    name: str
    scale: str = "fine"
    minutes: float = DEFAULT_MINUTES

    def wire(self) -> tuple[dict[str, Any], list[Frame]]:
        return train_style_request(self.exemplar, self.name, scale=self.scale, minutes=self.minutes)

    @classmethod
    def _parse(cls, msg: Message) -> Request:
        h = msg.header
        name, scale, minutes = h.get("name"), h.get("scale", "fine"), h.get("minutes", DEFAULT_MINUTES)
        if not isinstance(name, str):
            raise ProtocolError(ErrorCode.BAD_OPTION, f"style name {name!r} is not allowed: it must be a string")
        if scale not in SCALES:
            raise ProtocolError(ErrorCode.BAD_OPTION, "'scale' must be 'fine' or 'coarse'")
        if not _is_number(minutes) or not 0 < minutes <= MAX_MINUTES:
            raise ProtocolError(ErrorCode.BAD_OPTION, f"'minutes' must be a number in (0, {MAX_MINUTES}]")
        return cls(_frame(msg, h, "exemplar"), name, scale, float(minutes), id=msg.id)


@dataclass(frozen=True)
class RawRequest(Request):
    """A request sent exactly as given, unchecked: for tests and tools that probe a server with malformed ones."""

    raw_type: str
    fields: dict[str, Any] = field(default_factory=dict)
    frames: list[Frame] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.raw_type

    def wire(self) -> tuple[dict[str, Any], list[Frame]]:
        return self.fields, self.frames


KINDS: dict[str, type[Request]] = {
    c.type: c for c in (HelloRequest, StatusRequest, RunRequest, CancelRequest, TrainStyleRequest, ShutdownRequest)
}
assert set(KINDS) == set(REQUESTS)


def parse_request(parts: list[Any], max_pixels: int = 400_000_000) -> Request:
    """The typed request in a received multipart message, validated; a ProtocolError (its ``id`` set once the header
    was read) otherwise. Sizes are checked before anything is allocated (``protocol.decode``)."""
    msg = decode(parts, REQUESTS, max_pixels)
    try:
        return KINDS[msg.type]._parse(msg)
    except ProtocolError as e:
        e.id = msg.id
        raise


def request_of(kind: str, fields: dict[str, Any], frames: list[Frame]) -> Request:
    """The typed request a host's (fields, frames) make (``protocol.run_request``), read as a receiver reads it."""
    return parse_request(encode(kind, "local", fields, frames))


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _frame(msg: Message, fields: dict[str, Any], key: str) -> Frame:
    """The frame whose index is ``fields[key]``."""
    index = fields.get(key)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(msg.frames):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' must be the index of a frame")
    return msg.specs[index], msg.frames[index]


def _mask(msg: Message, fields: dict[str, Any], key: str, size: tuple[int, int], wrong: str) -> Frame | None:
    """An optional mask frame of the image's ``size``."""
    if fields.get(key) is None:
        return None
    spec, data = _frame(msg, fields, key)
    if (spec.width, spec.height) != size:
        raise ProtocolError(ErrorCode.BAD_FRAME, wrong)
    return spec, data


def _slot(msg: Message, slot: Any, size: tuple[int, int]) -> Slot:
    if not isinstance(slot, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "each slot must be an object")
    style, strength = slot.get("style"), slot.get("strength", 1.0)
    if not isinstance(style, str):
        raise ProtocolError(ErrorCode.UNKNOWN_STYLE, f"unknown style {style!r}")
    if not _is_number(strength):
        raise ProtocolError(ErrorCode.BAD_OPTION, f"a slot's strength must be a number in [0, {MAX_STRENGTH:g}]")
    if not 0.0 <= strength <= MAX_STRENGTH:  # also refuses NaN
        raise ProtocolError(ErrorCode.BAD_OPTION, f"strength {strength} is outside [0, {MAX_STRENGTH:g}]")
    return Slot(style, float(strength), _mask(msg, slot, "mask", size, "a slot's mask must have the image's size"))


def _crop(crop: Any, size: tuple[int, int]) -> tuple[int, int, int, int] | None:
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


def _cleanup(value: Any) -> float | None:
    """A clean-up strength in [0, 1], or None for auto (absent, null or "auto")."""
    if value is None or value == AUTO:
        return None
    if not _is_number(value):
        raise ProtocolError(
            ErrorCode.BAD_OPTION, f"clean-up strength must be a number from 0 to 1, or 'auto' (got {value!r})"
        )
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ProtocolError(ErrorCode.BAD_OPTION, f"clean-up strength must be from 0 to 1 (got {value!r})")
    return float(value)
