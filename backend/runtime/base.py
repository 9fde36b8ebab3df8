"""What the tiled run needs of a network, whichever runtime executes it: the pipeline calls these and nothing else,
so tiling, masks, composition and progress exist once for torch and ONNX Runtime alike. Both take and give numpy
arrays (N x C x H x W float32): torch enters only inside the torch runtime's network call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

import numpy as np

from ..arrays import is_tensor

if TYPE_CHECKING:
    from ..nets.restoration import RestorationNet
    from ..nets.style import StyleNet


class RestorationShape(Protocol):
    """What the pipeline reads of a restoration network's config (``RestorationConfig`` or a graph's record)."""

    @property
    def in_channels(self) -> int: ...

    @property
    def out_channels(self) -> int: ...

    @property
    def multiple(self) -> int: ...

    @property
    def grids(self) -> tuple[int, ...]: ...


class StyleShape(Protocol):
    """What the pipeline reads of a style network's config (``StyleConfig`` or a graph's record)."""

    @property
    def scale(self) -> str: ...

    @property
    def noise(self) -> int: ...

    @property
    def down(self) -> int: ...

    @property
    def multiple(self) -> int: ...


class RestorationModel(Protocol):
    """A restoration network as six band outputs: ``x[:, :3] + sum_k mix[k] * run_branches(crops)[k]``."""

    @property
    def config(self) -> RestorationShape: ...

    @property
    def mix(self) -> np.ndarray: ...

    @property
    def halos(self) -> list[int]: ...

    @property
    def tile(self) -> int:
        """The output tile side this runtime runs the network fastest at (memory permitting)."""
        ...

    @property
    def device(self) -> str: ...

    def run_branches(self, crops: list[np.ndarray]) -> list[np.ndarray]: ...

    def on_cpu(self) -> RestorationModel:
        """The same network on the CPU: where a tile runs once the device's memory cannot hold even a small one."""
        ...


class StyleModel(Protocol):
    """A style network: the raw residual of a tile placed at ``origin`` in the full picture, its noise varied by
    ``seed`` (0: the original texture)."""

    @property
    def config(self) -> StyleShape: ...

    @property
    def halo(self) -> int: ...

    @property
    def nominal(self) -> float: ...

    def __call__(self, image: np.ndarray, origin: tuple[int, int] = (0, 0), seed: int = 0) -> np.ndarray: ...


def _is_module(net: object) -> bool:
    return is_tensor(getattr(net, "log_nominal", None)) or is_tensor(getattr(net, "mix", None))


def as_restoration_model(net: RestorationModel | RestorationNet) -> RestorationModel:
    """A runtime's model as it is; a bare torch network (a tool's, e.g. during training) wrapped for numpy."""
    if _is_module(net):
        from .torch_nets import TorchRestoration

        return TorchRestoration(cast("RestorationNet", net))
    return cast(RestorationModel, net)


def as_style_model(net: StyleModel | StyleNet) -> StyleModel:
    if _is_module(net):
        from .torch_nets import TorchStyle

        return TorchStyle(cast("StyleNet", net))
    return cast(StyleModel, net)
