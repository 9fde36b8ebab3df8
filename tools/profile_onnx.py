"""Where a restoration graph's time goes on this CPU: ONNX Runtime's own profiler over one interior tile (every
branch's crop with its halo, as the tiled run reads it), summed by operator type and by node. The thing to look at
before changing an exported graph: what is not Conv is what keeps a model below the CPU's peak.

    python tools/profile_onnx.py sr4 [--tile 1024] [--threads 1] [--runs 3]

One thread by default: its CPU time is the least disturbed by other work on the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]


def profile(graph: Path, tile: int, threads: int, runs: int) -> tuple[float, Counter[str], Counter[str]]:
    """CPU seconds per run, and microseconds by operator type and by node (the warm-up run included)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(tempfile.mkdtemp()) / "ort")
    session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    m, channels = int(meta["multiple"]), int(json.loads(meta["config"])["in_channels"])
    halos = [-(-int(h) // m) * m for h in json.loads(meta["halos"])]
    rng = np.random.default_rng(0)
    feeds = {
        i.name: rng.random((1, channels, tile + 2 * h, tile + 2 * h), dtype=np.float32)
        for i, h in zip(session.get_inputs(), halos, strict=True)
    }
    session.run(None, feeds)  # warm-up: allocations, kernel choice
    start = time.process_time()
    for _ in range(runs):
        session.run(None, feeds)
    seconds = (time.process_time() - start) / runs
    by_op: Counter[str] = Counter()
    by_node: Counter[str] = Counter()
    events = json.loads(Path(session.end_profiling()).read_text())
    for e in events:  # the warm-up's too: shares, not times
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            by_op[e["args"]["op_name"]] += e["dur"]
            by_node[e["name"].removesuffix("_kernel_time")] += e["dur"]
    return seconds, by_op, by_node


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="a restoration model in weights/ (sr4, denoise, ...) or an .onnx path")
    p.add_argument("--tile", type=int, default=1024, help="output tile side (default 1024, the pipeline's)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--top", type=int, default=15, help="nodes listed")
    args = p.parse_args()
    graph = Path(args.model) if args.model.endswith(".onnx") else ROOT / "weights" / f"{args.model}.onnx"
    if not graph.is_file():
        sys.exit(f"no graph at {graph} (python -m backend export-onnx)")
    seconds, by_op, by_node = profile(graph, args.tile, args.threads, args.runs)
    total = sum(by_op.values())
    print(f"{graph.name}, interior tile {args.tile}, {args.threads} thread(s): {seconds * 1000:.0f} ms CPU per run")
    print("by operator: " + ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in by_op.most_common()))
    for k, v in by_node.most_common(args.top):
        print(f"  {100 * v / total:5.1f}%  {k}")


if __name__ == "__main__":
    main()
