"""The installer picks the onnxruntime package for the machine (its probes faked: the platform, an NVIDIA GPU), puts
that package in place of requirements.txt's onnxruntime, names it in the summary, does nothing on a second run and
swaps the packages cleanly when the choice changes. pip is faked: nothing is downloaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from install import backend


@pytest.mark.parametrize(
    ("platform", "nvidia", "device", "package"),
    [
        ("linux", True, "auto", "onnxruntime-gpu"),
        ("win32", True, "auto", "onnxruntime-gpu"),
        ("win32", False, "auto", "onnxruntime-directml"),
        ("darwin", False, "auto", "onnxruntime"),  # CoreML's provider is in macOS's plain package
        ("linux", False, "auto", "onnxruntime"),
        ("linux", True, "cpu", "onnxruntime"),
        ("win32", True, "cpu", "onnxruntime"),
        ("win32", True, "dml", "onnxruntime-directml"),
        ("linux", False, "cuda", "onnxruntime-gpu"),
        ("darwin", False, "coreml", "onnxruntime"),
    ],
)
def test_the_package_for_the_machine(monkeypatch, platform, nvidia, device, package) -> None:
    monkeypatch.setattr(backend.sys, "platform", platform)
    monkeypatch.setattr(backend, "has_nvidia_gpu", lambda: nvidia)
    assert backend.onnxruntime_package(device) == package


def test_the_package_replaces_onnxruntime_in_the_requirements() -> None:
    plain, gpu = backend._runtime_requirements("onnxruntime"), backend._runtime_requirements("onnxruntime-gpu")
    ort = next(r for r in plain if r.startswith("onnxruntime"))
    assert [r for r in gpu if r.startswith("onnxruntime")] == ["onnxruntime-gpu" + ort[len("onnxruntime") :]]
    assert [r for r in plain if r != ort] == [r for r in gpu if not r.startswith("onnxruntime")]


@pytest.fixture
def fake_venv(monkeypatch, tmp_path: Path) -> list[list[str]]:
    """A venv that exists and works, its stamp in tmp_path, pip recorded instead of run."""
    calls: list[list[str]] = []
    monkeypatch.setattr(backend, "STAMP", tmp_path / "retex-install.json")
    monkeypatch.setattr(backend, "venv_works", lambda: True)
    monkeypatch.setattr(backend, "_pip", lambda args: calls.append(["install", *args]))
    monkeypatch.setattr(backend, "_pip_uninstall", lambda packages: calls.append(["uninstall", *packages]))
    return calls


def test_installed_once_named_in_the_summary_then_swapped(fake_venv) -> None:
    done = backend.ensure("cpu", None, False, "onnxruntime-gpu")
    assert done == "installed (inference only: onnxruntime-gpu, no torch)"
    assert len(fake_venv) == 1 and any(a.startswith("onnxruntime-gpu") for a in fake_venv[0])
    assert json.loads(backend.STAMP.read_text())["onnxruntime"] == "onnxruntime-gpu"

    assert backend.ensure("cpu", None, False, "onnxruntime-gpu").startswith("up to date (inference only: onnxrun")
    assert len(fake_venv) == 1  # idempotent: pip not run again

    fake_venv.clear()  # --device cpu: the CPU package, the GPU one removed first (both are the module onnxruntime)
    assert backend.ensure("cpu", None, False, "onnxruntime") == "installed (inference only: onnxruntime, no torch)"
    assert fake_venv[0] == ["uninstall", "onnxruntime-gpu", "onnxruntime-directml"]
    assert any(a.startswith("onnxruntime>") for a in fake_venv[1])
