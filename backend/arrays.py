"""Images as numpy arrays: the pipeline's one currency, so inference needs no torch.

An image is N x C x H x W float32 on [0, 1]. The tools (training, evaluation, bench) hold torch tensors, possibly on
a GPU: the pipeline's entry points accept those too, converted here at the edge and given back as a tensor on the
same device. torch is imported only when a tensor is actually passed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np

if TYPE_CHECKING:
    import torch

    Array = np.ndarray | torch.Tensor
else:
    Array = Any

A = TypeVar("A", np.ndarray, "torch.Tensor")


def is_tensor(x: object) -> bool:
    """A torch tensor, told without importing torch (a process that never imported torch holds none)."""
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def to_numpy(x: Array) -> np.ndarray:
    """A float32 numpy view (or copy, from a GPU or another dtype) of ``x``."""
    if is_tensor(x):
        import torch

        x = cast("torch.Tensor", x).detach().to("cpu", torch.float32).numpy()
    return np.asarray(x, dtype=np.float32)


def like(out: np.ndarray, ref: A) -> A:
    """``out`` in the kind of ``ref``: the array itself, or a tensor on ``ref``'s device."""
    if is_tensor(ref):
        import torch

        return cast(A, torch.from_numpy(np.ascontiguousarray(out)).to(cast("torch.Tensor", ref).device))
    return cast(A, out)


def pad_edge(x: np.ndarray, bottom: int, right: int) -> np.ndarray:
    """Replicate the last row ``bottom`` times and the last column ``right`` times (torch's replicate pad)."""
    if not (bottom or right):
        return x
    return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(0, bottom), (0, right)], mode="edge")
