"""Restoration of an image of any size: the one function that the command line, evaluation and service use."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .errors import RetexError
from .imaging.resize import imresize
from .runtime.base import RestorationModel, StyleModel
from .stylize import StyleSlot, check_mask, check_strength, compose
from .tasks import Task

MIN_SIDE = 8  # smaller inputs carry too little context for the network
TILE = 512  # output tile side for the tiled run: bounds memory whatever the image size
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


def tile_grid(h: int, w: int, tile: int) -> list[tuple[int, int]]:
    return [(y, x) for y in range(0, h, tile) for x in range(0, w, tile)]


def _window(y0: int, x0: int, y1: int, x1: int, h: int, w: int, halo: int) -> tuple[int, int, int, int]:
    """The box read for output box [y0, y1) x [x0, x1): ``halo`` more on each side, inside the h x w input."""
    return max(0, y0 - halo), max(0, x0 - halo), min(h, y1 + halo), min(w, x1 + halo)


def tiled_map(
    fn: Callable[[torch.Tensor, tuple[int, int]], torch.Tensor],
    x: torch.Tensor,
    halo: int,
    multiple: int,
    tile: int = TILE,
    on_step: Callable[[], None] | None = None,
) -> torch.Tensor:
    """``fn(crop, origin)`` over ``x`` tile by tile, each tile read with ``halo`` pixels of context (rounded up to
    ``multiple`` so pooling and pixel folds stay on the global grid); equals ``fn(x, (0, 0))`` up to float rounding
    when ``halo`` covers fn's receptive field. Memory is bounded by the tile size, not the image."""
    h, w = x.shape[-2:]
    if h % multiple or w % multiple:
        raise ValueError(f"input sides must be multiples of {multiple}")
    tile = max(multiple, tile - tile % multiple)
    halo = -(-halo // multiple) * multiple
    out = None
    for y0, x0 in tile_grid(h, w, tile):
        y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
        ry0, rx0, ry1, rx1 = _window(y0, x0, y1, x1, h, w, halo)
        r = fn(x[..., ry0:ry1, rx0:rx1], (ry0, rx0))
        if out is None:
            out = r.new_empty(x.shape[0], r.shape[1], h, w)
        out[..., y0:y1, x0:x1] = r[..., y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0]
        if on_step is not None:
            on_step()
    assert out is not None  # h, w >= multiple: at least one tile
    return out


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
        windows = [_window(y0, x0, y1, x1, h, w, halo) for halo in halos]
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


def style_residual(
    net: StyleModel,
    image: torch.Tensor,
    origin: tuple[int, int] = (0, 0),
    tile: int = TILE,
    on_step: Callable[[], None] | None = None,
) -> torch.Tensor:
    """A style network's raw residual over ``image`` of any size, tile by tile; ``origin`` places ``image`` in the
    full picture so a preview crop gets the same texture as the whole image."""
    m = net.config.multiple
    h, w = image.shape[-2:]
    x = F.pad(image, (0, (-w) % m, 0, (-h) % m), mode="replicate")
    out = tiled_map(lambda t, o: net(t, (origin[0] + o[0], origin[1] + o[1])), x, net.halo, m, tile, on_step)
    return out[..., :h, :w]


def style_tiles(h: int, w: int, net: StyleModel, tile: int = TILE) -> int:
    m = net.config.multiple
    return len(tile_grid(h + (-h) % m, w + (-w) % m, max(m, tile - tile % m)))


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
        check_strength(slot.strength)
        if slot.mask is not None:
            check_mask(slot.mask, (H, W))
    task = restoration[0] if restoration else None
    s = task.scale if task else 1
    live = [slot for slot in slots if slot.strength > 0]
    # context for the style networks, on their coarsest grid so noise and pooling line up with the whole image's
    grid = max([8, *(slot.net.config.multiple for slot in live)])
    margin = -(-max([0, *(slot.net.halo for slot in live)]) // s)
    cx0, cy0 = max(0, x - margin) // grid * grid, max(0, y - margin) // grid * grid
    cx1, cy1 = min(W, x + w + margin), min(H, y + h + margin)
    ctx = (cx0, cy0, cx1 - cx0, cy1 - cy0)

    progress = _Progress(on_tile, sum(style_tiles((cy1 - cy0) * s, (cx1 - cx0) * s, slot.net) for slot in live))
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
        ctx_slots.append(StyleSlot(slot.net, slot.strength, mask))
    return compose(
        base[inner],
        ctx_slots,
        lambda sn: style_residual(sn, base, (cy0 * s, cx0 * s), on_step=progress.style)[inner],
        preserve_colours,
    )
