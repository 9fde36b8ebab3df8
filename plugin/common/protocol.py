"""The Retex wire protocol, implemented once for the client (editor plug-ins) and the server (backend).

A message is a ZeroMQ multipart message: a UTF-8 JSON header, then zero or more raw binary frames (pixels, masks),
never base64. The header describes every frame (size, channel order, sample type, byte count) so a host sends the
pixels it already holds, and the receiver checks every declared size against the real frame length *before*
allocating anything. Standard library only: the editors' Pythons have no numpy. The full specification with
examples is docs/protocol.md.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, TypeGuard

VERSION = 1
MAX_HEADER_BYTES = 64 * 1024
MAX_SIDE = 65_536  # pixels, per side
MAX_FRAMES = 64
MAX_SLOTS = 16  # texture slots per run request
MAX_STRENGTH = 2.0  # a texture slot's strength: 0 (none) .. 2
MAX_MINUTES = 60  # a train_style request's budget
TOKEN_USER = "retex"  # the ZeroMQ PLAIN user name of token-protected endpoints; the token is the password

SAMPLE_BYTES = {"u8": 1, "u16": 2, "f16": 2, "f32": 4}
# Channel layouts a frame may have; the letters say the order of the interleaved samples.
CHANNELS = {"RGBA": 4, "BGRA": 4, "RGB": 3, "BGR": 3, "Y": 1, "A": 1}

REQUESTS = ("hello", "run", "cancel", "finish", "train_style", "status", "shutdown")
REPLIES = ("info", "accepted", "progress", "result", "ok", "error")


class ErrorCode:
    """Stable error codes: clients switch on these, humans read the message beside them."""

    BAD_MESSAGE = "bad_message"  # not a protocol message at all (framing, JSON, schema)
    BAD_VERSION = "bad_version"
    BAD_FRAME = "bad_frame"  # a frame whose size does not match its description
    TOO_LARGE = "too_large"
    UNAUTHORIZED = "unauthorized"
    UNKNOWN_TASK = "unknown_task"
    UNKNOWN_STYLE = "unknown_style"
    UNKNOWN_JOB = "unknown_job"
    BAD_OPTION = "bad_option"
    CANCELLED = "cancelled"
    TOO_EARLY = "too_early"  # a learning run finished before its texture was worth saving: nothing saved
    OUT_OF_MEMORY = "out_of_memory"
    TRAINING_NOT_INSTALLED = "training_not_installed"  # "learn texture" on the inference-only install (no torch)
    INTERNAL = "internal"


class ProtocolError(Exception):
    """A message that breaks the protocol; ``code`` is one of ErrorCode."""

    def __init__(self, code: str, message: str, msg_id: str = "?") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.id = msg_id  # the id of the message it is about, once its header was read ("?" before)


@dataclass(frozen=True)
class FrameSpec:
    """What one binary frame holds: ``height`` rows of ``width`` pixels of interleaved ``channels`` samples."""

    width: int
    height: int
    channels: str = "RGBA"
    sample: str = "u8"
    name: str = ""

    @property
    def nbytes(self) -> int:
        return self.width * self.height * CHANNELS[self.channels] * SAMPLE_BYTES[self.sample]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "bytes": self.nbytes}

    @classmethod
    def from_json(cls, d: Any, max_pixels: int) -> FrameSpec:
        if not isinstance(d, dict):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "a frame description must be an object")
        width, height = d.get("width"), d.get("height")
        if not (_is_int(width) and _is_int(height) and 0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
            raise ProtocolError(ErrorCode.BAD_FRAME, f"frame size must be 1..{MAX_SIDE} pixels per side")
        if width * height > max_pixels:
            raise ProtocolError(ErrorCode.TOO_LARGE, f"frame of {width}x{height} exceeds {max_pixels} pixels")
        channels, sample, name = d.get("channels"), d.get("sample"), d.get("name", "")
        if channels not in CHANNELS:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"channels must be one of {', '.join(CHANNELS)}")
        if sample not in SAMPLE_BYTES:
            raise ProtocolError(ErrorCode.BAD_FRAME, f"sample must be one of {', '.join(SAMPLE_BYTES)}")
        if not isinstance(name, str) or len(name) > 64:
            raise ProtocolError(ErrorCode.BAD_FRAME, "frame name must be a string of at most 64 characters")
        spec = cls(width, height, channels, sample, name)
        if d.get("bytes") != spec.nbytes:
            raise ProtocolError(
                ErrorCode.BAD_FRAME,
                f"frame '{name}' declares {d.get('bytes')!r} bytes, its size and format need {spec.nbytes}",
            )
        return spec


Frame = tuple[FrameSpec, bytes]


@dataclass
class Message:
    """A decoded message: its header (a dict with at least v, id, type) and its frames with their specs."""

    header: dict[str, Any]
    frames: list[bytes] = field(default_factory=list)
    specs: list[FrameSpec] = field(default_factory=list)

    @property
    def type(self) -> str:
        return self.header["type"]

    @property
    def id(self) -> str:
        return self.header["id"]


def _is_int(v: Any) -> TypeGuard[int]:
    """An integer that is not a bool (JSON's true is no number)."""
    return isinstance(v, int) and not isinstance(v, bool)


def encode(
    msg_type: str,
    msg_id: str,
    fields: dict[str, Any] | None = None,
    frames: list[tuple[FrameSpec, bytes]] | None = None,
) -> list[bytes]:
    """Build the parts of a multipart message; frame bytes are passed through untouched (no copy)."""
    header: dict[str, Any] = {"v": VERSION, "id": msg_id, "type": msg_type, **(fields or {})}
    frames = frames or []
    for spec, data in frames:
        if len(data) != spec.nbytes:
            raise ValueError(f"frame '{spec.name}' has {len(data)} bytes, its spec needs {spec.nbytes}")
    header["frames"] = [spec.to_json() for spec, _ in frames]
    return [json.dumps(header, separators=(",", ":")).encode("utf-8"), *(data for _, data in frames)]


def decode(parts: list[bytes], allowed_types: tuple[str, ...], max_pixels: int = 400_000_000) -> Message:
    """Parse and validate a multipart message; raises ProtocolError (with a stable code) on anything wrong.

    Checks happen before any allocation sized by the header: the frame count, every declared size against
    MAX_SIDE and ``max_pixels``, and each declared byte count against the frame actually received.
    """
    if not parts:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "empty message")
    raw = parts[0]
    if len(raw) > MAX_HEADER_BYTES:
        raise ProtocolError(ErrorCode.TOO_LARGE, f"header larger than {MAX_HEADER_BYTES} bytes")
    try:
        header = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "header is not UTF-8 JSON") from None
    except RecursionError:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "header is nested too deeply") from None
    if not isinstance(header, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "header must be a JSON object")
    version, msg_id, msg_type = header.get("v"), header.get("id"), header.get("type")
    if not isinstance(msg_id, str) or not 0 < len(msg_id) <= 64:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "id must be a string of 1 to 64 characters")
    if version != VERSION:
        raise ProtocolError(ErrorCode.BAD_VERSION, f"protocol version {version!r} is not supported (this is {VERSION})")
    if msg_type not in allowed_types:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"unknown message type {msg_type!r}")
    descs = header.get("frames", [])
    if not isinstance(descs, list) or len(descs) > MAX_FRAMES:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"frames must be a list of at most {MAX_FRAMES} descriptions")
    if len(descs) != len(parts) - 1:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"header describes {len(descs)} frames, message has {len(parts) - 1}")
    specs = [FrameSpec.from_json(d, max_pixels) for d in descs]
    frames = list(parts[1:])
    for spec, data in zip(specs, frames, strict=True):
        if len(data) != spec.nbytes:
            raise ProtocolError(
                ErrorCode.BAD_FRAME, f"frame '{spec.name}' has {len(data)} bytes, its description says {spec.nbytes}"
            )
    return Message(header, frames, specs)


