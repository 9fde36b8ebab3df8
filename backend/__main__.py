"""Command line: ``python -m backend {train,eval,restore,serve,train-style,styles,eval-style,...} ...``.

Expected failures (bad files, unknown tasks, missing weights) print one ``error:`` line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .cleanup import AUTO_STRENGTH, check_cleanup
from .errors import RetexError
from .paths import BENCHMARK_DIR, STYLES_DIR, WEIGHTS_DIR
from .runtime import RUNTIMES
from .tasks import TASKS, get_task


def _cmd_train(args: argparse.Namespace) -> None:
    from .train.restoration import TrainConfig, train_restoration

    cfg = TrainConfig(device=args.device, threads=args.threads, seed=args.seed, precision=args.precision)
    for name in ("iters", "batch", "patch", "lr", "minutes", "loss", "perceptual", "workers", "run_dir"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    if args.data:
        cfg.data = args.data
    summary = train_restoration(
        get_task(args.task),
        cfg,
        resume=args.resume,
        init=Path(args.init) if args.init else None,
        export=Path(args.export) if args.export else None,
        progress=not args.no_progress,
    )
    print(json.dumps(summary))


def _cmd_train_all(args: argparse.Namespace) -> None:
    from .train.all import TrainAllConfig, train_all

    cfg = TrainAllConfig(minutes=args.minutes, out=Path(args.out), device=args.device, workers=args.workers)
    if args.tasks:
        cfg.tasks = _names(args.tasks)
    if args.data:
        cfg.data = args.data
    for name in ("batch", "patch", "threads"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    print(json.dumps(train_all(cfg), indent=2))


def _cmd_pack_data(args: argparse.Namespace) -> None:
    from .train.all import pack_data

    print(json.dumps(pack_data(Path(args.out))))


def _cmd_eval(args: argparse.Namespace) -> None:
    import torch

    from .bench.evaluate import EvalConfig, evaluate, print_table

    if args.threads:
        torch.set_num_threads(args.threads)

    cfg = EvalConfig(
        sets=args.sets.split(",") if args.sets else None,
        sigma=args.sigma,
        blur_sigma=args.blur_sigma,
        blur_noise=args.blur_noise,
        limit=args.limit,
        clean_inputs=args.clean_inputs,
    )
    if args.data:
        cfg.data = Path(args.data)
    report = evaluate(
        get_task(args.task),
        cfg,
        weights=Path(args.weights) if args.weights else None,
        json_path=Path(args.json) if args.json else None,
        update_manifest=args.manifest,
    )
    print_table(report)


def _cmd_models(args: argparse.Namespace) -> None:
    from .bench.evaluate import manifest_markdown
    from .bench.evaluate_style import styles_markdown
    from .manifest import read_manifest

    manifest = read_manifest()
    tables = {"scores": manifest_markdown(manifest), "styles": styles_markdown(manifest)}
    if args.readme:
        from .files import atomic_write

        path = WEIGHTS_DIR / "README.md"
        text = path.read_text()
        for key, table in tables.items():
            head, tail = f"<!-- {key}:begin -->", f"<!-- {key}:end -->"
            if head not in text or tail not in text:
                raise RetexError(f"{path} lacks the {head} ... {tail} markers")
            text = text[: text.index(head) + len(head)] + "\n" + table + "\n" + text[text.index(tail) :]
        atomic_write(path, lambda tmp: tmp.write_text(text))
    print("\n\n".join(tables.values()))


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise RetexError(f"--sizes wants comma-separated megapixels, not {text!r}") from None


def _ints(text: str, flag: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise RetexError(f"{flag} wants comma-separated integers, not {text!r}") from None


def _names(text: str | None) -> list[str] | None:
    return None if text is None else [v for v in text.split(",") if v and v != "none"]


def _cmd_bench(args: argparse.Namespace) -> None:
    import signal

    import torch

    # Ctrl-C and a polite kill end with the JSON of what was measured, even when started with SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    if getattr(args, "threads", 0):
        torch.set_num_threads(args.threads)
    if args.what == "quality":
        from .bench.quality import QualityOptions, bench_quality

        opts = QualityOptions(limit=args.limit, sets=_names(args.sets), tasks=_names(args.tasks))
        opts.styles, opts.models = _names(args.styles), _names(args.models)
        opts.merge, opts.manifest = args.merge, args.manifest
        if args.data:
            opts.data = Path(args.data)
        report = bench_quality(Path(args.json), opts)
        print(
            f"{args.json}: {len(report['models'])} models, {len(report['styles'])} styles in "
            f"{report['seconds']['total']:.0f} s; differs from the manifest: "
            f"{'; '.join(report['differs_from_manifest']) or 'nowhere'}"
        )
    elif args.what == "speed":
        from .bench.speed import QUICK_SIZES, SIZES, SpeedOptions, bench_speed

        sizes = _floats(args.sizes) if args.sizes else QUICK_SIZES if args.quick else SIZES
        opts = SpeedOptions(
            sizes, _names(args.tasks), args.device, args.precision, args.compile, not args.no_service, args.threads
        )
        opts.runtimes = tuple(_names(args.runtimes)) if args.runtimes else None
        report = bench_speed(Path(args.json), opts, quick=args.quick)
        for r in report["runs"]:
            print(
                f"{r['spec']:<22} {r['mode']:<10} {r['runtime']:<6} {r['size_mp']:>6g} MP  {r['mp_per_s']:8.3f} MP/s"
                f"  {100 * r['peak_fraction']:5.1f} % of peak"
            )
    elif args.what == "real":
        from .bench.real import RealOptions, bench_real

        opts = RealOptions(limit=args.limit, limit_slow=args.limit_slow, threads=args.threads, runtime=args.runtime)
        if args.sets:
            opts.sets = _names(args.sets)
        if args.scales:
            opts.scales = _ints(args.scales, "--scales")
        if args.data:
            opts.data = Path(args.data)
        report = bench_real(Path(args.json), opts)
        print(
            f"{args.json}: {sum(len(v) for v in report['results'].values())} set-scales in "
            f"{report['seconds']['total']:.0f} s"
        )
    elif args.what == "report":
        from .bench.report import write_report

        print(write_report(Path(args.dir), Path(args.markdown)))
    else:
        from .bench.compare import write_sheets

        for path in write_sheets(Path(args.output_dir), Path(args.data) if args.data else BENCHMARK_DIR):
            print(path)


def _cmd_restore(args: argparse.Namespace) -> None:
    from .cli.restore import RestoreArgs, parse_slots, restore_file, restore_file_remote

    slots, hole = parse_slots(args.slots or [])
    task = None if args.task == "none" else get_task(args.task)
    weights = Path(args.weights) if args.weights else None
    opts = RestoreArgs(task, slots, hole, args.preserve_colours, weights, args.cleanup, args.runtime)
    if args.endpoint:
        token = Path(args.token_file).read_text().strip() if args.token_file else None
        restore_file_remote(Path(args.input), Path(args.output), opts, args.endpoint, token)
    else:
        restore_file(Path(args.input), Path(args.output), opts)


def _cmd_export_onnx(args: argparse.Namespace) -> None:
    from .runtime.export import export
    from .styles import find_style

    paths = [Path(n) for n in args.names if n.endswith(".safetensors")]
    for name in (n for n in args.names if not n.endswith(".safetensors")):
        paths.append(WEIGHTS_DIR / f"{name}.safetensors" if name in TASKS else find_style(name))
    if args.all:
        paths += [WEIGHTS_DIR / f"{name}.safetensors" for name in TASKS]
        paths += sorted(STYLES_DIR.glob("*.safetensors"))
        paths = [p for p in paths if p.is_file()]
    if not paths:
        raise RetexError("name at least one task, style or .safetensors file (or --all)")
    for path in dict.fromkeys(paths):
        out = export(path)
        print(f"{out}  {out.stat().st_size / 1024:.0f} KiB")


def _runtime_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default=os.environ.get("RETEX_RUNTIME", "auto"),
        help="run the networks on ONNX Runtime or torch (default: $RETEX_RUNTIME, else auto: ONNX Runtime when "
        "installed); a server started by an editor inherits RETEX_RUNTIME",
    )


def _cleanup_arg(value: str) -> float:
    try:
        return check_cleanup(value)
    except RetexError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _cmd_train_style(args: argparse.Namespace) -> None:
    import signal

    # Ctrl-C and a polite kill both end in a checkpoint and an untouched library, even when the parent shell
    # started us with SIGINT ignored (background jobs of non-interactive shells are).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    from .imaging.io import read_image
    from .styles import check_name
    from .train.style import StyleTrainConfig, train_style

    check_name(args.name)
    cfg = StyleTrainConfig(device=args.device, threads=args.threads, seed=args.seed, precision=args.precision)
    for name in ("minutes", "iters", "library"):
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    if args.data:
        cfg.data = args.data
    exemplar = read_image(Path(args.exemplar)).rgb
    info = {"exemplar": args.exemplar_label or str(Path(args.exemplar).resolve()), "licence": args.licence}
    print(json.dumps(train_style(exemplar, args.name, args.scale, cfg, info=info, resume=args.resume)))


def _cmd_styles(args: argparse.Namespace) -> None:
    from .styles import list_styles

    styles = list_styles()
    if args.json:
        print(json.dumps({"styles": styles}, indent=2))
        return
    for s in styles:
        print(f"{s['name']:<24} {s['scale']:<7} {s['params']:>7} params  {s.get('exemplar', '')}")


def _cmd_sheet(args: argparse.Namespace) -> None:
    from .bench.sheet import make_sheet

    print(make_sheet(Path(args.output)))


def _cmd_eval_style(args: argparse.Namespace) -> None:
    import torch

    from .bench.evaluate_style import evaluate_styles, write_json

    if args.threads:
        torch.set_num_threads(args.threads)
    names = args.names
    if args.all:
        from .styles import list_styles

        names = [s["name"] for s in list_styles() if s["builtin"]]
    if not names:
        raise RetexError("name at least one style (or --all)")
    reports = evaluate_styles(
        names,
        args.task,
        sets=args.sets.split(",") if args.sets else None,
        data=Path(args.data) if args.data else BENCHMARK_DIR,
        limit=args.limit,
        exemplar=Path(args.exemplar) if args.exemplar else None,
    )
    report = reports[names[0]] if len(names) == 1 else {"styles": reports}
    if args.json:
        write_json(report, Path(args.json))
    if args.manifest:
        from .manifest import update_style_manifest

        for name, r in reports.items():
            update_style_manifest(name, args.task, r)
    print(json.dumps(report, indent=2))


def _cmd_serve(args: argparse.Namespace) -> None:
    from .service.security import default_endpoint, load_or_create_token, needs_token
    from .service.server import Server, ServerConfig

    endpoint = args.endpoint or default_endpoint()
    token = None
    if needs_token(endpoint):
        token = load_or_create_token(Path(args.token_file) if args.token_file else None)
    config = ServerConfig(
        endpoint=endpoint,
        device=args.device,
        token=token,
        threads=args.threads,
        curve_secret=Path(args.curve_secret) if args.curve_secret else None,
        curve_clients=Path(args.curve_clients) if args.curve_clients else None,
        weights_dir=Path(args.weights_dir) if args.weights_dir else WEIGHTS_DIR,
        idle_exit_s=60 * args.idle_exit,
        runtime=args.runtime,
    )
    Server(config).serve(ready=lambda ep: print(f"READY {ep}", flush=True))


class _Ordered(argparse.Action):
    """Collects ``--style`` and ``--mask`` into one list in command-line order, so a mask knows its style."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        items = list(getattr(namespace, self.dest) or [])
        items.append((option_string.lstrip("-"), values))
        setattr(namespace, self.dest, items)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backend", description="Retex backend")
    sub = parser.add_subparsers(dest="command", required=True)
    tasks = ", ".join(TASKS)

    p = sub.add_parser("train", help="train a restoration network")
    p.add_argument("task", help=tasks)
    p.add_argument("--data", nargs="+", help="folders of training images (default: T91 and BSD200)")
    p.add_argument("--iters", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("--patch", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--minutes", type=float, help="time budget: the schedule anneals to finish by then")
    p.add_argument("--loss", choices=["auto", "mse", "l1fft"], help="pixel loss (auto: l1fft for photo models)")
    p.add_argument("--perceptual", type=float, help="weight of the VGG-16 perceptual term (default 0)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from runs/TASK/checkpoint.safetensors")
    p.add_argument("--init", help="start from these weights (fine-tuning)")
    p.add_argument("--export", help="write the weights here (default: weights/TASK.safetensors)")
    p.add_argument("--run-dir", help="checkpoints go to RUN_DIR/TASK/ (default: runs/)")
    p.add_argument("--workers", type=int, help="processes degrading the photo models' batches (default 0: inline)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    p.add_argument(
        "--precision",
        choices=["auto", "bf16", "fp32"],
        default="auto",
        help="training arithmetic (auto: bf16 where the hardware supports it)",
    )
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("train-all", help="train every restoration model at once in one time budget (a GPU job)")
    p.add_argument("--minutes", type=float, required=True, help="wall-clock budget of each model's training")
    p.add_argument("--out", default="runs/train-all", help="new weights, log and summary.json go here")
    p.add_argument("--tasks", help=f"comma-separated (default: all of {tasks})")
    p.add_argument("--data", nargs="+", help="training image folders (default: T91 and BSD200; on a GPU box: a pack)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--batch", type=int, help="default 32")
    p.add_argument("--patch", type=int, help="HR patch side (default 128)")
    p.add_argument("--workers", type=int, default=2, help="degradation processes per photo model")
    p.add_argument("--threads", type=int, help="CPU threads per training process (default: torch's)")
    p.set_defaults(func=_cmd_train_all)

    p = sub.add_parser("pack-data", help="the training images as one small folder that travels to a GPU box")
    p.add_argument("--out", default="runs/pack", help="folder to write (ignored by git)")
    p.set_defaults(func=_cmd_pack_data)

    p = sub.add_parser("eval", help="benchmark a restoration network")
    p.add_argument("task", help=tasks)
    p.add_argument("--sets", help="comma-separated benchmark sets (default depends on the task)")
    p.add_argument("--data", help="benchmark root holding NAME/HR/*.png")
    p.add_argument("--weights", help="weights file (default: weights/TASK.safetensors)")
    p.add_argument("--json", help="write the report here")
    p.add_argument("--sigma", type=float, default=25.0, help="denoise: noise sigma on 0..255")
    p.add_argument("--blur-sigma", type=float, default=2.0, help="deblur: Gaussian blur sigma in pixels")
    p.add_argument("--blur-noise", type=float, default=0.0, help="deblur: added noise sigma on 0..255")
    p.add_argument("--limit", type=int, help="only the first N images of each set (smoke runs)")
    p.add_argument(
        "--clean-inputs", action="store_true", help="photo models: the clean model's inputs instead of the RW grid"
    )
    p.add_argument("--manifest", action="store_true", help="record the scores in weights/manifest.json")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    p.set_defaults(func=_cmd_eval)

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
    q = bench.add_parser("compare", help="draw the visual comparison sheets docs/compare-*.png")
    q.add_argument("--output-dir", default="docs")
    q.add_argument("--data", help="benchmark root holding NAME/HR/*.png (default: ../shared/data/benchmark)")
    p.set_defaults(func=_cmd_bench)

    p = sub.add_parser("models", help="the shipped models and styles with their measured scores (Markdown)")
    p.add_argument("--readme", action="store_true", help="also rewrite the tables in weights/README.md")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("restore", help="restore then texture one image file")
    p.add_argument("input")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--task", required=True, help=f"none (texture only), {tasks}")
    p.add_argument(
        "--style",
        dest="slots",
        action=_Ordered,
        metavar="NAME[:STRENGTH]",
        help="add a style (strength 0-2, default 1); repeatable",
    )
    p.add_argument(
        "--mask",
        dest="slots",
        action=_Ordered,
        metavar="MASK",
        help="after a --style: where it goes (white = full strength, grey = partial); before any --style: the "
        "inpainting mask (white = pixels to fill)",
    )
    p.add_argument("--preserve-colours", action="store_true", help="texture the luminance only")
    p.add_argument(
        "--cleanup",
        type=_cleanup_arg,
        default=AUTO_STRENGTH,
        help="photo models: how much noise and JPEG to remove, 0 (keep close to the input) to 1, or auto (default)",
    )
    p.add_argument("--weights", help="restoration weights file (default: weights/TASK.safetensors)")
    p.add_argument("--endpoint", help="send the job to a running server (python -m backend serve) instead")
    p.add_argument("--token-file", help="with a tcp:// endpoint: the file holding the server's token")
    _runtime_arg(p)
    p.set_defaults(func=_cmd_restore)

    p = sub.add_parser("train-style", help="train a style network from one exemplar image")
    p.add_argument("exemplar")
    p.add_argument("--name", required=True, help="the style's name (letters, digits, - and _)")
    p.add_argument("--scale", choices=["fine", "coarse"], default="fine")
    p.add_argument("--minutes", type=float, help="time budget (default 8)")
    p.add_argument("--iters", type=int)
    p.add_argument("--resume", action="store_true", help="continue from runs/styles/NAME/checkpoint.safetensors")
    p.add_argument("--library", help="where the style is written (default: the user's style folder)")
    p.add_argument("--data", nargs="+", help="folders of content images (default: T91 and BSD200)")
    p.add_argument("--exemplar-label", help="how the manifest names the exemplar (default: its absolute path)")
    p.add_argument("--licence", default="unknown", help="the exemplar's licence, recorded with the style")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto")
    p.set_defaults(func=_cmd_train_style)

    p = sub.add_parser("styles", help="list the installed styles")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_styles)

    p = sub.add_parser("sheet", help="draw the style contact sheet (content x styles, multi-mask, bi-scale)")
    p.add_argument("-o", "--output", default="docs/styles.png")
    p.set_defaults(func=_cmd_sheet)

    p = sub.add_parser("eval-style", help="measure styles on benchmark content (texture and content ratios)")
    p.add_argument("names", nargs="*")
    p.add_argument("--all", action="store_true", help="every shipped style")
    p.add_argument("--task", default="sr4", help=f"restoration before the style: none, {tasks}")
    p.add_argument("--sets", help="comma-separated benchmark sets (default BSD100)")
    p.add_argument("--data", help="benchmark root holding NAME/HR/*.png")
    p.add_argument("--exemplar", help="the exemplar image, if the style does not record where it is")
    p.add_argument("--limit", type=int, help="only the first N images of each set")
    p.add_argument("--json", help="write the report here")
    p.add_argument("--manifest", action="store_true", help="record the scores in weights/manifest.json")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    p.set_defaults(func=_cmd_eval_style)

    p = sub.add_parser("serve", help="run the backend service (prints READY <endpoint> once it accepts work)")
    p.add_argument("--endpoint", help="ipc://PATH or tcp://HOST:PORT (default: a private ipc socket)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument(
        "--token-file", help="loopback tcp and ipc://@ endpoints: token file (default: ~/.config/retex/token, created)"
    )
    p.add_argument("--curve-secret", help="non-loopback endpoints: the server's CURVE secret key file")
    p.add_argument("--curve-clients", help="non-loopback endpoints: folder of authorized client public keys")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    p.add_argument("--weights-dir", help="folder of TASK.safetensors files (default: weights/)")
    p.add_argument(
        "--idle-exit",
        type=float,
        default=0.0,
        metavar="MINUTES",
        help="exit after this many minutes without a request or job (0: never); editors start it with 30",
    )
    _runtime_arg(p)
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser(
        "export-onnx", help="write the ONNX graph beside each model's or style's weights, checked against torch"
    )
    p.add_argument("names", nargs="*", help="tasks, style names or .safetensors files")
    p.add_argument("--all", action="store_true", help="every restoration model in weights/ and every shipped style")
    p.set_defaults(func=_cmd_export_onnx)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except RetexError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
