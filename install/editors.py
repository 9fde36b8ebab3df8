"""Where Krita 5 and GIMP 3 keep their user plug-ins on Linux (native, AppImage, flatpak), Windows and macOS, which
version is installed where that can be read without starting the editor, and which Python runs the plug-in.

An editor counts as present when its program is found or its profile folder exists; ``--krita-dir`` /
``--gimp-dir`` name the profile folder instead (the one holding ``pykrita/`` or ``plug-ins/``).
"""

from __future__ import annotations

import glob
import os
import plistlib
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

KRITA_PYTHON_GUESS = (3, 10)  # Krita 5.2's bundled Python (Windows, macOS, AppImage)
GIMP_PYTHON_GUESS = (3, 12)  # the abi3 pyzmq wheel covers every Python >= 3.12


@dataclass
class Editor:
    """One place to install into: ``plugins`` is the folder that receives ``retex``."""

    name: str  # "krita" or "gimp"
    label: str  # for the summary: "Krita", "Krita (flatpak)", "GIMP 3 (--gimp-dir)"
    profile: Path
    python: list[str] | None = None  # a command running the editor's Python, when one can be run
    python_guess: tuple[int, int] | None = None  # the likely version when it cannot
    kritarc: Path | None = None
    problem: str = ""  # why nothing is installed here (too old); empty when fine
    notes: list[str] = field(default_factory=list)

    @property
    def plugins(self) -> Path:
        return self.profile / ("pykrita" if self.name == "krita" else "plug-ins")


def _home() -> Path:
    return Path.home()


def _xdg(var: str, default: str) -> Path:
    return Path(os.environ.get(var) or _home() / default)


def _version_tuple(text: str) -> tuple[int, ...] | None:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(g) for g in match.groups() if g is not None) if match else None


# --- Krita -------------------------------------------------------------------------------------------------------


def _krita_version_linux(exe: Path) -> tuple[int, ...] | None:
    """From the AppStream file next to the program (no Krita start: it needs a display)."""
    for meta in (exe.resolve().parent.parent / "share" / "metainfo").glob("org.kde.krita.appdata.xml"):
        match = re.search(r'<release[^>]*version="([^"]+)"', meta.read_text(encoding="utf-8", errors="replace"))
        if match:
            return _version_tuple(match.group(1))
    return None


def _linked_python(library: Path) -> list[str] | None:
    """The distribution's Python that a Krita built against libpython3.X runs (Debian, Fedora, Arch, ...)."""
    if not library.is_file() or shutil.which("ldd") is None:
        return None
    out = subprocess.run(["ldd", str(library)], capture_output=True, text=True).stdout
    match = re.search(r"libpython(3\.\d+)", out)
    python = Path(f"/usr/bin/python{match.group(1)}") if match else None
    return [str(python)] if python and python.is_file() else None


def _krita_native_linux() -> tuple[Path | None, list[str] | None, tuple[int, ...] | None, tuple[int, int] | None]:
    """Program, runnable Python, version and (for an AppImage) the guessed Python version."""
    exe = shutil.which("krita")
    if exe:
        prefix = Path(exe).resolve().parent.parent
        libs = sorted(p for pattern in ("lib*/kritaplugins", "lib*/*/kritaplugins") for p in prefix.glob(pattern))
        libs = [lib / "kritapykrita.so" for lib in libs if (lib / "kritapykrita.so").is_file()]
        return Path(exe), _linked_python(libs[0]) if libs else None, _krita_version_linux(Path(exe)), None
    appimages = [
        Path(p)
        for d in ("Applications", "Downloads", "bin", ".")
        for p in glob.glob(str(_home() / d / "krita*.AppImage"))
    ]
    if appimages:
        version = _version_tuple(appimages[-1].name)
        return appimages[-1], None, version, KRITA_PYTHON_GUESS
    return None, None, None, None


def _bundled_python_version(pattern: str) -> tuple[int, int] | None:
    """A bundled Python's version from its file names (python310.dll, Versions/3.10)."""
    for path in sorted(glob.glob(pattern)):
        match = re.search(r"python3\.?(\d+)|Versions/3\.(\d+)", path.replace("\\", "/"))
        if match:
            return 3, int(match.group(1) or match.group(2))
    return None


