"""What a heal does in the service: a ``run`` of the inpainting with ``options.heal`` (plugin/common/heal.py) fills
the hole of its mask and textures the fill like the ring around it (``backend.heal``), on the worker thread.

``backend.heal`` runs the pipeline itself, so its networks are handed over ``_Watched``: each tile first checks for
a cancel and reports that the job is alive, which is what a run's tiles do. The ring's detail (no style) reports
each row of its quilt the same way, from half way to the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np

from plugin.common.protocol import ErrorCode, ProtocolError
from plugin.common.replies import Result
from plugin.common.requests import RunRequest

from ..errors import RetexError
from ..heal import DETAIL, heal
from ..runtime.base import RestorationModel, StyleModel
from .frames import from_image, to_image, to_mask
from .registry import Registry

Progress = Callable[[float, str, float | None], None]  # fraction, stage, eta seconds (jobs.ProgressFn)
FILLING, TEXTURING = "heal: filling the hole", "heal: texturing"


class _Watched:
    """A network as the pipeline calls it, calling ``tick`` before each tile (raising from it stops the heal)."""

    def __init__(self, net: Any, tick: Callable[[], None]) -> None:
        self._net, self._tick = net, tick

    def __getattr__(self, name: str) -> Any:
        return getattr(self._net, name)

    def run_branches(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        self._tick()
        return self._net.run_branches(crops)

    def on_cpu(self) -> _Watched:
        return _Watched(self._net.on_cpu(), self._tick)

    def __call__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        self._tick()
        return self._net(*args, **kwargs)


def validate_heal(request: RunRequest, registry: Registry) -> None:
    """What only the backend knows, before queueing: the heal's style exists."""
    style = request.heal.style if request.heal else None
    if style is not None:
        try:
            registry.style(style)
        except RetexError as e:
            raise ProtocolError(ErrorCode.UNKNOWN_STYLE, str(e)) from None


def heal_job(
    job_id: str, request: RunRequest, registry: Registry, progress: Progress, check: Callable[[], None]
) -> Result:
    """Heal the hole of ``request``'s inpainting mask: the whole image comes back, changed only in the hole. A mask
    with no hole, one covering the image or leaving too little texture around the hole is one ``bad_option``;
    ``check()`` raises to cancel."""
    assert request.heal is not None and request.inpaint_mask is not None  # parsed and validated as a heal
    options = request.heal
    spec, data = request.image
    rgb, alpha = to_image(spec, data)
    mask = (to_mask(*request.inpaint_mask) > 0.5).astype(np.float32)
    stage = [FILLING]

    def tick() -> None:
        check()
        progress(0.5 if stage[0] == TEXTURING else 0.0, stage[0], None)

    def styled() -> None:
        stage[0] = TEXTURING
        tick()

    def quilted(done: float) -> None:
        check()
        progress(0.5 + 0.5 * done, TEXTURING, None)

    task, net = registry.net("inpaint")
    style = None if options.style is None else cast(StyleModel, _Watched(registry.style(options.style), styled))
    progress(0.0, FILLING, None)
    try:
        healed = heal(
            rgb,
            mask,
            (task, cast(RestorationModel, _Watched(net, tick))),
            style,
            options.seed,
            DETAIL if options.detail is None else options.detail,
            quilted,
        )
    except RetexError as e:
        raise ProtocolError(ErrorCode.BAD_OPTION, str(e)) from None
    check()
    progress(1.0, "done", 0.0)
    return Result(job_id, from_image(spec, healed.image, alpha), (0, 0), 1, id=request.id)
