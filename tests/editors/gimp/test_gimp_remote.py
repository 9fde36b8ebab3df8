"""The GIMP plug-in against a backend on another address (real GIMP 3 in its chroot, real ZeroMQ with CURVE): keys
from ``python -m backend keys``, the backend run with the ``serve`` command it prints, bound to every interface and
reached at this machine's network address (the chroot shares the network); the plug-in is switched to it by its own
Backend Settings procedure (what the dialog's OK runs). The same job gives the same bytes there as on the plug-in's
local backend, and no local backend is started meanwhile; a key the backend does not know and an address where
nothing answers give one message and leave the image alone; a malformed line is refused and nothing is saved.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import pytest
import zmq

from tests.editors.gimp import harness as gh
from tests.editors.gimp.test_gimp_plugin import SIZE, changes, pixels
from tests.remote_helpers import free_port, lan_address, make_keys, serve_remote
from tests.service_helpers import make_weights, rgba_test_image

SCENARIOS = ["local_run", "remote_run", "remote_wrong_key", "remote_no_answer", "remote_bad_line", "back_to_local"]


@dataclass
class Run:
    results: dict
    output: str
    line: str
    backends_started: list[int]  # how many local backends the harness had started after each scenario


@pytest.fixture(scope="module")
def gimp(tmp_path_factory) -> Iterator[Run]:
    missing = gh.missing()
    if missing:
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(missing)
    root = tmp_path_factory.mktemp("gimp-remote")
    weights = make_weights(root / "weights", ("denoise",))
    host = lan_address()
    keys = make_keys(root / "keys", host, free_port(host))
    server = serve_remote(keys, weights, gh.THREADS)
    harness = gh.Harness(weights, {**os.environ, "RETEX_RUNS": str(root / "runs")})
    harness.start()
    data = harness.root / "data"
    data.mkdir()
    cv2.imwrite(str(data / "rgba8.png"), rgba_test_image(*SIZE, 0, 255).astype(np.uint8)[..., [2, 1, 0, 3]])
    shutil.copy2(gh.FILES / "scenarios.py", harness.root / "scenarios.py")
    inside = harness.inside
    address, server_key, client_key = keys.line.split()
    spec = {
        "inputs": {"rgba8": f"{inside}/data/rgba8.png"},
        "plugin": f"{inside}/home/.config/GIMP/3.0/plug-ins/retex",
        "config": f"{inside}/config",
        "cache": f"{inside}/cache",
        "out": f"{inside}/out",
        "spy": f"{inside}/out/spy.log",
        "results": f"{inside}/out/results.json",
        "scenarios": [],  # scenarios.py's own: none, only its helpers
        "remote_scenarios": SCENARIOS,
        "line": keys.line,
        "stranger": f"{address} {server_key} {zmq.curve_keypair()[1].decode()}",
        "nobody": f"tcp://127.0.0.1:{free_port('127.0.0.1')} {server_key} {client_key}",
        "bad_line": f"{address} {server_key[:-3]} {client_key}",
    }
    (harness.root / "spec.json").write_text(json.dumps(spec))
    env = {"RETEX_GIMP_SPEC": f"{inside}/spec.json", "RETEX_GIMP_HELPERS": f"{inside}/scenarios.py"}
    try:
        output = harness.gimp(gh.FILES / "remote_scenarios.py", env)
        out = harness.root / "out" / "results.json"
        results = json.loads(out.read_text()) if out.exists() else {}
        for rec in results.values():
            if isinstance(rec.get("result"), dict) and "file" in rec["result"]:
                rec["result"]["file"] = str(harness.path(rec["result"]["file"]))
        yield Run(results, output, keys.line, [len(harness.backends)])
    finally:
        harness.close()
        server.stop()


NAME = "Retex: Denoise + dots 80 %"


def test_gimp_remote_backend_set_in_its_settings_gives_the_local_result(gimp: Run) -> None:
    local, remote, back = (gh.record(gimp, name) for name in ("local_run", "remote_run", "back_to_local"))
    for rec in (local, remote, back):
        assert rec["status"] == "success", rec["error"]
        assert rec["result"]["name"] == NAME
    chosen = remote["settings"]
    assert chosen["status"] == "success", chosen["error"]
    saved = json.loads(chosen["after"])
    assert saved["backend"] == "remote" and saved["remote"] == gimp.line
    np.testing.assert_array_equal(pixels(remote["result"]), pixels(local["result"]))
    np.testing.assert_array_equal(pixels(back["result"]), pixels(local["result"]))
    last = json.loads(back["settings"]["before"])  # the last remote line is kept for switching back
    assert last["backend"] == "remote" and json.loads(back["settings"]["after"]) == {**last, "backend": "local"}
    # one local backend served the local runs; the remote runs started none
    assert gimp.backends_started == [1]


def test_gimp_remote_key_the_backend_does_not_know_is_refused_with_a_message(gimp: Run) -> None:
    rec = gh.record(gimp, "remote_wrong_key")
    assert rec["settings"]["status"] == "success"
    address = gimp.line.split()[0]
    assert rec["status"] == "execution-error"
    assert rec["error"].startswith(f"The backend at {address} refused this plug-in's keys."), rec["error"]
    assert rec["unchanged"] and not changes(rec)


def test_gimp_remote_address_that_does_not_answer_says_so(gimp: Run) -> None:
    rec = gh.record(gimp, "remote_no_answer")
    assert rec["status"] == "execution-error" and rec["error"].startswith("No answer from tcp://127.0.0.1:")
    assert "is 'python -m backend serve' running there" in rec["error"] and "Nothing was changed" in rec["error"]
    assert rec["unchanged"] and not changes(rec)


def test_gimp_malformed_connection_line_is_refused_and_nothing_is_saved(gimp: Run) -> None:
    rec = gh.record(gimp, "remote_bad_line")
    assert rec["status"] == "execution-error"
    assert rec["error"].startswith("Not saved: The server key must be 40 characters") and "has 37" in rec["error"]
    assert rec["before"] == rec["after"]
