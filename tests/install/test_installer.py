"""installer.py run as a user runs it (the system python3, a subprocess) into throw-away HOMEs: fresh install, a second
run that changes nothing, --check healthy and broken, --uninstall leaving the HOME as it was, an interrupted install
recovered, a foreign ``retex`` folder and an unwritable folder reported and left alone, pyzmq vendored for a Python
without it; then the installed plug-ins load in the real Krita (GUI under Xvfb) and register in the real GIMP 3.

The backend's environment is the checkout's .venv as it is (``--skip-backend``): CI runs the real ``python3
installer.py --no-demo`` before the tests, and one test here runs the demo through a real server. Krita and the GIMP
chroot are needed as for the plug-in tests: skipped without them, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from install import vendor
from tests.editors.gimp import harness as gh
from tests.editors.krita import harness as kh

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").is_file() else sys.executable
NO_ZMQ_PYTHON = f"{SYSTEM_PYTHON} -S"  # no site-packages: a Python that cannot import zmq


def require(missing: str | None) -> None:
    if missing:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(missing)


@pytest.fixture(scope="session")
def wheels(tmp_path_factory) -> Path:
    """One wheel cache for the whole run, filled here once (the cp311 wheel for Krita's Python, the abi3 one for
    GIMP's 3.13), so the installers under test find their wheels without downloading."""
    cache = tmp_path_factory.mktemp("wheels")
    os.environ["RETEX_WHEEL_CACHE"] = str(cache)
    try:
        for version in ((3, 11), (3, 13)):
            vendor.fetch([sys.executable, "-m", "pip"], version)
    finally:
        del os.environ["RETEX_WHEEL_CACHE"]
    return cache


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def installer_env(home: Path, wheels: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment with ``home`` as HOME and every Retex or XDG folder left to its default under it."""
    drop = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "RETEX_CONFIG_DIR", "RETEX_USER_STYLES", "DISPLAY")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(home.parent / "run"), RETEX_WHEEL_CACHE=str(wheels), **(extra or {}))
    return env


def run_installer(
    home: Path, wheels: Path, *args: str, demo: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = installer_env(home, wheels, env)
    (home.parent / "run").mkdir(mode=0o700, exist_ok=True)
    cmd = [SYSTEM_PYTHON, str(REPO / "installer.py"), "--skip-backend", *([] if demo else ["--no-demo"]), *args]
    proc = subprocess.run(cmd, env=env, cwd=home, capture_output=True, text=True, timeout=600)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def tree(root: Path) -> dict[str, tuple]:
    """Every path under ``root``; files with their content, mode and modification time (a folder's time changes
    whenever the installer looks at it through a staging copy)."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if path.is_file():
            out[str(path.relative_to(root))] = (path.read_bytes(), st.st_mode, st.st_mtime_ns)
        else:
            out[str(path.relative_to(root))] = (None, st.st_mode, None)
    return out


def contents(root: Path) -> dict[str, bytes | None]:
    return {k: v[0] for k, v in tree(root).items()}


def pykrita(home: Path) -> Path:
    return home / ".local" / "share" / "krita" / "pykrita"


def row(output: str, label: str) -> str:
    """The summary line for one editor (or 'config', 'backend')."""
    return next(line for line in output.splitlines() if line.startswith(label + " "))


def test_fresh_install_then_a_second_run_changes_nothing(home: Path, wheels: Path) -> None:
    require(kh.missing_tools("krita"))
    first = run_installer(home, wheels)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "installed; pyzmq: the editor's own" in row(first.stdout, "Krita")
    plugin = pykrita(home) / "retex"
    assert (plugin / "__init__.py").is_file() and (plugin / "common" / "protocol.py").is_file()
    assert (pykrita(home) / "retex.desktop").read_bytes() == (REPO / "plugin" / "krita" / "retex.desktop").read_bytes()
    assert (home / ".config" / "kritarc").read_text() == "[python]\nenable_retex=true\n"
    config = json.loads((home / ".config" / "retex" / "config.json").read_text())
    assert config == {"python": str(REPO / ".venv" / "bin" / "python"), "repo": str(REPO)}
    assert "GIMP 3  " in first.stdout and "not found" in row(first.stdout, "GIMP 3")
    before = tree(home)
    second = run_installer(home, wheels)
    assert second.returncode == 0, second.stdout + second.stderr
    assert row(second.stdout, "Krita").split("  ")[-1].startswith("up to date")
    assert "up to date" in row(second.stdout, "config")
    assert tree(home) == before


def test_check_reports_a_healthy_and_a_broken_install(home: Path, wheels: Path) -> None:
    require(kh.missing_tools("krita"))
    assert run_installer(home, wheels).returncode == 0
    before = tree(home)
    healthy = run_installer(home, wheels, "--check")
    assert healthy.returncode == 0 and "state: OK" in healthy.stdout, healthy.stdout
    assert tree(home) == before  # --check changes nothing
    (pykrita(home) / "retex" / "panel.py").unlink()
    (home / ".config" / "kritarc").write_text("[python]\n")
    broken = run_installer(home, wheels, "--check")
    assert broken.returncode == 1, broken.stdout
    assert f"missing from {pykrita(home) / 'retex'} (first: panel.py): run python3 installer.py" in broken.stdout
    assert f"Retex is not enabled in {home / '.config' / 'kritarc'}" in broken.stdout
    assert "state: BROKEN (2 problem(s))" in broken.stdout
    assert run_installer(home, wheels).returncode == 0  # repairs
    assert contents(home) == {k: v[0] for k, v in before.items()}
    assert run_installer(home, wheels, "--check").returncode == 0


def test_check_without_an_install_says_what_to_do(home: Path, wheels: Path) -> None:
    proc = run_installer(home, wheels, "--check")
    assert proc.returncode == 1 and "no plug-in installed" in proc.stdout and "run python3 installer.py" in proc.stdout
    assert not any(home.iterdir())  # --check changes nothing


def test_uninstall_leaves_the_home_as_it_was(home: Path, wheels: Path) -> None:
    """User files around ours (kritarc settings, a config key, a trained style) survive; --purge takes the style."""
    require(kh.missing_tools("krita"))
    (home / ".config" / "retex").mkdir(parents=True)
    (home / ".config" / "kritarc").write_text("[General]\nfoo=bar\n\n[python]\nenable_other=true\n")
    (home / ".config" / "retex" / "config.json").write_text('{"endpoint": "tcp://gpu-box:5555"}\n')
    style = home / ".local" / "share" / "retex" / "styles" / "mine"
    style.mkdir(parents=True)
    (style / "style.safetensors").write_bytes(b"trained")
    before = contents(home)
    assert run_installer(home, wheels, "--device", "cpu").returncode == 0
    config = json.loads((home / ".config" / "retex" / "config.json").read_text())
    assert config["endpoint"] == "tcp://gpu-box:5555" and config["args"] == ["--device", "cpu"]
    assert "[python]\nenable_retex=true\nenable_other=true" in (home / ".config" / "kritarc").read_text()
    proc = run_installer(home, wheels, "--uninstall")
    assert proc.returncode == 0 and f"removed {pykrita(home) / 'retex'}" in proc.stdout, proc.stdout
    assert contents(home) == before
    run_installer(home, wheels)
    assert run_installer(home, wheels, "--uninstall", "--purge").returncode == 0
    assert not style.exists() and not (home / ".config" / "retex").exists()


def test_an_interrupted_install_is_recovered(home: Path, wheels: Path) -> None:
    """What a killed run can leave: a half-made staging copy, an old copy not yet removed, a plug-in folder missing
    files (an older, non-atomic install). The next run cleans and completes; nothing of it stays."""
    require(kh.missing_tools("krita"))
    assert run_installer(home, wheels).returncode == 0
    fresh = contents(home)
    staging = pykrita(home) / ".retex-staging-99999"
    shutil.copytree(REPO / "plugin" / "common", staging / "common")
    shutil.copytree(pykrita(home) / "retex", pykrita(home) / ".retex-old-99998")
    shutil.rmtree(pykrita(home) / "retex" / "common")
    proc = run_installer(home, wheels)
    assert proc.returncode == 0 and "updated" in row(proc.stdout, "Krita"), proc.stdout
    assert contents(home) == fresh


def test_a_killed_install_does_not_block_the_next(home: Path, wheels: Path) -> None:
    """SIGKILL the installer at several points of its run; each next run ends in the same installed state."""
    require(kh.missing_tools("krita"))
    assert run_installer(home, wheels).returncode == 0
    fresh = contents(home)
    env = installer_env(home, wheels)
    cmd = [SYSTEM_PYTHON, str(REPO / "installer.py"), "--skip-backend", "--no-demo", "--krita-python", NO_ZMQ_PYTHON]
    for delay in (0.15, 0.3, 0.5, 0.8):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(delay)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    again = run_installer(home, wheels)
    assert again.returncode == 0, again.stdout
    assert contents(home) == fresh


def test_a_foreign_retex_folder_is_kept(home: Path, wheels: Path, tmp_path: Path) -> None:
    require(kh.missing_tools("krita"))
    foreign = pykrita(home) / "retex"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    gimp = tmp_path / "gimp-profile"
    alone = run_installer(home, wheels, "--no-gimp")
    assert alone.returncode == 1  # the only editor could not be served
    line = row(alone.stdout, "Krita")
    assert "skipped: a folder 'retex' that Retex did not install is there (kept)" in line
    both = run_installer(home, wheels, "--gimp-dir", str(gimp))
    assert both.returncode == 0, both.stdout  # GIMP got it, so something usable was installed
    assert row(both.stdout, "GIMP 3 (--gimp-dir)").split("  ")[-1].startswith("installed")
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"] and (foreign / "notes.txt").read_text() == "mine"
    assert (gimp / "plug-ins" / "retex" / "retex.py").stat().st_mode & 0o111


@pytest.fixture
def unwritable(home: Path) -> Iterator[Path]:
    """Krita's profile folder that this user cannot write to (root ignores modes, so it is made immutable)."""
    folder = home / ".local" / "share" / "krita"
    folder.mkdir(parents=True)
    if os.geteuid() == 0:
        proc = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True)
        assert proc.returncode == 0, f"chattr +i is needed to make a folder unwritable for root: {proc.stderr}"
    else:
        folder.chmod(0o555)
    yield folder
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o755)


