"""The backend's virtual environment at ``.venv``: created or repaired, the runtime's requirements (ONNX Runtime, no
torch; the onnxruntime package that reaches this machine's GPU: ``onnxruntime_package``), with ``--with-training``
torch for the right device and what training, evaluation and the bench need, then a check that every shipped model
and style loads. A stamp in the environment records what was installed, so a second run with nothing changed skips
pip entirely (fast, and works offline). Training support once installed stays: a later run without
``--with-training`` keeps it (``--uninstall`` removes the whole environment)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from . import ROOT, InstallError

VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "requirements.txt"
TRAINING = ROOT / "requirements-training.txt"
STAMP = VENV / "retex-install.json"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"  # PyPI's torch for Linux is the CUDA build (gigabytes more)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def has_nvidia_gpu() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    return subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0


# each package holds its own execution providers, and all of them install the one module ``onnxruntime``: one at a time
ONNXRUNTIMES = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml")


def onnxruntime_package(device: str) -> str:
    """The onnxruntime package for ``--device`` on this machine: CUDA's (onnxruntime-gpu) on Linux or Windows with an
    NVIDIA GPU, DirectML's on Windows otherwise (any GPU), the plain one elsewhere (on macOS it holds CoreML);
    ``cpu`` forces the plain one."""
    if device in ("cpu", "coreml"):
        return "onnxruntime"
    windows, linux = sys.platform == "win32", sys.platform.startswith("linux")
    if device == "cuda" or (device == "auto" and (windows or linux) and has_nvidia_gpu()):
        return "onnxruntime-gpu"
    if device == "dml" or (device == "auto" and windows):
        return "onnxruntime-directml"
    return "onnxruntime"


def _runtime_requirements(package: str) -> list[str]:
    """requirements.txt's lines, with ``package`` in place of onnxruntime (same version bound)."""
    lines = []
    for line in REQUIREMENTS.read_text().splitlines():
        requirement = line.split("#")[0].strip()
        if requirement.startswith("onnxruntime"):
            requirement = package + requirement[len("onnxruntime") :]
        if requirement:
            lines.append(requirement)
    return lines


def venv_works() -> bool:
    py = venv_python()
    return py.is_file() and subprocess.run([str(py), "-c", "import sys"], capture_output=True).returncode == 0


def torch_pin() -> str:
    """torch's pinned requirement, read from requirements-training.txt (its one home)."""
    for line in TRAINING.read_text().splitlines():
        if line.split("#")[0].strip().startswith("torch=="):
            return line.split("#")[0].strip()
    raise InstallError(f"{TRAINING} pins no torch version")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wanted(device: str, torch_index: str | None, training: bool, package: str) -> dict:
    """What the environment must hold: changes to any of it make the next run reinstall."""
    if not training:
        return {"requirements": _digest(REQUIREMENTS), "onnxruntime": package, "training": False}
    return {
        "requirements": _digest(REQUIREMENTS),
        "onnxruntime": package,
        "training": _digest(TRAINING),
        "device": device,
        "index": torch_index,
    }


def _stamp() -> dict:
    try:
        return json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return {}


def has_training() -> bool:
    """Whether the environment holds the training support: torch is there (asked of the environment's Python)."""
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"
    return venv_works() and subprocess.run([str(venv_python()), "-c", probe], capture_output=True).returncode == 0


def _reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=5).close()
        return True
    except (OSError, ValueError):
        return False


def _torch_args(device: str, torch_index: str | None) -> list[str]:
    """The CPU build on Linux from PyTorch's CPU index when it can be reached; otherwise whatever torch 2.13.0 the
    configured package index has (a mirror, a wheel folder)."""
    torch = torch_pin()
    if torch_index:
        return [torch, "--index-url", torch_index]
    if device == "cpu" and sys.platform.startswith("linux") and _reachable(CPU_INDEX + "/"):
        return [torch + "+cpu", "--extra-index-url", CPU_INDEX]
    return [torch]


def up_to_date(device: str, torch_index: str | None, training: bool, package: str) -> bool:
    return venv_works() and _stamp() == _wanted(device, torch_index, training, package)


