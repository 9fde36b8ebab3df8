"""``python -m backend pack-data``: the training images as one small folder that travels to a GPU box."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("pack-data", help="the training images as one small folder that travels to a GPU box")
    p.add_argument("--out", default="runs/pack", help="folder to write (ignored by git)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from ..train.all import pack_data

    print(json.dumps(pack_data(Path(args.out))))
