"""pyzmq inside the editors' own Pythons: use the editor's when it has one, otherwise unpack the pyzmq wheel made
for that Python's version and platform into the plug-in's ``vendor/`` folder (``plugin/common`` puts it on
``sys.path``), then prove the import with that Python when it can be run.

Wheels come from the package index through pip (``pip download --only-binary``), into a cache folder
(``RETEX_WHEEL_CACHE``, default ``~/.cache/retex/wheels``) that later runs read without the network.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import zipfile
from pathlib import Path

from . import InstallError

PROBE = """
import sys
if len(sys.argv) > 1:
    sys.path.insert(0, sys.argv[1])
print("%d.%d" % sys.version_info[:2])
try:
    import zmq
    print(zmq.__file__)
except Exception as e:
    print("- %s" % e)
"""


def wheel_cache() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "retex" / "wheels"
    return Path(os.environ.get("RETEX_WHEEL_CACHE") or default)


def probe(python: list[str], vendor: Path | None = None) -> tuple[tuple[int, int] | None, str]:
    """The Python's version and where it imports zmq from ("- why" when it cannot); (None, why) when it does not
    run at all."""
    try:
        proc = subprocess.run(
            [*python, "-c", PROBE, *([str(vendor)] if vendor else [])],
            capture_output=True,
            text=True,
            timeout=120,
            # no __pycache__ written into the plug-in by a check
            env={
                **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")},
                "PYTHONDONTWRITEBYTECODE": "1",
            },
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"- cannot run {' '.join(python)} ({e})"
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or len(lines) < 2:
        return None, f"- {' '.join(python)} failed: {(proc.stderr.strip().splitlines() or ['no output'])[-1]}"
    major, minor = lines[0].split(".")
    return (int(major), int(minor)), lines[1]


def platform_tags() -> list[str]:
    """pip's --platform values for this machine (the editor runs here too)."""
    machine = platform.machine().lower()
    if sys.platform == "win32":
        return ["win_arm64"] if machine in ("arm64", "aarch64") else ["win_amd64"]
    if sys.platform == "darwin":
        arch = "arm64" if machine == "arm64" else "x86_64"
        return [f"macosx_{v}_{arch}" for v in ("14_0", "11_0", "10_15", "10_9")] + ["macosx_10_15_universal2"]
    arch = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    return [f"manylinux_2_{v}_{arch}" for v in (28, 27, 26, 17)] + [f"manylinux2014_{arch}"]


def _download(pip: list[str], version: tuple[int, int], cache: Path) -> str:
    """Ask pip for the wheel that fits this Python on this platform, into the cache; "" or pip's last line."""
    abi = f"cp{version[0]}{version[1]}"
    cmd = [*pip, "download", "pyzmq", "--only-binary=:all:", "--no-deps", "--no-cache-dir", "-q", "-d", str(cache)]
    cmd += ["--python-version", f"{version[0]}.{version[1]}", "--implementation", "cp", "--abi", abi, "--abi", "abi3"]
    for tag in platform_tags():
        cmd += ["--platform", tag]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return "" if proc.returncode == 0 else (proc.stderr.strip().splitlines() or ["pip failed"])[-1]


def _best(wheels: list[Path], version: tuple[int, int]) -> Path | None:
    """The cached wheel for this version: its own cpXY build first, else an abi3 build old enough for it."""
    abi = f"cp{version[0]}{version[1]}"
    own = sorted(w for w in wheels if f"-{abi}-{abi}-" in w.name)
    if own:
        return own[-1]
    abi3 = sorted(w for w in wheels if "-abi3-" in w.name and int(w.name.split("-")[2][2:] or 0) <= int(abi[2:]))
    return abi3[-1] if abi3 else None


def fetch(pip: list[str], version: tuple[int, int]) -> Path:
    """The pyzmq wheel for this Python version on this platform: from the cache when it is there."""
    cache = wheel_cache()
    cache.mkdir(parents=True, exist_ok=True)
    wheel = _best(list(cache.glob("pyzmq-*.whl")), version)
    why = "" if wheel else _download(pip, version, cache)
    wheel = wheel or _best(list(cache.glob("pyzmq-*.whl")), version)
    if wheel is None:
        raise InstallError(
            f"could not download pyzmq for Python {version[0]}.{version[1]} ({why or 'no wheel fits'}); install pyzmq "
            "into the editor's Python instead (Debian/Ubuntu: sudo apt install python3-zmq)"
        )
    return wheel


def unpack(wheel: Path, vendor: Path) -> None:
    """A wheel is a zip laid out for site-packages: unpacked into ``vendor/`` it imports from there."""
    with zipfile.ZipFile(wheel) as z:
        z.extractall(vendor)
    (vendor / "WHEEL.txt").write_text(wheel.name + "\n")
