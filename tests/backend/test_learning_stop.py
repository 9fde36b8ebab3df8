"""Stopping a learning run on purpose ("good enough, stop"): the style is saved as it is once it is usable, and
before that one message and nothing saved; the preview hook sees the network as learned so far."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from backend.errors import RetexError
from backend.train.style import NOT_YET, Finish, StyleTrainConfig, train_style


def exemplar() -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    return torch.rand(1, 3, 96, 96, generator=g)


def config(tmp_path: Path) -> StyleTrainConfig:
    cfg = StyleTrainConfig(iters=1000, patch=64, batch=1, threads=1, data=[], content_tasks=("blur",))
    cfg.run_dir, cfg.library, cfg.usable_steps, cfg.preview_seconds = str(tmp_path / "r"), str(tmp_path / "l"), 3, 0
    return cfg


def stop_after(steps: int):
    calls = [0]

    def on_step(fraction: float, loss: float) -> float:
        calls[0] += 1
        if calls[0] > steps:
            raise Finish
        return 0.0

    return on_step


def test_stop_once_usable_saves_the_style_and_previews_came_before(tmp_path: Path) -> None:
    seen: list[float] = []
    summary = train_style(
        exemplar(),
        "quick",
        "fine",
        config(tmp_path),
        progress=False,
        on_step=stop_after(5),
        on_preview=lambda net: seen.append(float(next(net.parameters()).sum())),
    )
    assert summary["iterations"] == 6 and (tmp_path / "l" / "quick.safetensors").is_file()
    assert (
        len(seen) == 3
    )  # after steps 3, 4, 5 (preview_seconds 0; the 6th was stopped): only usable states, each a new one
    assert len(set(seen)) == 3


def test_stop_before_usable_saves_nothing_and_says_so(tmp_path: Path) -> None:
    with pytest.raises(RetexError, match=NOT_YET):
        train_style(
            exemplar(),
            "early",
            "fine",
            config(tmp_path),
            progress=False,
            on_step=stop_after(1),
            on_preview=lambda net: pytest.fail("no preview before usable"),
        )
    assert not (tmp_path / "l").exists() or not list((tmp_path / "l").iterdir())
    assert (tmp_path / "r" / "early" / "checkpoint.safetensors").is_file()  # what was learned can still resume