def find_krita(profile: Path | None = None) -> list[Editor]:
    """Every Krita profile to install into; ``profile`` (from --krita-dir) replaces the search."""
    editors: list[Editor] = []
    if sys.platform == "win32":
        root = Path(os.environ.get("ProgramFiles", r"C:\Program Files")) / "Krita (x64)"
        exe = root / "bin" / "krita.exe"
        found = profile or Path(os.environ.get("APPDATA", _home())) / "krita"
        kritarc = Path(os.environ.get("LOCALAPPDATA", _home())) / "kritarc"
        if profile or exe.exists() or found.exists():
            guess = _bundled_python_version(str(root / "**" / "python3*.dll")) or KRITA_PYTHON_GUESS
            editors.append(Editor("krita", "Krita", found, python_guess=guess, kritarc=kritarc))
    elif sys.platform == "darwin":
        app = Path("/Applications/krita.app")
        found = profile or _home() / "Library" / "Application Support" / "krita"
        kritarc = _home() / "Library" / "Preferences" / "kritarc"
        if profile or app.exists() or found.exists():
            editor = Editor("krita", "Krita", found, kritarc=kritarc)
            versions = sorted(glob.glob(str(app / "Contents/Frameworks/Python.framework/Versions/3.*/bin/python3")))
            editor.python = [versions[-1]] if versions else None
            editor.python_guess = None if versions else KRITA_PYTHON_GUESS
            try:
                info = plistlib.loads((app / "Contents" / "Info.plist").read_bytes())
                editor.problem = _krita_too_old(_version_tuple(info.get("CFBundleShortVersionString", "")))
            except (OSError, ValueError):
                pass
            editors.append(editor)
    else:
        exe, python, version, guess = _krita_native_linux()
        native = profile or _xdg("XDG_DATA_HOME", ".local/share") / "krita"
        if profile or exe or native.exists():
            label = "Krita" if not exe or exe.suffix != ".AppImage" else "Krita (AppImage)"
            editor = Editor("krita", label, native, python, guess, _xdg("XDG_CONFIG_HOME", ".config") / "kritarc")
            if python is None and guess is None:
                editor.python_guess = KRITA_PYTHON_GUESS
            editor.problem = _krita_too_old(version)
            editors.append(editor)
        flatpak = _home() / ".var" / "app" / "org.kde.krita"
        if profile is None and (flatpak.exists() or _flatpak_has("org.kde.krita")):
            editors.append(
                Editor(
                    "krita",
                    "Krita (flatpak)",
                    flatpak / "data" / "krita",
                    python=["flatpak", "run", "--command=python3", "org.kde.krita"],
                    python_guess=KRITA_PYTHON_GUESS,
                    kritarc=flatpak / "config" / "kritarc",
                )
            )
    if profile:
        for editor in editors:
            editor.label = "Krita (--krita-dir)"
    return editors


def _krita_too_old(version: tuple[int, ...] | None) -> str:
    if version and version[0] < 5:
        shown = ".".join(map(str, version))
        return f"Krita {shown} is too old: Retex needs Krita 5 (krita.org); nothing installed for it"
    return ""


def krita_running() -> bool:
    """Krita writes kritarc back when it quits, dropping a line added meanwhile (Linux: seen in /proc)."""
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "krita":
                return True
        except OSError:
            continue
    return False


def _flatpak_has(app: str) -> bool:
    if shutil.which("flatpak") is None:
        return False
    return subprocess.run(["flatpak", "info", app], capture_output=True).returncode == 0


# --- GIMP --------------------------------------------------------------------------------------------------------


