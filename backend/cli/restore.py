"""``python -m backend restore``: one image file in, one file out (restored, then textured), alpha and bit depth
kept. ``--style NAME[:STRENGTH]`` may repeat; a ``--mask``, ``--texture-scale`` or ``--seed`` right after a
``--style`` is that style's mask, texture size or variation; a ``--mask`` before any ``--style`` is the inpainting
mask."""

from __future__ import annotations

import argparse
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..cleanup import AUTO, check_cleanup, strength_for
from ..errors import RetexError
from ..imaging.io import output_format, read_image, read_mask, write_image
from ..imaging.resize import imresize
from ..pipeline import process
from ..runtime import load_net, load_style_model
from ..runtime.base import RestorationModel, StyleModel
from ..styles import find_style
from ..stylize import MAX_SEED, TEXTURE_SCALES, StyleSlot, check_seed, check_strength, check_texture_scale
from ..tasks import Task, get_task
from . import batch
from .common import TASK_NAMES, device_arg, runtime_arg


@dataclass
class SlotArg:
    """One ``--style NAME[:STRENGTH]`` and the ``--mask``, ``--texture-scale`` and ``--seed`` that followed it."""

    style: str
    strength: float = 1.0
    mask: Path | None = None
    scale: float = 1.0
    seed: int = 0


@dataclass
class RestoreArgs:
    task: Task | None  # None: texture only
    slots: list[SlotArg] = field(default_factory=list)
    inpaint_mask: Path | None = None
    preserve_colours: bool = False
    weights: Path | None = None
    cleanup: float | None = None  # photo models: clean-up strength in [0, 1]; None: "auto", read from each image
    runtime: str = "auto"  # auto, onnx or torch (backend.runtime)
    device: str = "auto"  # auto, cpu, cuda, dml or coreml (backend.runtime.providers)

    def hole(self) -> Path | None:
        """The inpainting mask's file when the task inpaints; a mask without such a task, or such a task without
        a mask, is an error (checked before anything is read or loaded)."""
        task = self.task
        if task is None or not task.uses_mask:
            if self.inpaint_mask is not None:
                raise RetexError(
                    f"--mask before any --style is the inpainting mask, but task '{task.name if task else 'none'}'"
                    " does not inpaint (put --mask after the --style it belongs to)"
                )
            return None
        if self.inpaint_mask is None:
            raise RetexError("inpainting needs a mask (--mask, white = pixels to fill)")
        return self.inpaint_mask


def parse_slots(items: list[tuple[str, str]]) -> tuple[list[SlotArg], Path | None]:
    """``[("style", "brick:0.8"), ("mask", "m.png"), ...]`` in command-line order -> slots and inpainting mask."""
    slots: list[SlotArg] = []
    hole = None
    for kind, value in items:
        if kind == "style":
            name, _, strength = value.partition(":")
            try:
                s = float(strength) if strength else 1.0
            except ValueError:
                raise RetexError(f"--style {value}: the strength after ':' must be a number in [0, 2]") from None
            slots.append(SlotArg(name, check_strength(s)))
        elif kind in ("texture-scale", "seed"):
            if not slots:
                raise RetexError(f"--{kind} {value}: put it after the --style it belongs to")
            _slot_option(slots[-1], kind, value)
        elif slots:
            if slots[-1].mask is not None:
                raise RetexError(f"--style {slots[-1].style} has two masks")
            slots[-1].mask = Path(value)
        elif hole is None:
            hole = Path(value)
        else:
            raise RetexError("only one inpainting mask (--mask before any --style)")
    return slots, hole


def _slot_option(slot: SlotArg, kind: str, value: str) -> None:
    """A ``--texture-scale`` or ``--seed`` for ``slot``, checked (a bad value is one error line, before any work)."""
    if kind == "texture-scale":
        try:
            scale = float(value)
        except ValueError:
            scale = float("nan")
        lo, hi = TEXTURE_SCALES
        if not lo <= scale <= hi:
            raise RetexError(f"--texture-scale {value}: the texture's size must be a number from {lo:g} to {hi:g}")
        slot.scale = check_texture_scale(scale)
        return
    try:
        slot.seed = check_seed(int(value, 10))
    except (ValueError, RetexError):
        raise RetexError(f"--seed {value}: the variation must be a whole number from 0 to {MAX_SEED}") from None


