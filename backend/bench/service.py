"""The service side of ``bench speed``: a real server process on a private socket, driven by the editors' own
client (``plugin.common.client``), so the figures include encoding, transfer and the server's job handling."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import torch

from plugin.common.client import Client
from plugin.common.launcher import stop_process
from plugin.common.protocol import FrameSpec

from ..errors import RetexError
from ..paths import REPO

Frame = tuple[FrameSpec, bytes]


def rgba_frame(image: torch.Tensor) -> Frame:
    """A 1 x 3 x h x w image on [0, 1] as the u8 RGBA frame an editor sends."""
    h, w = image.shape[-2:]
    rgb = (image[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0)
    rgba = torch.cat([rgb, torch.full((h, w, 1), 255, dtype=torch.uint8)], dim=2)
    return FrameSpec(w, h, "RGBA", "u8", "image"), rgba.contiguous().numpy().tobytes()


def mask_frame(mask: torch.Tensor) -> Frame:
    """A 1 x 1 x h x w mask on [0, 1] as a u8 mask frame."""
    h, w = mask.shape[-2:]
    return FrameSpec(w, h, "Y", "u8", "mask"), (mask[0, 0] * 255).round().to(torch.uint8).numpy().tobytes()


class BenchServer:
    """``python -m backend serve`` on an ipc socket in ``folder``; ``start_s`` is the time from spawn to READY."""

    def __init__(self, folder: Path, device: str, threads: int = 0, runtime: str = "auto") -> None:
        self.endpoint = f"ipc://{folder}/bench.sock"
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "backend", "serve", "--endpoint", self.endpoint, "--device", device]
            + ["--threads", str(threads), "--runtime", runtime],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None  # stdout=PIPE
        line = self.proc.stdout.readline()
        if not line.startswith("READY"):
            self.stop()
            raise RetexError(f"the benchmark server did not start (it printed {line.strip()!r})")
        self.start_s = time.perf_counter() - t0
        self.client = Client(self.endpoint, timeout_s=1800)

    def run(self, task: str, image: Frame, styles: list[str], mask: Frame | None, crop=None) -> float:
        """Seconds for one job, request to result."""
        slots = [{"style": name, "strength": 1.0} for name in styles]
        t0 = time.perf_counter()
        self.client.run(task, image, inpaint_mask=mask, slots=slots, crop=crop)
        return time.perf_counter() - t0

    def stop(self) -> None:
        if getattr(self, "client", None) is not None:
            self.client.close()
        stop_process(self.proc, 30)

    def __enter__(self) -> BenchServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
