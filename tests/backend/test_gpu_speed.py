"""tools/gpu-speed.sh, the script a lent GPU runs once (its output cannot be debugged there): here on the CPU with
tiny sizes, it measures both runtimes, checks a one-tile run and writes its JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.service_helpers import REPO


def test_the_gpu_speed_script_runs_here_on_the_cpu(tmp_path) -> None:
    env = {**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable, "DEVICE": "cpu", "SIZES": "0.02"}
    env |= {"FIT": "0.03", "MODELS": "sr2", "PRECISIONS": "fp32", "OMP_NUM_THREADS": "1"}
    run = subprocess.run(["bash", "tools/gpu-speed.sh"], cwd=REPO, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((tmp_path / "gpu-speed.json").read_text())
    assert report["complete"] and not report["errors"] and report["onnxruntime_cuda"].startswith("measured on CPU")
    assert {(r["runtime"], r["on"]) for r in report["runs"]} == {("torch", "cpu"), ("onnx", "cpu")}
    assert all(r["mp_per_s"] > 0 and r["output_mp"] > 0 for r in report["runs"])
    assert [(f["model"], f["one_tile"]) for f in report["fit"]] == [("sr2", True)]
    assert "torch" in (tmp_path / "gpu.txt").read_text() and (tmp_path / "gpu-speed.log").is_file()
