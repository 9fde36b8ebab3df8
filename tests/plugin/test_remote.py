"""A backend on another machine, as the editors reach it (plugin/common: remote, config, session, link): keys from
``python -m backend keys``, a real backend started with the ``serve`` command it prints on a non-loopback address
(CURVE required), and both ways the editors connect (Krita's polling session, GIMP's blocking link) giving the same
bytes as a local backend; a wrong key, an address that does not answer, another protocol version and a malformed
connection line each end in one plain message, with nothing started and nothing saved."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq
from zmq.auth import load_certificate

from plugin.common import exchange, link, remote, session
from plugin.common.config import BackendConfig
from plugin.common.protocol import FrameSpec
from plugin.common.recipe import Recipe, Slot
from plugin.common.remote import BadConnection, Remote
from plugin.common.session import Job, Session
from tests.remote_helpers import Keys, free_port, lan_address, make_keys, serve_remote
from tests.service_helpers import REPO, ServerProcess, make_weights

IMAGE = (FrameSpec(40, 30, "BGRA", "u8"), bytes(range(200)) * 24)
RECIPE = Recipe("denoise", [Slot("dots", 0.5)])


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return make_weights(tmp_path_factory.mktemp("weights"), tasks=("denoise",))


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Keys:
    host = lan_address()
    return make_keys(tmp_path_factory.mktemp("keys") / "remote", host, free_port(host))


@pytest.fixture(scope="module")
def server(keys: Keys, weights: Path) -> Iterator[ServerProcess]:
    srv = serve_remote(keys, weights)
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def private_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RETEX_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("RETEX_BACKEND_PYTHON", raising=False)


def remote_config(line: str) -> BackendConfig:
    """Remote settings whose local half could not start anything (proof that nothing local is started)."""
    return BackendConfig("/nowhere/python", "/nowhere", "", []).choose("remote", line)


def wait(s: Session, job: Job, timeout: float = 60) -> Job:
    deadline = time.monotonic() + timeout
    while not job.done and time.monotonic() < deadline:
        s.poll()
        time.sleep(0.02)
    assert job.done, s.status()
    return job


def run_session(config: BackendConfig) -> tuple[Job, Session]:
    s = Session(config, "test")
    job = wait(s, s.submit("run", *RECIPE.request(IMAGE)))
    s.close()
    return job, s


def run_link(config: BackendConfig) -> bytes:
    backend = link.Link.open(config, lambda text: None)
    try:
        return bytes(backend.run_to_end("run", *RECIPE.request(IMAGE)).frames[0])
    finally:
        backend.close()


def other_keys(line: str, server: bool = False, client: bool = False) -> str:
    """The line with a key pair nobody allowed, in place of the server's or the client's key."""
    address, server_key, client_key = line.split()
    public, secret = zmq.curve_keypair()
    return f"{address} {public.decode() if server else server_key} {secret.decode() if client else client_key}"


def test_keys_are_private_and_printed_as_serve_and_the_editors_take_them(tmp_path: Path, keys: Keys) -> None:
    folder = keys.folder
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE((folder / "clients").stat().st_mode) == 0o700
    for f in ("server.key", "server.key_secret", "clients/client-1.key"):
        assert stat.S_IMODE((folder / f).stat().st_mode) == 0o600, f
    parsed = Remote.parse(keys.line)
    assert parsed.address.startswith("tcp://") and parsed.address.endswith(f":{keys.serve[5].rsplit(':', 1)[1]}")
    assert parsed.server_key.encode() == load_certificate(folder / "server.key")[0]
    assert parsed.curve()[0] == load_certificate(folder / "clients" / "client-1.key")[0]  # the client allowed
    assert load_certificate(folder / "clients" / "client-1.key")[1] is None  # its secret is printed, not kept
    assert keys.serve[4:] == [
        "--endpoint",
        f"tcp://0.0.0.0:{keys.serve[5].rsplit(':', 1)[1]}",
        "--curve-secret",
        str(folder / "server.key_secret"),
        "--curve-clients",
        str(folder / "clients"),
    ]
    second = make_keys(folder, "gpu-box", 5555, "--client", "laptop")
    assert (folder / "clients" / "laptop.key").is_file() and Remote.parse(second.line).server_key == parsed.server_key
    assert second.line.startswith("tcp://gpu-box:5555 ")


def test_remote_backend_gives_the_bytes_a_local_one_gives(tmp_path: Path, weights: Path, server, keys) -> None:
    local = BackendConfig(sys.executable, str(REPO), f"ipc://{tmp_path / 's'}", ["--weights-dir", str(weights)])
    local.args += ["--threads", "1"]
    expected, _ = run_session(local)
    assert expected.error is None
    config = remote_config(keys.line)
    got, s = run_session(config)
    assert got.error is None, got.error
    assert got.result.frames[0] == expected.result.frames[0]
    assert s._proc is None  # nothing started here
    assert run_link(config) == bytes(expected.result.frames[0])


def test_the_session_says_where_it_is_connected(server, keys) -> None:
    s = Session(remote_config(keys.line), "test")
    wait(s, s.submit("hello", {}, []))
    assert s.status().startswith(f"Backend: connected to {Remote.parse(keys.line).address} · ")
    assert s.pid is None
    s.close()


@pytest.mark.parametrize("which", ["client", "server"])
def test_a_key_the_backend_does_not_know_is_refused_with_a_message(server, keys, which: str) -> None:
    config = remote_config(other_keys(keys.line, **{which: True}))
    job, s = run_session(config)
    assert "refused this plug-in's keys" in job.error and "python -m backend keys" in job.error, job.error
    assert s.state == "stopped" and "refused" in s.problem
    with pytest.raises(link.LinkError, match="refused this plug-in's keys"):
        run_link(config)


def test_an_address_that_does_not_answer_says_so(keys, monkeypatch) -> None:
    address = f"tcp://127.0.0.1:{free_port('127.0.0.1')}"
    config = remote_config(f"{address} {keys.line.split(maxsplit=1)[1]}")
    monkeypatch.setattr(session, "REMOTE_TIMEOUT_S", 2.0)
    started = time.monotonic()
    job, _ = run_session(config)
    assert job.error == remote.no_answer(address, 2.0), job.error
    assert "after 2 s: is 'python -m backend serve' running there" in job.error and time.monotonic() - started < 10
    with pytest.raises(link.LinkError) as e:
        run_link(config)
    assert str(e.value) == remote.no_answer(address)


def test_another_protocol_version_says_to_install_the_same_version(server, keys, monkeypatch) -> None:
    """A plug-in of a future protocol (its check raised to version 2) against today's backend."""
    monkeypatch.setattr(exchange, "VERSION", exchange.VERSION + 1)
    monkeypatch.setattr(remote, "VERSION", exchange.VERSION)
    job, _ = run_session(remote_config(keys.line))
    assert "speaks another protocol version (version 1) than this plug-in (version 2)" in job.error, job.error
    assert "same Retex version on both machines" in job.error
    with pytest.raises(link.LinkError, match="another protocol version"):
        run_link(remote_config(keys.line))


