"""Adding the training support from an editor (plugin/common/training.py): the installer's command line, its
progress, its failure and Cancel, with a fake installer (a small script that prints steps and exits 0 or 1; torch is
never installed here); then the whole path through the shared flow against real backends: learning on the
inference-only install fails with ``training_not_installed``, the flow asks for the training support, the
"installer" writes the settings, the session restarts and the learning runs again and succeeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest

from plugin.common.config import BackendConfig
from plugin.common.flow import Flow
from plugin.common.jobs import SessionJobs
from plugin.common.link import Link, LinkError
from plugin.common.protocol import train_style_request
from plugin.common.replies import Result
from plugin.common.session import Session
from plugin.common.training import CANCELLED, NOT_INSTALLED, QUESTION, Install, command, problem
from tests.install.test_inference_env import python as inference_python  # noqa: F401  (the fixture)
from tests.plugin.test_flow import FakeHost, ready, settle
from tests.service_helpers import REPO


def fake_installer(folder: Path, body: str) -> list[str]:
    """A command running ``body`` as a Python script, as the installer would be run."""
    script = folder / "fake_installer.py"
    script.write_text(textwrap.dedent(body), encoding="utf-8")
    return [sys.executable, str(script)]


def finish(install: Install, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while (code := install.poll()) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert code is not None, "the installer did not end"
    return code


def test_the_command_is_the_installers_backend_step_with_training() -> None:
    """The system's python3 runs installer.py from the Retex folder with --with-training and no editor or demo
    step; the backend's --device from the settings goes along; every flag is one the installer knows."""
    config = BackendConfig(python="/env/bin/python", repo=str(REPO))
    line = command(config)
    assert line[1:] == [str(REPO / "installer.py"), "--with-training", "--no-krita", "--no-gimp", "--no-demo"]
    assert Path(line[0]).name.startswith("python")
    config.args = ["--threads", "2", "--device", "cpu"]
    assert command(config)[-2:] == ["--device", "cpu"]
    usage = subprocess.run([sys.executable, "installer.py", "--help"], cwd=REPO, capture_output=True, text=True)
    assert usage.returncode == 0
    assert all(flag in usage.stdout for flag in command(config)[2:] if flag.startswith("--"))
    assert "about 1.1 GB" in QUESTION and QUESTION.endswith("Add it now?")


def test_a_remote_backend_or_a_missing_installer_is_said_before_anything_runs(tmp_path: Path) -> None:
    assert problem(BackendConfig(repo=str(REPO))) is None
    assert "another machine" in str(problem(BackendConfig(repo=str(REPO), backend="remote")))
    assert "installer was not found" in str(problem(BackendConfig(repo=str(tmp_path))))


def test_progress_follows_the_installers_lines(tmp_path: Path) -> None:
    """The status line is the installer's last line while it runs; success leaves no failure."""
    line = fake_installer(
        tmp_path,
        """
        import sys, time
        for step in ("backend: creating .venv", "installing torch 2.13.0 (cpu)", "training support: torch loads"):
            print(step, flush=True)
            time.sleep(0.3)
        """,
    )
    install = Install.start(BackendConfig(repo=str(tmp_path)), line)
    seen = []
    while install.poll() is None:
        seen.append(install.step)
        time.sleep(0.05)
    assert "installing torch 2.13.0 (cpu)" in seen
    assert install.step == "training support: torch loads" and install.failure() is None


def test_a_failed_install_says_its_last_lines_in_one_message(tmp_path: Path) -> None:
    line = fake_installer(
        tmp_path,
        """
        import sys
        for i in range(8):
            print(f"line {i}")
        print("error: no space left on the disk holding .venv", file=sys.stderr)
        sys.exit(1)
        """,
    )
    install = Install.start(BackendConfig(repo=str(tmp_path)), line)
    assert finish(install) == 1
    message = install.failure()
    assert message is not None and "\n" not in message and "ended with 1" in message
    assert message.endswith("line 5 / line 6 / line 7 / error: no space left on the disk holding .venv")
    assert "line 3" not in message


