"""The Krita plug-in against a backend on another address (real Krita through kritarunner, real ZeroMQ with CURVE):
the keys come from ``python -m backend keys``, the backend runs the ``serve`` command it prints, bound to every
interface and reached at this machine's network address; the plug-in is switched to it through the docker's Backend
settings form. The same job gives the same bytes there as on the plug-in's own local backend; a key the backend does
not know, an address where nothing answers and a malformed line each give one message and change nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import zmq

from tests.editors.krita import harness as kh
from tests.editors.krita.test_krita_plugin import RECT, make_inputs, pixels
from tests.remote_helpers import free_port, lan_address, make_keys, serve_remote
from tests.service_helpers import make_weights


@dataclass
class Run:
    results: dict
    output: str
    line: str


@pytest.fixture(scope="module")
def krita(tmp_path_factory) -> Iterator[Run]:
    missing = kh.missing_tools("kritarunner")
    if missing:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(missing)
    root = tmp_path_factory.mktemp("krita-remote")
    weights = make_weights(root / "weights", ("denoise",))
    host = lan_address()
    keys = make_keys(root / "keys", host, free_port(host))
    server = serve_remote(keys, weights, kh.THREADS)
    socket_dir = Path(tempfile.mkdtemp(prefix="rk", dir=root))
    env = kh.krita_env(root, kh.backend_config(weights, socket_dir), extra={"RETEX_RUNS": str(root / "runs")})
    address, server_key, client_key = keys.line.split()
    stranger = zmq.curve_keypair()[1].decode()
    spec = {
        **make_inputs(root / "data"),
        "rect": RECT,
        "line": keys.line,
        "stranger": f"{address} {server_key} {stranger}",
        "nobody": f"tcp://127.0.0.1:{free_port('127.0.0.1')} {server_key} {client_key}",
        "bad_line": f"{address} {server_key[:-3]} {client_key}",
        "config": str(Path(env["HOME"]) / ".config" / "retex" / "config.json"),
        "plugins": kh.plugins_dir(env),
        "out": str(root / "out"),
        "results": str(root / "results.json"),
        "scenarios": ["local_first", "remote_run", "remote_wrong_key", "remote_no_answer", "remote_bad_line"]
        + ["back_to_local"],
    }
    (root / "out").mkdir()
    (root / "spec.json").write_text(json.dumps(spec))
    try:
        proc = kh.kritarunner(env, "remote_scenarios", [str(root / "spec.json")])
    finally:
        server.stop()
    results = json.loads((root / "results.json").read_text()) if (root / "results.json").exists() else {}
    yield Run(results, proc.stdout, keys.line)


NAME = "Retex: Denoise + dots 80 %"


def test_krita_remote_backend_set_in_the_docker_gives_the_local_result(krita: Run) -> None:
    local, remote = kh.record(krita, "local_first"), kh.record(krita, "remote_run")
    for rec in (local, remote):
        assert not rec["failed"] and rec["message"] == f"Added the layer '{NAME}'.", rec["message"]
    config = json.loads(remote["config"])
    assert remote["saved"] and config["backend"] == "remote" and config["remote"] == krita.line
    assert remote["remote_visible"] and not remote["local_visible"]
    address = krita.line.split()[0]
    assert remote["status"].startswith(f"Backend: connected to {address} · ") and remote["pid"] is None
    assert local["pid"] is not None  # the local run was the plug-in's own backend
    np.testing.assert_array_equal(pixels(remote["result"]), pixels(local["result"]))
    back = kh.record(krita, "back_to_local")
    assert back["message"] == f"Added the layer '{NAME}'." and back["pid"] is not None
    assert json.loads(back["config"])["backend"] == "local"
    np.testing.assert_array_equal(pixels(back["result"]), pixels(local["result"]))


def test_krita_remote_key_the_backend_does_not_know_is_refused_with_a_message(krita: Run) -> None:
    rec = kh.record(krita, "remote_wrong_key")
    address = krita.line.split()[0]
    assert rec["failed"] and rec["message"].startswith(f"The backend at {address} refused this plug-in's keys.")
    assert "python -m backend keys" in rec["message"] and rec["unchanged"] and rec["pid"] is None


def test_krita_remote_address_that_does_not_answer_says_so(krita: Run) -> None:
    rec = kh.record(krita, "remote_no_answer")
    assert rec["failed"] and rec["message"].startswith("No answer from tcp://127.0.0.1:"), rec["message"]
    assert "after 10 s: is 'python -m backend serve' running there" in rec["message"]
    assert rec["unchanged"] and rec["pid"] is None


def test_krita_malformed_connection_line_is_not_saved(krita: Run) -> None:
    rec = kh.record(krita, "remote_bad_line")
    assert rec["form"].startswith("Not saved: The server key must be 40 characters") and "has 37" in rec["form"]
    assert not rec["saved"] and rec["file_still_valid"]
