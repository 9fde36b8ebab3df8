"""Restoration of an image of any size: the one function that the command line, evaluation and service use.

It works on numpy arrays (N x C x H x W float32), whichever runtime runs the networks; the tools' torch tensors and
bare torch networks are taken as well, converted at the entry points (``backend.arrays``, ``runtime.base``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .arrays import A, Array, like, pad_edge, to_numpy
from .errors import RetexError
from .imaging.resize import imresize
from .runtime.base import RestorationModel, as_restoration_model, as_style_model
from .runtime.memory import out_of_memory
from .style_grid import style_margin, style_residual, style_tiles  # style_residual: also the bench's
from .stylize import StyleSlot, check_mask, check_slot, compose
from .tasks import Task
from .tiling import MIN_TILE, split, tile_grid, window

if TYPE_CHECKING:
    from .nets.restoration import RestorationNet

MIN_SIDE = 8  # smaller inputs carry too little context for the network
TileCallback = Callable[[int, int], None]
Notice = Callable[[str], None]  # one line for the user about how the run goes on (e.g. out of memory: smaller tiles)
log = logging.getLogger("retex.pipeline")


def _pool2(x: np.ndarray) -> np.ndarray:
    """2 x 2 average pooling, a partial window at an odd edge averaging what it holds (torch's ceil_mode)."""
    h, w = x.shape[-2:]
    x = pad_edge(x, h % 2, w % 2)  # an odd edge's window holds its edge twice: the same mean
    return (x[..., 0::2, 0::2] + x[..., 0::2, 1::2] + x[..., 1::2, 0::2] + x[..., 1::2, 1::2]) * np.float32(0.25)


def _bilinear_axis(x: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Linear resize along ``axis`` to ``size`` samples, pixel centres aligned (align_corners=False)."""
    n = x.shape[axis]
    if size == 2 * n and n > 1:
        return _double_axis(x, axis)
    src = np.maximum((np.arange(size, dtype=np.float32) + 0.5) * np.float32(n / size) - 0.5, 0)
    i0 = np.minimum(src.astype(np.int64), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    t = (src - i0).astype(np.float32)
    t = t.reshape(-1, 1) if axis == -2 else t
    a, b = np.take(x, i0, axis=axis), np.take(x, i1, axis=axis)
    return a * (1 - t) + b * t


def _double_axis(x: np.ndarray, axis: int) -> np.ndarray:
    """``_bilinear_axis`` to twice the samples (axis -1 or -2), by slices instead of gathers (the push-pull's usual
    step, 3x faster at 4 MP), the same arithmetic so the same bits: sample 2i reads i-1 and i at 0.25 / 0.75
    (sample 0: i = 0), sample 2i+1 reads i and i+1 at 0.75 / 0.25, the last edge clamped."""

    def at(part: slice | int) -> tuple:
        return (Ellipsis, part) if axis == -1 else (Ellipsis, part, slice(None))

    shape = list(x.shape)
    shape[axis] *= 2
    out = np.empty(shape, np.float32)
    quarter, three = np.float32(0.25), np.float32(0.75)
    out[at(0)] = x[at(0)]  # t = 0: a * 1 + b * 0
    out[at(slice(2, None, 2))] = x[at(slice(None, -1))] * (1 - three) + x[at(slice(1, None))] * three
    out[at(slice(1, -1, 2))] = x[at(slice(None, -1))] * (1 - quarter) + x[at(slice(1, None))] * quarter
    out[at(-1)] = x[at(-1)] * (1 - quarter) + x[at(-1)] * quarter
    return out


def fill_holes(image: A, mask: Array) -> A:
    """Push-pull fill: each hole pixel gets the average of the known pixels at the finest pyramid level that has
    any. A cheap, smooth first guess that the inpainting network then corrects."""
    return like(_fill(to_numpy(image), to_numpy(mask)), image)


def _fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    known = 1.0 - mask
    if bool((known > 0).all()):
        return image
    h, w = image.shape[-2:]
    if h == 1 and w == 1:  # nothing known at all: mid-grey
        return image * known + np.float32(0.5) * mask
    pooled_known = _pool2(known)
    pooled = _pool2(image * known) / np.maximum(pooled_known, np.float32(1e-8))
    coarse = _fill(pooled, (pooled_known <= 0).astype(np.float32))
    up = _bilinear_axis(_bilinear_axis(coarse, h, -2), w, -1)
    return image * known + up * mask


def net_input(task: Task, image: A, mask: Array | None = None) -> A:
    """What the network sees: the bicubic upsample for super-resolution, the filled image plus mask for
    inpainting, the image itself otherwise."""
    x = to_numpy(image)
    if task.scale > 1:
        return like(imresize(x, float(task.scale)), image)
    if task.uses_mask:
        if mask is None:
            raise RetexError("inpainting needs a mask (white = pixels to fill)")
        m = to_numpy(mask)
        if m.shape[-2:] != x.shape[-2:]:
            raise RetexError(f"mask is {m.shape[-1]}x{m.shape[-2]} but the image is {x.shape[-1]}x{x.shape[-2]}")
        return like(np.concatenate([_fill(x, m), m], axis=1), image)
    return image


def run_padded(
    net: RestorationModel | RestorationNet,
    x: A,
    tile: int | None = None,
    on_tile: TileCallback | None = None,
    on_notice: Notice | None = None,
) -> A:
    """Run the network on any size: replicate-pad to its multiple, run tile by tile, crop back."""
    model, arr = as_restoration_model(net), to_numpy(x)
    m = model.config.multiple
    h, w = arr.shape[-2:]
    return like(_run_tiled(model, pad_edge(arr, (-h) % m, (-w) % m), tile, on_tile, on_notice)[..., :h, :w], x)


def _counter(total: int, on_tile: TileCallback | None) -> Callable[[], None]:
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        if on_tile is not None:
            on_tile(done, total)

    return step


def run_tiled(
    net: RestorationModel | RestorationNet, x: A, tile: int | None = None, on_tile: TileCallback | None = None
) -> A:
    """The network's output computed tile by tile (see ``_run_tiled``)."""
    return like(_run_tiled(as_restoration_model(net), to_numpy(x), tile, on_tile), x)


def _run_tiled(
    net: RestorationModel,
    x: np.ndarray,
    tile: int | None = None,
    on_tile: TileCallback | None = None,
    on_notice: Notice | None = None,
) -> np.ndarray:
    """The network's output computed tile by tile, equal to ``net(x)`` up to float rounding.

    Each branch reads its own halo around each tile (its receptive field): the fine branches, where the compute is,
    need a few dozen pixels, and only the cheap coarse branches need wide context. One call per tile gives every
    branch its crop (``net.run_branches``: torch or ONNX Runtime, the only place they differ). ``on_tile(done,
    total)`` is called after each branch's share of a tile; raising from it (e.g. on cancel) stops the run. A tile
    that runs out of memory is retried smaller, then on the CPU (``_Tiles``): the same result, said once. The tile
    side is the runtime's own (``net.tile``) unless ``tile`` is given.
    """
    m = net.config.multiple
    h, w = x.shape[-2:]
    if h % m or w % m:
        raise ValueError(f"input sides must be multiples of {m}")
    tile = net.tile if tile is None else tile
    tile = min(max(m, tile - tile % m), max(h, w))  # a small image is one tile, of its own size
    grid = tile_grid(h, w, tile)
    halos = [-(-halo // g) * g for halo, g in zip(net.halos, net.config.grids, strict=True)]  # on each branch's grid
    tiles = _Tiles(net, x, halos, tile, on_notice)
    step = _counter(len(grid) * len(net.halos), on_tile)
    for y0, x0 in grid:
        for box in split((y0, x0, min(y0 + tile, h), min(x0 + tile, w)), tiles.side):
            tiles.add(box)
        for _ in net.halos:
            step()
    return tiles.out


@dataclass
class _Tiles:
    """The output being assembled, and where tiles run now: the device's network at ``side``, which shrinks by
    halves to ``MIN_TILE`` when a tile runs out of memory, then the CPU's copy of the network (from the full tile
    again). A tile's bands are added only once its run succeeded, so a retried tile is never half in the output."""

    net: RestorationModel
    x: np.ndarray
    halos: list[int]
    side: int
    on_notice: Notice | None
    shrunk: bool = False

    def __post_init__(self) -> None:
        self.out = self.x[:, : self.net.config.out_channels].copy()
        self.tile = self.side  # the CPU starts again from the full tile: it has the memory the device lacked

    def add(self, box: tuple[int, int, int, int]) -> None:
        y0, x0, y1, x1 = box
        h, w = self.x.shape[-2:]
        windows = [window(y0, x0, y1, x1, h, w, halo) for halo in self.halos]
        try:
            bands = self.net.run_branches([self.x[..., ry0:ry1, rx0:rx1] for ry0, rx0, ry1, rx1 in windows])
        except Exception as e:
            if not out_of_memory(e):
                raise
            self._shrink(e)
            for part in split(box, self.side):
                self.add(part)
            return
        out = self.out[..., y0:y1, x0:x1]
        for weight, band, (ry0, rx0, _, _) in zip(self.net.mix, bands, windows, strict=True):
            inner = band[..., y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0]
            out += np.multiply(inner, weight, out=inner)  # bands are fresh outputs, ours to scale: no temporary

    def _shrink(self, error: BaseException) -> None:
        """Half the tile side, or at the floor the CPU; on the CPU at the floor the error stands."""
        m = self.net.config.multiple
        half = max(m, self.side // 2 - self.side // 2 % m)
        if MIN_TILE <= half < self.side:
            if not self.shrunk:
                self._say(f"out of memory on {self.net.device} with {self.side}-pixel tiles: smaller tiles")
            self.shrunk, self.side = True, half
        elif self.net.device != "cpu":
            self._say(f"out of memory on {self.net.device} even with {self.side}-pixel tiles: continuing on the CPU")
            self.net, self.side = self.net.on_cpu(), self.tile
        else:
            raise error

    def _say(self, message: str) -> None:
        log.warning("%s", message)
        if self.on_notice is not None:
            self.on_notice(message)


def restore(
    net: RestorationModel | RestorationNet,
    task: Task,
    image: A,
    mask: Array | None = None,
    on_tile: TileCallback | None = None,
    on_notice: Notice | None = None,
) -> A:
    """Restore an N x 3 x h x w image on [0, 1]; returns N x 3 x (h*scale) x (w*scale) clamped to [0, 1].

    For inpainting only the masked pixels change.
    """
    return like(_restore(as_restoration_model(net), task, to_numpy(image), _maybe(mask), on_tile, on_notice), image)


def _maybe(x: Array | None) -> np.ndarray | None:
    return None if x is None else to_numpy(x)


def _restore(
    net: RestorationModel,
    task: Task,
    image: np.ndarray,
    mask: np.ndarray | None,
    on_tile: TileCallback | None,
    on_notice: Notice | None = None,
) -> np.ndarray:
    if min(image.shape[-2:]) < MIN_SIDE:
        h, w = image.shape[-2:]
        raise RetexError(f"image is {w}x{h}: the smallest side must be at least {MIN_SIDE} px")
    out = np.clip(run_padded(net, net_input(task, image, mask), on_tile=on_tile, on_notice=on_notice), 0, 1)
    if task.uses_mask and mask is not None:
        out = image * (1 - mask) + out * mask
    return out


def context_margin(net: RestorationModel | RestorationNet, task: Task) -> int:
    """Input pixels of context around a region so that restoring the region alone equals restoring the whole
    image there: the widest branch halo (in input pixels) plus the bicubic upsampler's reach, on the 16-pixel grid."""
    m = net.config.multiple
    widest = max(net.halos)
    return -(-(widest // task.scale + 4) // m) * m


def restore_region(
    net: RestorationModel | RestorationNet,
    task: Task,
    image: A,
    region: tuple[int, int, int, int],
    mask: Array | None = None,
    on_tile: TileCallback | None = None,
) -> A:
    """Restore only ``region`` = (x, y, width, height) of ``image`` (e.g. a selection's bounding box), reading just
    enough context around it; returns the region's restored pixels (scaled for super-resolution)."""
    out = _restore_region(as_restoration_model(net), task, to_numpy(image), region, _maybe(mask), on_tile)
    return like(out, image)


def _restore_region(
    net: RestorationModel,
    task: Task,
    image: np.ndarray,
    region: tuple[int, int, int, int],
    mask: np.ndarray | None,
    on_tile: TileCallback | None,
    on_notice: Notice | None = None,
) -> np.ndarray:
    x, y, w, h = region
    H, W = image.shape[-2:]
    if not (0 <= x < W and 0 <= y < H and 0 < w <= W - x and 0 < h <= H - y):
        raise RetexError(f"region {w}x{h}+{x}+{y} is not inside the {W}x{H} image")
    margin, m = context_margin(net, task), net.config.multiple
    x0, y0 = max(0, x - margin) // m * m, max(0, y - margin) // m * m  # stay on the network's grid
    x1, y1 = min(W, x + w + margin), min(H, y + h + margin)
    sub_mask = None if mask is None else mask[..., y0:y1, x0:x1]
    out = _restore(net, task, image[..., y0:y1, x0:x1], sub_mask, on_tile, on_notice)
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


def process(
    image: A,
    restoration: tuple[Task, RestorationModel | RestorationNet] | None,
    slots: list[StyleSlot],
    inpaint_mask: Array | None = None,
    region: tuple[int, int, int, int] | None = None,
    preserve_colours: bool = False,
    on_tile: TileCallback | None = None,
    on_notice: Notice | None = None,
) -> A:
    """Restore then texture: the one entry point of the command line, the service and evaluation.

    ``image`` is N x 3 x H x W on [0, 1]; ``restoration`` None means texture only; each slot's mask is given at the
    input's size (None: everywhere); ``region`` = (x, y, width, height) limits the work to that box plus the context
    the networks need. Returns the region's result at the output scale, clamped to [0, 1].
    """
    arr = to_numpy(image)
    slots = [StyleSlot(as_style_model(s.net), s.strength, _maybe(s.mask), s.scale, s.seed) for s in slots]
    rest = None if restoration is None else (restoration[0], as_restoration_model(restoration[1]))
    out = _process(arr, rest, slots, _maybe(inpaint_mask), region, preserve_colours, on_tile, on_notice)
    return like(out, image)


def _process(
    image: np.ndarray,
    restoration: tuple[Task, RestorationModel] | None,
    slots: list[StyleSlot],
    inpaint_mask: np.ndarray | None,
    region: tuple[int, int, int, int] | None,
    preserve_colours: bool,
    on_tile: TileCallback | None,
    on_notice: Notice | None = None,
) -> np.ndarray:
    H, W = image.shape[-2:]
    if min(H, W) < MIN_SIDE:
        raise RetexError(f"image is {W}x{H}: the smallest side must be at least {MIN_SIDE} px")
    x, y, w, h = region or (0, 0, W, H)
    if not (0 <= x < W and 0 <= y < H and 0 < w <= W - x and 0 < h <= H - y):
        raise RetexError(f"region {w}x{h}+{x}+{y} is not inside the {W}x{H} image")
    for slot in slots:
        check_slot(slot)
        if slot.mask is not None:
            check_mask(to_numpy(slot.mask), (H, W))
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
        base = _restore_region(
            restoration[1], restoration[0], image, ctx, inpaint_mask, progress.restoration, on_notice
        )
    else:
        base = image[..., cy0:cy1, cx0:cx1]
    inner = (..., slice((y - cy0) * s, (y - cy0 + h) * s), slice((x - cx0) * s, (x - cx0 + w) * s))
    ctx_slots = []
    for slot in slots:
        mask = None
        if slot.mask is not None:
            mask = to_numpy(slot.mask)[..., cy0:cy1, cx0:cx1]
            if s > 1:
                mask = np.clip(imresize(mask, float(s)), 0, 1)
            mask = mask[inner]
        ctx_slots.append(StyleSlot(slot.net, slot.strength, mask, slot.scale, slot.seed))
    origin = (cy0 * s, cx0 * s)
    return compose(
        base[inner],
        ctx_slots,
        lambda sl: style_residual(sl.net, base, origin, on_step=progress.style, scale=sl.scale, seed=sl.seed)[inner],
        preserve_colours,
    )
