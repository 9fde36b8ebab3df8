"""ONNX Runtime's execution providers (``--device``) and a GPU running out of memory mid-image, on this CPU-only
machine: the provider lists are faked (``providers.available``), and a simulated GPU (``tests.fake_gpu``: ORT's own
out-of-memory error above a size) runs under the real pipeline, the real command line and a real server."""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from backend.errors import RetexError
from backend.paths import WEIGHTS_DIR
from backend.pipeline import process
from backend.runtime import load_restoration_model, plan, providers
from backend.runtime.base import RestorationModel
from backend.runtime.export import export
from backend.service.frames import to_image
from backend.tasks import get_task
from plugin.common.client import BackendError, Client
from plugin.common.protocol import ErrorCode
from tests import fake_gpu
from tests.backend.test_service import expected, random_frame
from tests.service_helpers import REPO, make_weights, start_server

DENOISE = WEIGHTS_DIR / "denoise.safetensors"
# denoise's widest halo is 160 px: on a 768 x 768 image the first tile (torch: 512 px, reading up to 672 x 672;
# ONNX Runtime: 1024 px, the whole image) reads more than 576 x 576 and one of half that side (256 or 384 px) at
# most 576 x 576, so this limit fails the first and holds the second
HOLDS_HALF = 576 * 576


@pytest.fixture(autouse=True)
def fresh_warnings() -> None:
    providers._warned.clear()


def offer(monkeypatch: pytest.MonkeyPatch, *names: str, gpu: str | None = None) -> None:
    monkeypatch.setattr(providers, "available", lambda: [*names, "CPUExecutionProvider"])
    monkeypatch.setattr(providers, "gpu_here", lambda: gpu)


def test_auto_takes_the_best_gpu_provider_offered(monkeypatch) -> None:
    offer(monkeypatch, "DmlExecutionProvider")
    assert plan("auto", "auto") == ("onnx", "dml")
    offer(monkeypatch, "CoreMLExecutionProvider", "CUDAExecutionProvider")
    assert plan("onnx", "auto") == ("onnx", "cuda")
    assert providers.provider_list("cuda") == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    offer(monkeypatch)
    assert plan("onnx", "auto") == ("onnx", "cpu") and providers.provider_list("cpu") == ["CPUExecutionProvider"]


def test_auto_without_the_gpu_package_warns_once_and_runs_on_the_cpu(monkeypatch, caplog) -> None:
    offer(monkeypatch, gpu="dml")
    with caplog.at_level(logging.WARNING, "retex.runtime"):
        assert plan("onnx", "auto") == ("onnx", "cpu") and plan("onnx", "auto") == ("onnx", "cpu")
    said = [r.getMessage() for r in caplog.records]
    assert said == ["--device dml: this ONNX Runtime has no DmlExecutionProvider (install onnxruntime-directml); "
                    "running on the CPU"]  # fmt: skip


@pytest.mark.parametrize(
    ("device", "package"), [("cuda", "onnxruntime-gpu"), ("dml", "onnxruntime-directml"), ("coreml", "CoreML")]
)
def test_a_provider_this_build_lacks_is_one_message_naming_the_package(monkeypatch, device, package) -> None:
    offer(monkeypatch)
    with pytest.raises(RetexError, match=package):
        plan("onnx", device)


def test_devices_of_onnx_runtime_alone_and_torch(monkeypatch, caplog) -> None:
    offer(monkeypatch)
    with pytest.raises(RetexError, match="ONNX Runtime only"):
        plan("torch", "dml")
    with pytest.raises(RetexError, match="--device must be one of"):
        plan("onnx", "vulkan")
    with caplog.at_level(logging.WARNING, "retex.runtime"):  # torch's CUDA path stays for auto
        assert plan("auto", "cuda") == ("torch", "cuda")
    assert "onnxruntime-gpu" in caplog.text