Models = tuple[tuple[Task, RestorationModel] | None, list[StyleModel]]


@functools.lru_cache(maxsize=4)
def _net(task: Task, strength: float, runtime: str, weights: Path | None, device: str) -> RestorationModel:
    """A network per clean-up strength, kept for the next files of a batch: "auto" gives each image its own
    strength, in steps of 0.05, and neighbouring photos mostly share one."""
    return load_net(task, strength, runtime, weights, device=device)


def load_models(args: RestoreArgs) -> Models:
    """The restoration network and the styles ``args`` name, loaded once (a batch reuses them for every file)."""
    restoration = None
    if args.task:
        strength = 1.0 if args.cleanup is None else args.cleanup  # "auto": restore_file loads each image's own
        restoration = (args.task, _net(args.task, strength, args.runtime, args.weights, args.device))
    return restoration, [load_style_model(find_style(slot.style), args.runtime, args.device) for slot in args.slots]


def restore_file(input: Path, output: Path, args: RestoreArgs, models: Models | None = None) -> None:
    """Restore-then-texture ``input`` into ``output`` (format from its suffix, same bit depth as the input).

    Cheap checks come first (output suffix, weights, styles, then the image and masks) so a bad argument fails
    before any network runs; the output is written atomically, so on any failure no output file appears.
    """
    output_format(output)
    task, hole_path = args.task, args.hole()
    restoration, styles = models or load_models(args)
    image = read_image(input)
    if task is not None and task.degradation == "real" and args.cleanup is None:  # "auto": judged per image
        restoration = (task, _net(task, strength_for(None, image.rgb), args.runtime, args.weights, args.device))
    size = (int(image.rgb.shape[-2]), int(image.rgb.shape[-1]))
    hole = None if hole_path is None else read_mask(hole_path, size)
    slots = [
        StyleSlot(
            style,
            slot.strength,
            None if slot.mask is None else read_mask(slot.mask, size, soft=True),
            slot.scale,
            slot.seed,
        )
        for style, slot in zip(styles, args.slots, strict=True)
    ]
    rgb = process(image.rgb, restoration, slots, hole, preserve_colours=args.preserve_colours)
    alpha = image.alpha
    if alpha is not None and task and task.scale > 1:  # alpha follows the picture's new size, smoothly
        alpha = np.clip(imresize(alpha, float(task.scale)), 0, 1)
    write_image(output, rgb, alpha, bits=image.bits)


def restore_file_remote(input: Path, output: Path, args: RestoreArgs, endpoint: str, token: str | None) -> None:
    """Like ``restore_file`` but through a running server: the pixels travel as protocol frames in the file's own
    depth, so the output equals the in-process command's byte for byte when both run on the same number of CPU
    threads (on another count a few pixels may be one level apart)."""
    from plugin.common.client import BackendError, Client
    from plugin.common.protocol import FrameSpec
    from plugin.common.replies import Result
    from plugin.common.requests import RunRequest, Slot

    from ..service.frames import from_image, to_image

    output_format(output)
    task, hole_path = args.task, args.hole()
    image = read_image(input)
    h, w = image.rgb.shape[-2:]
    sample = "u16" if image.bits == 16 else "u8"
    spec = FrameSpec(w, h, "RGBA" if image.alpha is not None else "RGB", sample, "image")
    frame = from_image(spec, image.rgb, image.alpha)

    def mask_frame(path: Path, soft: bool) -> tuple[FrameSpec, bytes]:
        m = read_mask(path, (h, w), soft=soft)
        return from_image(FrameSpec(w, h, "Y", "u16", "mask"), np.broadcast_to(m, (1, 3, h, w)), None)

    hole = None if hole_path is None else mask_frame(hole_path, soft=False)
    request = RunRequest(
        task.name if task else "none",
        frame,
        tuple(
            Slot(s.style, s.strength, None if s.mask is None else mask_frame(s.mask, soft=True), s.scale, s.seed)
            for s in args.slots
        ),
        hole,
        preserve_colours=args.preserve_colours,
        cleanup=args.cleanup if task and task.degradation == "real" else None,
    )
    try:
        with Client(endpoint, token=token, timeout_s=60) as client:
            result = client.request(request)
    except BackendError as e:
        raise RetexError(e.message) from None
    assert isinstance(result, Result) and result.frame is not None
    rgb, alpha = to_image(*result.frame)
    write_image(output, rgb, alpha, bits=image.bits)


