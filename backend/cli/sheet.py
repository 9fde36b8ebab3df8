"""``python -m backend sheet``: draw the style swatch sheet (``docs/styles.png``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("sheet", help="draw the style swatch sheet (exemplar, on grey, on a photo)")
    p.add_argument("-o", "--output", default="docs/styles.png")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from ..bench.sheet import make_sheet

    print(make_sheet(Path(args.output)))
