"""Restoration of an image of any size: the one function that the command line, evaluation and service use."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .errors import RetexError
from .imaging.resize import imresize
from .runtime.base import RestorationModel
from .style_grid import style_margin, style_residual, style_tiles  # style_residual: also the bench's
from .stylize import StyleSlot, check_mask, check_slot, compose
from .tasks import Task
from .tiling import TILE, tile_grid, window

MIN_SIDE = 8  # smaller inputs carry too little context for the network
TileCallback = Callable[[int, int], None]


def fill_holes(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Push-pull fill: each hole pixel gets the average of the known pixels at the finest pyramid level that has
    any. A cheap, smooth first guess that the inpainting network then corrects."""
    known = 1.0 - mask
    if bool((known > 0).all()):
        return image
    h, w = image.shape[-2:]
    if h == 1 and w == 1:  # nothing known at all: mid-grey
        return image * known + 0.5 * mask
    pooled_known = F.avg_pool2d(known, 2, ceil_mode=True)
    pooled = F.avg_pool2d(image * known, 2, ceil_mode=True) / pooled_known.clamp_min(1e-8)
    coarse = fill_holes(pooled, (pooled_known <= 0).to(image))
    up = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
    return image * known + up * mask


def net_input(task: Task, image: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """What the network sees: the bicubic upsample for super-resolution, the filled image plus mask for
    inpainting, the image itself otherwise."""
    if task.scale > 1:
        return imresize(image, float(task.scale))
    if task.uses_mask:
        if mask is None:
            raise RetexError("inpainting needs a mask (white = pixels to fill)")
        if mask.shape[-2:] != image.shape[-2:]:
            raise RetexError(
                f"mask is {mask.shape[-1]}x{mask.shape[-2]} but the image is {image.shape[-1]}x{image.shape[-2]}"
            )
        return torch.cat([fill_holes(image, mask), mask], dim=1)
    return image


def run_padded(
    net: RestorationModel, x: torch.Tensor, tile: int = TILE, on_tile: TileCallback | None = None
) -> torch.Tensor:
    """Run the network on any size: replicate-pad to its multiple, run tile by tile, crop back."""
    m = net.config.multiple
    h, w = x.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return run_tiled(net, x, tile, on_tile)[..., :h, :w]


def _counter(total: int, on_tile: TileCallback | None) -> Callable[[], None]:
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if on_tile is not None:
            on_tile(done, total)

    return step


def run_tiled(
    net: RestorationModel, x: torch.Tensor, tile: int = TILE, on_tile: TileCallback | None = None
) -> torch.Tensor:
    """The network's output computed tile by tile, equal to ``net(x)`` up to float rounding.

    Each branch reads its own halo around each tile (its receptive field): the fine branches, where the compute is,
    need a few dozen pixels, and only the cheap coarse branches need wide context. One call per tile gives every
    branch its crop (``net.run_branches``: torch or ONNX Runtime, the only place they differ). ``on_tile(done,
    total)`` is called after each branch's share of a tile; raising from it (e.g. on cancel) stops the run.
    """
    m = net.config.multiple
    h, w = x.shape[-2:]
    if h % m or w % m:
        raise ValueError(f"input sides must be multiples of {m}")
    tile = max(m, tile - tile % m)
    halos = [-(-halo // m) * m for halo in net.halos]
    grid = tile_grid(h, w, tile)
    step = _counter(len(grid) * len(halos), on_tile)
    out = x[:, : net.config.out_channels].clone()
    for y0, x0 in grid:
        y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
        windows = [window(y0, x0, y1, x1, h, w, halo) for halo in halos]
        bands = net.run_branches([x[..., ry0:ry1, rx0:rx1] for ry0, rx0, ry1, rx1 in windows])
        for weight, band, (ry0, rx0, _, _) in zip(net.mix, bands, windows, strict=True):
            out[..., y0:y1, x0:x1] += weight * band[..., y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0]
            step()
    return out


@torch.no_grad()
def restore(
    net: RestorationModel,
    task: Task,
    image: torch.Tensor,
    mask: torch.Tensor | None = None,
    on_tile: TileCallback | None = None,
) -> torch.Tensor:
    """Restore an N x 3 x h x w image on [0, 1]; returns N x 3 x (h*scale) x (w*scale) clamped to [0, 1].

    For inpainting only the masked pixels change.
    """
    if min(image.shape[-2:]) < MIN_SIDE:
        h, w = image.shape[-2:]
        raise RetexError(f"image is {w}x{h}: the smallest side must be at least {MIN_SIDE} px")
    out = run_padded(net, net_input(task, image, mask), on_tile=on_tile).clamp(0, 1)
    if task.uses_mask and mask is not None:
        out = image * (1 - mask) + out * mask
    return out


def context_margin(net: RestorationModel, task: Task) -> int:
    """Input pixels of context around a region so that restoring the region alone equals restoring the whole
    image there: the widest branch halo (in input pixels) plus the bicubic upsampler's reach, on the 16-pixel grid."""
    m = net.config.multiple
    widest = max(net.halos)
    return -(-(widest // task.scale + 4) // m) * m


def restore_region(
    net: RestorationModel,
    task: Task,
    image: torch.Tensor,
    region: tuple[int, int, int, int],
    mask: torch.Tensor | None = None,
    on_tile: TileCallback | None = None,
) -> torch.Tensor:
    """Restore only ``region`` = (x, y, width, height) of ``image`` (e.g. a selection's bounding box), reading just
    enough context around it; returns the region's restored pixels (scaled for super-resolution)."""
    x, y, w, h = region
    H, W = image.shape[-2:]
    if not (0 <= x < W and 0 <= y < H and 0 < w <= W - x and 0 < h <= H - y):
        raise RetexError(f"region {w}x{h}+{x}+{y} is not inside the {W}x{H} image")
    margin, m = context_margin(net, task), net.config.multiple
    x0, y0 = max(0, x - margin) // m * m, max(0, y - margin) // m * m  # stay on the network's grid
    x1, y1 = min(W, x + w + margin), min(H, y + h + margin)
    sub_mask = None if mask is None else mask[..., y0:y1, x0:x1]
    out = restore(net, task, image[..., y0:y1, x0:x1], sub_mask, on_tile)
    s = task.scale
    return out[..., (y - y0) * s : (y - y0 + h) * s, (x - x0) * s : (x - x0 + w) * s]


class _Progress:
    """One (done, total) count over the restoration's tiles, then the styles' tiles."""

    def __init__(self, on_tile: TileCallback | None, style_total: int) -> None:
        self.on_tile, self.style_total, self.rest_total, self.styled = on_tile, style_total, 0, 0

    def restoration(self, done: int, total: int) -> None:
        self.rest_total = total
        if self.on_tile is not None:
            self.on_tile(done, total + self.style_total)

    def style(self) -> None:
        self.styled += 1
        if self.on_tile is not None:
            self.on_tile(self.rest_total + self.styled, self.rest_total + self.style_total)


@torch.no_grad()
def process(
    image: torch.Tensor,
    restoration: tuple[Task, RestorationModel] | None,
    slots: list[StyleSlot],
    inpaint_mask: torch.Tensor | None = None,
    region: tuple[int, int, int, int] | None = None,
    preserve_colours: bool = False,
    on_tile: TileCallback | None = None,
) -> torch.Tensor:
    """Restore then texture: the one entry point of the command line, the service and evaluation.

    ``image`` is N x 3 x H x W on [0, 1]; ``restoration`` None means texture only; each slot's mask is given at the
    input's size (None: everywhere); ``region`` = (x, y, width, height) limits the work to that box plus the context
    the networks need. Returns the region's result at the output scale, clamped to [0, 1].
    """
    H, W = image.shape[-2:]
    if min(H, W) < MIN_SIDE:
        raise RetexError(f"image is {W}x{H}: the smallest side must be at least {MIN_SIDE} px")
    x, y, w, h = region or (0, 0, W, H)
    if not (0 <= x < W and 0 <= y < H and 0 < w <= W - x and 0 < h <= H - y):
        raise RetexError(f"region {w}x{h}+{x}+{y} is not inside the {W}x{H} image")
    for slot in slots:
        check_slot(slot)
        if slot.mask is not None:
            check_mask(slot.mask, (H, W))
    task = restoration[0] if restoration else None
    s = task.scale if task else 1
    live = [slot for slot in slots if slot.strength > 0]
    # context for the style networks, on their coarsest grid so noise and pooling line up with the whole image's
    grid = max([8, *(slot.net.config.multiple for slot in live)])
    margin = -(-max([0, *(style_margin(slot.net, slot.scale) for slot in live)]) // s)
    cx0, cy0 = max(0, x - margin) // grid * grid, max(0, y - margin) // grid * grid
    cx1, cy1 = min(W, x + w + margin), min(H, y + h + margin)
    ctx = (cx0, cy0, cx1 - cx0, cy1 - cy0)

    sides = ((cy1 - cy0) * s, (cx1 - cx0) * s)
    progress = _Progress(on_tile, sum(style_tiles(*sides, slot.net, scale=slot.scale) for slot in live))
    if restoration is not None:
        base = restore_region(restoration[1], restoration[0], image, ctx, inpaint_mask, progress.restoration)
    else:
        base = image[..., cy0:cy1, cx0:cx1]
    inner = (..., slice((y - cy0) * s, (y - cy0 + h) * s), slice((x - cx0) * s, (x - cx0 + w) * s))
    ctx_slots = []
    for slot in slots:
        mask = None
        if slot.mask is not None:
            mask = slot.mask[..., cy0:cy1, cx0:cx1]
            if s > 1:
                mask = imresize(mask, float(s)).clamp(0, 1)
            mask = mask[inner]
        ctx_slots.append(StyleSlot(slot.net, slot.strength, mask, slot.scale, slot.seed))
    origin = (cy0 * s, cx0 * s)
    return compose(
        base[inner],
        ctx_slots,
        lambda sl: style_residual(sl.net, base, origin, on_step=progress.style, scale=sl.scale, seed=sl.seed)[inner],
        preserve_colours,
    )