KEY = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"


@pytest.mark.parametrize(
    "line, words",
    [
        ("", "has three parts separated by spaces"),
        (f"tcp://gpu-box:5555 {KEY}", "this one has 2"),
        (f"gpu-box:5555 {KEY} {KEY}", "The address must be tcp://HOST:PORT"),
        (f"tcp://gpu-box {KEY} {KEY}", "The address must be tcp://HOST:PORT"),
        (f"tcp://gpu-box:99999 {KEY} {KEY}", "The address must be tcp://HOST:PORT"),
        (f"tcp://*:5555 {KEY} {KEY}", "The address must be tcp://HOST:PORT"),
        (f"tcp://gpu-box:5555 {KEY[:-1]} {KEY}", "The server key must be 40 characters"),
        (f"tcp://gpu-box:5555 {KEY} {KEY[:-1]}~", "The client key must be 40 characters (letters, digits and"),
    ],
)
def test_a_malformed_connection_line_is_refused_and_nothing_is_saved(tmp_path: Path, line: str, words: str) -> None:
    saved = BackendConfig.load()
    saved.save()
    before = (tmp_path / "config" / "config.json").read_bytes()
    with pytest.raises(BadConnection, match=words.replace("(", r"\(").replace(".", r"\.")) as e:
        saved.choose("remote", line)
    assert "Traceback" not in str(e.value) and str(e.value).count(".") >= 1
    assert (tmp_path / "config" / "config.json").read_bytes() == before
    # a line saved by hand that is wrong: the session and the link say the same, and start nothing
    broken = BackendConfig("/nowhere/python", "/nowhere", backend="remote", remote=line)
    job, s = run_session(broken)
    assert job.error == str(e.value) and s._proc is None
    with pytest.raises(link.LinkError, match=words.replace("(", r"\(")):
        run_link(broken)