class _Ordered(argparse.Action):
    """Collects ``--style``, ``--mask``, ``--texture-scale`` and ``--seed`` into one list in command-line order, so
    each knows its style."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        items = list(getattr(namespace, self.dest) or [])
        items.append(((option_string or "").lstrip("-"), values))
        setattr(namespace, self.dest, items)


def _cleanup_arg(value: str) -> float | None:
    try:
        return None if value == AUTO else check_cleanup(value)
    except RetexError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_parser(sub: Any) -> None:
    p = sub.add_parser("restore", help="restore then texture one image file, or many into a folder")
    p.add_argument("input", nargs="+", help="an image file; or several, folders and glob patterns (a batch)")
    p.add_argument("-o", "--output", required=True, help=f"the output file; {batch.OUTPUT_NAMES}")
    batch.add_options(p)
    p.add_argument("--task", required=True, help=f"none (texture only), {TASK_NAMES}")
    p.add_argument(
        "--style",
        dest="slots",
        action=_Ordered,
        metavar="NAME[:STRENGTH]",
        help="add a style (strength 0-2, default 1); repeatable",
    )
    p.add_argument(
        "--mask",
        dest="slots",
        action=_Ordered,
        metavar="MASK",
        help="after a --style: where it goes (white = full strength, grey = partial); before any --style: the "
        "inpainting mask (white = pixels to fill)",
    )
    p.add_argument(
        "--texture-scale",
        dest="slots",
        action=_Ordered,
        metavar="SCALE",
        help="after a --style: the texture's size, 0.5 (half) to 2 (twice), default 1",
    )
    p.add_argument(
        "--seed",
        dest="slots",
        action=_Ordered,
        metavar="N",
        help="after a --style: the texture's variation, a whole number (default 0); the same seed repeats exactly",
    )
    p.add_argument("--preserve-colours", action="store_true", help="texture the luminance only")
    p.add_argument(
        "--cleanup",
        type=_cleanup_arg,
        default=None,
        help="photo models: how much noise and JPEG to remove, 0 (keep close to the input) to 1, or auto (default)",
    )
    p.add_argument("--weights", help="restoration weights file (default: weights/TASK.safetensors)")
    p.add_argument("--endpoint", help="send the job to a running server (python -m backend serve) instead")
    p.add_argument("--token-file", help="with a tcp:// endpoint: the file holding the server's token")
    runtime_arg(p)
    device_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    _net.cache_clear()  # networks are kept for one command's files, never across commands (their files may change)
    slots, hole = parse_slots(args.slots or [])
    task = None if args.task == "none" else get_task(args.task)
    weights = Path(args.weights) if args.weights else None
    opts = RestoreArgs(task, slots, hole, args.preserve_colours, weights, args.cleanup, args.runtime, args.device)
    if batch.is_batch(args.input, args.output):
        _run_batch(args, opts)
    elif args.endpoint:
        token = Path(args.token_file).read_text().strip() if args.token_file else None
        restore_file_remote(Path(args.input[0]), Path(args.output), opts, args.endpoint, token)
    else:
        restore_file(Path(args.input[0]), Path(args.output), opts)


def _run_batch(args: argparse.Namespace, opts: RestoreArgs) -> None:
    """Many files into the folder ``-o``, the networks and styles loaded once (or each file sent to the server)."""
    masked = opts.inpaint_mask is not None or any(s.mask for s in opts.slots) or bool(opts.task and opts.task.uses_mask)
    jobs = batch.plan(args.input, Path(args.output), args.recursive, masked)
    if args.endpoint:
        token = Path(args.token_file).read_text().strip() if args.token_file else None
        batch.run(jobs, lambda i, o: restore_file_remote(i, o, opts, args.endpoint, token), args.overwrite)
    else:
        models = load_models(opts)
        batch.run(jobs, lambda i, o: restore_file(i, o, opts, models), args.overwrite)