def _gimp_interp_python(exe: Path) -> list[str] | None:
    """GIMP's ``interpreters/*.interp`` may map ``python3`` to a given Python; otherwise the script's shebang
    (``/usr/bin/env python3``) is run with GIMP's PATH, which on a distribution is the system Python."""
    lib = exe.resolve().parent.parent / "lib"
    for interp in [*lib.glob("gimp/3.0/interpreters/*.interp"), *lib.glob("*/gimp/3.0/interpreters/*.interp")]:
        for line in interp.read_text(errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "python3" and Path(value.strip()).is_file():
                return [value.strip()]
    return ["/usr/bin/python3"] if Path("/usr/bin/python3").is_file() else None


def _gimp_linux_exe() -> tuple[Path | None, str]:
    """GIMP 3's program and, when only an older GIMP is there, why it does not count."""
    for name in ("gimp-3.0", "gimp-3", "gimp-console-3.0"):
        if shutil.which(name):
            return Path(shutil.which(name)), ""
    gimp = shutil.which("gimp")
    if gimp:
        try:
            out = subprocess.run([gimp, "--version"], capture_output=True, text=True, timeout=20).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        version = _version_tuple(out)
        if version and version[0] < 3:
            return None, f"GIMP {'.'.join(map(str, version))} is too old: Retex needs GIMP 3 (gimp.org)"
        return Path(gimp), ""
    return None, ""


def find_gimp(profile: Path | None = None) -> tuple[list[Editor], str]:
    """Every GIMP 3 profile to install into, and a note when only GIMP 2.10 was found."""
    editors: list[Editor] = []
    old = ""
    if sys.platform == "win32":
        roots = sorted(glob.glob(os.path.join(os.environ.get("ProgramFiles", r"C:\Program Files"), "GIMP 3*")))
        config = Path(os.environ.get("APPDATA", _home())) / "GIMP"
        found = profile or config / "3.0"
        if profile or roots or found.exists():
            pythons = sorted(glob.glob(os.path.join(roots[-1], "bin", "python.exe"))) if roots else []
            editors.append(
                Editor("gimp", "GIMP 3", found, pythons[-1:] or None, None if pythons else GIMP_PYTHON_GUESS)
            )
        elif (config / "2.10").exists():
            old = "only GIMP 2.10's folder was found: Retex needs GIMP 3 (gimp.org)"
    elif sys.platform == "darwin":
        app = Path("/Applications/GIMP.app")
        config = _home() / "Library" / "Application Support" / "GIMP"
        found = profile or config / "3.0"
        if profile or app.exists() or found.exists():
            pythons = sorted(glob.glob(str(app / "Contents" / "MacOS" / "python3*")))
            editors.append(Editor("gimp", "GIMP 3", found, pythons[:1] or None, None if pythons else GIMP_PYTHON_GUESS))
        elif (config / "2.10").exists():
            old = "only GIMP 2.10's folder was found: Retex needs GIMP 3 (gimp.org)"
    else:
        exe, too_old = _gimp_linux_exe()
        config = _xdg("XDG_CONFIG_HOME", ".config") / "GIMP"
        found = profile or config / "3.0"
        if profile or exe or found.exists():
            python = (
                _gimp_interp_python(exe)
                if exe
                else (["/usr/bin/python3"] if Path("/usr/bin/python3").is_file() else None)
            )
            editors.append(Editor("gimp", "GIMP 3", found, python, None if python else GIMP_PYTHON_GUESS))
        elif too_old or (config / "2.10").exists():
            old = too_old or "only GIMP 2.10's folder was found: Retex needs GIMP 3 (gimp.org)"
        flatpak = _home() / ".var" / "app" / "org.gimp.GIMP"
        if profile is None and ((flatpak / "config" / "GIMP" / "3.0").exists() or _flatpak_has("org.gimp.GIMP")):
            python = ["flatpak", "run", "--command=python3", "org.gimp.GIMP"]
            profile_dir = flatpak / "config" / "GIMP" / "3.0"
            editors.append(Editor("gimp", "GIMP 3 (flatpak)", profile_dir, python, GIMP_PYTHON_GUESS))
    if profile:
        for editor in editors:
            editor.label = "GIMP 3 (--gimp-dir)"
    return editors, old


def profile_arg(path: Path, leaf: str) -> Path:
    """``--krita-dir``/``--gimp-dir`` take the profile folder; the plug-ins folder itself is accepted too."""
    path = path.expanduser().absolute()
    return path.parent if path.name == leaf else path
