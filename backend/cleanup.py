"""The photo models' clean-up strength: how much noise and JPEG to remove, from 0 (close to the input) to 1.

One mechanism for every photo model: the network's weights are interpolated between its clean base and itself,
as Real-ESRGAN's ``denoise_strength`` does between two weight sets (one network run whatever the strength). The
base of an upscaler is the clean-image model it was fine-tuned from (it enlarges faithfully and keeps the noise);
the base of the x1 ``photo`` model is the identity: the same weights with the band mix at zero, and since the
output is the input plus a residual linear in that mix, strength s gives exactly ``input + s * correction``.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING

import numpy as np

from . import noise_level
from .errors import RetexError
from .tasks import Task

if TYPE_CHECKING:
    from .nets.restoration import RestorationNet

AUTO = "auto"
AUTO_STRENGTH = 1.0  # "auto" with no image at hand to judge; with one, ``strength_for`` reads it


def check_cleanup(value: object) -> float:
    """A strength in [0, 1] from a number or "auto"; anything else is one clear error."""
    if value is None or value == AUTO:
        return AUTO_STRENGTH
    if isinstance(value, bool):
        raise RetexError("clean-up strength must be a number from 0 to 1, or 'auto'")
    try:
        s = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RetexError(f"clean-up strength must be a number from 0 to 1, or 'auto' (got {value!r})") from None
    if not (math.isfinite(s) and 0.0 <= s <= 1.0):
        raise RetexError(f"clean-up strength must be from 0 to 1 (got {value!r})")
    return s


def strength_for(value: float | None, image: np.ndarray) -> float:
    """The strength for ``image``: a chosen one as it is; "auto" (None) read from the image by ``noise_level``, so a
    clean photo is left as it is and a noisy or JPEG one gets the full clean-up."""
    return noise_level.cleanup_strength(image) if value is None else value


def blend(task: Task, net: RestorationNet, base: RestorationNet | None, strength: float) -> RestorationNet:
    """The photo network at ``strength``: ``net`` itself at 1, its base at 0 (``base`` None: the identity). The
    torch runtime's (``runtime.onnx.OnnxRestoration.blended`` is ONNX Runtime's)."""
    import torch

    if task.degradation != "real" or strength == 1.0:
        return net
    out = copy.deepcopy(net)
    with torch.no_grad():
        if base is None or task.scale == 1:
            out.mix.mul_(strength)
            return out
        base_params = dict(base.named_parameters())
        for name, p in out.named_parameters():
            p.lerp_(base_params[name].to(p), 1.0 - strength)
    return out
