"""What a ``run`` job does: frames in, pipeline, frames out. Runs on the worker thread, never on the socket loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Event
from typing import Protocol

import numpy as np

from plugin.common.protocol import ErrorCode, Frame, FrameSpec, ProtocolError
from plugin.common.replies import Result
from plugin.common.requests import RunRequest, TrainStyleRequest

from ..cleanup import strength_for
from ..errors import RetexError
from ..imaging.resize import imresize
from ..pipeline import process
from ..runtime import torch_installed
from ..styles import check_name
from ..stylize import StyleSlot
from ..swatch import soft_content, swatch
from .frames import from_image, to_image, to_mask
from .heal_job import heal_job, validate_heal
from .registry import Registry

ALPHA_MARGIN = 4  # input pixels around a region whose alpha is resized: the bicubic kernel reaches 2


class ProgressFn(Protocol):
    """How a job reports: fraction, stage, eta in seconds; a learning run's swatch (an RGB u8 frame) now and then."""

    def __call__(self, fraction: float, stage: str, eta: float | None, swatch: Frame | None = None) -> None: ...


NO_TRAINING = "Learning a texture needs the training support: run python3 installer.py --with-training"


class Cancelled(Exception):
    pass


@dataclass
class Job:
    id: str
    client: bytes
    request: RunRequest | TrainStyleRequest  # parsed once, when it arrived (requests.parse_request)
    cancel: Event = field(default_factory=Event)
    finish: Event = field(default_factory=Event)  # a learning run: end now, keeping the style ("Good enough, stop")

    @property
    def request_id(self) -> str:
        return self.request.id


def validate_run(request: RunRequest, registry: Registry) -> None:
    """What only the backend knows, checked before queueing so a bad request is refused at once rather than after
    the queue: the task is installed, every style exists, inpainting has its mask. (The request's form was checked
    when it was parsed.)"""
    task = request.task
    if task != "none" and task not in registry.available_tasks():
        raise ProtocolError(
            ErrorCode.UNKNOWN_TASK,
            f"unknown or uninstalled task {task!r} (available: none, {', '.join(registry.available_tasks())})",
        )
    for slot in request.slots:
        try:
            registry.style(slot.style)
        except RetexError as e:
            raise ProtocolError(ErrorCode.UNKNOWN_STYLE, str(e)) from None
    if task == "inpaint" and request.inpaint_mask is None:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "'inpaint_mask' must be the index of a frame")
    if request.heal is not None:
        validate_heal(request, registry)


def run_job(job: Job, request: RunRequest, registry: Registry, progress: ProgressFn) -> Result:
    """Execute a validated ``run`` request; returns its result."""
    if request.heal is not None:
        return heal_job(job.id, request, registry, progress, lambda: _stop_if_cancelled(job))
    spec, data = request.image
    rgb, alpha = to_image(spec, data)
    crop = request.crop or (0, 0, spec.width, spec.height)
    task_name = request.task
    started = time.monotonic()
    notices: list[str] = []  # the pipeline's word on how the run goes on (out of memory: smaller tiles, the CPU)

    def on_tile(done: int, total: int) -> None:
        if job.cancel.is_set():
            raise Cancelled
        fraction = done / total
        elapsed = time.monotonic() - started
        stage = f"{task_name}: {notices[-1]}" if notices else task_name
        progress(fraction, stage, elapsed * (1 - fraction) / fraction if fraction > 0 else None)

    restoration, mask = None, None
    if task_name != "none":
        cleanup = strength_for(request.cleanup, rgb)  # "auto" (None): read from the image
        restoration = registry.net(task_name, cleanup)
        if restoration[0].uses_mask:
            if request.inpaint_mask is None:
                raise ProtocolError(ErrorCode.BAD_MESSAGE, "'inpaint_mask' must be the index of a frame")
            mask = (to_mask(*request.inpaint_mask) > 0.5).astype(np.float32)
    scale = restoration[0].scale if restoration else 1
    slots = [
        StyleSlot(
            registry.style(slot.style),
            slot.strength,
            None if slot.mask is None else to_mask(*slot.mask),
            slot.scale,
            slot.seed,
        )
        for slot in request.slots
    ]
    try:
        out = process(rgb, restoration, slots, mask, crop, request.preserve_colours, on_tile, notices.append)
    except RetexError as e:
        raise ProtocolError(ErrorCode.BAD_OPTION, str(e)) from None
    if alpha is not None:
        alpha = _region_alpha(alpha, crop, scale)
    progress(1.0, "done", 0.0)
    frame = from_image(spec, out, alpha)
    return Result(job.id, frame, (crop[0] * scale, crop[1] * scale), scale, id=request.id)


