#!/usr/bin/env python3
"""Set up Retex in one command: the backend's environment (.venv), the plug-in in every Krita 5 and GIMP 3 found,
pyzmq for each editor's Python, the plug-ins' config, then a demo through a real backend server.

Idempotent: running it again repairs what is broken or half-made and changes nothing that is fine.

  python3 installer.py                      # everything (inference only: ONNX Runtime, no torch), then the demo
  python3 installer.py --with-training      # also torch and what training, evaluation and the tests need
  python3 installer.py --check              # report the state, change nothing (exit 1 when broken)
  python3 installer.py --uninstall [--purge]
  python3 installer.py --krita-zip retex.zip   # a ZIP for Krita's "Import Python Plugin from File..."
"""

from __future__ import annotations

import argparse
import errno
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

if sys.version_info < (3, 11):  # noqa: UP036  (the system python3 runs this, whatever it is)
    sys.exit(f"error: Retex needs Python >= 3.11 to install (this is {sys.version.split()[0]})")

from install import ROOT, InstallError, backend, demo, editors, plugins, vendor  # noqa: E402
from install.record import Record, set_config, uninstall  # noqa: E402
from plugin.common.config import config_dir, config_path  # noqa: E402
from plugin.common.launcher import log_dir  # noqa: E402

Row = tuple[str, str, str]  # what, where, what happened


def record_path() -> Path:
    return config_dir() / "installed.json"


def pip_command() -> list[str]:
    """pip for ``pip download`` (vendoring): the environment's, else this Python's."""
    if backend.venv_works():
        return [str(backend.venv_python()), "-m", "pip"]
    if subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True).returncode == 0:
        return [sys.executable, "-m", "pip"]
    raise InstallError("no pip to download pyzmq with: the backend's environment failed (see above)")


def os_problem(e: OSError, where: Path) -> str:
    """One line for a failed write: what and what to do."""
    if isinstance(e, shutil.Error) and e.args and e.args[0]:  # copytree gathers every file's error: the first says why
        code = re.search(r"\[Errno (\d+)\]", str(e.args[0][0][-1]))
        e = OSError(int(code.group(1)) if code else None, str(e.args[0][0][-1]))
    if e.errno == errno.ENOSPC:
        return f"no space left on the disk holding {where}: free some and run again"
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write to {where} ({e.strerror}): fix its permissions, or pass another folder"
    return f"{where}: {e.strerror or e}"


def zmq_for(editor: editors.Editor, staging: Path, record: Record) -> tuple[str, str | None, list[str] | None]:
    """Make pyzmq importable for the editor's Python: its own, or a wheel unpacked into ``staging/vendor``.
    Returns a note for the summary, the vendored wheel's name, and the Python command when it could be run (what
    --check runs again)."""
    version, where = vendor.probe(editor.python) if editor.python else (None, "")
    if version and not where.startswith("-"):
        return f"pyzmq: the editor's own ({' '.join(editor.python)})", None, editor.python
    note = ""
    if version is None:
        usual = editors.KRITA_PYTHON_GUESS if editor.name == "krita" else editors.GIMP_PYTHON_GUESS
        version = editor.python_guess or usual
        why = f"could not run {' '.join(editor.python)}" if editor.python else "its Python was not found"
        note = f" ({why}: made for Python {version[0]}.{version[1]}, its usual one)"
    cache = vendor.wheel_cache()
    if record.make_dir(cache):  # the cache goes with an uninstall, unless it was there before (RETEX_WHEEL_CACHE)
        record.put({"kind": "cache", "path": str(cache)})
    wheel = vendor.fetch(pip_command(), version)
    vendor.unpack(wheel, staging / "vendor")
    if note:
        return f"pyzmq: vendored {wheel.name}{note}", wheel.name, None
    _, where = vendor.probe(editor.python, staging / "vendor")
    if where.startswith("-"):
        raise InstallError(f"the vendored pyzmq does not import in {' '.join(editor.python)} {where}")
    return f"pyzmq: vendored {wheel.name}", wheel.name, editor.python


