"""A learning style's swatch: what the editors show while a texture is learned, so the user can judge when it is
good enough to stop. Two tiles side by side: the style at strength 1 on flat mid-grey (the texture alone, as on the
style sheet) and on a blurred crop of the exemplar (the texture over the kind of soft content a restoration gives).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .imaging.resize import imresize
from .pipeline import process
from .stylize import StyleSlot

if TYPE_CHECKING:
    from .nets.style import StyleNet
    from .runtime.base import StyleModel

TILE = 128  # px a side of each of the two tiles
BLUR = 4  # the exemplar crop is shrunk by this and enlarged again: its detail gone, its colours and shapes kept


def soft_content(exemplar: np.ndarray) -> np.ndarray:
    """The centre square of ``exemplar`` (1 x 3 x H x W on [0, 1]) at TILE px, blurred: the content under the
    swatch's second tile, made once per learning run."""
    h, w = exemplar.shape[-2:]
    side = min(h, w)
    square = exemplar[..., (h - side) // 2 : (h - side) // 2 + side, (w - side) // 2 : (w - side) // 2 + side]
    tile = imresize(np.ascontiguousarray(square, dtype=np.float32), TILE / side)[..., :TILE, :TILE]
    small = imresize(tile, 1 / BLUR)
    return np.clip(imresize(small, BLUR)[..., :TILE, :TILE], 0, 1)


def swatch(net: StyleModel | StyleNet, content: np.ndarray) -> np.ndarray:
    """1 x 3 x TILE x 2·TILE on [0, 1]: the style on mid-grey, beside it on ``content`` (``soft_content``)."""
    grey = np.full((1, 3, TILE, TILE), 0.5, np.float32)
    tiles = [process(base, None, [StyleSlot(net, 1.0)]) for base in (grey, content)]
    return np.concatenate(tiles, axis=-1)
