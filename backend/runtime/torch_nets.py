"""The torch runtime: a torch network behind the numpy interface of ``runtime.base``. The only place the pipeline's
arrays become tensors (on the network's device) and back."""

from __future__ import annotations

import copy

import numpy as np
import torch

from ..nets.restoration import RestorationConfig, RestorationNet
from ..nets.style import StyleConfig, StyleNet
from ..tiling import TILE
from .threads import apply_to_torch

apply_to_torch()  # the --threads count, if one was chosen before torch was imported


def _device(net: torch.nn.Module) -> torch.device:
    return next(net.parameters()).device


def _out(x: torch.Tensor) -> np.ndarray:
    return x.detach().to("cpu", torch.float32).numpy()


class TorchRestoration:
    """A ``RestorationNet`` as a ``base.RestorationModel``."""

    runtime = "torch"
    tile = TILE

    def __init__(self, net: RestorationNet) -> None:
        self.net = net
        self.mix = _out(net.mix).copy()

    @property
    def config(self) -> RestorationConfig:
        return self.net.config

    @property
    def halos(self) -> list[int]:
        return self.net.halos

    @property
    def device(self) -> str:
        return _device(self.net).type

    def run_branches(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        device = _device(self.net)
        with torch.no_grad():
            bands = self.net.run_branches([torch.from_numpy(np.ascontiguousarray(c)).to(device) for c in crops])
        return [_out(b) for b in bands]

    def on_cpu(self) -> TorchRestoration:
        """This network on the CPU (the fallback when a GPU runs out of memory); the GPU copy stays as it is."""
        return self if self.device == "cpu" else TorchRestoration(copy.deepcopy(self.net).to("cpu"))


class TorchStyle:
    """A ``StyleNet`` as a ``base.StyleModel``."""

    runtime = "torch"

    def __init__(self, net: StyleNet) -> None:
        self.net = net

    @property
    def device(self) -> str:
        return _device(self.net).type

    @property
    def config(self) -> StyleConfig:
        return self.net.config

    @property
    def halo(self) -> int:
        return self.net.halo

    @property
    def nominal(self) -> float:
        return self.net.nominal

    def __call__(self, image: np.ndarray, origin: tuple[int, int] = (0, 0), seed: int = 0) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(image)).to(_device(self.net))
        with torch.no_grad():
            return _out(self.net(x, origin, seed))