def test_the_command_line_refuses_a_missing_provider_and_writes_nothing(tmp_path) -> None:
    """The real CLI on this CPU build of onnxruntime: one line naming the package, no traceback, no output file."""
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray((picture(64, 64)[0].transpose(1, 2, 0) * 255).astype(np.uint8)).save(src)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend",
            "restore",
            "--task",
            "denoise",
            str(src),
            "-o",
            str(out),
            "--device",
            "dml",
            "--runtime",
            "auto",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0 and not out.exists()
    assert "onnxruntime-directml" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_a_listed_provider_that_cannot_start_runs_on_the_cpu(monkeypatch, caplog) -> None:
    """The real CPU build asked for CUDA (as onnxruntime-gpu without the CUDA libraries): one warning, the CPU."""
    offer(monkeypatch, "CUDAExecutionProvider")
    with caplog.at_level(logging.WARNING, "retex.runtime"):
        model = load_restoration_model(DENOISE, get_task("denoise"), "onnx", "cuda")
    assert model.device == "cpu" and "CUDAExecutionProvider could not start" in caplog.text


def picture(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    rgb = np.stack([0.5 + 0.4 * np.sin(6 * xx), 0.5 + 0.4 * np.cos(5 * yy), 0.3 + 0.5 * xx * yy])
    return np.clip(rgb + rng.normal(0, 0.05, rgb.shape), 0, 1).astype(np.float32)[None]


@pytest.fixture
def on_fake_gpu(monkeypatch) -> None:
    monkeypatch.setattr(fake_gpu.ort, "InferenceSession", fake_gpu.FakeGpuSession)
    monkeypatch.setattr(fake_gpu.ort, "get_available_providers", lambda: [fake_gpu.CUDA, fake_gpu.CPU])
    monkeypatch.setattr(fake_gpu.FakeGpuSession, "runs", [])


@pytest.mark.parametrize(("limit", "said"), [(HOLDS_HALF, ["smaller tiles"]), (1, ["smaller tiles", "on the CPU"])])
def test_out_of_memory_mid_image_gives_the_same_picture(on_fake_gpu, monkeypatch, caplog, limit, said) -> None:
    """Tiles too big for the (simulated) GPU are retried at half the side, down to 64 px, then on the CPU: the
    picture equals an uninterrupted run, and each step is said once, in the log and to ``on_notice``."""
    task, image = get_task("denoise"), picture(768, 768)
    want = process(image, (task, load_restoration_model(DENOISE, task, "onnx", "cpu")), [])
    monkeypatch.setenv("RETEX_FAKE_GPU_PIXELS", str(limit))
    gpu = load_restoration_model(DENOISE, task, "onnx", "cuda")
    assert gpu.device == "cuda"
    notices: list[str] = []
    with caplog.at_level(logging.WARNING, "retex.pipeline"):
        got = process(image, (task, gpu), [], on_notice=notices.append)
    assert float(np.abs(got - want).max()) <= 1e-5
    assert len(notices) == len(said) and all(s in n for s, n in zip(said, notices, strict=True))
    assert [r.getMessage() for r in caplog.records] == notices
    if limit == HOLDS_HALF:  # the GPU kept the run, on tiles of half the side after the first failure
        assert max(fake_gpu.FakeGpuSession.runs[1:]) <= HOLDS_HALF and gpu.device == "cuda"


class TorchOnSmallGpu:
    """A torch network that says it runs on CUDA and raises torch's own CUDA out-of-memory error for crops larger
    than ``limit`` pixels; its CPU copy is the real network."""

    runtime = "torch"
    device = "cuda"

    def __init__(self, net: RestorationModel, limit: int) -> None:
        self.net, self.limit = net, limit
        self.config, self.mix, self.halos, self.tile = net.config, net.mix, net.halos, net.tile

    def run_branches(self, crops: list[np.ndarray]) -> list[np.ndarray]:
        if max(c.shape[-2] * c.shape[-1] for c in crops) > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.net.run_branches(crops)

    def on_cpu(self) -> RestorationModel:
        return self.net


@pytest.mark.parametrize("limit", [HOLDS_HALF, 1])
def test_torch_out_of_memory_mid_image_gives_the_same_picture(limit) -> None:
    """The same fallback on the torch runtime, on torch's OutOfMemoryError: smaller tiles, then the CPU."""
    task, image = get_task("denoise"), picture(768, 768)
    cpu = load_restoration_model(DENOISE, task, "torch", "cpu")
    want = process(image, (task, cpu), [])
    notices: list[str] = []
    got = process(image, (task, TorchOnSmallGpu(cpu, limit)), [], on_notice=notices.append)
    assert float(np.abs(got - want).max()) <= 1e-5
    assert len(notices) == (1 if limit == HOLDS_HALF else 2) and "out of memory on cuda" in notices[0]


def test_out_of_memory_on_the_cpu_too_is_the_error(on_fake_gpu, monkeypatch) -> None:
    """Nowhere left to go: the error stands (the service answers out_of_memory), no picture is returned."""
    task = get_task("denoise")
    model = load_restoration_model(DENOISE, task, "onnx", "cpu")
    calls = []

    def no_memory(crops: list[np.ndarray]) -> list[np.ndarray]:
        calls.append(crops[0].shape)
        raise MemoryError

    monkeypatch.setattr(model, "run_branches", no_memory)
    with pytest.raises(MemoryError):
        process(picture(256, 256), (task, model), [])
    assert len(calls) == 3  # 256 (the whole image), 128, 64 pixels: then the CPU had nothing left


def test_the_service_on_a_gpu_that_runs_out_of_memory(tmp_path) -> None:
    """A real server on the simulated GPU: hello says where it runs, a job too big for it comes back the same as a
    CPU run, and its progress says why it went on smaller."""
    weights = make_weights(tmp_path / "weights", ("denoise",))
    export(weights / "denoise.safetensors")
    env = fake_gpu.server_env(tmp_path / "site", HOLDS_HALF)
    server = start_server(f"ipc://{tmp_path / 'retex.sock'}", weights, "--device", "cuda", "--runtime", "onnx", env=env)
    try:
        frame = random_frame(768, 768, "RGBA", "f32")
        stages: list[str] = []
        with Client(server.endpoint) as client:
            hello = client.hello()
            result = client.run("denoise", frame, on_progress=lambda f, stage, eta: stages.append(stage))
    finally:
        server.stop()
    assert (hello["device"], hello["runtime"]) == ("cuda", "onnx")
    got, want = (to_image(frame[0], data)[0] for data in (result.frame[1], expected(weights, "denoise", frame)))
    assert float(np.abs(got - want).max()) <= 1e-4
    assert any("out of memory on cuda with 768-pixel tiles: smaller tiles" in s for s in stages), stages


def test_the_service_when_even_the_cpu_runs_out_of_memory(tmp_path) -> None:
    """Nothing holds the picture: one out_of_memory error in plain words, and the server serves the next job."""
    weights = make_weights(tmp_path / "weights", ("denoise",))
    export(weights / "denoise.safetensors")
    env = fake_gpu.server_env(tmp_path / "site", 1, cpu_limit=400 * 400)
    server = start_server(f"ipc://{tmp_path / 'retex.sock'}", weights, "--device", "cuda", "--runtime", "onnx", env=env)
    try:
        with Client(server.endpoint) as client:
            with pytest.raises(BackendError) as refused:
                client.run("denoise", random_frame(768, 768, "RGBA", "u8"))
            small = random_frame(32, 32, "RGBA", "u8")
            assert client.run("denoise", small).frame[0].width == 32
    finally:
        server.stop()
    assert refused.value.code == ErrorCode.OUT_OF_MEMORY and "out of memory" in str(refused.value)