def run_request(
    task: str,
    image: Frame,
    *,
    inpaint_mask: Frame | None = None,
    slots: list[dict[str, Any]] | None = None,
    crop: tuple[int, int, int, int] | None = None,
    options: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[Frame]]:
    """The fields and frames of a ``run`` request, for ``Client.submit`` (polling hosts) and ``Client.run``. Each
    slot is ``{"style": name, "strength": 0..2, "mask": (FrameSpec, bytes) or None}``."""
    frames = [image]
    fields: dict[str, Any] = {"task": task, "image": 0, "slots": [], "options": options or {}}
    if inpaint_mask is not None:
        frames.append(inpaint_mask)
        fields["inpaint_mask"] = 1
    for slot in slots or []:
        entry = {k: v for k, v in slot.items() if k != "mask"}
        if slot.get("mask") is not None:
            frames.append(slot["mask"])
            entry["mask"] = len(frames) - 1
        fields["slots"].append(entry)
    if crop is not None:
        fields["crop"] = list(crop)
    return fields, frames


def train_style_request(
    exemplar: Frame, name: str, *, scale: str = "fine", minutes: float | None = None
) -> tuple[dict[str, Any], list[Frame]]:
    """The fields and frames of a ``train_style`` request."""
    fields: dict[str, Any] = {"exemplar": 0, "name": name, "scale": scale}
    if minutes is not None:
        fields["minutes"] = minutes
    return fields, [exemplar]
