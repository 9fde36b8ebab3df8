"""How fast ONNX Runtime runs one 3x3 convolution on this CPU, by channel counts: the restoration networks' widths
(sr4's 40 and 24, the x1 models' 44 and 32) against multiples of 16, the block ONNX Runtime's CPU kernels
(MLAS, NCHWc layout on AVX-512) pad channels to. Why a network of other widths would run nearer the peak.

    python tools/conv_widths.py [--side 272] [--threads 2]
"""

from __future__ import annotations

import argparse
import io
import sys
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from backend.bench.speed_specs import best_time  # noqa: E402

WIDTHS = ((48, 40), (40, 40), (40, 48), (48, 48), (24, 24), (32, 32), (44, 44), (64, 64))


def gflops(cin: int, cout: int, side: int, threads: int, runs: int = 10) -> float:
    conv = torch.nn.Conv2d(cin, cout, 3, padding=1)
    graph = io.BytesIO()
    axes = {"x": {2: "h", 3: "w"}}
    torch.onnx.export(conv, (torch.rand(1, cin, 64, 64),), graph, input_names=["x"], dynamic_axes=axes, dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(graph.getvalue(), options, providers=["CPUExecutionProvider"])
    x = {"x": np.random.default_rng(0).random((1, cin, side, side), dtype=np.float32)}
    session.run(None, x)
    best = best_time(partial(session.run, None, x), budget_s=0.0, max_runs=runs, min_runs=runs)
    return 2 * cin * cout * 9 * side * side / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", type=int, default=272, help="feature map side (sr4's fold of a 1024-px tile + halo)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    for cin, cout in WIDTHS:
        print(f"conv {cin:>2} -> {cout:>2} channels: {gflops(cin, cout, args.side, args.threads):6.0f} GFLOP/s")


if __name__ == "__main__":
    main()
