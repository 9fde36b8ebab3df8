"""Composition of style residuals over a restored image: ``Z = M(x) + sum_i beta_i * s_i * R_i(x)``.

Each style's raw band-limited residual is normalized over the region it covers: zero mean per channel and standard
deviation ``strength x nominal`` (statistics weighted by the slot's soft mask, so a texture has the same amplitude
in a selection whatever lies outside it). Overlaps: within one scale, where the masks of several styles add up to
more than 1 they are divided by their sum, so overlapping textures blend instead of doubling; a coarse style and a
fine texture stack on the same pixels (bi-scale). "Preserve colours" keeps only the residual's luminance (BT.601 Y),
added equally to R, G and B so hue and saturation stay the restored image's. Strength 0 and mask 0 leave pixels
bit-identical to the restoration result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from .arrays import A, Array, is_tensor, like, to_numpy
from .errors import RetexError
from .runtime.base import StyleModel

if TYPE_CHECKING:
    import torch

    from .nets.style import StyleNet

MAX_STRENGTH = 2.0
TEXTURE_SCALES = (0.5, 2.0)  # a texture's size: least, most (1 = as trained)
MAX_SEED = 2**31 - 1  # a texture's variation: 0 (as trained) to this
_LUMA = (0.299, 0.587, 0.114)


@dataclass
class StyleSlot:
    """One style applied somewhere: ``mask`` is N x 1 x H x W on [0, 1] at the output's size (None: everywhere)."""

    net: StyleModel | StyleNet  # a runtime's model (a tool's bare torch network is wrapped by the pipeline)
    strength: float = 1.0
    mask: Array | None = None  # numpy (a tool's torch tensor is converted by the pipeline)
    scale: float = 1.0  # the texture's size, TEXTURE_SCALES (backend.style_grid)
    seed: int = 0  # the texture's variation: another noise field, 0..MAX_SEED


def check_strength(strength: float) -> float:
    if not (0.0 <= strength <= MAX_STRENGTH):  # also refuses NaN
        raise RetexError(f"strength {strength} is outside [0, {MAX_STRENGTH:g}]")
    return float(strength)


def check_texture_scale(scale: float) -> float:
    lo, hi = TEXTURE_SCALES
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not (lo <= scale <= hi):  # NaN too
        raise RetexError(f"texture scale {scale} is outside [{lo:g}, {hi:g}] (1 = the texture's own size)")
    return float(scale)


def check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise RetexError(f"seed {seed!r} must be a whole number from 0 to {MAX_SEED}")
    return seed


def check_slot(slot: StyleSlot) -> None:
    """A slot's strength, texture scale and seed (its mask is checked against the image's size)."""
    check_strength(slot.strength)
    check_texture_scale(slot.scale)
    check_seed(slot.seed)


def check_mask(mask: np.ndarray, size: tuple[int, int], what: str = "mask") -> np.ndarray:
    """A soft mask must match the image's size and lie on [0, 1]."""
    if tuple(mask.shape[-2:]) != tuple(size):
        raise RetexError(f"{what} is {mask.shape[-1]}x{mask.shape[-2]} but the image is {size[1]}x{size[0]}")
    if not bool(np.isfinite(mask).all()) or float(mask.min()) < 0 or float(mask.max()) > 1:
        raise RetexError(f"{what} values must lie in [0, 1]")
    return mask


def luminance_only(r: np.ndarray) -> np.ndarray:
    y = _LUMA[0] * r[:, 0:1] + _LUMA[1] * r[:, 1:2] + _LUMA[2] * r[:, 2:3]
    return np.broadcast_to(y.astype(r.dtype), r.shape)


def normalize(raw: A, weight: Array | None, std: float | Array) -> A:
    """Zero mean per channel and overall standard deviation ``std``, statistics weighted by ``weight`` (sums in
    float64: an image's worth of float32 terms would drift with its size). The style trainer differentiates through
    it on torch tensors: the same formula in torch."""
    if is_tensor(raw):
        t = cast("torch.Tensor", raw)
        tw = t.new_ones(t[:, :1].shape) if weight is None else cast("torch.Tensor", weight).to(t)
        total = tw.sum(dim=(2, 3), keepdim=True).clamp_min(1e-8)
        centred = t - (t * tw).sum(dim=(2, 3), keepdim=True) / total
        tvar = (centred.pow(2).mean(dim=1, keepdim=True) * tw).sum(dim=(2, 3), keepdim=True) / total
        return cast(A, centred * (std / tvar.clamp_min(1e-12).sqrt()))
    return cast(A, _normalize(cast(np.ndarray, raw), None if weight is None else to_numpy(weight), float(std)))


def _normalize(raw: np.ndarray, weight: np.ndarray | None, std: float) -> np.ndarray:
    w = np.ones_like(raw[:, :1]) if weight is None else weight.astype(raw.dtype)
    total = np.maximum(w.sum(axis=(2, 3), keepdims=True, dtype=np.float64), 1e-8)
    centred = raw - ((raw * w).sum(axis=(2, 3), keepdims=True, dtype=np.float64) / total).astype(raw.dtype)
    var = ((centred * centred).mean(axis=1, keepdims=True) * w).sum(axis=(2, 3), keepdims=True, dtype=np.float64)
    return centred * (std / np.sqrt(np.maximum(var / total, 1e-12))).astype(raw.dtype)


def effective_masks(slots: list[StyleSlot], like: np.ndarray) -> list[np.ndarray]:
    """Each slot's weight after sharing overlaps among styles of the same scale (see the module docstring)."""
    masks = [np.ones_like(like[:, :1]) if s.mask is None else to_numpy(s.mask) for s in slots]
    out = list(masks)
    for scale in {s.net.config.scale for s in slots}:
        idx = [i for i, s in enumerate(slots) if s.net.config.scale == scale]
        total = np.sum([masks[i] for i in idx], axis=0)
        share = np.where(total > 1, 1 / np.maximum(total, np.float32(1e-8)), np.float32(1)).astype(like.dtype)
        for i in idx:
            out[i] = masks[i] * share
    return out


def compose(
    base: A,
    slots: list[StyleSlot],
    residual: Callable[[StyleSlot], Array],
    preserve_colours: bool = False,
) -> A:
    """``base`` plus every slot's normalized residual (``residual(slot)`` gives the raw residual over ``base`` of
    the slot's net at its scale and seed), clamped to [0, 1]. Slots with strength 0 or an empty mask cost nothing
    and change nothing."""
    live = [s for s in slots if s.strength > 0 and (s.mask is None or bool((to_numpy(s.mask) > 0).any()))]
    if not live:
        return base
    out = to_numpy(base).copy()
    for slot, beta in zip(live, effective_masks(live, out), strict=True):
        raw = to_numpy(residual(slot))
        if preserve_colours:
            raw = luminance_only(raw)
        out += beta * _normalize(raw, beta, slot.strength * slot.net.nominal)
    return like(np.clip(out, 0, 1, out=out), base)
