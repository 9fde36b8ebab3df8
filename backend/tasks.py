"""The restoration tasks and the network shape each one uses (configuration as data).

The shape is plain numbers here and becomes a ``nets.restoration.RestorationConfig`` when asked (``Task.net``):
the inference-only install (no torch) reads the tasks without importing the networks' code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import RetexError

if TYPE_CHECKING:
    from .nets.restoration import RestorationConfig

Branches = tuple[tuple[int, int, int, int], ...]  # per branch: down, unshuffle, width, blocks (nets.BranchSpec)


@dataclass(frozen=True)
class Task:
    name: str
    scale: int  # output size / input size (super-resolution); 1 otherwise
    uses_mask: bool
    branches: Branches
    description: str
    degradation: str = "clean"  # "clean": the seed's synthetic one; "real": backend.degrade.real (photo models)
    base: str | None = None  # photo models: the clean model they start from and blend with at clean-up strength 0

    @property
    def net(self) -> RestorationConfig:
        """The network's shape (image channels, plus the mask's for inpainting)."""
        from .nets.restoration import BranchSpec, RestorationConfig

        specs = tuple(BranchSpec(down, unshuffle, width, blocks) for down, unshuffle, width, blocks in self.branches)
        return RestorationConfig(in_channels=4 if self.uses_mask else 3, branches=specs)


def _branches(fold: int, fine: int, second: int) -> Branches:
    """Six branches: most capacity in the two finest bands (where restoration gains are), the coarse bands on
    downsampled inputs, where they are cheap and see far."""
    return ((1, fold, fine, 3), (1, fold, second, 2), (2, 2, 24, 1), (4, 1, 16, 1), (8, 1, 16, 1), (16, 1, 16, 1))


TASKS: dict[str, Task] = {
    "sr4": Task("sr4", 4, False, _branches(4, 40, 24), "super-resolution x4"),
    "sr2": Task("sr2", 2, False, _branches(2, 44, 32), "super-resolution x2"),
    "denoise": Task("denoise", 1, False, _branches(2, 44, 32), "denoising"),
    "deblur": Task("deblur", 1, False, _branches(2, 44, 32), "deblurring"),
    "inpaint": Task("inpaint", 1, True, _branches(2, 44, 32), "inpainting"),
    # Photo models: the same networks trained on realistic degradations (noise, JPEG, mild blur, resampling).
    "photo": Task("photo", 1, False, _branches(2, 44, 32), "photo clean-up", "real", "denoise"),
    "photo-sr2": Task("photo-sr2", 2, False, _branches(2, 44, 32), "photo upscale x2", "real", "sr2"),
    "photo-sr4": Task("photo-sr4", 4, False, _branches(4, 40, 24), "photo upscale x4", "real", "sr4"),
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
