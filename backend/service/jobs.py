"""What a ``run`` job does: frames in, pipeline, frames out. Runs on the worker thread, never on the socket loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Event
from typing import Any

import torch

from plugin.common.protocol import MAX_SLOTS, ErrorCode, FrameSpec, Message, ProtocolError

from ..cleanup import AUTO, check_cleanup
from ..errors import RetexError
from ..imaging.resize import imresize
from ..pipeline import process
from ..styles import check_name
from ..stylize import StyleSlot, check_strength
from .frames import from_image, to_image, to_mask
from .registry import Registry

ALPHA_MARGIN = 4  # input pixels around a region whose alpha is resized: the bicubic kernel reaches 2

ProgressFn = Callable[[float, str, float | None], None]  # fraction, stage, eta seconds


class Cancelled(Exception):
    pass


@dataclass
class Job:
    id: str
    client: bytes
    request_id: str
    message: Message
    cancel: Event = field(default_factory=Event)


def _frame(
    msg: Message | dict, key: str, required: bool, parent: Message | None = None
) -> tuple[FrameSpec, bytes] | None:
    """The frame whose index is ``msg[key]`` (``msg`` may be a slot of ``parent``)."""
    fields, msg = (msg, parent) if parent is not None else (msg.header, msg)
    index = fields.get(key)
    if index is None and not required:
        return None
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(msg.frames):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"'{key}' must be the index of a frame")
    return msg.specs[index], msg.frames[index]


def validate_run(msg: Message, registry: Registry) -> None:
    """Cheap checks done before queueing, so a bad request is refused at once rather than after the queue."""
    task = msg.header.get("task")
    if task != "none" and task not in registry.available_tasks():
        raise ProtocolError(
            ErrorCode.UNKNOWN_TASK,
            f"unknown or uninstalled task {task!r} (available: none, {', '.join(registry.available_tasks())})",
        )
    spec, _ = _frame(msg, "image", True)
    slots = msg.header.get("slots", [])
    if not isinstance(slots, list):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "'slots' must be a list")
    if len(slots) > MAX_SLOTS:
        raise ProtocolError(ErrorCode.BAD_OPTION, f"at most {MAX_SLOTS} slots per request, not {len(slots)}")
    for slot in slots:
        if not isinstance(slot, dict):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "each slot must be an object")
        try:
            registry.style(slot.get("style"))
        except RetexError as e:
            raise ProtocolError(ErrorCode.UNKNOWN_STYLE, str(e)) from None
        try:
            check_strength(slot.get("strength", 1.0))
        except RetexError as e:
            raise ProtocolError(ErrorCode.BAD_OPTION, str(e)) from None
        except TypeError:
            raise ProtocolError(ErrorCode.BAD_OPTION, "a slot's strength must be a number in [0, 2]") from None
        if slot.get("mask") is not None:
            mspec, _ = _frame(slot, "mask", True, msg)
            if (mspec.width, mspec.height) != (spec.width, spec.height):
                raise ProtocolError(ErrorCode.BAD_FRAME, "a slot's mask must have the image's size")
    options = msg.header.get("options", {})
    if not isinstance(options, dict) or not isinstance(options.get("preserve_colours", False), bool):
        raise ProtocolError(ErrorCode.BAD_OPTION, "'options' must be an object; preserve_colours a boolean")
    try:
        check_cleanup(options.get("cleanup", AUTO))
    except RetexError as e:
        raise ProtocolError(ErrorCode.BAD_OPTION, str(e)) from None
    if task == "inpaint":
        mspec, _ = _frame(msg, "inpaint_mask", True)
        if (mspec.width, mspec.height) != (spec.width, spec.height):
            raise ProtocolError(ErrorCode.BAD_FRAME, "inpaint_mask must have the image's size")
    crop = msg.header.get("crop")
    if crop is not None:
        ok = (
            isinstance(crop, list)
            and len(crop) == 4
            and all(isinstance(v, int) and not isinstance(v, bool) for v in crop)
        )
        if not ok or not (
            0 <= crop[0] < spec.width
            and 0 <= crop[1] < spec.height
            and 0 < crop[2] <= spec.width - crop[0]
            and 0 < crop[3] <= spec.height - crop[1]
        ):
            raise ProtocolError(ErrorCode.BAD_OPTION, "'crop' must be [x, y, width, height] inside the image")


def run_job(job: Job, registry: Registry, progress: ProgressFn) -> tuple[dict[str, Any], list[tuple[FrameSpec, bytes]]]:
    """Execute a validated ``run`` request; returns the result's header fields and frames."""
    msg = job.message
    spec, data = _frame(msg, "image", True)
    rgb, alpha = to_image(spec, data)
    crop = msg.header.get("crop") or [0, 0, spec.width, spec.height]
    task_name = msg.header["task"]
    device = registry.device
    started = time.monotonic()

    def on_tile(done: int, total: int) -> None:
        if job.cancel.is_set():
            raise Cancelled
        fraction = done / total
        elapsed = time.monotonic() - started
        progress(fraction, task_name, elapsed * (1 - fraction) / fraction if fraction > 0 else None)

    restoration, mask = None, None
    if task_name != "none":
        restoration = registry.net(task_name, check_cleanup(msg.header.get("options", {}).get("cleanup", AUTO)))
        if restoration[0].uses_mask:
            mspec, mdata = _frame(msg, "inpaint_mask", True)
            mask = (to_mask(mspec, mdata) > 0.5).float()
    scale = restoration[0].scale if restoration else 1
    slots = []
    for slot in msg.header.get("slots", []):
        found = _frame(slot, "mask", False, msg)
        slots.append(
            StyleSlot(
                registry.style(slot["style"]),
                float(slot.get("strength", 1.0)),
                None if found is None else to_mask(*found).to(device),
            )
        )
    preserve = bool(msg.header.get("options", {}).get("preserve_colours", False))
    try:
        with torch.no_grad():
            out = process(
                rgb.to(device),
                restoration,
                slots,
                None if mask is None else mask.to(device),
                tuple(crop),
                preserve,
                on_tile,
            ).cpu()
    except RetexError as e:
        raise ProtocolError(ErrorCode.BAD_OPTION, str(e)) from None
    if alpha is not None:
        alpha = _region_alpha(alpha, tuple(crop), scale)
    progress(1.0, "done", 0.0)
    out_spec, out_bytes = from_image(spec, out, alpha)
    return {"job": job.id, "origin": [crop[0] * scale, crop[1] * scale], "scale": scale}, [(out_spec, out_bytes)]


