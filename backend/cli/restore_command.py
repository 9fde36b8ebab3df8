"""``python -m backend restore``: the command's options and its call into ``backend.cli.restore`` (which does the
work). Kept apart only while another change owns ``cli/restore.py``; the two may merge."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..cleanup import AUTO_STRENGTH, check_cleanup
from ..errors import RetexError
from ..tasks import get_task
from .common import TASK_NAMES, runtime_arg


class _Ordered(argparse.Action):
    """Collects ``--style`` and ``--mask`` into one list in command-line order, so a mask knows its style."""

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


def _cleanup_arg(value: str) -> float:
    try:
        return check_cleanup(value)
    except RetexError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_parser(sub: Any) -> None:
    p = sub.add_parser("restore", help="restore then texture one image file")
    p.add_argument("input")
    p.add_argument("-o", "--output", required=True)
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
    p.add_argument("--preserve-colours", action="store_true", help="texture the luminance only")
    p.add_argument(
        "--cleanup",
        type=_cleanup_arg,
        default=AUTO_STRENGTH,
        help="photo models: how much noise and JPEG to remove, 0 (keep close to the input) to 1, or auto (default)",
    )
    p.add_argument("--weights", help="restoration weights file (default: weights/TASK.safetensors)")
    p.add_argument("--endpoint", help="send the job to a running server (python -m backend serve) instead")
    p.add_argument("--token-file", help="with a tcp:// endpoint: the file holding the server's token")
    runtime_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from .restore import RestoreArgs, parse_slots, restore_file, restore_file_remote

    slots, hole = parse_slots(args.slots or [])
    task = None if args.task == "none" else get_task(args.task)
    weights = Path(args.weights) if args.weights else None
    opts = RestoreArgs(task, slots, hole, args.preserve_colours, weights, args.cleanup, args.runtime)
    if args.endpoint:
        token = Path(args.token_file).read_text().strip() if args.token_file else None
        restore_file_remote(Path(args.input), Path(args.output), opts, args.endpoint, token)
    else:
        restore_file(Path(args.input), Path(args.output), opts)
