"""How fast ``train-style`` learns: the Gram ratio (``eval-style``'s protocol) of the style as it was at given wall
times from the command's start, loading included. Runs ``python -m backend train-style`` in this process with the
same arguments, snapshots the network into a library of its own at each time (NAME-150s, ...), then evaluates the
snapshots together with the real ``python -m backend eval-style`` in a process of its own (it measures with the
code as it is when the run ends, not as it was when the run began).

    python tools/learning_curve.py EXEMPLAR --name pebbles --at 150,480 --threads 2 [--limit 20] [--set lr=0.003]

The snapshots stay in --out (default /tmp/learning-curve/NAME), so the real command re-measures any of them:
``RETEX_USER_STYLES=OUT python -m backend eval-style NAME-150s``.
"""

from __future__ import annotations

import time

START = time.monotonic()  # the command's start: every import below counts as loading

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exemplar")
    parser.add_argument("--name", required=True)
    parser.add_argument("--at", default="150,300,480", help="seconds from the start, comma-separated")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="what --at counts: wall time, or this process's CPU time (on a machine others load, --threads 1 --clock "
        "cpu bounds what 2 threads reach in the same wall time on the machine alone)",
    )
    parser.add_argument("--limit", type=int, default=0, help="evaluate on the first N BSD100 images (0: all 100)")
    parser.add_argument("--out", help="the snapshots' library (default /tmp/learning-curve/NAME)")
    parser.add_argument("--json", help="write the curve here")
    parser.add_argument("--set", nargs="*", default=[], help="training settings KEY=VALUE (StyleTrainConfig fields)")
    parser.add_argument("--scale", choices=["fine", "coarse"], default="fine")
    args = parser.parse_args()
    out = Path(args.out or f"/tmp/learning-curve/{args.name}")
    os.environ["RETEX_USER_STYLES"] = str(out)  # before backend.paths reads it: eval-style finds the snapshots

    from backend.cli import train_style as command_line
    from backend.styles import save_style
    from backend.train.style import Finish, prepare_exemplar, thumbnail, train_style

    command = ["train-style", args.exemplar, "--name", args.name, "--threads", str(args.threads), "--scale", args.scale]
    train_parser = argparse.ArgumentParser(prog="python -m backend")
    command_line.add_parser(train_parser.add_subparsers())
    targs = train_parser.parse_args(command)
    exemplar, cfg, info = command_line.settings(targs)
    cfg.library, cfg.preview_seconds = str(out), 0.0  # on_preview after every usable step: snapshots on time
    for setting in args.set:
        key, value = setting.split("=", 1)
        setattr(cfg, key, type(getattr(cfg, key))(value))
    thumb = thumbnail(prepare_exemplar(exemplar, targs.scale))
    times = sorted(float(v) for v in args.at.split(","))
    rows: list[dict] = []
    steps = [0]

    def on_step(fraction: float, loss: float) -> float:
        steps[0] += 1
        if len(rows) == len(times):
            raise Finish
        return 0.0

    def on_preview(net) -> None:  # type: ignore[no-untyped-def]
        wall = time.monotonic() - START
        now = wall if args.clock == "wall" else time.process_time()
        if len(rows) < len(times) and now >= times[len(rows)]:
            name = f"{args.name}-{int(times[len(rows)])}s"
            row = {"style": name, "wall_s": round(wall, 1), "cpu_s": round(time.process_time(), 1)}
            row |= {"steps": steps[0], "load": round(os.getloadavg()[0], 2)}
            save_style(out, name, copy.deepcopy(net).cpu().eval(), {**info, "iterations": steps[0]}, thumb)
            rows.append(row)
            print(json.dumps(row), flush=True)

    summary = train_style(
        exemplar, args.name, targs.scale, cfg, info, progress=False, on_step=on_step, on_preview=on_preview
    )
    with tempfile.TemporaryDirectory() as tmp:
        evaluate = [
            sys.executable,
            "-m",
            "backend",
            "eval-style",
            *(r["style"] for r in rows),
            "--json",
            f"{tmp}/e.json",
        ]
        evaluate += ["--threads", str(args.threads)] + (["--limit", str(args.limit)] if args.limit else [])
        subprocess.run(evaluate, check=True, capture_output=True, cwd=Path(__file__).resolve().parents[1])
        report = json.loads(Path(f"{tmp}/e.json").read_text())
    reports = report["styles"] if "styles" in report else {report["style"]: report}
    for row in rows:
        result = reports[row["style"]]["sets"]["BSD100"]
        row |= {"gram_ratio": result["gram_ratio"], "swd_ratio": result["swd_ratio"], "images": result["images"]}
    record = {"command": " ".join(command), "set": args.set, "start_from": summary["start_from"], "curve": rows}
    text = json.dumps(record, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
