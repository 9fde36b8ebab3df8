"""What the tiled run needs of a network, whichever runtime executes it: the pipeline calls these and nothing else,
so tiling, masks, composition and progress exist once for torch and ONNX Runtime alike."""

from __future__ import annotations

from typing import Protocol

import torch

from ..nets.restoration import RestorationConfig
from ..nets.style import StyleConfig


class RestorationModel(Protocol):
    """A restoration network as six band outputs: ``x[:, :3] + sum_k mix[k] * run_branches(crops)[k]``."""

    @property
    def config(self) -> RestorationConfig: ...

    @property
    def mix(self) -> torch.Tensor: ...  # read-only here, so a module's Parameter qualifies

    @property
    def halos(self) -> list[int]: ...

    def run_branches(self, crops: list[torch.Tensor]) -> list[torch.Tensor]: ...


class StyleModel(Protocol):
    """A style network: the raw residual of a tile placed at ``origin`` in the full picture, its noise varied by
    ``seed`` (0: the original texture)."""

    @property
    def config(self) -> StyleConfig: ...

    @property
    def halo(self) -> int: ...

    @property
    def nominal(self) -> float: ...

    def __call__(self, image: torch.Tensor, origin: tuple[int, int] = (0, 0), seed: int = 0) -> torch.Tensor: ...
