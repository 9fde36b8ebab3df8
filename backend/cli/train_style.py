"""``python -m backend train-style EXEMPLAR --name NAME``: train a style network from one exemplar image."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .common import end_on_signals


def add_parser(sub: Any) -> None:
    p = sub.add_parser("train-style", help="train a style network from one exemplar image")
    p.add_argument("exemplar")
    p.add_argument("--name", required=True, help="the style's name (letters, digits, - and _)")
    p.add_argument("--scale", choices=["fine", "coarse"], default="fine")
    p.add_argument("--minutes", type=float, help="time budget (default 8)")
    p.add_argument("--iters", type=int)
    p.add_argument("--resume", action="store_true", help="continue from runs/styles/NAME/checkpoint.safetensors")
    p.add_argument("--library", help="where the style is written (default: the user's style folder)")
    p.add_argument("--data", nargs="+", help="folders of content images (default: T91 and BSD200)")
    p.add_argument("--exemplar-label", help="how the manifest names the exemplar (default: its absolute path)")
    p.add_argument("--licence", default="unknown", help="the exemplar's licence, recorded with the style")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto")
    p.set_defaults(func=run)


def settings(args: argparse.Namespace) -> tuple[Any, Any, dict]:
    """(exemplar, training config, manifest info) from the command's arguments (``tools/learning_curve.py`` runs
    the same command with its own hooks)."""
    import torch

    from ..imaging.io import read_image
    from ..styles import check_name
    from ..train.style import StyleTrainConfig

    check_name(args.name)
    cfg = StyleTrainConfig(device=args.device, threads=args.threads, seed=args.seed, precision=args.precision)
    for name in ("minutes", "iters", "library"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    if args.data:
        cfg.data = args.data
    exemplar = torch.from_numpy(read_image(Path(args.exemplar)).rgb)
    info = {"exemplar": args.exemplar_label or str(Path(args.exemplar).resolve()), "licence": args.licence}
    return exemplar, cfg, info


def run(args: argparse.Namespace) -> None:
    end_on_signals()  # a checkpoint and an untouched library
    from ..train.style import train_style

    exemplar, cfg, info = settings(args)
    print(json.dumps(train_style(exemplar, args.name, args.scale, cfg, info=info, resume=args.resume)))
