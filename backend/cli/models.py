"""``python -m backend models``: the shipped models and styles with their measured scores (Markdown)."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import RetexError
from ..paths import WEIGHTS_DIR


def add_parser(sub: Any) -> None:
    p = sub.add_parser("models", help="the shipped models and styles with their measured scores (Markdown)")
    p.add_argument("--readme", action="store_true", help="also rewrite the tables in weights/README.md")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from ..bench.evaluate import manifest_markdown
    from ..bench.evaluate_style import styles_markdown
    from ..manifest import read_manifest

    manifest = read_manifest()
    tables = {"scores": manifest_markdown(manifest), "styles": styles_markdown(manifest)}
    if args.readme:
        from ..files import atomic_write_text

        path = WEIGHTS_DIR / "README.md"
        text = path.read_text()
        for key, table in tables.items():
            head, tail = f"<!-- {key}:begin -->", f"<!-- {key}:end -->"
            if head not in text or tail not in text:
                raise RetexError(f"{path} lacks the {head} ... {tail} markers")
            text = text[: text.index(head) + len(head)] + "\n" + table + "\n" + text[text.index(tail) :]
        atomic_write_text(path, text)
    print("\n\n".join(tables.values()))
