"""The service through a real server process over real ZeroMQ sockets (no mocks)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import zmq

from backend.imaging.resize import imresize
from backend.pipeline import restore
from backend.service.frames import from_image, to_image
from backend.service.jobs import _region_alpha
from backend.tasks import get_task
from backend.weights import load_restoration
from plugin.common.client import BackendError, BackendUnavailable, Client
from plugin.common.protocol import ErrorCode, FrameSpec
from tests.service_helpers import REPO, make_weights, start_server


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return make_weights(tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="module")
def server(weights, tmp_path_factory):
    sock = tmp_path_factory.mktemp("sock") / "retex.sock"
    srv = start_server(f"ipc://{sock}", weights, env={"RETEX_USER_STYLES": str(sock.parent / "user-styles")})
    yield srv
    srv.stop()


def random_frame(w: int, h: int, channels: str, sample: str, seed: int = 0) -> tuple[FrameSpec, bytes]:
    rng = np.random.default_rng(seed)
    n = {"RGBA": 4, "BGRA": 4, "RGB": 3, "BGR": 3, "Y": 1, "A": 1}[channels]
    if sample == "u8":
        arr = rng.integers(0, 256, (h, w, n), dtype=np.uint8)
    elif sample == "u16":
        arr = rng.integers(0, 65536, (h, w, n)).astype("<u2")
    else:
        arr = rng.random((h, w, n)).astype("<f2" if sample == "f16" else "<f4")
    return FrameSpec(w, h, channels, sample, "image"), arr.tobytes()


def expected(weights: Path, task_name: str, frame: tuple[FrameSpec, bytes]) -> bytes:
    """What the in-process pipeline gives for the same frame (the service must match it exactly)."""
    task = get_task(task_name)
    rgb, alpha = to_image(*frame)
    out = restore(load_restoration(weights / f"{task_name}.safetensors", task), task, rgb)
    if alpha is not None and task.scale > 1:
        alpha = np.clip(imresize(alpha, float(task.scale)), 0, 1)
    return from_image(frame[0], out, alpha)[1]


@pytest.mark.parametrize("sample", ["u8", "u16", "f16", "f32"])
@pytest.mark.parametrize("channels", ["RGBA", "BGRA"])
def test_round_trip_every_layout(server, weights, sample: str, channels: str) -> None:
    frame = random_frame(45, 37, channels, sample, seed=hash((sample, channels)) % 1000)
    with Client(server.endpoint) as client:
        result = client.run("denoise", frame)
    spec = result.specs[0]
    assert (spec.width, spec.height, spec.channels, spec.sample) == (45, 37, channels, sample)
    assert result.frames[0] == expected(weights, "denoise", frame)
    # alpha comes back untouched
    dtype = {"u8": "<u1", "u16": "<u2", "f16": "<f2", "f32": "<f4"}[sample]
    sent = np.frombuffer(frame[1], dtype=dtype).reshape(37, 45, 4)[..., 3]
    got = np.frombuffer(result.frames[0], dtype=dtype).reshape(37, 45, 4)[..., 3]
    assert np.array_equal(sent, got)


def test_super_resolution_and_crop(server, weights) -> None:
    frame = random_frame(40, 30, "RGBA", "u8", seed=5)
    with Client(server.endpoint) as client:
        whole = client.run("sr2", frame)
        part = client.run("sr2", frame, crop=(8, 4, 20, 16))
    assert (whole.specs[0].width, whole.specs[0].height) == (80, 60)
    assert part.header["origin"] == [16, 8] and (part.specs[0].width, part.specs[0].height) == (40, 32)
    full = np.frombuffer(whole.frames[0], np.uint8).reshape(60, 80, 4)
    crop = np.frombuffer(part.frames[0], np.uint8).reshape(32, 40, 4)
    assert np.array_equal(full[8:40, 16:56], crop)


def test_progress_in_order_ending_at_one(server) -> None:
    frame = random_frame(600, 300, "BGRA", "u8")
    events: list[float] = []
    with Client(server.endpoint) as client:
        client.run("denoise", frame, on_progress=lambda f, stage, eta: events.append(f))
    assert events == sorted(events) and events[-1] == 1.0 and len(events) >= 3


def test_cancel_stops_a_long_job_within_a_tile(server) -> None:
    frame = random_frame(2048, 1536, "RGBA", "u8")  # 12 tiles x 6 branches
    events: list[float] = []
    cancel_at: list[float] = []

    def cancel() -> bool:
        if events and not cancel_at:
            cancel_at.append(events[-1])
        return bool(events)

    with Client(server.endpoint, timeout_s=60) as client:
        with pytest.raises(BackendError) as info:
            client.run("denoise", frame, on_progress=lambda f, s, e: events.append(f), cancel=cancel)
        assert info.value.code == ErrorCode.CANCELLED
        assert client.hello()["running"] is None
    assert max(events) < 0.2  # stopped within a tile or two of 12, not at the end
    # within the tile under way: at most its 6 branch steps once the cancel is sent (the cancel crosses the socket
    # loop, which a busy machine may reach a few steps late)
    assert len([f for f in events if f > cancel_at[0]]) <= 6


def test_many_clients_many_jobs(server, weights) -> None:
    frames = [random_frame(24 + i % 5, 20 + i % 3, "RGBA", "u8", seed=i) for i in range(8)]
    want = [expected(weights, "denoise", f) for f in frames]
    failures: list[str] = []

    def worker(i: int) -> None:
        with Client(server.endpoint, timeout_s=120) as client:
            for _ in range(25):
                result = client.run("denoise", frames[i])
                if result.frames[0] != want[i]:
                    failures.append(f"client {i}: wrong result")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not failures and not any(t.is_alive() for t in threads)


def test_bad_requests_get_stable_error_codes(server) -> None:
    frame = random_frame(20, 20, "RGBA", "u8")
    with Client(server.endpoint) as client:
        with pytest.raises(BackendError) as e:
            client.run("sharpen", frame)
        assert e.value.code == ErrorCode.UNKNOWN_TASK and "sharpen" in e.value.message
        with pytest.raises(BackendError) as e:
            client.request("run", {"task": "denoise", "image": 0, "slots": [{"mask": 0, "style": "brick"}]}, [frame])
        assert e.value.code == ErrorCode.UNKNOWN_STYLE and "brick" in e.value.message
        with pytest.raises(BackendError) as e:
            client.run("inpaint", frame)
        assert e.value.code == ErrorCode.BAD_MESSAGE
        with pytest.raises(BackendError) as e:
            client.run("denoise", random_frame(4, 4, "RGBA", "u8"))
        assert e.value.code == ErrorCode.BAD_OPTION and "at least" in e.value.message
        with pytest.raises(BackendError) as e:
            client.cancel("nope")
        assert e.value.code == ErrorCode.UNKNOWN_JOB


def test_second_run_is_queued_not_refused(server) -> None:
    big = random_frame(1024, 1024, "RGBA", "u8")
    small = random_frame(32, 32, "RGBA", "u8", seed=1)
    with Client(server.endpoint) as a, Client(server.endpoint) as b:
        a.submit("run", {"task": "denoise", "image": 0}, [big])
        time.sleep(0.2)
        b.submit("run", {"task": "denoise", "image": 0}, [small])
        accepted = [m for m in b.poll(5000) if m.type == "accepted"]
        assert accepted and accepted[0].header["position"] >= 1
        deadline = time.monotonic() + 120
        done = set()
        while len(done) < 2 and time.monotonic() < deadline:
            for client, name in ((a, "a"), (b, "b")):
                done |= {name for m in client.poll(50) if m.type == "result"}
        assert done == {"a", "b"}


def fuzz_messages(n: int):
    """Malformed messages: bad JSON, wrong types, wrong and huge sizes, missing and extra frames."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    json_values = st.recursive(
        st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )
    spec = st.fixed_dictionaries(
        {},
        optional={
            "width": st.one_of(st.integers(-5, 2**33), st.text(max_size=3)),
            "height": st.one_of(st.integers(-5, 2**33), st.none()),
            "channels": st.sampled_from(["RGBA", "BGRA", "Y", "XYZ", 3]),
            "sample": st.sampled_from(["u8", "u16", "f16", "f32", "f64", None]),
            "bytes": st.integers(-1, 2**40),
        },
    )
    header = st.fixed_dictionaries(
        {},
        optional={
            "v": st.sampled_from([1, 2, "1", None]),
            "id": st.one_of(st.text(max_size=70), st.integers()),
            "type": st.sampled_from(["hello", "run", "cancel", "status", "train_style", "bogus", 7]),
            "task": st.sampled_from(["denoise", "sr2", "inpaint", "none", "x", None]),
            "image": st.one_of(st.integers(-2, 5), st.text(max_size=2)),
            "inpaint_mask": st.integers(-2, 5),
            "crop": st.lists(st.integers(-10, 10**6), max_size=5),
            "slots": st.one_of(st.lists(json_values, max_size=2), st.text(max_size=3)),
            "job": json_values,
            "frames": st.one_of(st.lists(spec, max_size=3), json_values),
        },
    )
    import json as _json

    message = st.one_of(
        st.lists(st.binary(max_size=64), min_size=1, max_size=4),
        st.tuples(header, st.lists(st.binary(max_size=300), max_size=3)).map(
            lambda hf: [_json.dumps(hf[0]).encode(), *hf[1]]
        ),
    )
    collected: list[list[bytes]] = []

    @settings(max_examples=n, database=None, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(message)
    def collect(parts: list[bytes]) -> None:
        collected.append(parts)

    collect()
    return collected


def test_fuzzed_messages_never_break_the_server(server) -> None:
    messages = fuzz_messages(5000)
    assert len(messages) >= 5000
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(server.endpoint)
    try:
        for parts in messages:
            sock.send_multipart(parts)
            while sock.poll(0):
                sock.recv_multipart()
        deadline = time.monotonic() + 120
        with Client(server.endpoint) as client:
            info = client.hello()
            assert info["server"] == "retex"
            # valid work is still done correctly afterwards
            client.run("denoise", random_frame(20, 20, "RGBA", "u8"))
        assert time.monotonic() < deadline
    finally:
        sock.close()
    assert server.proc.poll() is None


def test_loopback_tcp_needs_the_token(weights, tmp_path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    token_file.chmod(0o600)  # one others can read is refused (tests/security)
    srv = start_server("tcp://127.0.0.1:0", weights, "--token-file", str(token_file))  # READY names the port
    assert srv.endpoint.startswith("tcp://127.0.0.1:") and not srv.endpoint.endswith(":0")
    try:
        frame = random_frame(16, 16, "RGBA", "u8")
        with Client(srv.endpoint, token="wrong") as client:
            with pytest.raises(BackendError) as e:
                client.run("denoise", frame)
            assert e.value.code == ErrorCode.UNAUTHORIZED
        with Client(srv.endpoint) as client:
            with pytest.raises(BackendError) as e:
                client.hello()
            assert e.value.code == ErrorCode.UNAUTHORIZED
        with Client(srv.endpoint, token="s3cret-token") as client:
            assert client.run("denoise", frame).specs[0].width == 16
    finally:
        srv.stop()


def test_address_in_use_is_one_clear_line_and_the_process_exits(weights, tmp_path) -> None:
    from zmq.auth import create_certificates

    server_pub, server_secret = create_certificates(tmp_path, "server")
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(  # with CURVE, so the authenticator thread must not keep the process alive
            [
                sys.executable,
                "-m",
                "backend",
                "serve",
                "--endpoint",
                f"tcp://0.0.0.0:{port}",
                "--weights-dir",
                str(weights),
                "--curve-secret",
                str(server_secret),
                "--curve-clients",
                str(tmp_path),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode != 0 and "cannot listen" in proc.stderr and "Traceback" not in proc.stderr


def test_remote_endpoint_requires_curve_and_refuses_unknown_keys(weights, tmp_path) -> None:
    from zmq.auth import create_certificates, load_certificate

    proc = subprocess.run(
        [sys.executable, "-m", "backend", "serve", "--endpoint", "tcp://0.0.0.0:0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "CURVE" in proc.stderr and "Traceback" not in proc.stderr

    keys, allowed = tmp_path / "keys", tmp_path / "allowed"
    keys.mkdir()
    allowed.mkdir()
    server_pub, server_secret = create_certificates(keys, "server")
    client_pub, _ = create_certificates(keys, "client")
    create_certificates(keys, "stranger")
    (allowed / "client.key").write_text(Path(client_pub).read_text())
    srv = start_server(
        "tcp://0.0.0.0:0", weights, "--curve-secret", str(server_secret), "--curve-clients", str(allowed)
    )
    srv.endpoint = srv.endpoint.replace("0.0.0.0", "127.0.0.1")  # bound on every interface; tested over loopback
    try:
        spub = load_certificate(server_pub)[0]
        cpub, csec = load_certificate(keys / "client.key_secret")
        with Client(srv.endpoint, timeout_s=10, curve=(cpub, csec, spub)) as client:
            assert client.hello()["server"] == "retex"
        opub, osec = load_certificate(keys / "stranger.key_secret")
        with Client(srv.endpoint, timeout_s=3, curve=(opub, osec, spub)) as client:  # refused in the handshake
            with pytest.raises(BackendError) as e:
                client.hello()
            assert e.value.code == ErrorCode.UNAUTHORIZED and "wrong token or key" in e.value.message
        with Client(srv.endpoint, timeout_s=3) as client:  # no encryption at all
            with pytest.raises(BackendError) as e:
                client.hello()
            assert e.value.code == ErrorCode.UNAUTHORIZED
    finally:
        srv.stop()


def test_killed_server_gives_a_clear_error_and_a_new_one_serves(weights, tmp_path) -> None:
    endpoint = f"ipc://{tmp_path / 'k.sock'}"
    srv = start_server(endpoint, weights)
    frame = random_frame(2048, 2048, "RGBA", "u8")
    with Client(endpoint, timeout_s=5) as client:
        threading.Timer(1.0, lambda: os.kill(srv.proc.pid, signal.SIGKILL)).start()
        started = time.monotonic()
        with pytest.raises(BackendUnavailable) as e:
            client.run("denoise", frame)
        assert time.monotonic() - started < 15
        assert "backend serve" in e.value.message
    srv.proc.wait()
    again = start_server(endpoint, weights)
    try:
        with Client(endpoint, timeout_s=30) as client:
            assert client.run("denoise", random_frame(16, 16, "RGBA", "u8")).specs[0].width == 16
    finally:
        again.stop()


def test_unreachable_server_says_how_to_start_it(tmp_path) -> None:
    with Client(f"ipc://{tmp_path / 'none.sock'}", timeout_s=1) as client:
        with pytest.raises(BackendUnavailable) as e:
            client.hello()
    assert "python -m backend serve" in e.value.message


def test_cli_through_the_server_is_byte_identical(server, weights, tmp_path) -> None:
    from PIL import Image

    rng = np.random.default_rng(3)
    src = tmp_path / "in.png"
    Image.fromarray(rng.integers(0, 256, (50, 70, 4), dtype=np.uint8)).save(src)
    local, remote = tmp_path / "local.png", tmp_path / "remote.png"
    base = [sys.executable, "-m", "backend", "restore", str(src), "--task", "sr2"]
    one_thread = {**os.environ, "OMP_NUM_THREADS": "1"}  # as the server: the same bytes need the same thread count
    subprocess.run(
        [*base, "-o", str(local), "--weights", str(weights / "sr2.safetensors")],
        cwd=REPO,
        env=one_thread,
        check=True,
        timeout=120,
    )
    subprocess.run([*base, "-o", str(remote), "--endpoint", server.endpoint], cwd=REPO, check=True, timeout=120)
    assert local.read_bytes() == remote.read_bytes()
    assert torch.equal(torch.tensor(np.asarray(Image.open(local))), torch.tensor(np.asarray(Image.open(remote))))


def test_idle_exit_ends_a_server_nobody_uses(weights, tmp_path) -> None:
    srv = start_server(f"ipc://{tmp_path / 'idle.sock'}", weights, "--idle-exit", "0.03")  # 1.8 s
    try:
        with Client(srv.endpoint) as client:
            assert client.hello()["server"] == "retex"  # a request restarts the idle clock
        assert srv.proc.wait(timeout=30) == 0
        assert "idle" in srv.proc.stderr.read()
    finally:
        srv.stop()


@pytest.mark.parametrize("scale", [1, 2, 4])
@pytest.mark.parametrize("crop", [(0, 0, 61, 40), (0, 0, 9, 7), (17, 13, 20, 11), (50, 30, 11, 10)])
def test_a_regions_alpha_is_the_whole_alpha_resized_then_cropped(scale: int, crop: tuple) -> None:
    """Only the region (plus the kernel's reach) is resized, and it matches resizing everything then cropping."""
    alpha = np.random.default_rng(0).random((1, 1, 40, 61), dtype=np.float32)
    x, y, w, h = crop
    whole = np.clip(imresize(alpha, float(scale)), 0, 1) if scale > 1 else alpha
    want = whole[..., y * scale : (y + h) * scale, x * scale : (x + w) * scale]
    got = _region_alpha(alpha, crop, scale)
    assert got.shape == want.shape and float(np.abs(got - want).max()) < 1e-6
