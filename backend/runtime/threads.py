"""The CPU thread count of both runtimes (``--threads``): one number, so a run compares with another run on the
same count whichever runtime it used. torch gets it when it is (or gets) imported: setting it never imports torch."""

from __future__ import annotations

import os
import sys

_threads: int | None = None


def set_threads(count: int) -> None:
    global _threads
    _threads = count
    if "torch" in sys.modules:
        apply_to_torch()


def apply_to_torch() -> None:
    """Give torch the chosen count (called once torch is imported by the torch runtime)."""
    if _threads is not None:
        import torch

        torch.set_num_threads(_threads)


def get_threads() -> int:
    """The chosen count; else torch's own when torch is loaded; else ``OMP_NUM_THREADS`` as torch would read it;
    else 0, which ONNX Runtime reads as torch's default too (the physical cores)."""
    if _threads is not None:
        return _threads
    torch = sys.modules.get("torch")
    if torch is not None:
        return int(torch.get_num_threads())
    omp = os.environ.get("OMP_NUM_THREADS", "")
    return int(omp) if omp.isdigit() else 0
