#!/usr/bin/env python3
"""Set up Retex: a virtual environment at .venv with the backend, then a check that every shipped model loads.

Idempotent: running it again repairs a broken or half-made environment instead of failing on it.
Usage: python3 installer.py [--device auto|cpu|cuda] [--torch-index URL] [--check]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
REQUIREMENTS = ROOT / "requirements.txt"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=False, **kw)


def has_nvidia_gpu() -> bool:
    return shutil.which("nvidia-smi") is not None and run(["nvidia-smi", "-L"], capture_output=True).returncode == 0


def venv_works() -> bool:
    py = venv_python()
    return py.is_file() and subprocess.run([str(py), "-c", "import sys"], capture_output=True).returncode == 0


def ensure_venv() -> None:
    if venv_works():
        return
    if VENV.exists():  # left over from a killed install: start clean rather than trip over it
        print(f"repairing: removing broken environment {VENV}")
        shutil.rmtree(VENV)
    venv.EnvBuilder(with_pip=True).create(VENV)


def install(device: str, torch_index: str | None) -> None:
    py = venv_python()
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check"]
    torch_cmd = [*pip, "torch==2.13.0"]
    if torch_index:
        torch_cmd += ["--index-url", torch_index]
    print(f"installing torch for {device}")
    if run(torch_cmd).returncode != 0:
        sys.exit("error: could not install torch 2.13.0 (see pip's message above)")
    if run([*pip, "-r", REQUIREMENTS]).returncode != 0:
        sys.exit("error: could not install the backend's packages (see pip's message above)")


CHECK = """
import json, sys, torch
from backend.tasks import get_task
from backend.weights import WEIGHTS_DIR, read_manifest, load_restoration
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


def check() -> bool:
    if not venv_works():
        print("not set up: run python3 installer.py")
        return False
    ok = run([venv_python(), "-c", CHECK], cwd=ROOT).returncode == 0
    print("backend: OK" if ok else "backend: BROKEN (run python3 installer.py to repair)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument("--torch-index", help="a package index for torch (e.g. a CPU-only or CUDA wheel index)")
    parser.add_argument("--check", action="store_true", help="report the state, change nothing")
    args = parser.parse_args()
    if args.check:
        return 0 if check() else 1
    device = args.device if args.device != "auto" else ("cuda" if has_nvidia_gpu() else "cpu")
    ensure_venv()
    install(device, args.torch_index)
    return 0 if check() else 1


if __name__ == "__main__":
    sys.exit(main())
