"""What a ``run`` job does: frames in, pipeline, frames out. Runs on the worker thread, never on the socket loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Event
from typing import Any

import torch

from plugin.common.protocol import ErrorCode, FrameSpec, Message, ProtocolError

from ..errors import RetexError
from ..imaging.resize import imresize
from ..pipeline import restore_region
from .frames import from_image, to_image, to_mask
from .registry import Registry

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


def _frame(msg: Message, key: str, required: bool) -> tuple[FrameSpec, bytes] | None:
    index = msg.header.get(key)
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
    for slot in slots:
        style = slot.get("style") if isinstance(slot, dict) else None
        raise ProtocolError(ErrorCode.UNKNOWN_STYLE, f"unknown style {style!r} (no styles are installed)")
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
    started = time.monotonic()

    def on_tile(done: int, total: int) -> None:
        if job.cancel.is_set():
            raise Cancelled
        fraction = done / total
        elapsed = time.monotonic() - started
        progress(fraction, task_name, elapsed * (1 - fraction) / fraction if fraction > 0 else None)

    scale = 1
    if task_name == "none":
        x, y, w, h = crop
        out = rgb[..., y : y + h, x : x + w]
    else:
        task, net = registry.net(task_name)
        scale = task.scale
        mask = None
        if task.uses_mask:
            mspec, mdata = _frame(msg, "inpaint_mask", True)
            mask = (to_mask(mspec, mdata) > 0.5).float()
        device = registry.device
        try:
            with torch.no_grad():
                out = restore_region(
                    net, task, rgb.to(device), tuple(crop), None if mask is None else mask.to(device), on_tile
                ).cpu()
        except RetexError as e:
            raise ProtocolError(ErrorCode.BAD_OPTION, str(e)) from None
    if alpha is not None:  # resized whole, then cropped, so a region's alpha matches the whole image's
        x, y, w, h = crop
        if scale > 1:
            alpha = imresize(alpha, float(scale)).clamp(0, 1)
        alpha = alpha[..., y * scale : (y + h) * scale, x * scale : (x + w) * scale]
    progress(1.0, "done", 0.0)
    out_spec, out_bytes = from_image(spec, out, alpha)
    return {"job": job.id, "origin": [crop[0] * scale, crop[1] * scale], "scale": scale}, [(out_spec, out_bytes)]
