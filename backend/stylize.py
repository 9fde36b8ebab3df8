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

import torch

from .errors import RetexError
from .runtime.base import StyleModel

MAX_STRENGTH = 2.0
TEXTURE_SCALES = (0.5, 2.0)  # a texture's size: least, most (1 = as trained)
MAX_SEED = 2**31 - 1  # a texture's variation: 0 (as trained) to this
_LUMA = (0.299, 0.587, 0.114)


@dataclass
class StyleSlot:
    """One style applied somewhere: ``mask`` is N x 1 x H x W on [0, 1] at the output's size (None: everywhere)."""

    net: StyleModel  # torch (StyleNet) or ONNX Runtime
    strength: float = 1.0
    mask: torch.Tensor | None = None
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


def check_mask(mask: torch.Tensor, size: tuple[int, int], what: str = "mask") -> torch.Tensor:
    """A soft mask must match the image's size and lie on [0, 1]."""
    if tuple(mask.shape[-2:]) != tuple(size):
        raise RetexError(f"{what} is {mask.shape[-1]}x{mask.shape[-2]} but the image is {size[1]}x{size[0]}")
    if not bool(torch.isfinite(mask).all()) or float(mask.min()) < 0 or float(mask.max()) > 1:
        raise RetexError(f"{what} values must lie in [0, 1]")
    return mask


def luminance_only(r: torch.Tensor) -> torch.Tensor:
    y = _LUMA[0] * r[:, 0:1] + _LUMA[1] * r[:, 1:2] + _LUMA[2] * r[:, 2:3]
    return y.expand_as(r)


def normalize(raw: torch.Tensor, weight: torch.Tensor | None, std: float | torch.Tensor) -> torch.Tensor:
    """Zero mean per channel and overall standard deviation ``std``, statistics weighted by ``weight``."""
    w = torch.ones_like(raw[:, :1]) if weight is None else weight.to(raw)
    total = w.sum(dim=(2, 3), keepdim=True).clamp_min(1e-8)
    centred = raw - (raw * w).sum(dim=(2, 3), keepdim=True) / total
    var = (centred.pow(2).mean(dim=1, keepdim=True) * w).sum(dim=(2, 3), keepdim=True) / total
    return centred * (std / var.clamp_min(1e-12).sqrt())


def effective_masks(slots: list[StyleSlot], like: torch.Tensor) -> list[torch.Tensor]:
    """Each slot's weight after sharing overlaps among styles of the same scale (see the module docstring)."""
    masks = [torch.ones_like(like[:, :1]) if s.mask is None else s.mask.to(like) for s in slots]
    out = list(masks)
    for scale in {s.net.config.scale for s in slots}:
        idx = [i for i, s in enumerate(slots) if s.net.config.scale == scale]
        total = torch.stack([masks[i] for i in idx]).sum(dim=0)
        share = torch.where(total > 1, 1 / total.clamp_min(1e-8), torch.ones_like(total))
        for i in idx:
            out[i] = masks[i] * share
    return out


def compose(
    base: torch.Tensor,
    slots: list[StyleSlot],
    residual: Callable[[StyleSlot], torch.Tensor],
    preserve_colours: bool = False,
) -> torch.Tensor:
    """``base`` plus every slot's normalized residual (``residual(slot)`` gives the raw residual over ``base`` of
    the slot's net at its scale and seed), clamped to [0, 1]. Slots with strength 0 or an empty mask cost nothing
    and change nothing."""
    live = [s for s in slots if s.strength > 0 and (s.mask is None or bool((s.mask > 0).any()))]
    if not live:
        return base
    out = base.clone()
    for slot, beta in zip(live, effective_masks(live, base), strict=True):
        raw = residual(slot)
        if preserve_colours:
            raw = luminance_only(raw)
        out += beta * normalize(raw, beta, slot.strength * slot.net.nominal)
    return out.clamp_(0, 1)