def test_an_unwritable_folder_is_reported(home: Path, wheels: Path, unwritable: Path, tmp_path: Path) -> None:
    require(kh.missing_tools("krita"))
    proc = run_installer(home, wheels, "--gimp-dir", str(tmp_path / "gimp-profile"))
    assert proc.returncode == 0, proc.stdout
    line = row(proc.stdout, "Krita")
    assert f"not installed: cannot write to {unwritable / 'pykrita'}" in line and "fix its permissions" in line
    assert not any(unwritable.iterdir())
    only = run_installer(home, wheels, "--no-gimp")
    assert only.returncode == 1


def test_only_gimp_2_10_is_reported(home: Path, wheels: Path) -> None:
    (home / ".config" / "GIMP" / "2.10" / "plug-ins").mkdir(parents=True)
    proc = run_installer(home, wheels, "--no-krita")
    assert "only GIMP 2.10's folder was found: Retex needs GIMP 3" in row(proc.stdout, "GIMP 3")
    assert not (home / ".config" / "GIMP" / "3.0").exists()


def test_krita_4_is_reported(home: Path, wheels: Path, tmp_path: Path) -> None:
    """Krita 4 cannot run here, so its install layout stands in: the program first on PATH, the version in the
    AppStream file beside it (where the installer reads it)."""
    prefix = tmp_path / "krita4"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "krita").write_text("#!/bin/sh\nexit 0\n")
    (prefix / "bin" / "krita").chmod(0o755)
    (prefix / "share" / "metainfo").mkdir(parents=True)
    release = '<component><releases><release date="2021-01-19" version="4.4.2"/></releases></component>'
    (prefix / "share" / "metainfo" / "org.kde.krita.appdata.xml").write_text(release)
    path = f"{prefix / 'bin'}{os.pathsep}{os.environ['PATH']}"
    proc = run_installer(home, wheels, "--no-gimp", env={"PATH": path})
    assert proc.returncode == 1
    assert "skipped: Krita 4.4.2 is too old: Retex needs Krita 5 (krita.org)" in row(proc.stdout, "Krita")
    assert not (home / ".local" / "share" / "krita").exists() and not (home / ".config" / "kritarc").exists()


