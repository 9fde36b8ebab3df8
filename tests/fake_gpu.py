"""A simulated GPU for ONNX Runtime, so the provider choice and the out-of-memory fallback run here, on the CPU build:
``install()`` makes onnxruntime offer the CUDA provider, and a session asked for it computes on the CPU but reports
CUDA and raises ORT's own out-of-memory error for any input larger than ``RETEX_FAKE_GPU_PIXELS`` pixels (0: no
limit); ``RETEX_FAKE_CPU_PIXELS`` limits the CPU's sessions the same way (the CPU allocator's message). A server gets
it through ``sitecustomize`` (``server_env``), so the real service runs on it unchanged."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from onnxruntime.capi.onnxruntime_pybind11_state import RuntimeException

REPO = Path(__file__).resolve().parents[1]
CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"
OOM = "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : CUDA failure 2: out of memory ; GPU=0 ; expr=cudaMalloc"
CPU_OOM = "[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Failed to allocate memory for requested buffer of size 1"
_real_session = ort.InferenceSession


class FakeGpuSession:
    """A CPU session that says it runs on CUDA and holds at most ``limit`` pixels per input."""

    runs: list[int] = []  # pixels of every input run on the fake GPU, largest per call (what the tests inspect)

    def __init__(self, model: Any, options: Any = None, providers: list[str] | None = None, **kw: Any) -> None:
        self._real = _real_session(model, options, providers=[CPU])
        self._gpu = bool(providers) and providers[0] == CUDA
        self.limit = int(os.environ.get("RETEX_FAKE_GPU_PIXELS" if self._gpu else "RETEX_FAKE_CPU_PIXELS", "0"))

    def get_providers(self) -> list[str]:
        return [CUDA, CPU] if self._gpu else [CPU]

    def run(self, outputs: Any, feeds: dict[str, np.ndarray], *args: Any) -> list[np.ndarray]:
        pixels = max(v.shape[-2] * v.shape[-1] for v in feeds.values())
        if self._gpu:
            FakeGpuSession.runs.append(pixels)
        if self.limit and pixels > self.limit:
            raise RuntimeException(OOM if self._gpu else CPU_OOM)
        return self._real.run(outputs, feeds, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def install() -> None:
    ort.InferenceSession = FakeGpuSession  # type: ignore[misc]
    ort.get_available_providers = lambda: [CUDA, CPU]


def server_env(folder: Path, limit: int, cpu_limit: int = 0) -> dict[str, str]:
    """The environment of a server process that runs on the fake GPU (``folder``: where its sitecustomize goes)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text("import tests.fake_gpu\ntests.fake_gpu.install()\n")
    path = os.pathsep.join([str(folder), str(REPO), os.environ.get("PYTHONPATH", "")])
    return {"PYTHONPATH": path, "RETEX_FAKE_GPU_PIXELS": str(limit), "RETEX_FAKE_CPU_PIXELS": str(cpu_limit)}
