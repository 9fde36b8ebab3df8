"""``python -m backend styles``: list the installed styles."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("styles", help="list the installed styles")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from ..styles import list_styles

    styles = list_styles()
    if args.json:
        print(json.dumps({"styles": styles}, indent=2))
        return
    for s in styles:
        print(f"{s['name']:<24} {s['scale']:<7} {s['params']:>7} params  {s.get('exemplar', '')}")