def _stop_if_cancelled(job: Job) -> None:
    if job.cancel.is_set():
        raise Cancelled


def _region_alpha(alpha: np.ndarray, crop: tuple[int, int, int, int], scale: int) -> np.ndarray:
    """The alpha of the output region: the region plus a margin wider than the bicubic kernel is resized, so it
    equals the whole image's alpha resized then cropped (a 512-px preview of a 16 MP image no longer resizes all of
    it: 45x slower than the preview itself, measured by bench speed)."""
    x, y, w, h = crop
    if scale == 1:
        return alpha[..., y : y + h, x : x + w]
    m = ALPHA_MARGIN
    x0, y0 = max(0, x - m), max(0, y - m)
    x1, y1 = min(alpha.shape[-1], x + w + m), min(alpha.shape[-2], y + h + m)
    big = np.clip(imresize(alpha[..., y0:y1, x0:x1], float(scale)), 0, 1)
    return big[..., (y - y0) * scale : (y - y0 + h) * scale, (x - x0) * scale : (x - x0 + w) * scale]


def validate_train_style(request: TrainStyleRequest, registry: Registry) -> None:
    """What only the backend knows: training support is installed, a style name's rules and the least exemplar a
    scale needs."""
    if not torch_installed():
        raise ProtocolError(ErrorCode.TRAINING_NOT_INSTALLED, NO_TRAINING)
    from ..train.style import MIN_EXEMPLAR

    try:
        check_name(request.name)
    except RetexError as e:
        raise ProtocolError(ErrorCode.BAD_OPTION, str(e)) from None
    spec = request.exemplar[0]
    if min(spec.width, spec.height) < MIN_EXEMPLAR[request.scale]:
        raise ProtocolError(
            ErrorCode.BAD_FRAME,
            f"the exemplar is {spec.width}x{spec.height}: a {request.scale} style needs "
            f"{MIN_EXEMPLAR[request.scale]} px a side",
        )


def train_style_job(
    job: Job,
    request: TrainStyleRequest,
    registry: Registry,
    progress: ProgressFn,
    between: Callable[[], float] | None = None,
) -> Result:
    """Train a style from the exemplar frame into the user's library, streaming progress and, every few seconds
    once it is worth saving, a swatch of the texture so far; cancel stops it between steps (the library is
    unchanged and a checkpoint remains), finish ends it and saves the style as it is (before it is worth saving:
    one message, nothing saved). ``between()`` runs after each step (the restorations queued meanwhile) and
    returns the seconds it took, which the learning's time does not count."""
    import torch

    from ..nets.style import StyleNet
    from ..train.style import Finish, StyleTrainConfig, train_style

    exemplar = to_image(*request.exemplar)[0]
    rgb = torch.from_numpy(exemplar)
    cfg = StyleTrainConfig(minutes=request.minutes, device=str(registry.device), library=str(registry.style_dirs[-1]))
    started = time.monotonic()
    content = soft_content(exemplar)
    now: list = [0.0, None]  # the last fraction and time left reported, which a swatch's event repeats

    def on_step(fraction: float, loss: float) -> float:
        if job.cancel.is_set():
            raise Cancelled
        if job.finish.is_set():
            raise Finish
        elapsed = time.monotonic() - started
        now[:] = [min(fraction, 0.999), elapsed * (1 - fraction) / fraction if fraction else None]
        progress(now[0], "learning texture", now[1])
        return between() if between is not None else 0.0

    def on_preview(net: StyleNet) -> None:
        frame = from_image(FrameSpec(1, 1, "RGB", "u8", "swatch"), swatch(net, content), None)
        progress(now[0], "learning texture", now[1], swatch=frame)

    try:
        with torch.inference_mode(False), torch.enable_grad():
            summary = train_style(
                rgb,
                request.name,
                request.scale,
                cfg,
                {"exemplar": "from the editor"},
                progress=False,
                on_step=on_step,
                on_preview=on_preview,
            )
    except RetexError as e:
        raise ProtocolError(ErrorCode.TOO_EARLY if job.finish.is_set() else ErrorCode.BAD_OPTION, str(e)) from None
    progress(1.0, "done", 0.0)
    record = next(s for s in registry.styles() if s["name"] == request.name)
    style = {k: record[k] for k in ("name", "scale", "params")}
    return Result(job.id, style=style, minutes=summary["minutes"], id=request.id)