def _region_alpha(alpha: torch.Tensor, crop: tuple[int, int, int, int], scale: int) -> torch.Tensor:
    """The alpha of the output region: the region plus a margin wider than the bicubic kernel is resized, so it
    equals the whole image's alpha resized then cropped (a 512-px preview of a 16 MP image no longer resizes all of
    it: 45x slower than the preview itself, measured by bench speed)."""
    x, y, w, h = crop
    if scale == 1:
        return alpha[..., y : y + h, x : x + w]
    m = ALPHA_MARGIN
    x0, y0 = max(0, x - m), max(0, y - m)
    x1, y1 = min(alpha.shape[-1], x + w + m), min(alpha.shape[-2], y + h + m)
    big = imresize(alpha[..., y0:y1, x0:x1], float(scale)).clamp(0, 1)
    return big[..., (y - y0) * scale : (y - y0 + h) * scale, (x - x0) * scale : (x - x0 + w) * scale]


def validate_train_style(msg: Message, registry: Registry) -> None:
    from ..train.style import MIN_EXEMPLAR

    try:
        check_name(msg.header.get("name"))
    except RetexError as e:
        raise ProtocolError(ErrorCode.BAD_OPTION, str(e)) from None
    scale = msg.header.get("scale", "fine")
    if scale not in MIN_EXEMPLAR:
        raise ProtocolError(ErrorCode.BAD_OPTION, "'scale' must be 'fine' or 'coarse'")
    minutes = msg.header.get("minutes", 8.0)
    if not isinstance(minutes, int | float) or isinstance(minutes, bool) or not 0 < minutes <= 60:
        raise ProtocolError(ErrorCode.BAD_OPTION, "'minutes' must be a number in (0, 60]")
    spec, _ = _frame(msg, "exemplar", True)
    if min(spec.width, spec.height) < MIN_EXEMPLAR[scale]:
        raise ProtocolError(
            ErrorCode.BAD_FRAME,
            f"the exemplar is {spec.width}x{spec.height}: a {scale} style needs {MIN_EXEMPLAR[scale]} px a side",
        )


def train_style_job(job: Job, registry: Registry, progress: ProgressFn) -> tuple[dict[str, Any], list]:
    """Train a style from the exemplar frame into the user's library, streaming progress; cancel stops it
    between steps (the library is unchanged and a checkpoint remains)."""
    from ..train.style import StyleTrainConfig, train_style

    msg = job.message
    spec, data = _frame(msg, "exemplar", True)
    rgb, _ = to_image(spec, data)
    minutes = float(msg.header.get("minutes", 8.0))
    cfg = StyleTrainConfig(minutes=minutes, device=str(registry.device), library=str(registry.style_dirs[-1]))
    name = msg.header["name"]
    started = time.monotonic()

    def on_step(fraction: float, loss: float) -> None:
        if job.cancel.is_set():
            raise Cancelled
        elapsed = time.monotonic() - started
        progress(min(fraction, 0.999), "learning texture", elapsed * (1 - fraction) / fraction if fraction else None)

    try:
        with torch.inference_mode(False), torch.enable_grad():
            summary = train_style(
                rgb,
                name,
                msg.header.get("scale", "fine"),
                cfg,
                {"exemplar": "from the editor"},
                progress=False,
                on_step=on_step,
            )
    except RetexError as e:
        raise ProtocolError(ErrorCode.BAD_OPTION, str(e)) from None
    progress(1.0, "done", 0.0)
    record = next(s for s in registry.styles() if s["name"] == name)
    return {
        "job": job.id,
        "style": {k: record[k] for k in ("name", "scale", "params")},
        "minutes": summary["minutes"],
    }, []