def test_settings_keep_both_backends_and_are_private(tmp_path: Path, keys) -> None:
    config = BackendConfig.load().choose("remote", f"  {keys.line.replace(' ', '   ')} ")
    config.save()
    path = tmp_path / "config" / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the client's secret key
    loaded = BackendConfig.load()
    assert (
        loaded.backend == "remote" and loaded.remote == keys.line and loaded.remote_backend() == Remote.parse(keys.line)
    )
    local = loaded.choose("local", "")
    assert local.backend == "local" and local.remote == keys.line and local.remote_backend() is None
    os.chmod(path, 0o644)
    local.save()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_installer_keeps_the_settings_private_and_the_remote_line(tmp_path: Path, keys) -> None:
    from install.record import Record, set_config

    BackendConfig.load().choose("remote", keys.line).save()
    path = tmp_path / "config" / "config.json"
    os.chmod(path, 0o644)  # as an older installer left it
    set_config(Record(tmp_path / "config" / "installed.json"), path, {"python": "/new/python"}, {})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert BackendConfig.load().remote == keys.line and BackendConfig.load().python == "/new/python"


@pytest.mark.parametrize(
    "args, words",
    [
        (["--port", "70000"], "--host and --port make no address the editors can use"),
        (["--host", "gpu box"], "--host and --port make no address"),
        (["--client", "../laptop"], "is not a plain name"),
    ],
)
def test_keys_refuses_what_would_make_no_usable_line(tmp_path: Path, args: list[str], words: str) -> None:
    cmd = [sys.executable, "-m", "backend", "keys", "--out", str(tmp_path / "k"), *args]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "k" / "clients").exists()


def test_a_remote_backend_that_dies_mid_job_is_named_and_nothing_is_restarted(tmp_path: Path, weights: Path) -> None:
    """GIMP's link notices within seconds (nothing listens any more) and says where to look: on the other machine,
    since nothing here can start it."""
    host = lan_address()
    doomed = make_keys(tmp_path / "remote", host, free_port(host))
    srv = serve_remote(doomed, weights)
    backend = link.Link.open(remote_config(doomed.line), lambda text: None)
    big = (FrameSpec(1024, 1024, "BGRA", "u8"), bytes(1024 * 1024 * 4))

    def kill_once_started(fraction: float, stage: str) -> None:
        if srv.proc.poll() is None:
            srv.proc.kill()

    try:
        with pytest.raises(link.LinkError) as e:
            backend.run_to_end("run", *Recipe("denoise").request(big), on_progress=kill_once_started)
        assert f"at {doomed.line.split()[0]} stopped answering" in str(e.value)
        assert "starts again" not in str(e.value)
    finally:
        backend.close()
        srv.stop()
