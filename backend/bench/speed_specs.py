"""What ``bench speed`` measures and how one measurement is made: a spec's networks on a runtime, its inputs, the
timing loop and the rows of the report."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import torch

from ..errors import RetexError
from ..manifest import read_manifest
from ..nets.restoration import RestorationNet
from ..runtime import load_restoration_model, load_style_model, name
from ..runtime.base import RestorationModel, StyleModel
from ..styles import find_style, load_style
from ..stylize import StyleSlot
from ..tasks import Task, get_task
from ..weights import default_path, load_restoration

PREVIEW = 512  # side of the preview crop, in output pixels


@dataclass
class Spec:
    label: str
    task: Task | None
    net: RestorationModel | None
    styles: list[tuple[str, StyleModel]] = field(default_factory=list)
    macs_per_pixel: float = 0.0  # per output pixel: the restoration network's plus each style network's
    params: int = 0
    runtime: str = "torch"

    @property
    def scale(self) -> int:
        return self.task.scale if self.task else 1

    def slots(self) -> list[StyleSlot]:
        return [StyleSlot(net, 1.0) for _, net in self.styles]


def default_specs(quick: bool = False) -> list[str]:
    manifest = read_manifest()
    fine = [n for n, s in sorted(manifest.get("styles", {}).items()) if s.get("scale") == "fine"][:1]
    models = sorted(manifest.get("models", {}))
    if quick:
        return [m for m in ("sr4", *(f"sr4+{f}" for f in fine)) if m.split("+")[0] in models]
    return models + [f"{t}+{f}" for t in ("sr4", "denoise") if t in models for f in fine]


def load_spec(label: str, device: torch.device, runtime: str = "torch") -> Spec:
    """The spec's networks on ``runtime``; their cost is counted on the torch networks (the same weights)."""
    task_name, *style_names = label.split("+")
    if task_name == "none" and not style_names:
        raise RetexError("spec 'none' does nothing: name a style after it (none+STYLE)")
    task = None if task_name == "none" else get_task(task_name)
    torch_nets = ([load_restoration(default_path(task), task)] if task else []) + [
        load_style(n)[0] for n in style_names
    ]
    net = load_restoration_model(default_path(task), task, runtime, device) if task else None
    styles = [(n, load_style_model(find_style(n), runtime, device)) for n in style_names]
    used = {name(m) for m in [net, *(s for _, s in styles)] if m is not None}
    return Spec(
        label,
        task,
        net,
        styles,
        sum(float(n.macs_per_pixel()) for n in torch_nets),
        sum(n.parameter_count() for n in torch_nets),
        "+".join(sorted(used)),  # a graph that fell back to torch shows as such
    )


def prepare(spec: Spec, device: torch.device, precision: str, compile_branches: bool) -> None:
    """The CUDA fast path: NHWC weights (cuDNN's native layout) and, optionally, compiled restoration branches."""
    if device.type != "cuda" or spec.runtime != "torch":
        return
    for model in [spec.net, *(n for _, n in spec.styles)]:
        if model is not None:  # runtime torch: a module inside its numpy adapter (runtime.torch_nets)
            module = getattr(model, "net", model)
            cast(torch.nn.Module, module).to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # stubs omit it
    if compile_branches and spec.net is not None:
        net = cast(RestorationNet, getattr(spec.net, "net", spec.net))
        net.branches = torch.nn.ModuleList(cast(torch.nn.Module, torch.compile(b, dynamic=False)) for b in net.branches)


def make_inputs(spec: Spec, side_in: tuple[int, int], device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    h, w = side_in
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, h, w, generator=gen)
    mask = None
    if spec.task is not None and spec.task.uses_mask:  # a quarter of the image to fill; the cost is the same
        mask = torch.zeros(1, 1, h, w)
        mask[..., h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = 1
    if device.type == "cuda":
        image = image.to(device, memory_format=torch.channels_last)
        mask = None if mask is None else mask.to(device)
    return image, mask


def input_size(mp: float, scale: int) -> tuple[int, int]:
    """A square input whose output (``scale`` times larger) has about ``mp`` megapixels, on a 16-pixel grid."""
    side = max(16, round(math.sqrt(mp * 1e6) / scale / 16) * 16)
    return side, side


def best_time(fn: Callable[[], object], budget_s: float = 2.0, max_runs: int = 3, min_runs: int = 2) -> float:
    """Fastest of ``min_runs`` to ``max_runs`` calls, stopping once ``budget_s`` is spent. At least two: the first
    call at a new size also grows the runtime's buffers (ONNX Runtime's arena, fresh pages), deblur at 4 MP 1.20
    MP/s then 1.64 and 1.68."""
    best, spent, runs = float("inf"), 0.0, 0
    while runs < max_runs and (runs < min_runs or spent < budget_s):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best, spent, runs = min(best, dt), spent + dt, runs + 1
    return best


def report_row(spec: Spec, mode: str, mp: float, side_in: tuple[int, int], seconds: float, flops: float) -> dict:
    out_px = side_in[0] * side_in[1] * spec.scale**2
    macs = spec.macs_per_pixel * out_px / seconds
    return {
        "spec": spec.label,
        "mode": mode,
        "runtime": spec.runtime,
        "size_mp": mp,
        "output": [side_in[1] * spec.scale, side_in[0] * spec.scale],
        "seconds": round(seconds, 4),
        "mp_per_s": round(out_px / 1e6 / seconds, 4),
        "gmacs_per_s": round(macs / 1e9, 3),
        "peak_fraction": round(2 * macs / flops, 5),
    }


def preview_row(spec: Spec, mode: str, side: tuple[int, int], crop: int, first: float, warm: float) -> dict:
    return {
        "spec": spec.label,
        "mode": mode,
        "runtime": spec.runtime,
        "image_mp": round(side[0] * side[1] / 1e6, 2),
        "crop": crop,  # input pixels
        "output": crop * spec.scale,
        "first_s": round(first, 4),
        "warm_s": round(warm, 4),
    }
