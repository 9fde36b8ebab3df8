"""The protocol's requests as typed messages (standard library only), each with ``to_frames`` (its multipart
message) and a validating ``from_frames``; ``parse_request`` is the one place a received request is read.

Parsing checks what the protocol itself says (docs/protocol.md): types, frame indices, sizes that must match, the
ranges of strengths, clean-up and minutes, at most MAX_SLOTS slots. What only the backend knows (installed tasks
and styles, a style name's rules, an exemplar's least size) the backend checks on the typed request. A client may
build a request with any values: nothing is checked before the receiver parses it.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from .fields import Slot, is_number, read_cleanup, read_crop, read_frame, read_mask, read_slot
from .heal import Heal, check_heal_run, read_heal
from .protocol import (
    MAX_MINUTES,
    MAX_SLOTS,
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
class FinishRequest(CancelRequest):
    """End one of the sender's learning runs now and keep the style as learned so far ("Good enough, stop"); like
    ``cancel``, another client's job is answered as one that does not exist."""

    type: ClassVar[str] = "finish"


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
    heal: Heal | None = None  # inpainting only: texture the fill like its surroundings (heal.py)

    def wire(self) -> tuple[dict[str, Any], list[Frame]]:
        options: dict[str, Any] = {"preserve_colours": self.preserve_colours}
        if self.cleanup is not None:
            options["cleanup"] = self.cleanup
        if self.heal is not None:
            options["heal"] = self.heal.wire()
        slots = [s.wire() for s in self.slots]
        return run_request(
            self.task, self.image, inpaint_mask=self.inpaint_mask, slots=slots, crop=self.crop, options=options
        )

    @classmethod
    def _parse(cls, msg: Message) -> Request:
        h = msg.header
        task = h.get("task")
        if not isinstance(task, str):
            raise ProtocolError(ErrorCode.UNKNOWN_TASK, f"'task' must be the name of a task, not {task!r}")
        image = read_frame(msg, h, "image")
        size = (image[0].width, image[0].height)
        slots = h.get("slots", [])
        if not isinstance(slots, list):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "'slots' must be a list")
        if len(slots) > MAX_SLOTS:
            raise ProtocolError(ErrorCode.BAD_OPTION, f"at most {MAX_SLOTS} slots per request, not {len(slots)}")
        options = h.get("options", {})
        if not isinstance(options, dict) or not isinstance(options.get("preserve_colours", False), bool):
            raise ProtocolError(ErrorCode.BAD_OPTION, "'options' must be an object; preserve_colours a boolean")
        inpaint_mask = read_mask(msg, h, "inpaint_mask", size, "inpaint_mask must have the image's size")
        crop, heal = read_crop(h.get("crop"), size), read_heal(options.get("heal"))
        if heal is not None:
            check_heal_run(task, len(slots), crop)
        return cls(
            task,
            image,
            tuple(read_slot(msg, s, size) for s in slots),
            inpaint_mask,
            crop,
            options.get("preserve_colours", False),
            read_cleanup(options.get("cleanup")),
            heal,
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
        if not is_number(minutes) or not 0 < minutes <= MAX_MINUTES:
            raise ProtocolError(ErrorCode.BAD_OPTION, f"'minutes' must be a number in (0, {MAX_MINUTES}]")
        return cls(read_frame(msg, h, "exemplar"), name, scale, float(minutes), id=msg.id)


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
    c.type: c
    for c in (
        HelloRequest,
        StatusRequest,
        RunRequest,
        CancelRequest,
        FinishRequest,
        TrainStyleRequest,
        ShutdownRequest,
    )
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
