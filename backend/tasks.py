"""The restoration tasks and the network shape each one uses (configuration as data)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import RetexError
from .nets.restoration import BranchSpec, RestorationConfig


@dataclass(frozen=True)
class Task:
    name: str
    scale: int  # output size / input size (super-resolution); 1 otherwise
    uses_mask: bool
    net: RestorationConfig
    description: str
    degradation: str = "clean"  # "clean": the seed's synthetic one; "real": backend.degrade.real (photo models)
    base: str | None = None  # photo models: the clean model they start from and blend with at clean-up strength 0


def _branches(fold: int, fine: int, second: int) -> tuple[BranchSpec, ...]:
    """Six branches: most capacity in the two finest bands (where restoration gains are), the coarse bands on
    downsampled inputs, where they are cheap and see far."""
    return (
        BranchSpec(down=1, unshuffle=fold, width=fine, blocks=3),
        BranchSpec(down=1, unshuffle=fold, width=second, blocks=2),
        BranchSpec(down=2, unshuffle=2, width=24, blocks=1),
        BranchSpec(down=4, unshuffle=1, width=16, blocks=1),
        BranchSpec(down=8, unshuffle=1, width=16, blocks=1),
        BranchSpec(down=16, unshuffle=1, width=16, blocks=1),
    )


TASKS: dict[str, Task] = {
    "sr4": Task("sr4", 4, False, RestorationConfig(branches=_branches(4, 40, 24)), "super-resolution x4"),
    "sr2": Task("sr2", 2, False, RestorationConfig(branches=_branches(2, 44, 32)), "super-resolution x2"),
    "denoise": Task("denoise", 1, False, RestorationConfig(branches=_branches(2, 44, 32)), "denoising"),
    "deblur": Task("deblur", 1, False, RestorationConfig(branches=_branches(2, 44, 32)), "deblurring"),
    "inpaint": Task("inpaint", 1, True, RestorationConfig(in_channels=4, branches=_branches(2, 44, 32)), "inpainting"),
    # Photo models: the same networks trained on realistic degradations (noise, JPEG, mild blur, resampling).
    "photo": Task(
        "photo", 1, False, RestorationConfig(branches=_branches(2, 44, 32)), "photo clean-up", "real", "denoise"
    ),
    "photo-sr2": Task(
        "photo-sr2", 2, False, RestorationConfig(branches=_branches(2, 44, 32)), "photo upscale x2", "real", "sr2"
    ),
    "photo-sr4": Task(
        "photo-sr4", 4, False, RestorationConfig(branches=_branches(4, 40, 24)), "photo upscale x4", "real", "sr4"
    ),
}


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise RetexError(f"unknown task '{name}' (choose from {', '.join(TASKS)})") from None


def base_of(task: Task) -> Task:
    """A photo model's clean base model (``task.base``): where it started and what it blends with."""
    if task.base is None:
        raise RetexError(f"task '{task.name}' has no clean base model")
    return get_task(task.base)
