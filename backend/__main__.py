"""Command line: ``python -m backend {train,eval,restore,serve,train-style,styles,eval-style,...} ...``.

Each command lives in ``backend/cli/``, its options beside its handler (``add_parser`` and ``run``). Expected
failures (bad files, unknown tasks, missing weights) print one ``error:`` line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys

from .cli import (
    bench,
    eval_style,
    export_onnx,
    heal,
    keys,
    models,
    pack_data,
    restore,
    serve,
    sheet,
    styles,
    train,
    train_all,
    train_style,
)
from .cli import eval as eval_command
from .errors import RetexError

TRAINING_PACKAGES = {"torch", "onnx", "tqdm", "matplotlib", "cv2"}  # requirements-training.txt's, by import name

# In the order ``--help`` lists them.
COMMANDS = (
    train,
    train_all,
    pack_data,
    eval_command,
    bench,
    models,
    restore,
    heal,
    train_style,
    styles,
    sheet,
    eval_style,
    serve,
    keys,
    export_onnx,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backend", description="Retex backend")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except RetexError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as e:  # a tool's package, absent from the inference-only install
        if e.name not in TRAINING_PACKAGES:
            raise
        print(
            f"error: {args.command} needs the training support ({e.name} is not installed): "
            "run python3 installer.py --with-training",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
