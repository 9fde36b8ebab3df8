"""``python -m backend export-onnx``: the ONNX graph beside each model's or style's weights, checked against torch."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..errors import RetexError
from ..paths import STYLES_DIR, WEIGHTS_DIR
from ..tasks import TASKS


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "export-onnx", help="write the ONNX graph beside each model's or style's weights, checked against torch"
    )
    p.add_argument("names", nargs="*", help="tasks, style names or .safetensors files")
    p.add_argument("--all", action="store_true", help="every restoration model in weights/ and every shipped style")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from ..runtime.export import export
    from ..styles import find_style

    paths = [Path(n) for n in args.names if n.endswith(".safetensors")]
    for name in (n for n in args.names if not n.endswith(".safetensors")):
        paths.append(WEIGHTS_DIR / f"{name}.safetensors" if name in TASKS else find_style(name))
    if args.all:
        paths += [WEIGHTS_DIR / f"{name}.safetensors" for name in TASKS]
        paths += sorted(STYLES_DIR.glob("*.safetensors"))
        paths = [p for p in paths if p.is_file()]
    if not paths:
        raise RetexError("name at least one task, style or .safetensors file (or --all)")
    for path in dict.fromkeys(paths):
        out = export(path)
        print(f"{out}  {out.stat().st_size / 1024:.0f} KiB")