def test_wait_blocks_until_the_end_and_cancel_stops_the_installer_and_its_children(tmp_path: Path) -> None:
    """GIMP's way: ``wait`` calls back with the step; True from it cancels, which also stops what the installer
    started (pip), and the failure is the cancelled message."""
    child = tmp_path / "child.pid"
    line = fake_installer(
        tmp_path,
        f"""
        import subprocess, sys, time
        pip = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(child)!r}, "w").write(str(pip.pid))
        print("installing torch", flush=True)
        time.sleep(60)
        """,
    )
    install = Install.start(BackendConfig(repo=str(tmp_path)), line)
    steps: list[str] = []

    def tick(step: str) -> bool:
        steps.append(step)
        return step == "installing torch" and child.exists()

    assert install.wait(tick, every_s=0.02) != 0
    assert install.failure() == CANCELLED and "Starting the installer…" in steps
    pid = int(child.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    assert not _alive(pid), "the installer's child (pip) outlived Cancel"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (reaped by nobody here) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def test_learning_without_the_training_support_asks_then_learns_once_it_is_added(
    inference_python: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole path as both editors take it: the inference-only backend refuses the learning, the flow says so and
    wants the training support; the (fake) installer writes the settings naming an environment with torch, as the
    real one does; the session restarts on them and ``relearn`` learns the same texture."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("RETEX_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("RETEX_USER_STYLES", str(tmp_path / "user-styles"))
    monkeypatch.delenv("RETEX_BACKEND_PYTHON", raising=False)
    monkeypatch.setenv("RETEX_RUNTIME", "auto")  # ONNX Runtime where torch is missing
    args = ["--weights-dir", str(REPO / "weights"), "--threads", "1"]  # with the ONNX graphs the first one needs
    config = BackendConfig(str(inference_python), str(REPO), f"ipc://{tmp_path / 's'}", args)
    config.save()
    session = Session(BackendConfig.load(), "training-test")
    try:
        host = FakeHost((96, 96))  # a fine style needs 64 px a side
        host.box = (0, 0, 96, 96)
        flow = Flow(host, SessionJobs(lambda: ready(session)))
        flow.learn("grain", "fine", 0.1)
        settle(flow, session)
        assert (flow.message, flow.failed, flow.wants_training) == (NOT_INSTALLED, True, True)
        assert not (tmp_path / "user-styles" / "grain").exists()

        settings = json.dumps(
            {**json.loads((tmp_path / "config" / "config.json").read_text()), "python": sys.executable}
        )
        line = fake_installer(
            tmp_path,
            f"""
            from pathlib import Path
            print("backend: installing torch", flush=True)
            Path({str(tmp_path / "config" / "config.json")!r}).write_text({settings!r})
            print("training: torch loads", flush=True)
            """,
        )
        install = Install.start(BackendConfig.load(), line)
        assert finish(install) == 0 and install.failure() is None
        session.restart(BackendConfig.load())
        flow.relearn()
        settle(flow, session, timeout=300)
        assert not flow.failed and flow.learned == "grain", flow.message
        assert not flow.wants_training
    finally:
        session.close()


def test_a_stopped_link_gives_way_to_a_backend_on_the_new_settings(
    inference_python: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIMP's way (a blocking link to a backend that outlives each plug-in run): the inference-only backend refuses
    the learning; once the training support is added, ``stop`` shuts it down and waits until it no longer listens,
    so the next ``open`` at the same address starts a backend on the new settings, which learns."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("RETEX_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("RETEX_USER_STYLES", str(tmp_path / "user-styles"))
    monkeypatch.setenv("RETEX_RUNTIME", "auto")
    args = ["--weights-dir", str(REPO / "weights"), "--threads", "1"]
    config = BackendConfig(str(inference_python), str(REPO), f"ipc://{tmp_path / 'g'}", args)
    exemplar = FakeHost((96, 96)).image
    fields, frames = train_style_request(exemplar, "linked", minutes=0.05)
    first = Link.open(config, lambda text: None)
    try:
        with pytest.raises(LinkError) as refused:
            first.run_to_end("train_style", fields, frames)
        assert str(refused.value) == NOT_INSTALLED
    finally:
        first.stop()
    second = Link.open(replace(config, python=sys.executable), lambda text: None)
    try:
        style = second.run_to_end("train_style", fields, frames)
        assert isinstance(style, Result) and (style.style or {}).get("name") == "linked"
    finally:
        second.stop()
