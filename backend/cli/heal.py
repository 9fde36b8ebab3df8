"""``python -m backend heal IN --mask M -o OUT``: fill a hole with the texture of its surroundings (``backend.heal``).

The texture is the ring's own detail by default; ``--style NAME`` uses a style instead, and ``--seconds S`` learns
one from the ring (``ring_exemplar``) in a ``train-style`` run of S seconds, kept in a temporary folder and gone
afterwards.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..cleanup import AUTO_STRENGTH
from ..errors import RetexError
from ..heal import DETAIL, Hole, find_hole, heal, ring_crops, ring_exemplar
from ..imaging.io import output_format, read_image, read_mask, write_image
from ..runtime import load_net, load_style_model
from ..runtime.base import StyleModel
from ..styles import find_style
from ..stylize import MAX_SEED, check_seed
from ..tasks import get_task
from .common import end_on_signals, runtime_arg

RING_STYLE = "ring"


def learn_ring_style(
    image: np.ndarray, hole: Hole, seconds: float, runtime: str = "auto", threads: int = 0, seed: int = 0
) -> tuple[StyleModel, int]:
    """A fine style learned in ``seconds`` from the ring around ``hole`` and its count of training steps: small
    patches and blurred content only, so a short budget makes as many steps as it can."""
    import torch

    from ..train.style import StyleTrainConfig, train_style

    exemplar = torch.from_numpy(ring_exemplar(image, hole, seed))
    with tempfile.TemporaryDirectory(prefix="retex-heal-") as tmp:
        cfg = StyleTrainConfig(minutes=seconds / 60, threads=threads, seed=seed, device="cpu")
        cfg.patch, cfg.batch, cfg.content_tasks = 64, 2, ("blur",)
        cfg.run_dir, cfg.library = str(Path(tmp) / "runs"), str(Path(tmp) / "styles")
        result = train_style(exemplar, RING_STYLE, "fine", cfg, info={"exemplar": "ring"}, progress=False)
        return load_style_model(Path(result["path"]), runtime), int(result["iterations"])


def _number(low: float, high: float, words: str) -> Callable[[str], float]:
    """An argparse type: a number from ``low`` to ``high``, else one line saying what ``words`` must be."""

    def read(value: str) -> float:
        try:
            n = float(value)
        except ValueError:
            n = float("nan")
        if not low <= n <= high:
            raise argparse.ArgumentTypeError(f"{value}: {words}")
        return n

    return read


_seconds = _number(5, 600, "the learning time must be a number of seconds from 5 to 600")
_detail = _number(0, 1, "the detail must be a number from 0 (a smooth fill) to 1")


def _seed(value: str) -> int:
    try:
        return check_seed(int(value, 10))
    except (ValueError, RetexError):
        message = f"{value}: the variation must be a whole number from 0 to {MAX_SEED}"
        raise argparse.ArgumentTypeError(message) from None


def add_parser(sub: Any) -> None:
    p = sub.add_parser("heal", help="fill a hole with the texture around it (inpaint, then texture the fill)")
    p.add_argument("input", help="the image file")
    p.add_argument("--mask", required=True, help="the hole (white = pixels to fill)")
    p.add_argument("-o", "--output", required=True, help="the healed image's file")
    texture = p.add_mutually_exclusive_group()
    texture.add_argument("--style", help="texture the fill with this style instead of the surroundings' detail")
    texture.add_argument(
        "--seconds", type=_seconds, help="instead: learn a style from the surroundings for this many seconds"
    )
    p.add_argument(
        "--detail",
        type=_detail,
        default=DETAIL,
        help="how much of the surroundings' fine detail the fill gets, 0 to 1 (default: chosen for each hole, as much "
        "as costs little fidelity; more looks more like the surroundings and strays further from what was there)",
    )
    p.add_argument("--seed", type=_seed, default=0, help="the texture's variation (a whole number, default 0)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for the learning (0: all)")
    runtime_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    end_on_signals()  # Ctrl-C while learning: no output file
    output_format(Path(args.output))
    style_path = find_style(args.style) if args.style else None
    loaded = read_image(Path(args.input))
    size = (int(loaded.rgb.shape[-2]), int(loaded.rgb.shape[-1]))
    mask = read_mask(Path(args.mask), size)
    hole = find_hole(mask)
    image = loaded.rgb
    if style_path is None:
        ring_crops(hole)  # too thin a ring fails here, before anything is loaded
    task = get_task("inpaint")
    inpaint = (task, load_net(task, AUTO_STRENGTH, args.runtime))
    style = None
    if style_path is not None:
        style = load_style_model(style_path, args.runtime)
    elif args.seconds is not None:
        style, steps = learn_ring_style(image, hole, args.seconds, args.runtime, args.threads, args.seed)
        print(f"learned the texture around the hole in {steps} steps")
    healed = heal(image, mask, inpaint, style, args.seed, args.detail)
    write_image(Path(args.output), healed.image, loaded.alpha, bits=loaded.bits)
    print(f"{args.output}: healed {int(hole.mask.sum())} px, texture strength {healed.strength:.2f}")
