"""``python -m backend train-all``: every restoration model at once in one time budget (a GPU job)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .common import TASK_NAMES, names


def add_parser(sub: Any) -> None:
    p = sub.add_parser("train-all", help="train every restoration model at once in one time budget (a GPU job)")
    p.add_argument("--minutes", type=float, required=True, help="wall-clock budget of each model's training")
    p.add_argument("--out", default="runs/train-all", help="new weights, log and summary.json go here")
    p.add_argument("--tasks", help=f"comma-separated (default: all of {TASK_NAMES})")
    p.add_argument("--data", nargs="+", help="training image folders (default: T91 and BSD200; on a GPU box: a pack)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--batch", type=int, help="default 32")
    p.add_argument("--patch", type=int, help="HR patch side (default 128)")
    p.add_argument("--workers", type=int, default=2, help="degradation processes per photo model")
    p.add_argument("--threads", type=int, help="CPU threads per training process (default: torch's)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from ..train.all import TrainAllConfig, train_all

    cfg = TrainAllConfig(minutes=args.minutes, out=Path(args.out), device=args.device, workers=args.workers)
    if args.tasks:
        cfg.tasks = names(args.tasks) or []
    if args.data:
        cfg.data = args.data
    for name in ("batch", "patch", "threads"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    print(json.dumps(train_all(cfg), indent=2))
