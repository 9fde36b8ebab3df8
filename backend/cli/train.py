"""``python -m backend train TASK``: train one restoration network."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..tasks import get_task
from .common import TASK_NAMES


def add_parser(sub: Any) -> None:
    p = sub.add_parser("train", help="train a restoration network")
    p.add_argument("task", help=TASK_NAMES)
    p.add_argument("--data", nargs="+", help="folders of training images (default: T91 and BSD200)")
    p.add_argument("--iters", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("--patch", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--minutes", type=float, help="time budget: the schedule anneals to finish by then")
    p.add_argument("--loss", choices=["auto", "mse", "l1fft"], help="pixel loss (auto: l1fft for photo models)")
    p.add_argument("--perceptual", type=float, help="weight of the VGG-16 perceptual term (default 0)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from runs/TASK/checkpoint.safetensors")
    p.add_argument("--init", help="start from these weights (fine-tuning)")
    p.add_argument("--export", help="write the weights here (default: weights/TASK.safetensors)")
    p.add_argument("--run-dir", help="checkpoints go to RUN_DIR/TASK/ (default: runs/)")
    p.add_argument("--workers", type=int, help="processes degrading the photo models' batches (default 0: inline)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    p.add_argument(
        "--precision",
        choices=["auto", "bf16", "fp32"],
        default="auto",
        help="training arithmetic (auto: bf16 where the hardware supports it)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from ..train.restoration import TrainConfig, train_restoration

    cfg = TrainConfig(device=args.device, threads=args.threads, seed=args.seed, precision=args.precision)
    for name in ("iters", "batch", "patch", "lr", "minutes", "loss", "perceptual", "workers", "run_dir"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    if args.data:
        cfg.data = args.data
    summary = train_restoration(
        get_task(args.task),
        cfg,
        resume=args.resume,
        init=Path(args.init) if args.init else None,
        export=Path(args.export) if args.export else None,
        progress=not args.no_progress,
    )
    print(json.dumps(summary))