def test_krita_zip(tmp_path: Path) -> None:
    out = tmp_path / "retex.zip"
    proc = subprocess.run([SYSTEM_PYTHON, str(REPO / "installer.py"), "--krita-zip", str(out)], capture_output=True)
    assert proc.returncode == 0
    names = zipfile.ZipFile(out).namelist()
    assert "retex.desktop" in names and "retex/__init__.py" in names and "retex/common/protocol.py" in names


def vendored_krita(home: Path, wheels: Path) -> Path:
    """Install with Krita's Python replaced by one without site-packages, so pyzmq has to be vendored."""
    proc = run_installer(home, wheels, "--krita-python", NO_ZMQ_PYTHON)
    assert proc.returncode == 0, proc.stdout
    assert "pyzmq: vendored pyzmq-" in row(proc.stdout, "Krita") and "-cp311-cp311-" in row(proc.stdout, "Krita")
    return pykrita(home) / "retex" / "vendor"


def test_pyzmq_is_vendored_for_a_python_without_it(home: Path, wheels: Path) -> None:
    require(kh.missing_tools("krita"))
    vendor = vendored_krita(home, wheels)
    code = "import sys; sys.path.insert(0, sys.argv[1]); import zmq; print(zmq.__file__, zmq.zmq_version())"
    proc = subprocess.run([*NO_ZMQ_PYTHON.split(), "-c", code, str(vendor)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith(str(vendor)), proc.stderr
    check = run_installer(home, wheels, "--check", "--krita-python", NO_ZMQ_PYTHON)
    assert check.returncode == 0, check.stdout
    before = tree(home)
    again = run_installer(home, wheels, "--krita-python", NO_ZMQ_PYTHON)
    assert row(again.stdout, "Krita").split("  ")[-1].startswith("up to date; pyzmq: vendored")
    assert tree(home) == before
    shutil.rmtree(vendor / "zmq")
    broken = run_installer(home, wheels, "--check")
    assert broken.returncode == 1 and "pyzmq does not import in" in broken.stdout, broken.stdout


def test_installed_krita_plugin_loads_in_krita(home: Path, wheels: Path, tmp_path: Path) -> None:
    """The folder the installer wrote, enabled by its kritarc line, loaded by the full Krita under Xvfb, with the
    vendored pyzmq."""
    require(kh.missing_tools("krita", "xvfb-run"))
    vendor = vendored_krita(home, wheels)
    shutil.copytree(kh.SCRIPTS / "retex_testdriver", pykrita(home) / "retex_testdriver")
    shutil.copy2(kh.SCRIPTS / "retex_testdriver.desktop", pykrita(home))
    kritarc = home / ".config" / "kritarc"
    kritarc.write_text(kritarc.read_text() + "enable_retex_testdriver=true\n")
    (tmp_path / "tmp").mkdir()
    runtime = Path(tempfile.mkdtemp(prefix="rk", dir=tmp_path))
    drop = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "RETEX_CONFIG_DIR", "DISPLAY", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(HOME=str(home), TMPDIR=str(tmp_path / "tmp"), XDG_RUNTIME_DIR=str(runtime))
    out = tmp_path / "result.json"
    proc = kh.krita_gui(env, kh.SCRIPTS / "installed_probe.py", out)
    assert out.exists(), proc.stdout[-3000:]
    result = json.loads(out.read_text())
    assert "crash" not in result, result["crash"]
    assert result["retex"] == str(pykrita(home) / "retex" / "__init__.py")
    assert result["docker"] and result["actions"] == ["retex_apply", "retex_preview"]
    assert result["zmq"].startswith(str(vendor)), result["zmq"]


def test_installed_gimp_plugin_registers_in_gimp(wheels: Path) -> None:
    """Into a profile inside the GIMP 3 chroot, with GIMP's Python (run in the chroot) deprived of site-packages so
    the abi3 wheel is vendored; GIMP then registers both procedures and its Python imports that pyzmq."""
    require(gh.missing())
    root = Path(tempfile.mkdtemp(prefix="retex-installer-", dir=gh.CHROOT / "tmp"))
    try:
        home = root / "home"
        home.mkdir()
        profile = home / ".config" / "GIMP" / "3.0"
        python = f"{REPO / 'tests' / 'gimp' / 'chroot-python.sh'} -S"
        proc = run_installer(home, wheels, "--no-krita", "--gimp-dir", str(profile), "--gimp-python", python)
        assert proc.returncode == 0, proc.stdout
        assert "-abi3-" in row(proc.stdout, "GIMP 3 (--gimp-dir)"), proc.stdout
        shutil.copy2(gh.FILES / "installed_probe.py", root)
        inside = "/" + str(root.relative_to(gh.CHROOT))
        env = [f"HOME={inside}/home", "PATH=/usr/bin:/bin", "LANG=C.UTF-8"]
        batch = f'exec(open("{inside}/installed_probe.py").read())'
        cmd = ["chroot", str(gh.CHROOT), "env", "-i", *env, "timeout", "240", "gimp-console-3.0", "-i", "--quit"]
        cmd += ["--batch-interpreter=python-fu-eval", "-b", batch]
        gimp = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        output = gimp.stdout + gimp.stderr
        assert gimp.returncode == 0 and "RETEX-INSTALLED-OK" in output, output[-3000:]
        assert f"{inside}/home/.config/GIMP/3.0/plug-ins/retex/vendor/zmq" in output
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_demo_through_a_real_server(home: Path, wheels: Path) -> None:
    """The installer's last step, as a user sees it: a result image whose path it prints, the same bytes as the
    command line in-process (run alongside)."""
    cli = home.parent / "cli.png"
    args = ["examples/coffee.png", "-o", str(cli), "--task", "sr2", "--style", "wood-grain"]
    reference = subprocess.Popen(
        [sys.executable, "-m", "backend", "restore", *args, "--mask", "examples/table-mask.png"], cwd=REPO
    )
    proc = run_installer(home, wheels, "--no-krita", "--no-gimp", demo=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = Path(proc.stdout.split("demo result: ")[1].split()[0])
    assert result == home / ".cache" / "retex" / "demo" / "coffee-sr2-wood-grain.png"
    assert reference.wait(300) == 0 and result.read_bytes() == cli.read_bytes()
    assert run_installer(home, wheels, "--uninstall").returncode == 0
    # ONNX Runtime 1.32 itself writes a device id under ~/.cache/Microsoft on import (its telemetry store, shared by
    # every program using it): not Retex's to remove. Everything else Retex wrote is gone.
    left = {p.relative_to(home) for p in home.rglob("*")} - {Path(".cache"), Path(".cache", "Microsoft")}
    assert all(p.parts[:3] == (".cache", "Microsoft", "DeveloperTools") for p in left), sorted(left)


def test_a_full_disk_is_reported(home: Path, wheels: Path, tmp_path: Path) -> None:
    """GIMP's profile on a 64 kB file system: the copy fails half-way, one line says so, nothing is left there."""
    disk = tmp_path / "small"
    disk.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")  # CI and this machine run as root
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], check=True)
    try:
        proc = run_installer(home, wheels, "--no-krita", "--gimp-dir", str(disk / "GIMP" / "3.0"))
        assert proc.returncode == 1, proc.stdout
        line = row(proc.stdout, "GIMP 3 (--gimp-dir)")
        assert f"not installed: no space left on the disk holding {disk}" in line, line
        assert [p.name for p in (disk / "GIMP" / "3.0" / "plug-ins").iterdir()] == []
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_a_python_without_venv_is_reported() -> None:
    """Debian's Python without python3-venv (the GIMP chroot's 3.13 has no ensurepip), on a copy of the checkout:
    one line says what to install, and no half-made .venv is left."""
    require(gh.missing())
    root = Path(tempfile.mkdtemp(prefix="retex-novenv-", dir=gh.CHROOT / "tmp"))
    try:
        repo = root / "repo"
        repo.mkdir()
        for name in ("installer.py", "requirements.txt"):
            shutil.copy2(REPO / name, repo / name)
        for name in ("install", "plugin"):
            shutil.copytree(REPO / name, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        (root / "home").mkdir()
        inside = "/" + str(root.relative_to(gh.CHROOT))
        env = [f"HOME={inside}/home", "PATH=/usr/bin:/bin", "LANG=C.UTF-8"]
        cmd = ["chroot", str(gh.CHROOT), "env", "-i", *env, "python3", f"{inside}/repo/installer.py"]
        proc = subprocess.run([*cmd, "--no-demo", "--no-krita", "--no-gimp"], capture_output=True, text=True)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 1 and "Traceback" not in output, output
        assert "has no venv/ensurepip module: install it (Debian/Ubuntu: sudo apt install python3-venv)" in output
        assert not (repo / ".venv").exists()
    finally:
        shutil.rmtree(root, ignore_errors=True)
