"""``python -m backend eval-style NAME...``: measure styles on benchmark content (texture and content ratios)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import RetexError
from ..paths import BENCHMARK_DIR
from .common import TASK_NAMES


def add_parser(sub: Any) -> None:
    p = sub.add_parser("eval-style", help="measure styles on benchmark content (texture and content ratios)")
    p.add_argument("names", nargs="*")
    p.add_argument("--all", action="store_true", help="every shipped style")
    p.add_argument("--task", default="sr4", help=f"restoration before the style: none, {TASK_NAMES}")
    p.add_argument("--sets", help="comma-separated benchmark sets (default BSD100)")
    p.add_argument("--data", help="benchmark root holding NAME/HR/*.png")
    p.add_argument("--exemplar", help="the exemplar image, if the style does not record where it is")
    p.add_argument("--limit", type=int, help="only the first N images of each set")
    p.add_argument("--json", help="write the report here")
    p.add_argument("--manifest", action="store_true", help="record the scores in weights/manifest.json")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    import torch

    from ..bench.evaluate_style import evaluate_styles, write_json

    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.names
    if args.all:
        from ..styles import list_styles

        names = [s["name"] for s in list_styles() if s["builtin"]]
    if not names:
        raise RetexError("name at least one style (or --all)")
    reports = evaluate_styles(
        names,
        args.task,
        sets=args.sets.split(",") if args.sets else None,
        data=Path(args.data) if args.data else BENCHMARK_DIR,
        limit=args.limit,
        exemplar=Path(args.exemplar) if args.exemplar else None,
    )
    report = reports[names[0]] if len(names) == 1 else {"styles": reports}
    if args.json:
        write_json(report, Path(args.json))
    if args.manifest:
        from ..manifest import update_style_manifest

        for name, r in reports.items():
            update_style_manifest(name, args.task, r)
    print(json.dumps(report, indent=2))
