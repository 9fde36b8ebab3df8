"""The backend's virtual environment at ``.venv``: created or repaired, torch for the right device, the
requirements, then a check that every shipped model and style loads. A stamp in the environment records what was
installed, so a second run with nothing changed skips pip entirely (fast, and works offline)."""

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
STAMP = VENV / "retex-install.json"
TORCH = "torch==2.13.0"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"  # PyPI's torch for Linux is the CUDA build (gigabytes more)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def has_nvidia_gpu() -> bool:
    if shutil.which("nvidia-smi") is None:
        return False
    return subprocess.run(["nvidia-smi", "-L"], capture_output=True).returncode == 0


def venv_works() -> bool:
    py = venv_python()
    return py.is_file() and subprocess.run([str(py), "-c", "import sys"], capture_output=True).returncode == 0


def _wanted(device: str, torch_index: str | None) -> dict:
    """What the environment must hold: changes to any of it make the next run reinstall."""
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    return {"requirements": digest, "torch": TORCH, "device": device, "index": torch_index}


def _reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=5).close()
        return True
    except (OSError, ValueError):
        return False


def _torch_args(device: str, torch_index: str | None) -> list[str]:
    """The CPU build on Linux from PyTorch's CPU index when it can be reached; otherwise whatever torch 2.13.0 the
    configured package index has (a mirror, a wheel folder)."""
    if torch_index:
        return [TORCH, "--index-url", torch_index]
    if device == "cpu" and sys.platform.startswith("linux") and _reachable(CPU_INDEX + "/"):
        return [TORCH + "+cpu", "--extra-index-url", CPU_INDEX]
    return [TORCH]


def up_to_date(device: str, torch_index: str | None) -> bool:
    try:
        return venv_works() and json.loads(STAMP.read_text()) == _wanted(device, torch_index)
    except (OSError, ValueError):
        return False


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


def ensure(device: str, torch_index: str | None) -> str:
    """Create, repair or update the environment; returns what was done, for the summary."""
    if up_to_date(device, torch_index):
        return "up to date"
    if not venv_works():
        _create()
    wanted = _wanted(device, torch_index)
    try:
        before = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        before = {}
    STAMP.unlink(missing_ok=True)  # an interrupted update must not look finished
    print(f"installing torch for {device}")
    # pip keeps an installed torch 2.13.0 whatever its build: switching CPU <-> CUDA needs a reinstall
    switch = ["--force-reinstall"] if before and before.get("device") != device else []
    _pip([*_torch_args(device, torch_index), *switch])
    _pip(["-r", str(REQUIREMENTS)])
    STAMP.write_text(json.dumps(wanted, indent=2) + "\n")
    return f"installed ({TORCH}, {device})"


CHECK = """
import json, sys, torch
from backend.tasks import get_task
from backend.manifest import read_manifest
from backend.weights import WEIGHTS_DIR, load_restoration
models = read_manifest().get("models", {})
for name, entry in sorted(models.items()):
    net = load_restoration(WEIGHTS_DIR / entry["file"], get_task(entry["task"]))
    print(f"  {name}: {net.parameter_count()} parameters, loads")
from backend.nets.vgg import load_vgg
from backend.styles import list_styles, load_style
load_vgg()
styles = list_styles()
for s in styles:
    load_style(s["name"])
print(f"  {len(styles)} styles and the VGG-16 loss features load")
print(f"  torch {torch.__version__}, cuda available: {torch.cuda.is_available()}")
"""


def check() -> str | None:
    """None when the backend imports and every model loads, else the problem and what to do."""
    if not venv_works():
        return f"{VENV} is missing or broken: run python3 installer.py"
    if subprocess.run([str(venv_python()), "-c", CHECK], cwd=ROOT).returncode != 0:
        return "the backend or a shipped model does not load (message above): run python3 installer.py to repair"
    return None
