"""``python -m backend bench {quality,speed,real,report,compare,heal}``: the benchmarks (code in ``backend.bench``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..paths import BENCHMARK_DIR
from .common import end_on_signals, floats, ints, names


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "bench", help="benchmarks: quality, speed, real-world with peers, the report page, comparison sheets"
    )
    bench = p.add_subparsers(dest="what", required=True)
    q = bench.add_parser("quality", help="eval every shipped model and eval-style every shipped style into one JSON")
    q.add_argument("--json", required=True, help="write the figures here (rewritten after each set)")
    q.add_argument("--limit", type=int, help="only the first N images of each set (smoke runs)")
    q.add_argument("--sets", help="only these benchmark sets (comma-separated)")
    q.add_argument("--tasks", help="only these restoration tasks (models, and the styles' restoration step)")
    q.add_argument("--styles", help="only these styles (comma-separated; none: no style)")
    q.add_argument("--models", help="only these models (comma-separated; none: no model)")
    q.add_argument("--merge", action="store_true", help="keep what the JSON already holds and this run skips")
    q.add_argument("--manifest", action="store_true", help="record the styles' scores in weights/manifest.json")
    q.add_argument("--data", help="benchmark root holding NAME/HR/*.png (default: ../shared/data/benchmark)")
    q.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    q = bench.add_parser("speed", help="throughput, memory, preview latency, MACs and fraction of peak")
    q.add_argument("--json", required=True, help="write the figures here (rewritten after each run)")
    q.add_argument("--sizes", help="output megapixels, comma-separated (default 0.25,1,4,16)")
    q.add_argument("--tasks", help="specs TASK[+STYLE...], comma-separated (default: every model, sr4/denoise+style)")
    q.add_argument("--quick", action="store_true", help="sizes 0.25,1 and sr4 with and without a style")
    q.add_argument("--device", default="auto", help="auto, cpu or cuda")
    q.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto", help="in-process runs")
    q.add_argument("--compile", action="store_true", help="CUDA: torch.compile the restoration branches")
    q.add_argument("--no-service", action="store_true", help="in-process runs only")
    q.add_argument("--threads", type=int, default=0, help="CPU threads, in-process and in the server (0: all)")
    q.add_argument("--runtimes", help="comma-separated among torch,onnx (default: both when ONNX Runtime is installed)")
    q = bench.add_parser("real", help="realistically degraded Set14/BSD100 at x1/x2/x4: Retex and its peers")
    q.add_argument("--json", default="docs/benchmarks/real.json", help="rewritten after each set and scale")
    q.add_argument("--sets", help="comma-separated benchmark sets (default Set14,BSD100)")
    q.add_argument("--scales", help="comma-separated scales among 4,2,1 (default 4,2,1)")
    q.add_argument("--limit", type=int, help="only the first N images of each set")
    q.add_argument(
        "--limit-slow",
        type=int,
        default=10,
        help="the slow peers (RealESRGAN_x4plus, CBM3D) on the first N images only",
    )
    q.add_argument("--data", help="benchmark root holding NAME/HR/*.png (default: ../shared/data/benchmark)")
    q.add_argument("--threads", type=int, default=2, help="CPU threads for every method (torch, ncnn, OpenCV)")
    q.add_argument(
        "--runtime", choices=["auto", "onnx", "torch"], default="auto", help="Retex's runtime (auto: onnx if installed)"
    )
    q = bench.add_parser("report", help="write docs/benchmarks.md and its plots from the JSON files")
    q.add_argument("--dir", default="docs/benchmarks", help="folder of the JSON files; the plots go here too")
    q.add_argument("--markdown", default="docs/benchmarks.md")
    q = bench.add_parser("heal", help="heal with texture vs plain inpainting, G'MIC and Telea on BSD100 holes")
    q.add_argument("--json", default="docs/benchmarks/heal.json", help="rewritten after each hole")
    q.add_argument("--sheet", default="docs/heal.png", help="the side-by-side sheet ('': none)")
    q.add_argument("--seconds", type=float, default=90.0, help="time to learn each ring's texture")
    q.add_argument("--style", help="a chosen style for every hole instead of learning each ring's")
    q.add_argument("--limit", type=int, help="only the first N holes")
    q.add_argument("--data", help="benchmark root holding BSD100/HR/*.png (default: ../shared/data/benchmark)")
    q.add_argument("--threads", type=int, default=1, help="CPU threads")
    q.add_argument("--seed", type=int, default=0, help="the holes' shapes (other seeds: the same spots, other shapes)")
    q = bench.add_parser("compare", help="draw the visual comparison sheets docs/compare-*.png")
    q.add_argument("--output-dir", default="docs")
    q.add_argument("--data", help="benchmark root holding NAME/HR/*.png (default: ../shared/data/benchmark)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    import torch

    end_on_signals()  # Ctrl-C and a polite kill end with the JSON of what was measured
    if getattr(args, "threads", 0):
        torch.set_num_threads(args.threads)
    run_what = {"quality": _quality, "speed": _speed, "real": _real, "report": _report, "heal": _heal}
    run_what.get(args.what, _compare)(args)


def _quality(args: argparse.Namespace) -> None:
    from ..bench.quality import QualityOptions, bench_quality

    opts = QualityOptions(limit=args.limit, sets=names(args.sets), tasks=names(args.tasks))
    opts.styles, opts.models = names(args.styles), names(args.models)
    opts.merge, opts.manifest = args.merge, args.manifest
    if args.data:
        opts.data = Path(args.data)
    report = bench_quality(Path(args.json), opts)
    print(
        f"{args.json}: {len(report['models'])} models, {len(report['styles'])} styles in "
        f"{report['seconds']['total']:.0f} s; differs from the manifest: "
        f"{'; '.join(report['differs_from_manifest']) or 'nowhere'}"
    )


def _speed(args: argparse.Namespace) -> None:
    from ..bench.speed import QUICK_SIZES, SIZES, SpeedOptions, bench_speed

    sizes = floats(args.sizes) if args.sizes else QUICK_SIZES if args.quick else SIZES
    opts = SpeedOptions(
        sizes, names(args.tasks), args.device, args.precision, args.compile, not args.no_service, args.threads
    )
    opts.runtimes = tuple(names(args.runtimes) or ()) if args.runtimes else None
    report = bench_speed(Path(args.json), opts, quick=args.quick)
    for r in report["runs"]:
        print(
            f"{r['spec']:<22} {r['mode']:<10} {r['runtime']:<6} {r['size_mp']:>6g} MP  {r['mp_per_s']:8.3f} MP/s"
            f"  {100 * r['peak_fraction']:5.1f} % of peak"
        )


def _real(args: argparse.Namespace) -> None:
    from ..bench.real import RealOptions, bench_real

    opts = RealOptions(limit=args.limit, limit_slow=args.limit_slow, threads=args.threads, runtime=args.runtime)
    if args.sets:
        opts.sets = names(args.sets) or []
    if args.scales:
        opts.scales = ints(args.scales, "--scales")
    if args.data:
        opts.data = Path(args.data)
    report = bench_real(Path(args.json), opts)
    print(
        f"{args.json}: {sum(len(v) for v in report['results'].values())} set-scales in "
        f"{report['seconds']['total']:.0f} s"
    )


def _report(args: argparse.Namespace) -> None:
    from ..bench.report import write_report

    print(write_report(Path(args.dir), Path(args.markdown)))


def _compare(args: argparse.Namespace) -> None:
    from ..bench.compare import write_sheets

    for path in write_sheets(Path(args.output_dir), Path(args.data) if args.data else BENCHMARK_DIR):
        print(path)


def _heal(args: argparse.Namespace) -> None:
    from ..bench.heal import HealBenchOptions, bench_heal
    from .heal import learn_ring_style

    sheet = Path(args.sheet) if args.sheet else None
    opts = HealBenchOptions(seconds=args.seconds, threads=args.threads, style=args.style, sheet=sheet, seed=args.seed)
    opts.spots = opts.spots[: args.limit]
    if args.data:
        opts.data = Path(args.data)
    report = bench_heal(
        Path(args.json), opts, lambda image, hole: learn_ring_style(image, hole, args.seconds, threads=args.threads)
    )
    for name, m in report["mean"].items():
        print(f"{name:<9} PSNR {m['psnr']:6.2f} dB  SWD {m['swd']:.4g}  ({m['swd_vs_inpaint']:.2f} x inpaint's)")
