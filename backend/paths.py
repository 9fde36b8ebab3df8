"""Where the repository, its weights and the development data live."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = REPO / "weights"
RUNS_DIR = Path(os.environ.get("RETEX_RUNS", REPO / "runs"))  # training checkpoints (not shipped)
# Benchmark and training data sit beside the repository at development time; RETEX_SHARED moves them.
SHARED = Path(os.environ.get("RETEX_SHARED", REPO.parent / "shared"))
BENCHMARK_DIR = SHARED / "data" / "benchmark"
TRAIN_DIRS = (SHARED / "data" / "train" / "T91", SHARED / "data" / "train" / "BSD200")
# Styles a user trains live outside the repository, so updates and uninstalls never touch them.
USER_STYLES_DIR = Path(os.environ.get("RETEX_USER_STYLES", Path.home() / ".local" / "share" / "retex" / "styles"))
STYLES_DIR = WEIGHTS_DIR / "styles"  # the shipped library