def _create() -> None:
    if importlib.util.find_spec("venv") is None or importlib.util.find_spec("ensurepip") is None:
        raise InstallError(
            f"{sys.executable} has no venv/ensurepip module: install it (Debian/Ubuntu: sudo apt install "
            f"python3-venv) or run the installer with another Python >= 3.11"
        )
    import venv

    if VENV.exists():  # left over from a killed install: start clean rather than trip over it
        print(f"repairing: removing broken environment {VENV}")
        shutil.rmtree(VENV)
    try:
        venv.EnvBuilder(with_pip=True).create(VENV)
    except (OSError, subprocess.CalledProcessError) as e:
        shutil.rmtree(VENV, ignore_errors=True)
        raise InstallError(
            f"could not create {VENV} ({e}); free some disk space or check the folder's rights"
        ) from None


def _pip(args: list[str]) -> None:
    cmd = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", *args]
    print("+", " ".join(cmd), flush=True)
    if subprocess.run(cmd).returncode != 0:
        raise InstallError(f"pip could not install {' '.join(args)} (its message is above; network or disk space?)")


def _pip_uninstall(packages: list[str]) -> None:
    cmd = [str(venv_python()), "-m", "pip", "uninstall", "--disable-pip-version-check", "-y", *packages]
    print("+", " ".join(cmd), flush=True)
    if subprocess.run(cmd).returncode != 0:
        raise InstallError(f"pip could not remove {' '.join(packages)} (its message is above)")


def ensure(device: str, torch_index: str | None, training: bool, package: str = "onnxruntime") -> str:
    """Create, repair or update the environment (with the training support when ``training`` or already there, and
    ``package`` as its onnxruntime); returns what was done, for the summary."""
    before = _stamp() if venv_works() else {}
    training = training or bool(before.get("training"))
    what = f"{package}, with training: {torch_pin()}, {device}" if training else f"inference only: {package}, no torch"
    if up_to_date(device, torch_index, training, package):
        return f"up to date ({what})"
    if not venv_works():
        _create()
    STAMP.unlink(missing_ok=True)  # an interrupted update must not look finished
    if before and before.get("onnxruntime", "onnxruntime") != package:  # the other package's module would stay
        _pip_uninstall([p for p in ONNXRUNTIMES if p != package])
    if training:
        print(f"installing torch for {device}")
        # pip keeps an installed torch whatever its build: switching CPU <-> CUDA needs a reinstall
        switch = ["--force-reinstall"] if before.get("device") not in (None, device) else []
        _pip([*_torch_args(device, torch_index), *switch])
        _pip([*_runtime_requirements(package), "-r", str(TRAINING)])
    else:
        _pip(_runtime_requirements(package))
    STAMP.write_text(json.dumps(_wanted(device, torch_index, training, package), indent=2) + "\n")
    return f"installed ({what})"


CHECK = """
import importlib.util
from backend.tasks import get_task
from backend.manifest import read_manifest
from backend.runtime import load_restoration_model, name
from backend.weights import WEIGHTS_DIR, read_meta
from backend.styles import find_style, list_styles
from backend.runtime import load_style_model
models = read_manifest().get("models", {})
for model, entry in sorted(models.items()):
    net = load_restoration_model(WEIGHTS_DIR / entry["file"], get_task(entry["task"]), device="auto")
    print(f"  {model}: {read_meta(WEIGHTS_DIR / entry['file'])[1]} parameters, loads on {name(net)} ({net.device})")
styles = list_styles()
for s in styles:
    load_style_model(find_style(s["name"]))
print(f"  {len(styles)} styles load")
if importlib.util.find_spec("torch") is not None:
    import torch
    from backend.nets.vgg import load_vgg
    load_vgg()
    print(f"  training support: torch {torch.__version__}, cuda available: {torch.cuda.is_available()}, VGG-16 loads")
"""


def check() -> str | None:
    """None when the backend imports and every model loads, else the problem and what to do."""
    if not venv_works():
        return f"{VENV} is missing or broken: run python3 installer.py"
    if subprocess.run([str(venv_python()), "-c", CHECK], cwd=ROOT).returncode != 0:
        return "the backend or a shipped model does not load (message above): run python3 installer.py to repair"
    return None


def training_state() -> str:
    """The training support's line for the summary and --check."""
    if has_training():
        return f"installed ({_stamp().get('device') or 'torch present'})"
    return "not installed (inference only): python3 installer.py --with-training adds it"
