"""The protocol's replies and events as typed messages (standard library only): the server builds them and sends
``to_frames()``; ``parse_reply`` is the one place a client reads what arrives.

A received reply keeps the message it came from (``header``, ``frames``, ``specs``), so a host may still read a
field this version does not type.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from .protocol import REPLIES, ErrorCode, Frame, FrameSpec, Message, ProtocolError, decode, encode

R = TypeVar("R", bound="Reply")


@dataclass(frozen=True)
class Reply:
    type: ClassVar[str] = ""
    id: str = field(default="", kw_only=True)  # the request's
    message: Message | None = field(default=None, kw_only=True, repr=False, compare=False)  # as received

    def wire(self) -> tuple[dict[str, Any], list[Frame]]:
        return {}, []

    def to_frames(self) -> list[bytes]:
        fields, frames = self.wire()
        return encode(self.type, self.id, fields, frames)

    @classmethod
    def from_frames(cls: builtins.type[R], parts: list[Any]) -> R:
        """The reply in ``parts``, validated; a ProtocolError if it is not one of this type."""
        reply = parse_reply(parts)
        if not isinstance(reply, cls):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, f"a {reply.type} reply, not {cls.type}")
        return reply

    @classmethod
    def _parse(cls, msg: Message) -> Reply:
        return cls(id=msg.id, message=msg)

    @property
    def header(self) -> dict[str, Any]:
        """The header as received (as it would be sent, for one built here)."""
        if self.message is not None:
            return self.message.header
        return {"id": self.id, "type": self.type, **self.wire()[0]}

    @property
    def frames(self) -> list[bytes]:
        return self.message.frames if self.message is not None else [data for _, data in self.wire()[1]]

    @property
    def specs(self) -> list[FrameSpec]:
        return self.message.specs if self.message is not None else [spec for spec, _ in self.wire()[1]]


@dataclass(frozen=True)
class Style:
    """A style as ``hello`` lists it; ``thumbnail`` is a 96x96 RGB u8 frame, or None when its picture is missing."""

    name: str
    scale: str = "fine"
    params: Any = None
    builtin: bool = False
    exemplar: Any = None
    licence: Any = None
    thumbnail: Frame | None = None


@dataclass(frozen=True)
class Info(Reply):
    """What the server is and holds: the reply to ``hello`` (with the styles) and ``status`` (without)."""

    type: ClassVar[str] = "info"
    protocol: int | None = None
    version: str = "?"
    device: str = "?"
    runtime: str = "?"
    tasks: tuple[str, ...] = ()
    styles: tuple[Style, ...] = ()
    max_message_bytes: int = 0
    max_pixels: int = 0
    max_slots: int = 0
    queued: int = 0
    running: str | None = None
    pid: int = 0
    server: str = "retex"

    def wire(self) -> tuple[dict[str, Any], list[Frame]]:
        fields: dict[str, Any] = {
            "server": self.server, "version": self.version, "protocol": self.protocol, "device": self.device,
            "runtime": self.runtime, "tasks": list(self.tasks), "styles": [],
            "max_message_bytes": self.max_message_bytes, "max_pixels": self.max_pixels, "max_slots": self.max_slots,
            "queued": self.queued, "running": self.running, "pid": self.pid,
        }  # fmt: skip
        frames: list[Frame] = []
        for s in self.styles:
            entry = {k: getattr(s, k) for k in ("name", "scale", "params", "builtin", "exemplar", "licence")}
            if s.thumbnail is not None:
                frames.append(s.thumbnail)
            entry["thumbnail"] = None if s.thumbnail is None else len(frames) - 1
            fields["styles"].append(entry)
        return fields, frames

    @classmethod
    def _parse(cls, msg: Message) -> Reply:
        h = msg.header
        styles = h.get("styles", [])
        if not isinstance(styles, list) or not all(isinstance(s, dict) and "name" in s for s in styles):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "'styles' must be a list of named styles")
        tasks = h.get("tasks", [])
        return cls(
            h.get("protocol"),
            str(h.get("version", "?")),
            str(h.get("device", "?")),
            str(h.get("runtime", "?")),
            tuple(str(t) for t in tasks) if isinstance(tasks, list) else (),
            tuple(_style(msg, s) for s in styles),
            h.get("max_message_bytes", 0),
            h.get("max_pixels", 0),
            h.get("max_slots", 0),
            h.get("queued", 0),
            h.get("running"),
            h.get("pid", 0),
            str(h.get("server", "?")),
            id=msg.id,
            message=msg,
        )


def _style(msg: Message, s: dict[str, Any]) -> Style:
    index = s.get("thumbnail")
    thumbnail = None
    if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(msg.frames):
        thumbnail = msg.specs[index], msg.frames[index]
    return Style(
        str(s["name"]), str(s.get("scale") or "fine"), s.get("params"), bool(s.get("builtin")), s.get("exemplar"),
        s.get("licence"), thumbnail,
    )  # fmt: skip


@dataclass(frozen=True)
class Accepted(Reply):
    """A ``run`` or ``train_style`` was queued as ``job``; ``position`` 0 means it runs now."""

    type: ClassVar[str] = "accepted"
    job: str = ""
    position: int = 0

    def wire(self) -> tuple[dict[str, Any], list[Frame]]:
        return {"job": self.job, "position": self.position}, []

    @classmethod
    def _parse(cls, msg: Message) -> Reply:
        return cls(_text(msg.header, "job"), msg.header.get("position", 0), id=msg.id, message=msg)


@dataclass(frozen=True)
class Progress(Reply):
    """How far a job is; a learning run's events every few seconds also carry its ``swatch``: the texture as
    learned so far (RGB u8, the style on mid-grey beside it on the blurred exemplar), once it is worth saving."""

    type: ClassVar[str] = "progress"
    job: str = ""
    fraction: float = 0.0  # 0..1, never decreasing, ends at 1.0
    stage: str = ""
    eta: float | None = None  # seconds
    swatch: Frame | None = None

    def wire(self) -> tuple[dict[str, Any], list[Frame]]:
        fields = {"job": self.job, "fraction": self.fraction, "stage": self.stage, "eta": self.eta}
        if self.swatch is None:
            return fields, []
        return {**fields, "swatch": 0}, [self.swatch]

    @classmethod
    def _parse(cls, msg: Message) -> Reply:
        h = msg.header
        fraction, eta = h.get("fraction", 0.0), h.get("eta")
        if not _is_number(fraction) or not (eta is None or _is_number(eta)):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "a progress event's fraction and eta must be numbers")
        index, swatch = h.get("swatch"), None
        if index is not None:
            spec = msg.specs[0] if index == 0 and len(msg.frames) == 1 else None
            if spec is None or (spec.channels, spec.sample) != ("RGB", "u8"):
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "a progress event's swatch must be its one RGB u8 frame")
            swatch = spec, msg.frames[0]
        job, stage = _text(h, "job"), str(h.get("stage", ""))
        return cls(job, float(fraction), stage, eta, swatch, id=msg.id, message=msg)


@dataclass(frozen=True)
class Result(Reply):
    """A job's outcome. ``run``: ``frame`` (the region, in the input's layout) at ``origin`` in output pixels,
    ``scale``. ``train_style``: ``style`` (name, scale, params) and the ``minutes`` it took, no frame."""

    type: ClassVar[str] = "result"
    job: str = ""
    frame: Frame | None = None
    origin: tuple[int, int] | None = None
    scale: int | None = None
    style: dict[str, Any] | None = None
    minutes: float | None = None

    def wire(self) -> tuple[dict[str, Any], list[Frame]]:
        fields: dict[str, Any] = {"job": self.job}
        if self.origin is not None:
            fields["origin"] = list(self.origin)
        named = {"scale": self.scale, "style": self.style, "minutes": self.minutes}
        fields.update({k: v for k, v in named.items() if v is not None})
        return fields, [] if self.frame is None else [self.frame]

    @classmethod
    def _parse(cls, msg: Message) -> Reply:
        h = msg.header
        origin, style = h.get("origin"), h.get("style")
        if origin is not None and not (isinstance(origin, list) and len(origin) == 2):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "a result's origin must be [x, y]")
        frame = (msg.specs[0], msg.frames[0]) if msg.frames else None
        return cls(
            _text(h, "job"), frame, None if origin is None else (origin[0], origin[1]), h.get("scale"),
            style if isinstance(style, dict) else None, h.get("minutes"), id=msg.id, message=msg,
        )  # fmt: skip


@dataclass(frozen=True)
class Ok(Reply):
    type: ClassVar[str] = "ok"
    job: str | None = None  # the job a cancel stopped

    def wire(self) -> tuple[dict[str, Any], list[Frame]]:
        return ({} if self.job is None else {"job": self.job}), []

    @classmethod
    def _parse(cls, msg: Message) -> Reply:
        job = msg.header.get("job")
        return cls(job if isinstance(job, str) else None, id=msg.id, message=msg)


@dataclass(frozen=True)
class ErrorReply(Reply):
    """The request failed: ``code`` is stable (protocol.ErrorCode), ``message`` a sentence for a person."""

    type: ClassVar[str] = "error"
    code: str = ErrorCode.INTERNAL
    text: str = ""

    def wire(self) -> tuple[dict[str, Any], list[Frame]]:
        return {"code": self.code, "message": self.text}, []

    @classmethod
    def _parse(cls, msg: Message) -> Reply:
        h = msg.header
        return cls(str(h.get("code", ErrorCode.INTERNAL)), str(h.get("message", "")), id=msg.id, message=msg)


KINDS: dict[str, type[Reply]] = {c.type: c for c in (Info, Accepted, Progress, Result, Ok, ErrorReply)}
assert set(KINDS) == set(REPLIES)


def parse_reply(parts: list[Any]) -> Reply:
    """The typed reply in a received multipart message; a ProtocolError if it is not one."""
    msg = decode(parts, REPLIES)
    return KINDS[msg.type]._parse(msg)


def _text(fields: dict[str, Any], key: str) -> str:
    value = fields.get(key, "")
    if not isinstance(value, str):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' must be a string")
    return value


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)
