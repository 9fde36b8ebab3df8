"""The in-test pipeline an editor's result is compared with, on the runtime the editor's backend runs
(``RETEX_RUNTIME``: torch in the training environment, ONNX Runtime when the suites run against the inference-only
install, tests/conftest.py), so the two give the same bytes."""

from __future__ import annotations

import os
from pathlib import Path

from backend.runtime import load_restoration_model, load_style_model
from backend.runtime.base import RestorationModel, StyleModel
from backend.styles import find_style, library_dirs
from backend.tasks import Task, get_task


def runtime() -> str:
    return os.environ.get("RETEX_RUNTIME", "torch")


def restoration(weights: Path, name: str) -> tuple[Task, RestorationModel]:
    """The shipped model of task ``name`` from the editor run's ``weights``."""
    task = get_task(name)
    return task, load_restoration_model(weights / f"{name}.safetensors", task, runtime())


def style(weights: Path, name: str) -> StyleModel:
    """The style ``name`` as the editor run's backend finds it."""
    return load_style_model(find_style(name, library_dirs(weights / "styles")), runtime())
