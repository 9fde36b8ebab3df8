"""``python -m backend eval TASK``: benchmark a restoration network."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..tasks import get_task
from .common import TASK_NAMES


def add_parser(sub: Any) -> None:
    p = sub.add_parser("eval", help="benchmark a restoration network")
    p.add_argument("task", help=TASK_NAMES)
    p.add_argument("--sets", help="comma-separated benchmark sets (default depends on the task)")
    p.add_argument("--data", help="benchmark root holding NAME/HR/*.png")
    p.add_argument("--weights", help="weights file (default: weights/TASK.safetensors)")
    p.add_argument("--json", help="write the report here")
    p.add_argument("--sigma", type=float, default=25.0, help="denoise: noise sigma on 0..255")
    p.add_argument("--blur-sigma", type=float, default=2.0, help="deblur: Gaussian blur sigma in pixels")
    p.add_argument("--blur-noise", type=float, default=0.0, help="deblur: added noise sigma on 0..255")
    p.add_argument("--limit", type=int, help="only the first N images of each set (smoke runs)")
    p.add_argument(
        "--clean-inputs", action="store_true", help="photo models: the clean model's inputs instead of the RW grid"
    )
    p.add_argument("--manifest", action="store_true", help="record the scores in weights/manifest.json")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    import torch

    from ..bench.evaluate import EvalConfig, evaluate, print_table

    if args.threads:
        torch.set_num_threads(args.threads)

    cfg = EvalConfig(
        sets=args.sets.split(",") if args.sets else None,
        sigma=args.sigma,
        blur_sigma=args.blur_sigma,
        blur_noise=args.blur_noise,
        limit=args.limit,
        clean_inputs=args.clean_inputs,
    )
    if args.data:
        cfg.data = Path(args.data)
    report = evaluate(
        get_task(args.task),
        cfg,
        weights=Path(args.weights) if args.weights else None,
        json_path=Path(args.json) if args.json else None,
        update_manifest=args.manifest,
    )
    print_table(report)