def install_editor(editor: editors.Editor, record: Record) -> Row:
    """Copy the plug-in into one editor's profile (see install/plugins.py); never raises for expected failures."""
    target = editor.plugins / "retex"
    if editor.problem:
        return editor.label, str(editor.profile), f"skipped: {editor.problem}"
    try:
        record.make_dir(editor.plugins)
        plugins.clean_leftovers(editor.plugins)
        if target.exists() and not plugins.is_ours(target, record.find("plugin", target) is not None):
            return editor.label, str(target), "skipped: a folder 'retex' that Retex did not install is there (kept)"
        staging = plugins.stage(editor.name, editor.plugins)
        try:
            note, wheel, python = zmq_for(editor, staging, record)
            if target.exists() and plugins.same_tree(staging, target):
                status = "up to date"
            else:
                status = "updated" if target.exists() else "installed"
                plugins.place(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        item = {"kind": "plugin", "editor": editor.name, "path": str(target), "files": plugins.files(target)}
        record.put({**item, "python": python, "vendored": wheel})
        if editor.name == "krita":
            desktop = editor.plugins / "retex.desktop"
            plugins.write_if_changed(desktop, plugins.desktop_file())
            record.put({"kind": "file", "path": str(desktop)})
            if editor.kritarc is not None:
                record.make_dir(editor.kritarc.parent)
                changed, previous, added = plugins.enable_in_kritarc(editor.kritarc)
                if changed and record.find("kritarc", editor.kritarc) is None:
                    item = {"kind": "kritarc", "path": str(editor.kritarc), "previous": previous}
                    record.put({**item, "section_added": added})
                note += f"; enabled in {editor.kritarc}"
                if changed and editors.krita_running():
                    note += " (Krita is running: quit it, then run the installer again, or it drops that line)"
        return editor.label, str(target), f"{status}; {note}"
    except InstallError as e:
        return editor.label, str(target), f"not installed: {e}"
    except OSError as e:
        return editor.label, str(target), f"not installed: {os_problem(e, Path(e.filename or editor.plugins))}"


def find_editors(args: argparse.Namespace) -> tuple[list[editors.Editor], list[Row]]:
    found: list[editors.Editor] = []
    rows: list[Row] = []
    if not args.no_krita:
        krita_dir = editors.profile_arg(args.krita_dir, "pykrita") if args.krita_dir else None
        krita = editors.find_krita(krita_dir)
        for editor in krita:
            if args.krita_python:
                editor.python = shlex.split(args.krita_python)
        found += krita
        if not krita:
            rows.append(("Krita", "-", "skipped: not found (install Krita 5, or pass --krita-dir)"))
    if not args.no_gimp:
        gimp_dir = editors.profile_arg(args.gimp_dir, "plug-ins") if args.gimp_dir else None
        gimp, old = editors.find_gimp(gimp_dir)
        for editor in gimp:
            if args.gimp_python:
                editor.python = shlex.split(args.gimp_python)
        found += gimp
        if not gimp:
            rows.append(("GIMP 3", "-", f"skipped: {old or 'not found (install GIMP 3, or pass --gimp-dir)'}"))
    return found, rows


def print_table(rows: list[Row]) -> None:
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    print()
    for what, where, status in rows:
        print(f"{what:<{width[0]}}  {where:<{width[1]}}  {status}")
    print()


def do_install(args: argparse.Namespace) -> int:
    rows: list[Row] = []
    backend_ok = True
    if args.skip_backend:
        rows.append(("backend", str(backend.VENV), "left as it is (--skip-backend)"))
    else:
        cuda = args.device == "cuda" or (args.device == "auto" and backend.has_nvidia_gpu())
        package = backend.onnxruntime_package(args.device)
        try:
            done = backend.ensure("cuda" if cuda else "cpu", args.torch_index, args.with_training, package)
            problem = backend.check()
        except InstallError as e:
            done, problem = "", str(e)
        except OSError as e:
            done, problem = "", os_problem(e, backend.VENV)
        backend_ok = problem is None
        rows.append(
            ("backend", str(backend.VENV), f"{done}; every model loads" if backend_ok else f"BROKEN: {problem}")
        )
        rows.append(("training", str(backend.VENV), backend.training_state()))
    record = Record(record_path())
    found, skipped = find_editors(args)
    results = [install_editor(editor, record) for editor in found]
    rows += results + skipped
    try:
        extra = {"args": ["--device", args.device]} if args.device != "auto" else {}
        values = {"python": str(backend.venv_python()), "repo": str(ROOT)}
        changed = set_config(record, config_path(), values, extra)
        rows.append(("config", str(config_path()), "written" if changed else "up to date"))
        record.save()
    except OSError as e:
        rows.append(("config", str(config_path()), f"not written: {os_problem(e, config_path())}"))
    usable = [r for r in results if r[2].startswith(("installed", "updated", "up to date"))]
    if found and usable:
        rows.append(("next", "-", "restart the editors to load Retex"))
    print_table(rows)
    if not backend_ok or (found and not usable):
        return 1
    if not args.no_demo:
        try:
            folder = log_dir() / "demo"
            record.make_dir(folder)
            record.put({"kind": "demo", "path": str(folder)})
            record.save()
            print(f"demo: {demo.TASK} then the '{demo.STYLE}' style on the table, through a backend server ...")
            print(f"demo result: {demo.run(backend.venv_python(), folder, config_dir() / 'token')}")
        except (InstallError, OSError) as e:
            print(f"demo failed: {e}")
            return 1
    return 0


def do_check(args: argparse.Namespace) -> int:
    """Compare the record with the disk; one line per problem, with what to do."""
    record = Record(record_path())
    problems: list[str] = []
    rows: list[Row] = []
    if not args.skip_backend:
        problem = backend.check()
        rows.append(("backend", str(backend.VENV), problem or "OK"))
        rows.append(("training", str(backend.VENV), backend.training_state()))
        problems += [problem] if problem else []
    if not record.exists:
        problems.append(f"no plug-in installed ({record_path()} is missing): run python3 installer.py")
    for item in record.items:
        path = Path(item["path"])
        found = path.exists()
        missing = [f for f in item.get("files", []) if not (path / f).is_file()]
        if item["kind"] == "plugin" and found and missing:
            problems.append(
                f"{len(missing)} file(s) missing from {path} (first: {missing[0]}): run python3 installer.py"
            )
        if item["kind"] == "kritarc" and not plugins.kritarc_enabled(path):
            problems.append(f"Retex is not enabled in {path}: run python3 installer.py")
        elif not found and item["kind"] not in ("kritarc", "demo"):
            problems.append(f"{path} is missing: run python3 installer.py")
        elif item["kind"] == "plugin" and item.get("python"):
            vendored = path / "vendor" if item.get("vendored") else None
            version, where = vendor.probe(item["python"], vendored)
            if version is None or where.startswith("-"):
                problems.append(
                    f"pyzmq does not import in {' '.join(item['python'])} {where}: run python3 installer.py"
                )
        if item["kind"] in ("plugin", "file", "config"):
            rows.append((item["kind"], str(path), "present" if found else "MISSING"))
    if rows:
        print_table(rows)
    for problem in problems:
        print(f"problem: {problem}")
    print("state: OK" if not problems else f"state: BROKEN ({len(problems)} problem(s))")
    return 1 if problems else 0


def do_uninstall(args: argparse.Namespace) -> int:
    record = Record(record_path())
    if not record.exists:
        print(f"nothing to uninstall ({record_path()} is missing)")
    for line in uninstall(record):
        print(line)
    if args.purge:
        styles = Path(os.environ.get("RETEX_USER_STYLES") or Path.home() / ".local" / "share" / "retex" / "styles")
        for folder in (styles, config_dir(), log_dir()):
            if folder.exists():
                shutil.rmtree(folder)
                print(f"purged {folder}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda", "dml", "coreml"],
        default="auto",
        help="the onnxruntime package (auto: onnxruntime-gpu with an NVIDIA GPU, onnxruntime-directml on other "
        "Windows machines, else onnxruntime, CoreML included on macOS; cpu: onnxruntime) and, with "
        "--with-training, torch's build (cuda with an NVIDIA GPU, else cpu)",
    )
    parser.add_argument(
        "--with-training",
        action="store_true",
        help="also install torch and what training, evaluation, the bench and the tests need (kept once installed)",
    )
    parser.add_argument("--torch-index", help="a package index for torch (e.g. a CUDA wheel index)")
    parser.add_argument("--check", action="store_true", help="report the state, change nothing")
    parser.add_argument("--uninstall", action="store_true", help="remove what the installer installed")
    parser.add_argument(
        "--purge", action="store_true", help="with --uninstall: also the styles you trained, logs, config"
    )
    parser.add_argument("--no-demo", action="store_true", help="skip the demo at the end")
    parser.add_argument("--krita-dir", type=Path, help="Krita's profile folder (the one holding pykrita/)")
    parser.add_argument("--gimp-dir", type=Path, help="GIMP 3's profile folder (the one holding plug-ins/)")
    parser.add_argument("--krita-python", help="the command that runs Krita's Python (to check pyzmq with)")
    parser.add_argument("--gimp-python", help="the command that runs GIMP's Python (to check pyzmq with)")
    parser.add_argument("--no-krita", action="store_true", help="leave Krita alone")
    parser.add_argument("--no-gimp", action="store_true", help="leave GIMP alone")
    parser.add_argument("--skip-backend", action="store_true", help="use .venv as it is (plug-ins only; tests)")
    parser.add_argument("--krita-zip", type=Path, metavar="PATH", help="only write the Krita plug-in as a ZIP")
    args = parser.parse_args()
    if args.krita_zip:
        plugins.pack_krita_zip(args.krita_zip)
        print(f"wrote {args.krita_zip} (Krita: Tools > Scripts > Import Python Plugin from File...)")
        return 0
    if args.uninstall:
        return do_uninstall(args)
    if args.check:
        return do_check(args)
    return do_install(args)


if __name__ == "__main__":
    sys.exit(main())
