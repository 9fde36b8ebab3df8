"""Restoration of an image of any size: the one function that the command line, evaluation and service use."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .errors import RetexError
from .imaging.resize import imresize
from .nets.restoration import RestorationNet
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
    net: RestorationNet, x: torch.Tensor, tile: int = TILE, on_tile: TileCallback | None = None
) -> torch.Tensor:
    """Run the network on any size: replicate-pad to its multiple, run tile by tile, crop back."""
    m = net.config.multiple
    h, w = x.shape[-2:]
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return run_tiled(net, x, tile, on_tile)[..., :h, :w]


def run_tiled(
    net: RestorationNet, x: torch.Tensor, tile: int = TILE, on_tile: TileCallback | None = None
) -> torch.Tensor:
    """The network's output computed tile by tile, equal to ``net(x)`` up to float rounding.

    Each branch reads its own halo around each tile (its receptive field, rounded up to the network's multiple so
    pooling and pixel folds stay on the global grid): the fine branches, where the compute is, need a few dozen
    pixels, and only the cheap coarse branches need wide context. Memory is bounded by the tile size, not the image.
    ``on_tile(done, total)`` is called after each unit of work; raising from it (e.g. on cancel) stops the run.
    """
    m = net.config.multiple
    h, w = x.shape[-2:]
    if h % m or w % m:
        raise ValueError(f"input sides must be multiples of {m}")
    tile = max(m, tile - tile % m)
    out = x[:, : net.config.out_channels].clone()
    grid = [(y, xx) for y in range(0, h, tile) for xx in range(0, w, tile)]
    total, done = len(grid) * len(net.branches), 0
    for weight, branch in zip(net.mix, net.branches, strict=True):
        halo = -(-branch.halo // m) * m
        for y0, x0 in grid:
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            ry0, rx0 = max(0, y0 - halo), max(0, x0 - halo)
            ry1, rx1 = min(h, y1 + halo), min(w, x1 + halo)
            r = branch(x[..., ry0:ry1, rx0:rx1])
            out[..., y0:y1, x0:x1] += weight * r[..., y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0]
            done += 1
            if on_tile is not None:
                on_tile(done, total)
    return out


@torch.no_grad()
def restore(
    net: RestorationNet,
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


def context_margin(net: RestorationNet, task: Task) -> int:
    """Input pixels of context around a region so that restoring the region alone equals restoring the whole
    image there: the widest branch halo (in input pixels) plus the bicubic upsampler's reach, on the 16-pixel grid."""
    m = net.config.multiple
    widest = max(b.halo for b in net.branches)
    return -(-(widest // task.scale + 4) // m) * m


def restore_region(
    net: RestorationNet,
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
